/**
 * The itsme® sandbox simulator (CONTRACT §8): an OpenID Provider at `{publicUrl}/sandbox/itsme`
 * that behaves as itsme's test environment does, with test identities and a consent page, so that
 * eidhub's upstream OpenID Connect login runs against it as it would against itsme.
 *
 * Everything below the mount is oidc-provider's (served before Fastify, as eidhub's issuers are),
 * except the consent page, which is eidhub's route.
 */
import type { FastifyInstance } from 'fastify';
import type { errors, KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import { addRawRoute } from '../../http/server.js';
import { mountHandler } from '../../protocols/oidc/mount.js';
import { rpKeysOf } from '../../authenticators/itsme/rp-keys.js';
import { resolveSettings } from '../../authenticators/itsme/settings.js';
import type { Config, TrustProxy } from '../../config/schema.js';
import type { Store } from '../../store/types.js';
import { providerErrorPage, registerConsentRoutes } from './consent.js';
import { INTERACTION_PREFIX, ITSME_SIMULATOR_MOUNT } from './paths.js';
import { createSimulatorProvider, simulatorSigningKey, type SimulatorClient } from './provider.js';

export { ITSME_SIMULATOR_MOUNT } from './paths.js';
export { TEST_IDENTITIES, subjectOf, type TestIdentity } from './identities.js';
export type { SimulatorClient } from './provider.js';

export interface ItsmeSimulatorDeps {
  publicUrl: string;
  store: Store;
  trustProxy: TrustProxy;
  logger: Logger;
  now: () => number;
  clients: SimulatorClient[];
  cookieKeys: string[];
}

/**
 * No client of the simulator has a secret: each authenticates with private_key_jwt, which
 * oidc-provider checks itself, so the mount restates no client authentication.
 */
const NO_SECRET_CLIENTS = { find: async () => undefined, verifySecret: () => false };

/**
 * Mounts the simulator on `app`, which must come from createServer (src/http/server.ts): its
 * endpoints are a raw route there.
 */
export async function registerItsmeSimulator(app: FastifyInstance, deps: ItsmeSimulatorDeps): Promise<{ issuer: string }> {
  const logger = deps.logger.child({ module: 'itsme-simulator' });
  const provider = createSimulatorProvider({
    publicUrl: deps.publicUrl,
    store: deps.store,
    trustProxy: deps.trustProxy,
    now: deps.now,
    clients: deps.clients,
    signingKey: await simulatorSigningKey(deps.store.secrets),
    cookieKeys: deps.cookieKeys,
    renderError: providerErrorPage,
  });
  // What oidc-provider refuses, and why, for whoever debugs a client against the simulator; its
  // errors carry no token, code nor assertion.
  const refused = (event: string) => (_ctx: KoaContextWithOIDC, err: errors.OIDCProviderError) =>
    logger.info({ event, error: err.error, description: err.error_description, detail: err.error_detail }, 'itsme simulator: request refused');
  provider.on('authorization.error', refused('authorization.error'));
  provider.on('grant.error', refused('grant.error'));
  provider.on('userinfo.error', refused('userinfo.error'));
  provider.on('server_error', (_ctx, err: Error) => logger.error({ err }, 'itsme simulator: oidc-provider failed'));

  await registerConsentRoutes(app, { provider: () => provider, logger });
  const prefix = `${ITSME_SIMULATOR_MOUNT}/`;
  const interactions = `${ITSME_SIMULATOR_MOUNT}${INTERACTION_PREFIX}`;
  await addRawRoute(app, {
    matches: (url) => url.startsWith(prefix) && !url.startsWith(interactions),
    fastifyPath: `${ITSME_SIMULATOR_MOUNT}/*`,
    handle: mountHandler({ mount: ITSME_SIMULATOR_MOUNT, provider: () => provider, registry: NO_SECRET_CLIENTS, fastPaths: false, clientAuthPaths: new Set() }),
  });
  return { issuer: provider.issuer };
}

/**
 * Registers the simulator with eidhub's upstream client of each provider configured with
 * `simulator: true` as its clients (their keys read from the store at each look-up, so a
 * rotation is seen at once).
 */
export async function registerSandboxItsme(app: FastifyInstance, deps: { config: Config; store: Store; logger: Logger; now: () => number; cookieKey: Buffer }): Promise<void> {
  const { config, store } = deps;
  const clients: SimulatorClient[] = config.upstreamProviders
    .filter((p) => p.simulator)
    .map((p) => resolveSettings(p, config.publicUrl))
    .map((s) => ({
      clientId: s.clientId,
      redirectUris: [s.redirectUri],
      jwks: async () => (await rpKeysOf(store, deps.now())).publicJwks,
      ...(s.encryption ? { encryption: s.encryption } : {}),
    }));
  await registerItsmeSimulator(app, {
    publicUrl: config.publicUrl,
    store,
    trustProxy: config.trustProxy,
    logger: deps.logger,
    now: deps.now,
    clients,
    cookieKeys: [deps.cookieKey.toString('base64url')],
  });
}
