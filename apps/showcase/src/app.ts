/**
 * The showcase app, wired in one place: settings → sessions → routes (seed 004's SMS flow,
 * eidhub's OIDC login and REST embedded flow, the pages, the static files). main.ts starts it; tests may build it in their own process too.
 */
import cookie from '@fastify/cookie';
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { registerAssets } from './assets.js';
import { registerErrorHandler } from './errors.js';
import { EidhubClient } from './eidhub-client.js';
import { registerOidcRoutes } from './oidc-routes.js';
import { eidhubSections, startPage, userInfoPage } from './pages.js';
import { registerRestRoutes } from './rest-routes.js';
import { SessionStore } from './sessions.js';
import { flowClients, type Settings } from './settings.js';
import { PVN_SMS, registerSmsRoutes } from './sms-routes.js';

export interface ShowcaseOptions {
  logger: Logger;
  /** The app's URL as browsers see it (decides whether cookies are Secure). */
  publicUrl: string;
}

export async function buildShowcase(settings: Settings, options: ShowcaseOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: options.logger as FastifyBaseLogger, bodyLimit: 65_536, disableRequestLogging: true });
  // One line per request, without the query string: the REST flow's return URL carries a sessionNonce.
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  await app.register(cookie, { secret: settings.session.secret ?? randomBytes(32).toString('base64url') });
  registerErrorHandler(app);

  const clients = flowClients(settings);
  const sessions = new SessionStore(settings.session.ttl_seconds * 1000, new URL(options.publicUrl).protocol === 'https:');

  registerAssets(app);
  registerSmsRoutes(app, { settings, clients, sessions });

  const eidhub = new EidhubClient(settings.eidhub, settings.upstream_timeout_ms);
  const oidcSecret = settings.eidhub.oidc.client_secret;
  if (oidcSecret) registerOidcRoutes(app, { eidhub, sessions, publicUrl: options.publicUrl, clientSecret: oidcSecret });
  if (settings.eidhub.rest.client_secret) registerRestRoutes(app, { eidhub, sessions, publicUrl: options.publicUrl });
  const sections = eidhubSections({
    eidhubUrl: settings.eidhub.url,
    oidcClientId: settings.eidhub.oidc.client_id,
    oidc: !!oidcSecret,
    restClientId: settings.eidhub.rest.client_id,
    rest: !!settings.eidhub.rest.client_secret,
  });
  const frameOrigins = settings.eidhub.rest.client_secret ? [new URL(settings.eidhub.url).origin] : [];

  app.get('/', async (_req, reply) =>
    startPage(reply, { servers: settings.auth_servers, realm: settings.realm, smsClients: clients.filter((c) => c.userFlow === PVN_SMS), sections }, { frameOrigins }),
  );
  app.get('/user/info', async (req, reply) => userInfoPage(reply, sessions.find(req)?.outcome));
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
