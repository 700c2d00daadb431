/**
 * The polling rules oidc-provider leaves to us (ENVIRONMENT.md): its authentication response has
 * no `interval`, and its CIBA grant never answers `slow_down`. One Koa middleware in front of the
 * realm's routes adds both.
 *
 * Polls are counted in the store's counters (CounterStore.hit, atomic on SQLite and PostgreSQL),
 * one fixed window of `interval` per auth_req_id, so polls that land on different processes are
 * counted together. A second poll in one window came sooner than `interval` after the first:
 * it is answered `slow_down` instead of `authorization_pending`. A client that waits `interval`
 * between polls is never told to slow down (two of its polls never share a window); one that polls
 * faster is told so at the latest on its next poll (two polls a moment apart may straddle a window's
 * edge). The counters hold a hash of the auth_req_id, never the value, and are purged with the
 * other expired counters.
 */
import { createHash } from 'node:crypto';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { CounterStore } from '../../store/types.js';

export interface PollingRules {
  intervalSeconds: number;
  counters: CounterStore;
  now: () => number;
}

type Next = () => Promise<unknown>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function pollKey(authReqId: string): string {
  return `ciba:poll:${createHash('sha256').update(authReqId).digest('base64url').slice(0, 22)}`;
}

/** The middleware, for Provider#use. */
export function pollingMiddleware(rules: PollingRules): (ctx: KoaContextWithOIDC, next: Next) => Promise<void> {
  const windowMs = rules.intervalSeconds * 1000;
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || !isRecord(ctx.body)) return;
    const route = ctx.oidc?.route;
    if (route === 'backchannel_authentication' && ctx.status === 200 && typeof ctx.body.auth_req_id === 'string') {
      ctx.body = { ...ctx.body, interval: rules.intervalSeconds };
    } else if (route === 'token' && ctx.body.error === 'authorization_pending') {
      const id = ctx.oidc.params?.auth_req_id;
      if (typeof id !== 'string') return;
      const polls = await rules.counters.hit(pollKey(id), windowMs, rules.now());
      if (polls > 1) {
        ctx.body = {
          error: 'slow_down',
          error_description: `polled again within ${rules.intervalSeconds} s (the interval); wait ${rules.intervalSeconds + 5} s between polls from now on`,
        };
      }
    }
  };
}
