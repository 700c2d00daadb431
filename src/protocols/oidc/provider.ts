/**
 * oidc-provider's configuration, one Provider per issuer: the seed paths below the issuer's
 * mount (`/auth/open` for `{publicUrl}/auth/open`; realms get their own), our store as its
 * adapter, clients from the client registry, our keys, the scopes and claims the authenticators
 * bring, and login delegated to the transaction (interactions). We configure oidc-provider; we
 * never patch it.
 */
import Provider, { type Configuration, type KoaContextWithOIDC, type Account, type Grant, type Interaction } from 'oidc-provider';
import { ADMIN_SCOPE, API_SCOPES, type ClientRegistry } from '../../clients/registry.js';
import type { Config } from '../../config/schema.js';
import { koaProxy } from '../../http/client-address.js';
import type { Store } from '../../store/types.js';
import type { PrivateJwk } from '../../keys/signing-keys.js';
import { createAdapterFactory } from './adapter.js';
import { claimsForUse, LOGIN_CLAIMS } from './claims.js';
import { clientMetadata } from './client-metadata.js';

/** The mount of the seeds' issuer, `{publicUrl}/auth/open`. */
export const OIDC_MOUNT = '/auth/open';
/** Where oidc-provider's interactions that are not a login go, below a mount. */
export const INTERACTION_ROUTE = '/interaction';

export const OIDC_ROUTES = {
  authorization: '/connect/authorize',
  token: '/connect/token',
  userinfo: '/connect/userinfo',
  end_session: '/connect/endsession',
  revocation: '/connect/revocation',
  introspection: '/connect/introspect',
  jwks: '/.well-known/openid-configuration/jwks',
  // oidc-provider's default, named so that client-auth.ts finds it here with the others.
  pushed_authorization_request: '/request',
} as const;

export const SUPPORTED_ACR_VALUES = ['loa:low', 'loa:substantial', 'loa:high'];

export interface ProviderDeps {
  config: Config;
  /** The path below publicUrl the issuer lives at, e.g. OIDC_MOUNT. */
  mount: string;
  store: Store;
  registry: ClientRegistry;
  /** Claims by scope, as the authenticators give them (`openid` is added). */
  scopeClaims: Readonly<Record<string, readonly string[]>>;
  jwks: { keys: PrivateJwk[] };
  cookieKeys: string[];
  renderError: NonNullable<Configuration['renderError']>;
  /** RP-initiated logout's confirmation and success pages, eidhub's own (oidc-provider's stock ones load fonts from a third party). */
  logoutPages: Pick<NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>, 'logoutSource' | 'postLogoutSuccessSource'>;
  /** oidc-provider's `interactions.url`: OidcProtocol.interactionUrl. */
  interactionUrl: (interaction: Interaction) => Promise<string>;
  now?: () => number;
}

/**
 * Every client is first-party (configured by the operator), so there is no consent screen: the
 * grant holds what the client asked for within what it is allowed.
 */
async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { client, session, provider } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  const grant = existing ?? new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  const scopes = [...ctx.oidc.requestParamScopes].filter((s) => client.scope === undefined || client.scope.split(' ').includes(s));
  grant.addOIDCScope(scopes.join(' '));
  const claims = [...ctx.oidc.requestParamClaims];
  if (claims.length > 0) grant.addOIDCClaims(claims);
  carryLoginClaims(ctx, grant);
  await grant.save();
  return grant;
}

/**
 * The ID token's claims of the login itself (seed 002): `sid`, and the `transaction_id` of the
 * login that just ended, which the interaction result names (OidcProtocol.resultOf). They ride
 * on the request's `claims` (`id_token` member), which oidc-provider keeps with the authorization
 * code and refresh tokens of this login and hands to the account's `claims()` at the token
 * endpoint: so each login's tokens name their own transaction, even when the same person logs
 * in twice at once. The request's own `claims` parameter is off (features.claimsParameter), so
 * none of this comes from the relying party.
 */
function carryLoginClaims(ctx: KoaContextWithOIDC, grant: Grant): void {
  // oidc-provider makes `claims` an object for every request (OIDCContext), filled from the request.
  const requested = ctx.oidc.claims as { id_token?: Record<string, unknown> };
  const idToken = (requested.id_token ??= {});
  // oidc-provider puts the session's sid into the ID token when the request asks for it.
  idToken.sid = null;
  const transactionId = ctx.oidc.result?.login?.[LOGIN_TRANSACTION];
  if (typeof transactionId === 'string') {
    idToken.transaction_id = { value: transactionId };
    grant.addOIDCClaims(['transaction_id']);
  } else {
    // A token from a single sign-on session without a new login: no transaction made it.
    delete idToken.transaction_id;
  }
}

/**
 * The access token issued with an ID token at the token endpoint, as `at_hash` wants it: IdToken's
 * issue() replaces an `at_hash` claim by the left half of its hash, as for oidc-provider's own
 * at_hash in other flows. Opaque tokens only (their value is their jti); none elsewhere.
 */
function accessTokenOf(ctx: KoaContextWithOIDC): string | undefined {
  const at = ctx.oidc.entities.AccessToken;
  return at && !at.resourceServer && ctx.oidc.route === 'token' ? at.jti : undefined;
}

/** Where the interaction result's `login` names the transaction that authenticated the person. */
export const LOGIN_TRANSACTION = 'transactionId';

/** The transaction a token's login request carries (carryLoginClaims), if any. */
function transactionOf(requested: Record<string, unknown> | undefined): string | undefined {
  const claim = requested?.transaction_id;
  const value = claim && typeof claim === 'object' ? (claim as { value?: unknown }).value : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config, store, registry } = deps;
  const now = deps.now ?? Date.now;
  const t = config.tokens;

  const configuration: Configuration = {
    // The config file's clients never change while eidhub runs: oidc-provider keeps them validated
    // once (static clients are found without hashing their metadata on every look-up, measured
    // against the adapter in bench/FINDINGS.md). Clients added at run time come through the
    // adapter's Client model, so a new or changed one is used at the next request.
    clients: registry
      .list()
      .filter((c) => c.readOnly)
      .flatMap((c) => clientMetadata(c) ?? []),
    adapter: createAdapterFactory(
      store.oidc,
      async (clientId) => {
        const client = await registry.find(clientId);
        return client ? clientMetadata(client) : undefined;
      },
      now,
    ),
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    jwks: deps.jwks,
    cookies: {
      keys: deps.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    routes: OIDC_ROUTES,
    scopes: [...new Set(['openid', 'offline_access', ...Object.keys(deps.scopeClaims), ...API_SCOPES, ADMIN_SCOPE])],
    // acr, amr, auth_time and the login's own claims come from the login, not the account, so
    // they reach the ID token only (claimsForUse keeps the login's out of UserInfo).
    claims: {
      ...Object.fromEntries(Object.entries(deps.scopeClaims).map(([scope, claims]) => [scope, [...claims]])),
      openid: ['sub', 'acr', 'amr', 'auth_time', ...LOGIN_CLAIMS],
    },
    acrValues: SUPPORTED_ACR_VALUES,
    conformIdTokenClaims: false,
    pkce: { required: (_ctx, client) => registry.pkceRequired(client.clientId) },
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true, ...deps.logoutPages },
    },
    ttl: {
      AuthorizationCode: t.authorizationCodeTtlSeconds,
      AccessToken: t.accessTokenTtlSeconds,
      IdToken: t.idTokenTtlSeconds,
      RefreshToken: t.refreshTokenTtlSeconds,
      ClientCredentials: t.clientCredentialsTtlSeconds,
      Interaction: config.otp.loginWindowSeconds * 2,
      Session: t.sessionTtlSeconds,
      Grant: t.refreshTokenTtlSeconds,
    },
    // Refresh tokens go to every client allowed the grant, as the seeds' clients expect, not only
    // to those that ask for offline_access.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    loadExistingGrant,
    findAccount: async (ctx, sub): Promise<Account | undefined> => {
      const record = await store.subjects.get(sub, now());
      if (!record) return undefined;
      const client = ctx.oidc.client ? await registry.find(ctx.oidc.client.clientId) : undefined;
      const idTokenClaims = client?.oidc?.idTokenClaims ?? [];
      return {
        accountId: sub,
        claims: (use, _scope, requested) => {
          const login = use === 'id_token' ? { idp: record.provider, transaction_id: transactionOf(requested), nbf: Math.floor(now() / 1000), at_hash: accessTokenOf(ctx) } : {};
          return { ...claimsForUse(record.attributes, use, idTokenClaims, Object.keys(requested ?? {}), login), sub };
        },
      };
    },
    interactions: {
      url: (_ctx, interaction) => deps.interactionUrl(interaction),
    },
    renderError: deps.renderError,
    // The seeds always send redirect_uri; requiring it keeps the check explicit.
    allowOmittingSingleRegisteredRedirectUri: false,
    rotateRefreshToken: true,
  };

  const provider = new Provider(`${config.publicUrl}${deps.mount}`, configuration);
  provider.proxy = koaProxy(config.trustProxy);
  return provider;
}
