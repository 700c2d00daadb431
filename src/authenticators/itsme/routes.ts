/**
 * The routes an upstream login needs outside the hosted pages (registered by the authenticator's
 * `register`):
 * - `GET /auth/upstream/jwks`: eidhub's public RP keys (sig and enc; during a rollover old and
 *   new), which the upstreams read to check its client assertions and request objects and to
 *   encrypt to it. Shared by every upstream, so registered once.
 * - `GET /auth/upstream/{id}/callback`: the one redirect URI registered at upstream `id`. The
 *   `state` names the login (`{transactionId}.{random}.{mac}`); the browser is sent on, with the same
 *   query, to that login's hosted-page callback (`/login/{transactionId}/callback`, the
 *   authenticator contract's return address), where its binding to the login is checked and the
 *   authenticator checks the whole answer.
 */
import type { FastifyInstance } from 'fastify';
import { EidhubError } from '../../core/errors.js';
import { routeRateLimit, type WindowLimit } from '../../http/rate-limit.js';
import type { RpKeys } from './rp-keys.js';
import { callbackPath, UPSTREAM_BASE } from './settings.js';

const TX_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The transaction a `state` of ours names, or undefined. */
export function transactionIdOf(state: unknown): string | undefined {
  if (typeof state !== 'string') return undefined;
  const id = state.slice(0, state.indexOf('.'));
  return TX_ID.test(id) ? id : undefined;
}

export async function registerUpstreamRoutes(app: FastifyInstance, providerId: string, keys: () => Promise<RpKeys>, limit: WindowLimit): Promise<void> {
  const jwks = `${UPSTREAM_BASE}/jwks`;
  if (!app.hasRoute({ method: 'GET', url: jwks })) {
    app.get(jwks, async (_req, reply) =>
      reply.header('content-type', 'application/jwk-set+json').header('cache-control', 'public, max-age=300').send((await keys()).publicJwks),
    );
  }
  app.get<{ Querystring: Record<string, unknown> }>(
    callbackPath(providerId),
    // Changes nothing itself, but leads to a callback that does: no HEAD twin, the pages' rate limit.
    { exposeHeadRoute: false, config: routeRateLimit(`upstream.${providerId}.callback`, limit) },
    async (req, reply) => {
      const id = transactionIdOf(req.query.state);
      if (!id) throw new EidhubError(400, 'invalid_request', 'this answer names no login; start again from the service you came from');
      const q = req.url.indexOf('?');
      return reply.redirect(`/login/${id}/callback${q >= 0 ? req.url.slice(q) : ''}`, 303);
    },
  );
}
