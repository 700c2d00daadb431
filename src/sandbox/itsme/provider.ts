/**
 * The simulator's OpenID Provider: oidc-provider configured as itsme's test environment behaves
 * towards a relying party. Authorization code flow only, with PKCE (S256) and a request object
 * signed RS256; clients authenticate with private_key_jwt (RS256); ID tokens and UserInfo are
 * signed RS256 and encrypted to the client's RSA key (RSA-OAEP). Its rows are kept in our store
 * under a namespace of their own, and its signing key in the store's secrets, so every process
 * and every restart on one store agree.
 */
import Provider, { type Account, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { TrustProxy } from '../../config/schema.js';
import { koaProxy } from '../../http/client-address.js';
import type { PrivateJwk } from '../../keys/signing-keys.js';
import { createAdapterFactory } from '../../protocols/oidc/adapter.js';
import type { SecretStore, Store } from '../../store/types.js';
import { identityBySubject, profileClaims } from './identities.js';
import { ITSME_SIMULATOR_MOUNT, SIMULATOR_ROUTES, interactionPath } from './paths.js';

export interface SimulatorClient {
  clientId: string;
  redirectUris: string[];
  /**
   * The client's public keys (a signing key for private_key_jwt and request objects, an RSA
   * encryption key for ID tokens and UserInfo), read on every look-up so a rotation is seen.
   */
  jwks(): Promise<{ keys: JWK[] }>;
  /** Content encryption of its ID tokens and UserInfo: 'A128CBC-HS256' (default) or 'A256GCM'. */
  encryption?: 'A128CBC-HS256' | 'A256GCM';
}

/** The store's secret that holds the simulator's signing key (a private JWK, as JSON). */
const SIGNING_KEY_SECRET = 'sandbox:itsme-signing-key';
/** Its rows in the store's oidc-provider table are `{namespace}:{model}`. */
const STORE_NAMESPACE = 'sandbox-itsme';

/** itsme's levels of assurance; a login is at the one the client asked for, else the basic one. */
export const ITSME_ACR_VALUES = ['http://itsme.services/v2/claim/acr_basic', 'http://itsme.services/v2/claim/acr_advanced'] as const;

export const SIMULATOR_SCOPES = ['openid', 'profile'] as const;
const SCOPE_CLAIMS: Readonly<Record<(typeof SIMULATOR_SCOPES)[number], string[]>> = {
  // acr comes from the login (the level the client asked for), not the account.
  openid: ['sub', 'acr'],
  profile: ['name', 'given_name', 'family_name', 'gender', 'birthdate'],
};

const ENCRYPTIONS: NonNullable<SimulatorClient['encryption']>[] = ['A128CBC-HS256', 'A256GCM'];

/**
 * The simulator's signing key: the first process to start on a store generates it, and every
 * process after it, or restarted, reads the same one.
 */
export async function simulatorSigningKey(secrets: SecretStore): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const candidate: PrivateJwk = { ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg: 'RS256', use: 'sig' };
  return JSON.parse(await secrets.getOrCreate(SIGNING_KEY_SECRET, JSON.stringify(candidate))) as PrivateJwk;
}

/** A client's metadata as itsme registers it; its keys are read anew on every look-up. */
async function clientMetadata(client: SimulatorClient): Promise<ClientMetadata> {
  const enc = client.encryption ?? 'A128CBC-HS256';
  return {
    client_id: client.clientId,
    redirect_uris: client.redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    request_object_signing_alg: 'RS256',
    id_token_signed_response_alg: 'RS256',
    id_token_encrypted_response_alg: 'RSA-OAEP',
    id_token_encrypted_response_enc: enc,
    userinfo_signed_response_alg: 'RS256',
    userinfo_encrypted_response_alg: 'RSA-OAEP',
    userinfo_encrypted_response_enc: enc,
    // Inline keys, not a jwks_uri: oidc-provider will not fetch from a loopback address.
    jwks: (await client.jwks()) as ClientMetadata['jwks'],
  };
}

type Next = () => Promise<unknown>;

/** The simulator's browser session cookie (and its signature). */
const SESSION_COOKIE = 'itsme_sim_session';

/**
 * itsme asks the person in its app at every authorization: there is no single sign-on. So an
 * authorization request starts without the browser session of an earlier login: its session
 * cookie is left out of the request and expired in the answer. The login prompt is then always
 * pending, and at the resumed request (`/oidc/authorization/{uid}`) the person confirmed now is
 * the one logged in, whoever was before in that browser.
 */
function withoutSingleSignOn(): (ctx: KoaContextWithOIDC, next: Next) => Promise<void> {
  const sessionCookies = [SESSION_COOKIE, `${SESSION_COOKIE}.sig`];
  return async (ctx, next) => {
    const cookie = ctx.get('cookie');
    const isAuthorization = ctx.path.toLowerCase().replace(/\/+$/, '') === SIMULATOR_ROUTES.authorization;
    if (cookie && isAuthorization) {
      const pairs = cookie.split(';');
      const kept = pairs.filter((pair) => !sessionCookies.includes(pair.split('=')[0]!.trim()));
      if (kept.length < pairs.length) {
        ctx.request.headers.cookie = kept.join(';');
        for (const name of sessionCookies) ctx.cookies.set(name, null, { signed: false, path: '/' });
      }
    }
    await next();
  };
}

async function findAccount(_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> {
  const identity = identityBySubject(sub);
  if (!identity) return undefined;
  return { accountId: sub, claims: () => ({ ...profileClaims(identity), sub }) };
}

export interface SimulatorProviderDeps {
  publicUrl: string;
  store: Store;
  trustProxy: TrustProxy;
  now: () => number;
  clients: readonly SimulatorClient[];
  signingKey: PrivateJwk;
  cookieKeys: string[];
  renderError: NonNullable<Configuration['renderError']>;
}

export function createSimulatorProvider(deps: SimulatorProviderDeps): Provider {
  const clients = new Map(deps.clients.map((c) => [c.clientId, c]));
  const cookieOptions = { signed: true, httpOnly: true, sameSite: 'lax' } as const;
  const configuration: Configuration = {
    // Every client comes through the adapter's Client model, so its keys are read at each look-up.
    clients: [],
    adapter: createAdapterFactory(
      deps.store.oidc,
      async (clientId) => {
        const client = clients.get(clientId);
        return client ? clientMetadata(client) : undefined;
      },
      deps.now,
      STORE_NAMESPACE,
    ),
    clientAuthMethods: ['private_key_jwt'],
    jwks: { keys: [deps.signingKey] },
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256'],
      requestObjectSigningAlgValues: ['RS256'],
      requestObjectEncryptionAlgValues: [],
      idTokenSigningAlgValues: ['RS256'],
      idTokenEncryptionAlgValues: ['RSA-OAEP'],
      idTokenEncryptionEncValues: ENCRYPTIONS,
      userinfoSigningAlgValues: ['RS256'],
      userinfoEncryptionAlgValues: ['RSA-OAEP'],
      userinfoEncryptionEncValues: ENCRYPTIONS,
    },
    // Names of their own: eidhub's issuers use oidc-provider's default names on the same host.
    cookies: {
      keys: deps.cookieKeys,
      names: { session: SESSION_COOKIE, interaction: 'itsme_sim_interaction', resume: 'itsme_sim_resume' },
      long: cookieOptions,
      short: cookieOptions,
    },
    routes: SIMULATOR_ROUTES,
    responseTypes: ['code'],
    // itsme's `service:<code>` scopes are accepted and ignored: oidc-provider passes over scopes it does not know.
    scopes: [...SIMULATOR_SCOPES],
    claims: SCOPE_CLAIMS,
    // The profile's claims go into the ID token as well as UserInfo, as itsme's do.
    conformIdTokenClaims: false,
    acrValues: [...ITSME_ACR_VALUES],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      encryption: { enabled: true },
      requestObjects: { enabled: true, requireSignedRequestObject: true },
      userinfo: { enabled: true },
      jwtUserinfo: { enabled: true },
      pushedAuthorizationRequests: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      registration: { enabled: false },
    },
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 300,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
    issueRefreshToken: () => false,
    allowOmittingSingleRegisteredRedirectUri: false,
    findAccount,
    interactions: {
      url: (_ctx, interaction) => interactionPath(interaction.uid),
    },
    renderError: deps.renderError,
  };
  const provider = new Provider(`${deps.publicUrl}${ITSME_SIMULATOR_MOUNT}`, configuration);
  provider.proxy = koaProxy(deps.trustProxy);
  provider.use(withoutSingleSignOn());
  return provider;
}
