/**
 * The showcase app, wired in one place: settings → sessions → routes (seed 004's SMS flow, the
 * pages, the static files). main.ts starts it; tests may build it in their own process too.
 */
import cookie from '@fastify/cookie';
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { registerAssets } from './assets.js';
import { registerErrorHandler } from './errors.js';
import { startPage, userInfoPage } from './pages.js';
import { SessionStore } from './sessions.js';
import { flowClients, type Settings } from './settings.js';
import { PVN_SMS, registerSmsRoutes } from './sms-routes.js';

export interface ShowcaseOptions {
  logger: Logger;
  /** The app's URL as browsers see it (decides whether cookies are Secure). */
  publicUrl: string;
}

export async function buildShowcase(settings: Settings, options: ShowcaseOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: options.logger as FastifyBaseLogger, bodyLimit: 65_536 });
  await app.register(cookie, { secret: settings.session.secret ?? randomBytes(32).toString('base64url') });
  registerErrorHandler(app);

  const clients = flowClients(settings);
  const sessions = new SessionStore(settings.session.ttl_seconds * 1000, new URL(options.publicUrl).protocol === 'https:');

  registerAssets(app);
  registerSmsRoutes(app, { settings, clients, sessions });

  app.get('/', async (_req, reply) =>
    startPage(reply, { servers: settings.auth_servers, realm: settings.realm, smsClients: clients.filter((c) => c.userFlow === PVN_SMS), sections: [] }),
  );
  app.get('/user/info', async (req, reply) => userInfoPage(reply, sessions.find(req)?.outcome));
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
