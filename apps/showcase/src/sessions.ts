/**
 * Browser sessions, kept in this process's memory: the cookie holds only a random id, signed
 * (HttpOnly, SameSite=Lax, Secure when the app is served over https). A session carries the
 * verifications it started (each auth_req_id with the nonce the page was given) and the last
 * result /user/info shows. Sessions end after `ttl` without use; the map is bounded.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'showcase_session';
/** Sessions kept at most; the least recently used goes first. */
const MAX_SESSIONS = 10_000;
/** Verifications one session may have started and not finished. */
const MAX_PENDING = 5;

export interface PendingVerification {
  nonce: string;
  clientId: string;
  serverId: string;
  loginHint: string;
  expiresAt: number;
}

/** The flows the page offers: seed 004's SMS verification, and eidhub's OIDC and REST logins. */
export type Via = 'pvn_sms' | 'oidc' | 'rest';

/**
 * What /user/info shows: the verified identity (`claims` in OIDC's words: sub, phone_number,
 * phone_number_verified; `raw` as the server answered), or the error of the last attempt.
 */
export type Outcome =
  | { kind: 'verified'; via: Via; server: string; claims: Record<string, unknown>; raw: unknown; at: number }
  | { kind: 'failed'; via: Via; error: Record<string, unknown>; at: number };

export interface Session {
  readonly id: string;
  lastUsed: number;
  pending: Map<string, PendingVerification>;
  outcome?: Outcome;
  /** Per-protocol state that lives until the browser comes back (OIDC state, REST session). */
  flows: Map<string, unknown>;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly secureCookie: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** The browser's session, if its cookie names a live one. */
  find(req: FastifyRequest): Session | undefined {
    const raw = req.cookies[SESSION_COOKIE];
    if (!raw) return undefined;
    const unsigned = req.unsignCookie(raw);
    if (!unsigned.valid || !unsigned.value) return undefined;
    const session = this.sessions.get(unsigned.value);
    if (!session) return undefined;
    if (this.now() - session.lastUsed > this.ttlMs) {
      this.sessions.delete(session.id);
      return undefined;
    }
    // Map order is the eviction order: move the session to the end.
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    session.lastUsed = this.now();
    return session;
  }

  /**
   * A live session by its id, for a request that cannot carry the cookie: the REST flow's return
   * page loads in a frame that a cross-site page navigated, so the SameSite=Lax cookie stays home.
   */
  byId(id: string): Session | undefined {
    const session = this.sessions.get(id);
    return session && this.now() - session.lastUsed <= this.ttlMs ? session : undefined;
  }

  /** The browser's session, or a new one with its cookie set on the reply. */
  obtain(req: FastifyRequest, reply: FastifyReply): Session {
    const found = this.find(req);
    if (found) return found;
    this.evict();
    const session: Session = { id: randomBytes(24).toString('base64url'), lastUsed: this.now(), pending: new Map(), flows: new Map() };
    this.sessions.set(session.id, session);
    reply.setCookie(SESSION_COOKIE, session.id, { signed: true, httpOnly: true, sameSite: 'lax', secure: this.secureCookie, path: '/' });
    return session;
  }

  addPending(session: Session, authReqId: string, pending: PendingVerification): void {
    for (const [id, p] of session.pending) if (p.expiresAt <= this.now()) session.pending.delete(id);
    session.pending.set(authReqId, pending);
    while (session.pending.size > MAX_PENDING) session.pending.delete(session.pending.keys().next().value!);
  }

  private evict(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const session of this.sessions.values()) {
      if (session.lastUsed > cutoff && this.sessions.size < MAX_SESSIONS) break;
      this.sessions.delete(session.id);
    }
  }
}

/** Compares a value the browser sent with the one its session holds, in constant time. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
