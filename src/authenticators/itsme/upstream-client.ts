/**
 * eidhub as a relying party of one upstream OpenID Provider, with openid-client: the
 * authorization request (code flow, PKCE S256, state, nonce; as a signed request object when the
 * upstream wants one) and the exchange of the code it answers with (client authentication by
 * private_key_jwt or client_secret_basic, the ID token validated and, if encrypted, decrypted,
 * then UserInfo for the same subject).
 *
 * Every request to the upstream is bounded by `timeoutMs` (openid-client's timeout, an
 * AbortSignal on each fetch), so an upstream that is down or silent becomes an
 * UpstreamUnavailable within that time, never a hang. The upstream's metadata is read once and
 * kept while it works; a failure forgets it, so the next attempt reads it again. eidhub's own keys
 * are asked for at every request (rp-keys.ts), so a rotation is followed at once.
 */
import * as oidc from 'openid-client';
import type { RpKeys } from './rp-keys.js';
import { RP_SIGNING_ALG, RP_ENCRYPTION_ALG } from './rp-keys.js';
import type { UpstreamSettings } from './settings.js';

/** The upstream could not be reached, answered too slowly, or failed on its side (5xx). */
export class UpstreamUnavailable extends Error {
  override name = 'UpstreamUnavailable';
  constructor(
    readonly reason: 'timeout' | 'unreachable' | 'error',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The upstream's answer was not accepted: a wrong state, nonce, issuer, audience or signature, a
 * token eidhub cannot decrypt, an error at the token endpoint. `message` never holds a token.
 */
export class UpstreamRefused extends Error {
  override name = 'UpstreamRefused';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What one login learned from the upstream. */
export interface UpstreamIdentity {
  /** The ID token's claims (validated). */
  idToken: Record<string, unknown>;
  /** UserInfo's claims for the same subject. */
  userinfo: Record<string, unknown>;
}

/** What the authorization request commits to, checked when the browser comes back. */
export interface PendingRequest {
  state: string;
  nonce: string;
  verifier: string;
}

const isTimeout = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError' || isTimeout(err.cause));

/** A failure of the network or of the upstream's server, as opposed to an answer refused. */
function unavailable(err: unknown): UpstreamUnavailable | undefined {
  if (isTimeout(err)) return new UpstreamUnavailable('timeout', 'the upstream did not answer in time');
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return new UpstreamUnavailable('unreachable', 'the upstream could not be reached');
  const status = statusOf(err);
  if (status !== undefined && status >= 500) return new UpstreamUnavailable('error', `the upstream answered HTTP ${status}`);
  return undefined;
}

/** The HTTP status an openid-client error carries (on itself or on the Response it wraps). */
function statusOf(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined;
  const own = (err as { status?: unknown }).status;
  if (typeof own === 'number') return own;
  const cause = err.cause;
  if (cause instanceof Response) return cause.status;
  return undefined;
}

/** An openid-client error in words fit for the log: its code and message, never its cause (which may hold a token). */
function refusal(err: unknown): UpstreamRefused {
  if (err instanceof oidc.ResponseBodyError) return new UpstreamRefused(err.error, `the upstream refused the request: ${err.error}`);
  const code = (err as { code?: unknown } | undefined)?.code;
  // openid-client's own message is generic; the error it wraps says which check failed (its
  // message names the claim, its other members hold the claims themselves, so only the message).
  const message = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : 'invalid answer';
  return new UpstreamRefused(typeof code === 'string' ? code : 'invalid_response', message);
}

/** An error of a request to the upstream as one of ours. */
export function classify(err: unknown): UpstreamUnavailable | UpstreamRefused {
  if (err instanceof UpstreamUnavailable || err instanceof UpstreamRefused) return err;
  return unavailable(err) ?? refusal(err);
}

export class UpstreamClient {
  private server: Promise<oidc.ServerMetadata> | undefined;
  /** The configuration for the last keys seen, rebuilt when they change (a rotation, a switch of signing key). */
  private built: { server: oidc.ServerMetadata; keys: string; config: oidc.Configuration } | undefined;

  /** `keys` gives eidhub's RP keys as they are now; it is asked at every request. */
  constructor(
    readonly settings: UpstreamSettings,
    private readonly keys: () => Promise<RpKeys>,
  ) {}

  private clientMetadata(): Partial<oidc.ClientMetadata> {
    const s = this.settings;
    return {
      redirect_uris: [s.redirectUri],
      id_token_signed_response_alg: 'RS256',
      ...(s.requestObject ? { request_object_signing_alg: RP_SIGNING_ALG } : {}),
      ...(s.clientAuth.method === 'private_key_jwt' ? { token_endpoint_auth_signing_alg: RP_SIGNING_ALG } : {}),
      ...(s.encryption
        ? {
            id_token_encrypted_response_alg: RP_ENCRYPTION_ALG,
            id_token_encrypted_response_enc: s.encryption,
            // An encrypted UserInfo is a signed JWT inside: plain JSON is then refused.
            userinfo_signed_response_alg: 'RS256',
            userinfo_encrypted_response_alg: RP_ENCRYPTION_ALG,
            userinfo_encrypted_response_enc: s.encryption,
          }
        : {}),
    };
  }

  private async discover(): Promise<oidc.ServerMetadata> {
    const s = this.settings;
    const issuer = new URL(s.issuer);
    const config = await oidc.discovery(issuer, s.clientId, undefined, undefined, {
      timeout: s.timeoutMs / 1000,
      // The schema lets http through for loopback hosts only; the simulator is eidhub itself.
      ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
    return config.serverMetadata();
  }

  /** The upstream's metadata, read once; a failed read is forgotten so the next call tries again. */
  private serverMetadata(): Promise<oidc.ServerMetadata> {
    if (!this.server) {
      const pending = this.discover();
      this.server = pending;
      pending.catch(() => {
        if (this.server === pending) this.server = undefined;
      });
    }
    return this.server;
  }

  /** A configuration that signs with `keys`' signing key and decrypts with every one of its decryption keys. */
  private configure(server: oidc.ServerMetadata, keys: RpKeys): oidc.Configuration {
    const s = this.settings;
    const auth = s.clientAuth.method === 'private_key_jwt' ? oidc.PrivateKeyJwt(keys.signing) : oidc.ClientSecretBasic(s.clientAuth.secret);
    const config = new oidc.Configuration(server, s.clientId, this.clientMetadata(), auth);
    config.timeout = s.timeoutMs / 1000;
    if (new URL(s.issuer).protocol === 'http:') oidc.allowInsecureRequests(config);
    // Each JWE is decrypted with the key its kid names: upstreams may still encrypt to an older key.
    if (s.encryption) oidc.enableDecryptingResponses(config, [s.encryption], ...keys.decryption);
    // OIDC lets a client trust an ID token from the token endpoint on the strength of TLS alone;
    // eidhub checks its signature too, against the upstream's JWKS, so that a token is only
    // accepted when the upstream signed it (and the simulator and loopback tests use plain http).
    oidc.enableNonRepudiationChecks(config);
    return config;
  }

  /** The upstream's configuration with eidhub's keys as they are now, and those keys. */
  private async config(): Promise<{ config: oidc.Configuration; keys: RpKeys }> {
    const [server, keys] = await Promise.all([this.serverMetadata(), this.keys()]);
    if (this.built?.server !== server || this.built.keys !== keys.id) this.built = { server, keys: keys.id, config: this.configure(server, keys) };
    return { config: this.built.config, keys };
  }

  /** The URL that sends the person to the upstream, for a request committed to `pending`. */
  async authorizationUrl(pending: PendingRequest): Promise<string> {
    try {
      const { config, keys } = await this.config();
      const params: Record<string, string> = {
        redirect_uri: this.settings.redirectUri,
        response_type: 'code',
        scope: this.settings.scopes.join(' '),
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
      };
      const url = this.settings.requestObject
        ? await oidc.buildAuthorizationUrlWithJAR(config, params, keys.signing)
        : oidc.buildAuthorizationUrl(config, params);
      return url.href;
    } catch (err) {
      throw classify(err);
    }
  }

  /**
   * Exchanges the code of the upstream's answer (`query`, as the browser brought it back) and
   * reads UserInfo; checks state, iss, nonce, PKCE, the ID token's signature, issuer and audience.
   */
  async exchange(query: Record<string, string>, pending: PendingRequest): Promise<UpstreamIdentity> {
    try {
      const { config } = await this.config();
      const current = new URL(this.settings.redirectUri);
      for (const [k, v] of Object.entries(query)) current.searchParams.set(k, v);
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims();
      if (!idToken) throw new UpstreamRefused('missing_id_token', 'the upstream gave no ID token');
      // openid-client decrypts an encrypted ID token and lets a plain one through: one the
      // upstream was registered to encrypt and did not is refused (its claims crossed unprotected).
      if (this.settings.encryption && tokens.id_token?.split('.').length !== 5) {
        throw new UpstreamRefused('id_token_not_encrypted', 'the ID token is not encrypted, though the client is registered for encrypted ID tokens');
      }
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
      return { idToken: { ...idToken }, userinfo: { ...userinfo } };
    } catch (err) {
      throw classify(err);
    }
  }
}
