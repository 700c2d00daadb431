/**
 * The OpenID Provider of one realm (CONTRACT §7): issuer `{publicUrl}/auth/realms/{name}`,
 * Keycloak's paths, CIBA with poll and ping, UserInfo, the JWKS. It shares with the `/auth/open`
 * issuer our store (as its adapter), our signing keys and the subject records; its clients are the
 * realm's. Nothing is logged in here: the browser flows of the other issuer have no place in a
 * realm, whose clients are back ends (no redirect URIs, no response types).
 */
import Provider, { type Account, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Authenticator } from '../../authenticators/types.js';
import { REALM_SCOPES, type Config, type RealmConfig } from '../../config/schema.js';
import { koaProxy } from '../../http/client-address.js';
import type { PrivateJwk } from '../../keys/signing-keys.js';
import type { Store } from '../../store/types.js';
import { createAdapterFactory } from '../oidc/adapter.js';
import type { RealmClients } from './clients.js';
import { notificationFetch } from './notify.js';
import { REALM_ROUTES, realmMount } from './paths.js';
import { pollingMiddleware } from './polling.js';
import type { CibaRequests } from './requests.js';

/** The claims of each realm scope (seed 004): `ip:phone_verify` is the verified phone number. */
const SCOPE_CLAIMS: Readonly<Record<(typeof REALM_SCOPES)[number], string[]>> = {
  openid: ['sub'],
  'ip:phone_verify': ['phone_number', 'phone_number_verified'],
};

export interface RealmProviderDeps {
  config: Pick<Config, 'publicUrl' | 'trustProxy' | 'tokens'>;
  realm: RealmConfig;
  store: Store;
  clients: RealmClients;
  requests: CibaRequests;
  /** Every authenticator by id: a subject record names the one that established the person. */
  authenticators: ReadonlyMap<string, Authenticator>;
  jwks: { keys: PrivateJwk[] };
  cookieKeys: string[];
  now: () => number;
}

/**
 * The person a token is about, from the subject record every protocol writes. The person a login
 * hint names has none until they have verified, so while a request is made any subject is an
 * account (with no claims); afterwards only a recorded one is.
 */
function accountFinder(deps: RealmProviderDeps): NonNullable<Configuration['findAccount']> {
  return async (ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> => {
    const record = await deps.store.subjects.get(sub, deps.now());
    if (!record) return ctx.oidc.route === 'backchannel_authentication' ? { accountId: sub, claims: () => ({ sub }) } : undefined;
    const claims = deps.authenticators.get(record.provider)?.backchannel?.claims(record.attributes) ?? {};
    return { accountId: sub, claims: () => ({ ...claims, sub }) };
  };
}

export function createRealmProvider(deps: RealmProviderDeps): Provider {
  const { config, realm, store, clients, requests, now } = deps;
  const t = config.tokens;
  const configuration: Configuration = {
    // The config file's clients are static; those added at run time come through the adapter's
    // Client model (clients.ts). Its rows are its own (a client of the same id in another realm is another client).
    clients: clients.staticMetadata(),
    adapter: createAdapterFactory(store.oidc, (clientId) => clients.metadata(clientId), now, `realm:${realm.name}`),
    // Both are accepted; client-auth.ts restates either as Basic for oidc-provider.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    jwks: deps.jwks,
    cookies: { keys: deps.cookieKeys },
    routes: REALM_ROUTES,
    responseTypes: ['none'],
    scopes: [...REALM_SCOPES],
    claims: SCOPE_CLAIMS,
    // The scopes' claims go into the ID token as well as UserInfo (CONTRACT §7).
    conformIdTokenClaims: false,
    extraParams: ['channel', 'message'],
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      userinfo: { enabled: true },
      ciba: {
        enabled: true,
        deliveryModes: ['poll', 'ping'],
        validateRequestContext: (ctx) => requests.validateRequest(ctx),
        validateBindingMessage: (_ctx, bindingMessage) => requests.validateBindingMessage(bindingMessage),
        processLoginHint: (ctx, loginHint) => requests.accountOf(ctx, loginHint),
        // No user code: the code the person receives is the proof.
        verifyUserCode: () => undefined,
        triggerAuthenticationDevice: (ctx, request) => requests.start(ctx, request),
      },
    },
    ttl: {
      BackchannelAuthenticationRequest: (ctx) => requests.expirySeconds(ctx),
      AccessToken: t.accessTokenTtlSeconds,
      IdToken: t.idTokenTtlSeconds,
      // A grant is made when the code is right and used until its access token expires.
      Grant: requests.expirySeconds(undefined) + t.accessTokenTtlSeconds,
    },
    issueRefreshToken: () => false,
    findAccount: accountFinder(deps),
    fetch: notificationFetch((registered) => clients.notificationTarget(registered)),
    // Clients are back ends: every error is JSON, whatever they accept.
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
  const provider = new Provider(`${config.publicUrl}${realmMount(realm.name)}`, configuration);
  provider.proxy = koaProxy(config.trustProxy);
  provider.use(pollingMiddleware({ intervalSeconds: realm.pollIntervalSeconds, counters: store.counters, now }));
  return provider;
}
