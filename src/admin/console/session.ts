/**
 * The console's sessions: a random id in an HttpOnly, SameSite=Strict cookie scoped to /admin,
 * and the session kept in the store under the id's SHA-256 (the store's expiring records, which
 * the purge clears), so every process knows it and a copy of the database holds no usable
 * session. A session ends after `IDLE_MS` without a request, after `MAX_AGE_MS` in any case, at
 * logout, and as soon as its number is no longer in config `admins`.
 *
 * Each session has its own CSRF token: every form of the console carries it, and the Admin API
 * asks for it (header `X-CSRF-Token`) on a change made with the session's cookie.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OidcModelStore } from '../../store/types.js';
import { CONSOLE_PATH } from './login.js';

/** The store's record kind of console sessions (beside oidc-provider's own kinds). */
const MODEL = 'AdminConsoleSession';
export const SESSION_COOKIE = 'eidhub_admin';
/** The browser's pending login (state, nonce, PKCE verifier), for the callback. */
export const LOGIN_COOKIE = 'eidhub_admin_login';
const IDLE_MS = 30 * 60_000;
const MAX_AGE_MS = 8 * 3600_000;
/** A session's idle expiry is pushed back at most this often (a write per request is not worth it). */
const TOUCH_EVERY_MS = 60_000;

export interface ConsoleSession {
  /** The admin's number (E.164), checked against config `admins` on every request. */
  phoneNumber: string;
  /** How audit events name this admin: `console` and the masked number. */
  actor: string;
  csrf: string;
  createdAt: number;
  /** When the idle expiry was last pushed back. */
  touchedAt: number;
}

const idHash = (id: string) => hash('sha256', id, 'base64url');

export class ConsoleSessions {
  constructor(
    private readonly store: OidcModelStore,
    private readonly admins: ReadonlySet<string>,
    private readonly secureCookies: boolean,
    private readonly now: () => number,
  ) {}

  /** Starts a session for an admin and sets its cookie. */
  async open(reply: FastifyReply, phoneNumber: string, actor: string): Promise<ConsoleSession> {
    const id = randomBytes(32).toString('base64url');
    const at = this.now();
    const session: ConsoleSession = { phoneNumber, actor, csrf: randomBytes(24).toString('base64url'), createdAt: at, touchedAt: at };
    await this.save(id, session);
    reply.setCookie(SESSION_COOKIE, id, { path: CONSOLE_PATH, httpOnly: true, sameSite: 'strict', secure: this.secureCookies });
    return session;
  }

  /** The request's session, if it has a live one of a current admin. */
  async of(req: FastifyRequest): Promise<ConsoleSession | undefined> {
    const id = req.cookies[SESSION_COOKIE];
    if (!id || id.length > 100) return undefined;
    const found = (await this.store.find(MODEL, idHash(id), this.now())) as ConsoleSession | undefined;
    if (!found || !this.admins.has(found.phoneNumber)) return undefined;
    const at = this.now();
    if (at - found.createdAt > MAX_AGE_MS) return undefined;
    if (at - found.touchedAt > TOUCH_EVERY_MS) await this.save(id, { ...found, touchedAt: at });
    return found;
  }

  /** Ends the request's session, in the store and in the browser. */
  async close(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const id = req.cookies[SESSION_COOKIE];
    if (id && id.length <= 100) await this.store.destroy(MODEL, idHash(id));
    reply.clearCookie(SESSION_COOKIE, { path: CONSOLE_PATH });
  }

  /** Whether `presented` is the session's CSRF token (compared in constant time). */
  static csrfMatches(session: ConsoleSession, presented: unknown): boolean {
    if (typeof presented !== 'string') return false;
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(presented);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private save(id: string, session: ConsoleSession): Promise<void> {
    const expires = Math.min(session.touchedAt + IDLE_MS, session.createdAt + MAX_AGE_MS);
    return this.store.upsert(MODEL, idHash(id), { ...session }, expires, {});
  }
}
