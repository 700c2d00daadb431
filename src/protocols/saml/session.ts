/**
 * The IdP's single sign-on session: after a SAML login the browser holds a random key (a cookie);
 * the store holds, under that key's SHA-256, who logged in, how, when, and which service
 * providers received an assertion from it (the participants single logout must reach). A request
 * without ForceAuthn from a browser with a live session gets its Response at once; IsPassive
 * without one gets NoPassive. The session lasts `saml.sessionTtlSeconds` from the login, never
 * longer, whatever it is used for.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { LevelOfAssurance, TransactionSubject } from '../../core/transaction.js';
import type { OidcModelStore } from '../../store/types.js';

/** The store's expiring-document rows hold the sessions under this model name. */
const MODEL = 'SamlSession';

export interface SessionParticipant {
  sp: string;
  nameId: string;
  nameIdFormat: string;
  nameQualifier: string;
}

/** A single logout in progress: whom it answers, and the participants still to be told. */
export interface LogoutInProgress {
  /** The SP that asked, and what its answer must carry. */
  initiator: { sp: string; requestId: string; relayState: string | undefined };
  pending: string[];
  /** The participant told last, and the ID of the LogoutRequest it was sent. */
  awaiting: { sp: string; requestId: string } | undefined;
  partial: boolean;
}

export interface SamlSession {
  subject: TransactionSubject;
  provider: string;
  loa: LevelOfAssurance;
  authnInstant: number;
  sessionIndex: string;
  participants: SessionParticipant[];
  expiresAt: number;
  logout?: LogoutInProgress | undefined;
}

const storeId = (cookie: string) => createHash('sha256').update(cookie).digest('base64url');
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  constructor(private readonly store: OidcModelStore) {}

  newKey(): string {
    return randomBytes(32).toString('base64url');
  }

  async get(cookie: string | undefined, now: number): Promise<SamlSession | undefined> {
    if (!cookie || !COOKIE_VALUE.test(cookie)) return undefined;
    const found = (await this.store.find(MODEL, storeId(cookie), now)) as SamlSession | undefined;
    return found && found.expiresAt > now ? found : undefined;
  }

  async put(cookie: string, session: SamlSession): Promise<void> {
    await this.store.upsert(MODEL, storeId(cookie), session as unknown as Record<string, unknown>, session.expiresAt, {});
  }

  async remove(cookie: string): Promise<void> {
    if (COOKIE_VALUE.test(cookie)) await this.store.destroy(MODEL, storeId(cookie));
  }
}

/** The session with `sp` among its participants (once: a later login at the same SP replaces its entry). */
export function withParticipant(session: SamlSession, participant: SessionParticipant): SamlSession {
  return { ...session, participants: [...session.participants.filter((p) => p.sp !== participant.sp), participant] };
}
