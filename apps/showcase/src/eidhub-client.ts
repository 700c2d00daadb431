/**
 * The showcase as an ordinary relying party and API client of eidhub: openid-client against
 * eidhub's OpenID Provider ({url}/auth/open), for the redirect login and for the REST API's
 * client-credentials token; plain HTTP for the REST authentication sessions. Discovery runs on
 * first use (eidhub may start after this app) and is kept once it worked.
 */
import * as oidc from 'openid-client';
import { ShowcaseError } from './errors.js';
import type { EidhubSettings } from './settings.js';
import { callJson, type Json } from './upstream.js';

/** The REST API's scope for an API client with the authentication-rest-api permission. */
const REST_SCOPE = 'auth-rest-api';
/** A token is renewed this long before it expires. */
const TOKEN_MARGIN_MS = 30_000;

export class EidhubClient {
  private readonly configs = new Map<string, Promise<oidc.Configuration>>();
  private restToken: { value: string; expiresAt: number } | undefined;

  constructor(
    readonly settings: EidhubSettings,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get issuer(): string {
    return `${this.settings.url}/auth/open`;
  }

  /** openid-client's view of eidhub for one client (discovered once, retried after a failure). */
  configuration(clientId: string, clientSecret: string): Promise<oidc.Configuration> {
    let found = this.configs.get(clientId);
    if (!found) {
      const insecure = new URL(this.issuer).protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
      found = oidc.discovery(new URL(this.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), {
        execute: insecure,
        timeout: Math.ceil(this.timeoutMs / 1000),
      });
      found.catch(() => this.configs.delete(clientId));
      this.configs.set(clientId, found);
    }
    return found.catch((err: unknown) => {
      throw toShowcaseError(err);
    });
  }

  /** Creates an embedded authentication session; answers eidhub's session resource. */
  async createEmbeddedSession(p: { returnUrl: string; parentOrigin: string }): Promise<Json & { id: string; authenticationUrl: string }> {
    const session = await this.rest('sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        flow: 'embedded',
        allowedProviders: ['otp-sms'],
        requestedAttributes: ['idpId', 'phoneNumber'],
        returnUrl: p.returnUrl,
        embeddedParentDomains: [p.parentOrigin],
      }),
    });
    if (typeof session.id !== 'string' || typeof session.authenticationUrl !== 'string') {
      throw new ShowcaseError(502, 'invalid_auth_server_answer', 'eidhub created a session without id or authenticationUrl');
    }
    return session as Json & { id: string; authenticationUrl: string };
  }

  /** Reads an embedded session with the sessionNonce its frame brought back. */
  readSession(id: string, sessionNonce: string): Promise<Json> {
    return this.rest(`sessions/${encodeURIComponent(id)}?sessionNonce=${encodeURIComponent(sessionNonce)}`, { method: 'GET' });
  }

  private async rest(path: string, init: RequestInit): Promise<Json> {
    const token = await this.accessToken();
    return callJson('eidhub', `${this.settings.url}/auth/rest/${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }, this.timeoutMs);
  }

  private async accessToken(): Promise<string> {
    if (this.restToken && this.restToken.expiresAt - TOKEN_MARGIN_MS > this.now()) return this.restToken.value;
    const { client_id, client_secret } = this.settings.rest;
    if (!client_secret) throw new ShowcaseError(400, 'not_configured', 'eidhub.rest.client_secret is not configured');
    try {
      const tokens = await oidc.clientCredentialsGrant(await this.configuration(client_id, client_secret), { scope: REST_SCOPE });
      this.restToken = { value: tokens.access_token, expiresAt: this.now() + (tokens.expires_in ?? 60) * 1000 };
      return tokens.access_token;
    } catch (err) {
      throw toShowcaseError(err);
    }
  }
}

/** openid-client's errors as the showcase's: an OAuth error keeps eidhub's status and body. */
export function toShowcaseError(err: unknown): ShowcaseError {
  if (err instanceof ShowcaseError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    return new ShowcaseError(err.status, err.error, err.error_description ?? `eidhub answered ${err.status}`, err.cause);
  }
  if (err instanceof oidc.AuthorizationResponseError) {
    return new ShowcaseError(400, err.error, err.error_description ?? 'eidhub refused the login', { error: err.error, error_description: err.error_description });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ShowcaseError(502, 'eidhub_error', `talking to eidhub failed: ${message}`);
}
