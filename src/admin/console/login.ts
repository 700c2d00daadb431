/**
 * The console logs people in as any relying party of eidhub would: the authorization code flow
 * at `/auth/open` with PKCE, state and nonce, an SMS login (`acr_values=idp:otp-sms`, always a
 * fresh one), and the ID token checked by openid-client. Its requests to eidhub's own endpoints
 * (discovery, token, keys) go in-process through Fastify's inject rather than over the network:
 * the public URL may be a reverse proxy's, which eidhub itself need not be able to reach.
 *
 * The console's client (`eidhub-console`) is a client of the config's kind, read-only, added to
 * the registry only when config `admins` lists someone; its secret is derived from a server key,
 * so every process agrees on it and it never sits in a file.
 */
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type * as Oidc from 'openid-client';
import { CONSOLE_CLIENT_ID, type OidcClientConfig } from '../../config/schema.js';

export { CONSOLE_CLIENT_ID };
import { OIDC_MOUNT } from '../../protocols/oidc/provider.js';

export const CONSOLE_PATH = '/admin';
export const CALLBACK_PATH = `${CONSOLE_PATH}/callback`;
/** The acr value of an SMS login (the otp-sms authenticator's). */
const SMS_LOGIN_ACR = 'idp:otp-sms';

/** The console client's secret, derived from the server key `consoleKey`. */
export function consoleClientSecret(consoleKey: Buffer): string {
  return createHmac('sha256', consoleKey).update('console-client-secret').digest('base64url');
}

/** The console's OIDC client, as the config file would hold it. */
export function consoleClient(publicUrl: string, consoleKey: Buffer): OidcClientConfig {
  return {
    clientId: CONSOLE_CLIENT_ID,
    clientName: 'eidhub console',
    secrets: [consoleClientSecret(consoleKey)],
    redirectUris: [`${publicUrl}${CALLBACK_PATH}`],
    postLogoutRedirectUris: [],
    grantTypes: ['authorization_code'],
    scopes: ['openid', 'phone'],
    pkce: 'required',
    idTokenClaims: ['phone_number'],
    idTokenSigningAlg: 'RS256',
    allowedProviders: ['otp-sms'],
  };
}

/** What one login attempt commits to, kept in the browser until it comes back. */
export interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
}

/** Who logged in: the verified phone number of an SMS login. */
export interface ConsoleIdentity {
  phoneNumber: string;
  subject: string;
}

/** The console's relying party: where to send the browser, and what its answer proves. */
export class ConsoleRelyingParty {
  private config: Promise<{ oidc: typeof Oidc; config: Oidc.Configuration }> | undefined;

  constructor(
    private readonly app: FastifyInstance,
    private readonly publicUrl: string,
    private readonly secret: string,
  ) {}

  /** A new attempt and the authorization URL the browser is sent to. */
  async start(): Promise<{ pending: PendingLogin; url: string }> {
    const { oidc, config } = await this.configuration();
    const pending = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${this.publicUrl}${CALLBACK_PATH}`,
      scope: 'openid phone',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      acr_values: SMS_LOGIN_ACR,
      prompt: 'login',
    });
    return { pending, url: url.href };
  }

  /**
   * Redeems the code of the browser's answer (`callbackUrl`, as the browser asked for it) and
   * checks state, nonce, PKCE, the ID token, and that it was an SMS login; throws otherwise.
   */
  async finish(callbackUrl: URL, pending: PendingLogin): Promise<ConsoleIdentity> {
    const { oidc, config } = await this.configuration();
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('the token answer has no ID token');
    // The acr is a level of assurance; the amr (RFC 8176) says how the person logged in.
    const amr = Array.isArray(claims.amr) ? claims.amr : [];
    if (!amr.includes('sms') || !amr.includes('otp')) throw new Error(`the login was not an SMS login (amr ${JSON.stringify(amr)})`);
    if (typeof claims.phone_number !== 'string') throw new Error('the ID token has no phone_number');
    return { phoneNumber: claims.phone_number, subject: claims.sub };
  }

  /**
   * openid-client (loaded with the first login, so a server nobody administers does not carry it)
   * and the issuer's metadata, read once; a failure is forgotten so the next login reads it again.
   */
  private configuration(): Promise<{ oidc: typeof Oidc; config: Oidc.Configuration }> {
    this.config ??= this.discover().catch((err: unknown) => {
      this.config = undefined;
      throw err;
    });
    return this.config;
  }

  private async discover(): Promise<{ oidc: typeof Oidc; config: Oidc.Configuration }> {
    const oidc = await import('openid-client');
    const issuer = new URL(`${this.publicUrl}${OIDC_MOUNT}`);
    const options: Oidc.DiscoveryRequestOptions = {
      [oidc.customFetch]: (url, init) => this.inject(url, init),
      // The transport is in-process, so a public URL over http (loopback only, by the config's rules) exposes nothing.
      ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
    };
    return { oidc, config: await oidc.discovery(issuer, CONSOLE_CLIENT_ID, this.secret, oidc.ClientSecretBasic(this.secret), options) };
  }

  /** A request to eidhub's own public URL, answered in-process; anything else is refused. */
  private async inject(url: string, init: Oidc.CustomFetchOptions): Promise<Response> {
    const target = new URL(url);
    // eidhub names its endpoints after the request's host (and, behind a trusted proxy, its
    // forwarded scheme), so the host is what tells eidhub's own URLs.
    if (target.host !== new URL(this.publicUrl).host) throw new TypeError(`the console only speaks to eidhub itself, not to ${target.origin}`);
    const body = init.body;
    const payload = body === undefined || body === null ? undefined : body instanceof URLSearchParams ? body.toString() : typeof body === 'string' ? body : Buffer.from(body as ArrayBuffer);
    const res = await this.app.inject({
      method: init.method as 'GET' | 'POST',
      url: `${target.pathname}${target.search}`,
      headers: { ...init.headers, host: target.host, 'x-forwarded-proto': target.protocol.slice(0, -1) },
      ...(payload === undefined ? {} : { payload }),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
    }
    return new Response(res.statusCode === 204 || res.statusCode === 304 ? null : new Uint8Array(res.rawPayload), { status: res.statusCode, headers });
  }
}
