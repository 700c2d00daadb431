/**
 * The storage contract. SQLite (store/sqlite) and PostgreSQL (store/postgres) implement it and
 * both pass test/store.contract.test.ts. All times are epoch milliseconds.
 *
 * Rules every implementation keeps:
 * - single use (OTP consumption, oidc-provider `consume`) is decided by the database in one
 *   atomic statement, never by process memory;
 * - a write has reached the database (and, for SQLite, its WAL) before the promise resolves;
 * - JSON columns round-trip exactly what was written.
 */
import type { Transaction, TransactionPatch } from '../core/transaction.js';

export interface TransactionStore {
  /** Inserts a new transaction. Rejects with StoreConflictError if the id or (protocol, protocolRef) exists. */
  create(tx: Transaction): Promise<void>;
  get(id: string): Promise<Transaction | null>;
  findByProtocolRef(protocol: Transaction['protocol'], protocolRef: string): Promise<Transaction | null>;
  /**
   * Compare-and-set: applies `patch` only if the stored version equals `expectedVersion`, and
   * increments the version. Returns the updated transaction, or null when the version did not
   * match (or the transaction does not exist).
   */
  update(id: string, expectedVersion: number, patch: TransactionPatch): Promise<Transaction | null>;
}

export interface OtpChallenge {
  id: string;
  transactionId: string;
  /** HMAC-SHA-256 of the code under the server's OTP key, base64url. */
  codeHash: string;
  /** Where the code went, E.164; kept so the code step can show a masked number. */
  phoneNumber: string;
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export interface OtpAttempt {
  /** The challenge after the attempt was counted. */
  challenge: OtpChallenge;
}

export interface OtpChallengeStore {
  create(challenge: OtpChallenge): Promise<void>;
  /** The most recent challenge of a transaction (by createdAt, then id), or null. */
  latest(transactionId: string): Promise<OtpChallenge | null>;
  /** How many challenges (codes sent) a transaction has. */
  countForTransaction(transactionId: string): Promise<number>;
  /**
   * Atomically counts one attempt on a challenge that is not consumed, not expired at `now` and
   * has attempts < maxAttempts, and returns it (with the new attempt count). Returns null when
   * the challenge cannot take an attempt (consumed, expired, voided by attempts, or unknown).
   */
  registerAttempt(id: string, now: number): Promise<OtpChallenge | null>;
  /** Atomically marks the challenge consumed. True only for the one call that consumed it. */
  consume(id: string, now: number): Promise<boolean>;
}

/** One row per oidc-provider model instance (Session, AccessToken, AuthorizationCode, …). */
export interface OidcModelStore {
  upsert(
    model: string,
    id: string,
    payload: Record<string, unknown>,
    expiresAt: number | null,
    refs: { grantId?: string | undefined; userCode?: string | undefined; uid?: string | undefined },
  ): Promise<void>;
  /** The payload, with `consumed` (epoch seconds) set when consumed; undefined when absent or expired. */
  find(model: string, id: string, now: number): Promise<Record<string, unknown> | undefined>;
  findByUid(model: string, uid: string, now: number): Promise<Record<string, unknown> | undefined>;
  findByUserCode(model: string, userCode: string, now: number): Promise<Record<string, unknown> | undefined>;
  /** Atomically marks the row consumed. True only for the one call that consumed it. */
  consume(model: string, id: string, now: number): Promise<boolean>;
  destroy(model: string, id: string): Promise<void>;
  /** Deletes every row (of any model) that carries this grantId. */
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface StoredKey {
  kid: string;
  /** `RS256` or `ES256`. */
  alg: string;
  /** The private JWK, as JSON text. */
  privateJwk: string;
  createdAt: number;
  /** When the key stopped being used to sign; null while current. */
  retiredAt: number | null;
  /** When the key may leave the JWKS (everything it signed has expired); null while current. */
  removeAfter: number | null;
}

export interface KeyStore {
  /** Every key whose removeAfter is null or later than `now`, newest first. */
  list(now: number): Promise<StoredKey[]>;
  insert(key: StoredKey): Promise<void>;
  /** Retires every current key of `alg` other than `exceptKid`. */
  retire(alg: string, exceptKid: string, retiredAt: number, removeAfter: number): Promise<void>;
}

export interface SecretStore {
  /**
   * Returns the secret called `name`, creating it with `generate()` if it does not exist. Two
   * processes racing here get the same value (insert-if-absent, then read).
   */
  getOrCreate(name: string, generate: () => string): Promise<string>;
}

export interface CounterStore {
  /**
   * Counts one hit on `key` in the fixed window of `windowMs` that contains `now`, and returns
   * the count in that window including this hit. Atomic across processes.
   */
  hit(key: string, windowMs: number, now: number): Promise<number>;
}

/** The latest attributes of a subject, kept as long as tokens about it may be used. */
export interface SubjectRecord {
  sub: string;
  provider: string;
  attributes: Record<string, string>;
  updatedAt: number;
  expiresAt: number;
}

export interface SubjectStore {
  put(record: SubjectRecord): Promise<void>;
  get(sub: string, now: number): Promise<SubjectRecord | null>;
}

export interface AuditEvent {
  type: string;
  at: number;
  transactionId?: string | undefined;
  clientId?: string | undefined;
  /** Never a code, a secret or a full phone number. */
  data?: Record<string, unknown> | undefined;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  /** Most recent first, for operators and tests. */
  recent(limit: number): Promise<AuditEvent[]>;
}

/** Protocol-specific state of a transaction (REST session options, SAML request data, …), kept apart from the transaction. */
export interface ProtocolStateRecord {
  protocol: string; // 'rest', 'saml', 'ciba', …
  ref: string; // the protocol's handle (e.g. REST session id)
  transactionId: string;
  state: Record<string, unknown>; // JSON
  createdAt: number; // epoch ms
  expiresAt: number; // epoch ms
}

export interface ProtocolStateStore {
  /** Inserts; StoreConflictError if (protocol, ref) exists. */
  create(record: ProtocolStateRecord): Promise<void>;
  /** The record, or null when absent. Expired records are still returned until purged (callers decide). */
  get(protocol: string, ref: string): Promise<ProtocolStateRecord | null>;
}

export interface Store {
  readonly driver: 'sqlite' | 'postgres';
  transactions: TransactionStore;
  otp: OtpChallengeStore;
  oidc: OidcModelStore;
  keys: KeyStore;
  secrets: SecretStore;
  counters: CounterStore;
  subjects: SubjectStore;
  audit: AuditStore;
  protocolState: ProtocolStateStore;
  /** Throws if the database cannot be reached. */
  ping(): Promise<void>;
  /** Deletes expired rows; returns how many were removed. */
  purgeExpired(now: number): Promise<number>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}
