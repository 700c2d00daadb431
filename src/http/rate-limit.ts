/**
 * Request rate limits kept in the Store (CounterStore.hit: an atomic fixed window), so that every
 * process behind a load balancer counts against one limit. @fastify/rate-limit does the rest:
 * the key (the client address, `trustProxy`'s rule), the route hook and the 429 (see server.ts).
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { counterWindow } from '../store/rows.js';
import type { CounterStore } from '../store/types.js';

/** A limit from the configuration (config/schema.ts, `rateLimits`). */
export interface WindowLimit {
  max: number;
  windowSeconds: number;
}

/** The @fastify/rate-limit store class counting in `counters`. */
export function storeRateLimits(counters: CounterStore, now: () => number): FastifyRateLimitStoreCtor {
  return class StoreRateLimits implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const at = now();
      // A count lost in a crash costs nothing: the request need not wait for its commit.
      counters.hit(`rate:${key}`, timeWindow, at, 'ordered').then(
        (current) => callback(null, { current, ttl: counterWindow(timeWindow, at).end - at }),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    }

    /** Every route counts in the same table; its groupId (routeRateLimit) keeps its counts apart. */
    child(): FastifyRateLimitStore {
      return this;
    }
  }
}

/**
 * A route's `config`, limited by `limit` per client address. `group` names its counter: routes
 * with one group share one count per address, so each limited route names its own.
 */
export function routeRateLimit(group: string, limit: WindowLimit): { rateLimit: { max: number; timeWindow: number; groupId: string } } {
  return { rateLimit: { max: limit.max, timeWindow: limit.windowSeconds * 1000, groupId: `@${group}` } };
}
