/**
 * Failed client authentications, limited per client and per address at every endpoint where
 * clients authenticate (the issuer's token, introspection, revocation and PAR endpoints, and each
 * realm's). A failure is a known confidential client's wrong secret; it is counted in the Store
 * (CounterStore, one fixed window), so every process sees the same counts. The rule, per window:
 *
 * - an address (an IPv6 one by its /64) that presented `perAddress` wrong secrets is refused
 *   outright, right secret or not;
 * - a client whose secrets were guessed wrong `perClient` times, from anywhere, refuses further
 *   wrong secrets and every attempt from an address that presented a wrong one for it; the right
 *   secret from an address without a failure keeps working, so an attacker spread over many
 *   addresses cannot lock the client out, and gets one guess per address per window.
 *
 * A refusal is a 429 with Retry-After (the end of the window) and `{"error": "slow_down"}`; the
 * failure that reaches a limit is answered as usual (`invalid_client`) and leaves an audit event,
 * `client_auth.limited`, and a warning in the log. A successful authentication reads three
 * counters and writes nothing; with the fast paths on (config `oidcFastPaths`), what it read is
 * reused for READ_REUSE_MS, so a busy client costs one read a second rather than one a request
 * (bench: `client_credentials`), and a failure seen elsewhere reaches it within that time; a
 * failure counted here is seen at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RateLimitsConfig } from '../../config/schema.js';
import { clientAddress, limitedAddress, proxyTrust, type ProxyTrust } from '../../http/client-address.js';
import { sendJson } from '../../http/server.js';
import { counterWindow, windowStartOf } from '../../store/rows.js';
import type { AuditStore, CounterStore } from '../../store/types.js';
import type { ProtocolContext } from '../types.js';
import type { CheckedCredentials } from './client-auth.js';

/** How long a read of a successful authentication's counters is reused (fast paths only). */
const READ_REUSE_MS = 1000;
/** Reads kept at most; beyond, the oldest half goes (many addresses, each seen once). */
const MAX_REUSED_READS = 10_000;

export interface ClientAuthLimitsDeps {
  limits: RateLimitsConfig['clientAuthFailures'];
  counters: CounterStore;
  audit: AuditStore;
  /** Who the client is (trustProxy's rule, as Fastify's req.ip). */
  trust: ProxyTrust;
  /** Reuse a successful authentication's read for READ_REUSE_MS (the fast paths' switch). */
  reuseReads: boolean;
  logger: Logger;
  now: () => number;
}

/** The limits of one mount: a realm's client ids are its own, so the mount is part of a client's key. */
export class ClientAuthLimits {
  private readonly windowMs: number;
  /** Counts read for a successful authentication, by its keys, and when. */
  private readonly reads = new Map<string, { at: number; counts: number[] }>();

  constructor(
    private readonly deps: ClientAuthLimitsDeps,
    private readonly mount: string,
  ) {
    this.windowMs = deps.limits.windowSeconds * 1000;
  }

  /**
   * Whether `credentials`, presented by `req`, may go on (null) or are refused: then the seconds
   * until the window ends, for Retry-After. Counts the failure when the secret is wrong.
   */
  async check(req: IncomingMessage, credentials: CheckedCredentials): Promise<number | null> {
    const { limits, counters } = this.deps;
    const address = limitedAddress(clientAddress(req, this.deps.trust));
    const clientId = credentials.client.clientId;
    const keys = [`auth-fail:addr:${address}`, `auth-fail:client:${this.mount}:${clientId}`, `auth-fail:pair:${this.mount}:${clientId}:${address}`];
    const now = this.deps.now();
    const retryAfter = Math.max(1, Math.ceil((counterWindow(this.windowMs, now).end - now) / 1000));
    if (credentials.valid) {
      const [byAddress = 0, byClient = 0, byPair = 0] = await this.countsOf(keys, now);
      return byAddress >= limits.perAddress || (byClient >= limits.perClient && byPair > 0) ? retryAfter : null;
    }
    // A failure here is seen by every next check at once (failures are rare: forgetting every read costs little).
    this.reads.clear();
    // Ordered, not durable: the refusal or the invalid_client does not wait for a commit.
    const [byAddress = 0, byClient = 0] = await Promise.all(keys.map((k) => counters.hit(k, this.windowMs, now, 'ordered')));
    if (byAddress === limits.perAddress) await this.tripped('address', clientId, address, limits.perAddress, now);
    if (byClient === limits.perClient) await this.tripped('client', clientId, address, limits.perClient, now);
    return byAddress > limits.perAddress || byClient > limits.perClient ? retryAfter : null;
  }

  /** The counters of `keys`, read now or, with reuse on, at most READ_REUSE_MS ago in the same window. */
  private async countsOf(keys: string[], now: number): Promise<number[]> {
    if (!this.deps.reuseReads) return this.deps.counters.counts(keys, this.windowMs, now);
    const id = keys.join('\n');
    const known = this.reads.get(id);
    if (known && now - known.at < READ_REUSE_MS && windowStartOf(this.windowMs, known.at) === windowStartOf(this.windowMs, now)) return known.counts;
    const counts = await this.deps.counters.counts(keys, this.windowMs, now);
    if (this.reads.size >= MAX_REUSED_READS) for (const old of [...this.reads.keys()].slice(0, MAX_REUSED_READS / 2)) this.reads.delete(old);
    this.reads.set(id, { at: now, counts });
    return counts;
  }

  private async tripped(limit: 'address' | 'client', clientId: string, address: string, failures: number, now: number): Promise<void> {
    const data = { limit, mount: this.mount, address, failures, windowSeconds: this.deps.limits.windowSeconds };
    this.deps.logger.warn({ clientId, ...data }, `client authentication: too many failures by ${limit}, further attempts refused until the window ends`);
    await this.deps.audit.append({ type: 'client_auth.limited', at: now, clientId, data });
  }
}

/** The limits of the clients authenticating at `mount`, from the protocols' context. */
export function clientAuthLimits(context: ProtocolContext, mount: string): ClientAuthLimits {
  const { config, store, logger, now } = context;
  return new ClientAuthLimits(
    {
      limits: config.rateLimits.clientAuthFailures,
      counters: store.counters,
      audit: store.audit,
      trust: proxyTrust(config.trustProxy),
      reuseReads: config.oidcFastPaths,
      logger: logger.child({ module: 'client-auth' }),
      now,
    },
    mount,
  );
}

/** The answer to a refused attempt (a token endpoint's JSON error, never cached). */
export function refuseClientAuth(res: ServerResponse, retryAfterSeconds: number): void {
  sendJson(
    res,
    429,
    { error: 'slow_down', error_description: `too many failed client authentications; try again in ${retryAfterSeconds} seconds` },
    { 'retry-after': String(retryAfterSeconds) },
  );
}
