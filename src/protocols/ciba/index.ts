/**
 * CIBA at Keycloak's paths (CONTRACT §7, seed 004): each configured realm is an OpenID Provider of
 * its own at `/auth/realms/{name}` (provider.ts), whose CIBA requests become transactions run by
 * an authenticator's back channel (requests.ts: `channel=sms` is the SMS code of the hosted
 * pages), and whose callback takes the code the person typed into the relying party's app
 * (callback.ts). Nothing reaches the hosted pages: a CIBA transaction has no page.
 */
import type { FastifyInstance } from 'fastify';
import type Provider from 'oidc-provider';
import type { Authenticator } from '../../authenticators/types.js';
import type { RealmConfig } from '../../config/schema.js';
import { addRawRoute, toEidhubError } from '../../http/server.js';
import { tokenKeysWatcher } from '../../keys/signing-keys.js';
import { clientAuthLimits } from '../oidc/client-auth-limits.js';
import { mountHandler } from '../oidc/mount.js';
import { subjectRetentionMs } from '../subjects.js';
import type { PagePolicy, ProtocolContext, ProtocolInstance, ProtocolPlugin } from '../types.js';
import { callbackHandler, CallbackRefusal, type CallbackDeps } from './callback.js';
import { RealmClients } from './clients.js';
import { CALLBACKS_PREFIX, callbackRoute, REALM_CLIENT_AUTH_PATHS, realmMount } from './paths.js';
import { createRealmProvider } from './provider.js';
import { CibaRequests, type ChannelAuthenticator } from './requests.js';

/** A CIBA transaction has no hosted page (the hosted pages answer 404 for it). */
const NO_PAGES: PagePolicy = { hosted: false, frameAncestors: ["'none'"], formActionOrigins: [], embedded: false, clientName: undefined, backUrl: undefined };

/** The bodies the callback takes: `{"code": "123456"}`. */
const CALLBACK_BODY_LIMIT = 1024;

const hasBackchannel = (authenticator: Authenticator): authenticator is ChannelAuthenticator => authenticator.backchannel !== undefined;

/** The authenticators a back channel can start, by channel. */
function channelsOf(context: ProtocolContext): Map<string, ChannelAuthenticator> {
  const channels = new Map<string, ChannelAuthenticator>();
  for (const authenticator of context.authenticators.values()) {
    if (!hasBackchannel(authenticator)) continue;
    const { channel } = authenticator.backchannel;
    if (channels.has(channel)) throw new Error(`two authenticators offer the back channel ${channel}`);
    channels.set(channel, authenticator);
  }
  return channels;
}

/** One realm: its mount, clients and requests; its Provider is rebuilt when the signing keys change. */
interface Realm {
  config: RealmConfig;
  mount: string;
  clients: RealmClients;
  requests: CibaRequests;
  provider: Provider;
}

/** Registers a realm's callback, in a scope that answers in the OAuth style of its other endpoints. */
async function registerCallback(app: FastifyInstance, realm: Realm, deps: Omit<CallbackDeps, 'realm' | 'provider'>): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler(async (err, req, reply) => {
      const e = toEidhubError(err instanceof Error ? err : new Error(String(err)));
      if (e.status >= 500) req.log.error({ err: e.cause ?? e }, 'ciba: callback failed');
      if (e.status === 401) reply.header('www-authenticate', `Bearer realm="${realm.config.name}", error="${e.code}"`);
      const body =
        e.status >= 500
          ? { error: 'server_error', error_description: 'something went wrong on our side; try again' }
          : { error: e.code, error_description: e.message, ...(e instanceof CallbackRefusal ? e.details : {}) };
      return reply.code(e.status).header('cache-control', 'no-store').send(body);
    });
    scope.post(
      `${realm.mount}${callbackRoute(':channel')}`,
      { bodyLimit: CALLBACK_BODY_LIMIT },
      callbackHandler({ ...deps, realm: realm.config.name, provider: () => realm.provider }),
    );
  });
}

export const cibaPlugin: ProtocolPlugin = {
  protocol: 'ciba',
  async create(context: ProtocolContext): Promise<ProtocolInstance> {
    const { config, store, logger } = context;
    const channels = channelsOf(context);
    const cookieKey = await context.serverKey('cookie');
    const providerOf = (realm: Omit<Realm, 'provider'>, jwks: ProtocolContext['jwks']) =>
      createRealmProvider({
        config,
        realm: realm.config,
        store,
        clients: realm.clients,
        requests: realm.requests,
        authenticators: context.authenticators,
        jwks,
        cookieKeys: [cookieKey.toString('base64url')],
        now: context.now,
      });
    const realms: Realm[] = config.realms.map((realmConfig) => {
      const realm = {
        config: realmConfig,
        mount: realmMount(realmConfig.name),
        clients: new RealmClients(context.clients, realmConfig.name),
        requests: new CibaRequests({
          realm: realmConfig,
          accountId: config.accountId,
          channels,
          transactions: context.transactions,
          maxExpirySeconds: config.otp.codeTtlSeconds,
          logger,
        }),
      };
      return { ...realm, provider: providerOf(realm, context.jwks) };
    });

    const tokenKeysChanged = tokenKeysWatcher(context.jwks);
    return {
      protocol: 'ciba',
      finish: async () => ({ kind: 'none' }),
      pagePolicy: async () => NO_PAGES,
      keysChanged(jwks) {
        // The store's key set changed; the token keys may not have (a SAML key rotation).
        if (!tokenKeysChanged(jwks)) return;
        for (const realm of realms) realm.provider = providerOf(realm, jwks);
      },
      async register(app: FastifyInstance) {
        for (const realm of realms) {
          await registerCallback(app, realm, {
            store,
            transactions: context.transactions,
            channels,
            subjectRetentionMs: subjectRetentionMs(config.tokens),
            logger,
            now: context.now,
          });
          // Everything else below the realm's mount is its OpenID Provider's (mount.ts).
          const prefix = `${realm.mount}/`;
          const callbacks = `${realm.mount}${CALLBACKS_PREFIX}`;
          await addRawRoute(
            app,
            {
              matches: (url) => url.startsWith(prefix) && !url.startsWith(callbacks),
              fastifyPath: `${realm.mount}/*`,
              handle: mountHandler({
                mount: realm.mount,
                provider: () => realm.provider,
                registry: realm.clients,
                fastPaths: config.oidcFastPaths,
                clientAuthPaths: REALM_CLIENT_AUTH_PATHS,
                limits: clientAuthLimits(context, realm.mount),
              }),
            },
            { beforeFastify: config.oidcFastPaths },
          );
        }
        if (realms.length > 0) logger.info({ realms: realms.map((r) => r.config.name), channels: [...channels.keys()] }, 'ciba: realms ready');
      },
    };
  },
};
