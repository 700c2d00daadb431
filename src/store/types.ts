/**
 * The storage contract. SQLite (store/sqlite) and PostgreSQL (store/postgres) implement it and
 * both pass test/store.contract.test.ts. All times are epoch milliseconds.
 *
 * Rules every implementation keeps:
 * - single use (OTP consumption, oidc-provider `consume`) is decided by the database in one
 *   atomic statement (or, for OTP verify, one atomic unit), never by process memory;
 * - a write has reached the database (and, for SQLite, its WAL) before the promise resolves;
 * - a read never answers with a write that has not reached the database: what a client was shown
 *   survives a crash of the process;
 * - an operation that writes several rows (a change with its audit event, issue, verify) is one
 *   atomic unit: all of it is written or none of it;
 * - JSON columns round-trip exactly what was written.
 */
import type { AuditEvent, TransactionChange, TransactionStore, WriteDurability } from '../core/ports.js';
import type { Transaction } from '../core/transaction.js';

/** Declared by core (core/ports.ts), implemented here. */
export type { AuditEvent, TransactionChange, TransactionStore, WriteDurability };

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

/** What OtpChallengeStore.issue does, in one atomic unit. */
export interface OtpIssue {
  /** The time the counter's window is taken from. */
  now: number;
  /**
   * One hit on this counter (as CounterStore.hit), counted whatever the outcome, also when it
   * is over the limit; the rest happens only when the count, this hit included, is at most `limit`.
   */
  counter: { key: string; windowMs: number; limit: number };
  /** The transaction's change (compare-and-set) and its audit event. */
  change: TransactionChange;
  /** Inserted when the change applied; its transactionId must be change.id. */
  challenge: OtpChallenge;
  /**
   * Send budgets (per client address, prefix, country, client, global…), checked after the
   * per-number counter passed. Each takes one hit in its fixed window of `windowMs`; the hits are
   * kept only when the code is issued, so attempts refused by any budget (or by the
   * compare-and-set) spend none of them. Over any one: nothing else is written.
   */
  budgets?: readonly OtpBudget[];
  /** The conversion guard of the number's prefix: a paused prefix gets no code; an issued code counts as sent. */
  conversion?: OtpConversionGuard;
}

/** One send budget: at most `limit` codes in each fixed window of `windowMs`. */
export interface OtpBudget {
  /** What the budget is (`address`, `prefix`, …): reported when it refuses. */
  name: string;
  /** Its counter key (in the counters table). */
  key: string;
  windowMs: number;
  limit: number;
}

/**
 * Codes sent against codes verified for one prefix, over a sliding window of `windowMs` kept in
 * buckets of `bucketMs`. When a code issued brings the window to at least `minSent` sent with a
 * ratio verified/sent below `minRatio`, the prefix is paused until `now + pauseMs`, and its counts
 * start again from zero (so it resumes after the pause rather than tripping at once).
 */
export interface OtpConversionGuard {
  prefix: string;
  windowMs: number;
  bucketMs: number;
  minSent: number;
  minRatio: number;
  pauseMs: number;
}

/** What a code verified adds to its prefix's conversion counts. */
export interface OtpConversionRecord {
  prefix: string;
  windowMs: number;
  bucketMs: number;
}

export type OtpIssueResult =
  /** Over the per-number limit: only the hit was counted. */
  | { kind: 'limited'; count: number }
  /** Over the budget `budget` until `retryAt` (epoch ms): only the per-number hit was counted. */
  | { kind: 'overBudget'; count: number; budget: string; retryAt: number }
  /** The prefix is paused by the conversion guard until `retryAt`: only the per-number hit was counted. */
  | { kind: 'paused'; count: number; retryAt: number }
  /** The compare-and-set lost: only the hit was counted. */
  | { kind: 'changed'; count: number }
  /**
   * Counted, the transaction changed, the challenge inserted and the audit event written. `paused`
   * when this code tripped the conversion guard: later codes to the prefix wait until `until`.
   */
  | { kind: 'issued'; count: number; tx: Transaction; paused?: { until: number; sent: number; verified: number } };

/** What OtpChallengeStore.verify does, in one atomic unit. */
export interface OtpVerify {
  /** The challenge the code is for. */
  id: string;
  now: number;
  /**
   * The hash of the code presented, compared in constant time with the challenge's `codeHash`
   * once the attempt is counted. The caller hashes before the call: a challenge's hash is keyed
   * by its id, which the caller names.
   */
  codeHash: string;
  /** Applied when the code matches; change.id must be the challenge's transactionId. */
  onMatch: TransactionChange;
  /** The audit event written when the code does not match; the store adds the attempt's number as `data.attempt`. */
  onWrong: AuditEvent;
  /** When verified, one code verified is counted for this prefix (the conversion guard's). */
  conversion?: OtpConversionRecord;
}

export type OtpVerifyResult =
  /**
   * No attempt counted: the challenge is consumed, expired at `now`, out of attempts, or
   * unknown (null). The challenge as it stands.
   */
  | { kind: 'void'; challenge: OtpChallenge | null }
  /** The attempt was counted, the code is wrong, and onWrong's event written. */
  | { kind: 'wrong'; challenge: OtpChallenge }
  /**
   * The attempt was counted and the code is right, but the transaction's compare-and-set lost:
   * the challenge is not consumed (it keeps the counted attempt) and the transaction is unchanged.
   */
  | { kind: 'changed'; challenge: OtpChallenge }
  /** Counted, right, consumed at `now`; the transaction changed and onMatch's event written. */
  | { kind: 'verified'; challenge: OtpChallenge; tx: Transaction };

export interface OtpChallengeStore {
  /** Inserts a challenge on its own. For tests (fixtures) and operators; eidhub's flows insert through issue. */
  create(challenge: OtpChallenge): Promise<void>;
  /** The most recent challenge of a transaction (by createdAt, then id), or null. */
  latest(transactionId: string): Promise<OtpChallenge | null>;
  /** How many challenges (codes sent) a transaction has. For tests (checks) and operators; eidhub's flows do not call it. */
  countForTransaction(transactionId: string): Promise<number>;
  /**
   * Sending a code, before it leaves: counts the hit on the per-number counter and, within its
   * limit, changes the transaction (compare-and-set), inserts the challenge and writes the
   * change's audit event. Rejects with StoreConflictError if the challenge id exists (then
   * nothing is written, the hit neither).
   */
  issue(issue: OtpIssue): Promise<OtpIssueResult>;
  /**
   * Checking a code: atomically counts one attempt on a challenge that is not consumed, not
   * expired at `now` and has attempts < maxAttempts, compares `codeHash` with the challenge's in
   * constant time, and then either consumes the challenge and applies onMatch (both or neither),
   * or writes onWrong's event.
   * Concurrent calls on one challenge are serialised: at most one is ever `verified`.
   */
  verify(verify: OtpVerify): Promise<OtpVerifyResult>;
  /** The prefix's conversion counts in the window ending at `now`, and its pause if one runs at `now`. For tests and operators. */
  conversion(prefix: string, windowMs: number, now: number): Promise<{ sent: number; verified: number; pausedUntil: number | null }>;
}

/** One row per oidc-provider model instance (Session, AccessToken, AuthorizationCode, …). */
export interface OidcModelStore {
  upsert(
    model: string,
    id: string,
    payload: Record<string, unknown>,
    expiresAt: number | null,
    refs: { grantId?: string | undefined; userCode?: string | undefined; uid?: string | undefined },
    durability?: WriteDurability,
  ): Promise<void>;
  /** The payload, with `consumed` (epoch seconds) set when consumed; undefined when absent or expired. */
  find(model: string, id: string, now: number): Promise<Record<string, unknown> | undefined>;
  findByUid(model: string, uid: string, now: number): Promise<Record<string, unknown> | undefined>;
  findByUserCode(model: string, userCode: string, now: number): Promise<Record<string, unknown> | undefined>;
  /** Atomically marks the row consumed. True only for the one call that consumed it. */
  consume(model: string, id: string, now: number, durability?: WriteDurability): Promise<boolean>;
  destroy(model: string, id: string, durability?: WriteDurability): Promise<void>;
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
   * Returns the secret called `name`, creating it with the value `candidate` if it does not
   * exist. Two processes racing here get the same value (insert-if-absent, then read).
   */
  getOrCreate(name: string, candidate: string): Promise<string>;
}

export interface CounterStore {
  /**
   * Counts one hit on `key` in the fixed window of `windowMs` that contains `now`, and returns
   * the count in that window including this hit. Atomic across processes. The SMS codes' limits
   * count their hits through OtpChallengeStore.issue instead (with the code they limit); CIBA
   * counts its polls here (src/protocols/ciba/polling.ts).
   */
  hit(key: string, windowMs: number, now: number, durability?: WriteDurability): Promise<number>;
  /**
   * The count of each of `keys` in the fixed window of `windowMs` that contains `now` (0 for a
   * key without hits there), without counting a hit: for checks on a path that must not write
   * (a client's successful authentication, src/protocols/oidc/client-auth-limits.ts).
   */
  counts(keys: readonly string[], windowMs: number, now: number): Promise<number[]>;
}

/** The latest claims of a subject, kept as long as tokens about it may be used. */
export interface SubjectRecord {
  sub: string;
  provider: string;
  /** Its OIDC claims, as its authenticator maps them (`sub` excluded). */
  attributes: Record<string, unknown>;
  updatedAt: number;
  expiresAt: number;
}

export interface SubjectStore {
  put(record: SubjectRecord, durability?: WriteDurability): Promise<void>;
  get(sub: string, now: number): Promise<SubjectRecord | null>;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  /** Most recent first. For tests (checks) and operators; eidhub's own flows never read events back. */
  recent(limit: number): Promise<AuditEvent[]>;
  /**
   * One page of events matching every filter given, newest first (by time, then by order of
   * append). `next` continues after the page's last event; events appended meanwhile never shift
   * a page, as it is keyed on (time, sequence) rather than an offset.
   */
  query(q: AuditQuery): Promise<AuditPage>;
  /** Deletes the events before `at` (epoch ms), a bounded batch at a time; returns how many. */
  purgeOlderThan(at: number): Promise<number>;
  /** SMS sends (`otp.issued`) and failures (`otp.send_failed`) in [from, to), per UTC day, country and provider. */
  smsCounts(range: { from: number; to: number }): Promise<SmsCountRow[]>;
  /** Successful logins (`transaction.success`) in [from, to), per UTC day, the person's country (SMS logins) and provider. */
  loginCounts(range: { from: number; to: number }): Promise<LoginCountRow[]>;
}

export interface AuditQuery {
  /** Epoch ms, inclusive. */
  from?: number | undefined;
  /** Epoch ms, exclusive. */
  to?: number | undefined;
  clientId?: string | undefined;
  /** Any of these types; absent means every type. */
  types?: readonly string[] | undefined;
  /** A page's `next`: only events after it (older). */
  before?: AuditCursor | undefined;
  /** At least 1. */
  limit: number;
}

/** Where a page ended: the last event's time and its sequence number in the store. */
export interface AuditCursor {
  at: number;
  seq: number;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Present when more events may follow. */
  next?: AuditCursor | undefined;
}

export interface LoginCountRow {
  /** UTC, YYYY-MM-DD. */
  day: string;
  /** The country of the number an SMS login verified; null for other logins. */
  country: string | null;
  /** The authenticator that logged the person in (otp-sms, itsme, …), or null when not recorded. */
  provider: string | null;
  succeeded: number;
}

export interface SmsCountRow {
  /** UTC, YYYY-MM-DD. */
  day: string;
  /** The destination's ISO 3166-1 alpha-2 code, or null when the event did not record one. */
  country: string | null;
  /** The SMS provider's name, or null when the event did not record one. */
  provider: string | null;
  /** Codes handed to the provider (`otp.issued`, written just before the SMS leaves). */
  sent: number;
  /** Of those, the ones the provider refused (`otp.send_failed`). */
  failed: number;
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
  /**
   * Inserts; StoreConflictError if (protocol, ref) exists. For tests (fixtures) and operators;
   * eidhub's flows write protocol state with its transaction (TransactionStore.create).
   */
  create(record: ProtocolStateRecord): Promise<void>;
  /** The record, or null when absent. Expired records are still returned until purged (callers decide). */
  get(protocol: string, ref: string): Promise<ProtocolStateRecord | null>;
}

/**
 * The one-time nonce a REST session's embedded flow hands the integrator on its returnUrl
 * (`sessionNonce`), kept as a hash, one per session. Removed with its transaction.
 */
export interface SessionNonceStore {
  /** Sets the session's nonce (SHA-256, base64url), replacing an earlier one whether used or not. */
  issue(transactionId: string, nonceHash: string, now: number): Promise<void>;
  /**
   * Marks the nonce used if it is the session's current one and unused: true for exactly one
   * call, across every process (a compare-and-set in the database), false for any other.
   */
  consume(transactionId: string, nonceHash: string, now: number): Promise<boolean>;
}

export interface StoredClientSecret {
  /** A label that tells the client's secrets apart (for rotation), never the secret. */
  name: string;
  /** SHA-256 of the secret, base64url */
  sha256: string;
  createdAt: number;
}

/** A client added at run time (src/clients/registry.ts); clients of the config file are never stored. */
export interface StoredClient {
  /**
   * The registry's key: the client_id of an `/auth/open` client, `{realm}/{client_id}` for a
   * realm's (kind `realm`; '/' is in neither a realm name nor a client id).
   */
  clientId: string;
  kind: 'oidc' | 'api' | 'realm';
  /**
   * The client's settings in the config file's shape without `secrets` (OidcClientConfig,
   * ApiClientConfig or RealmClientConfig minus secrets, the last with its `realm`), as JSON.
   */
  settings: Record<string, unknown>;
  secrets: StoredClientSecret[];
  createdAt: number;
  updatedAt: number;
}

/**
 * Entries added at run time and shared by every process (clients, SAML service providers), each
 * under its key, with a version of their own.
 */
export interface VersionedEntryStore<T> {
  /** Every stored entry, ordered by key compared by code point (not by a locale's collation). */
  list(): Promise<T[]>;
  get(key: string): Promise<T | null>;
  /** Inserts or replaces the entry, and advances the version in the same atomic unit. */
  put(entry: T): Promise<void>;
  /** Removes it (advancing the version in the same atomic unit); false when there was none, and then the version stays. */
  remove(key: string): Promise<boolean>;
  /**
   * A number that changes whenever any process puts or removes an entry; cheap (one tiny read).
   * It changes in the same commit as the entry, so whoever reads a new version and then the
   * entries sees that change.
   */
  version(): Promise<number>;
}

/**
 * A use of a client secret: it authenticated its client at `at`. Recorded coarsely (see
 * SECRET_USE_PRECISION_MS), a batch at a time, by the registry (src/clients/secret-uses.ts).
 */
export interface SecretUse {
  /** The registry's key of the client (StoredClient.clientId; a config-file client's key too). */
  clientKey: string;
  /** The secret's name (a config-file client's are `secret-N`, in the file's order). */
  secretName: string;
  at: number;
}

/** A secret, named by its client's key and its own name. */
export type SecretRef = Pick<SecretUse, 'clientKey' | 'secretName'>;

/**
 * How precise a secret's last-used time is: a use less than this much newer than the one stored
 * is not written, so a busy client's secret costs one write a minute at most.
 */
export const SECRET_USE_PRECISION_MS = 60_000;

/** The clients, keyed by clientId, and the recorded uses of their secrets. */
export interface ClientStore extends VersionedEntryStore<StoredClient> {
  /**
   * Inserts the client, with `audit` when given, advancing the clients' version, all in one
   * atomic unit; StoreConflictError (and nothing written) when a client of that clientId exists,
   * so of two processes inserting one clientId, one wins. Uses recorded of an earlier client of
   * that clientId are deleted.
   */
  insert(client: StoredClient, audit?: AuditEvent): Promise<void>;
  /**
   * Inserts or replaces the client, with `audit` when given, and advances the clients' version,
   * all in one atomic unit. The recorded uses of secrets the client no longer has are deleted.
   * Recording a secret's use does not change the version.
   */
  put(client: StoredClient, audit?: AuditEvent): Promise<void>;
  /** Removes it with its secrets' recorded uses (and writes `audit` when given), advancing the version, in one atomic unit; false when there was none, and then nothing is written. */
  remove(clientId: string, audit?: AuditEvent): Promise<boolean>;
  /**
   * Records uses of secrets: for each (clientKey, secretName), the latest `at` stays. A use less
   * than SECRET_USE_PRECISION_MS newer than the one stored is not written.
   */
  recordSecretUses(uses: readonly SecretUse[]): Promise<void>;
  /** The recorded last use of each secret of a client, by the secret's name. */
  secretUses(clientKey: string): Promise<Map<string, number>>;
  /**
   * Deletes the recorded uses of secrets that are neither a stored client's nor in `kept` (the
   * config file's): those a batch wrote just after its client was removed or its secret revoked,
   * and those of a config client's secret taken out of the file. Returns how many.
   */
  purgeSecretUses(kept: readonly SecretRef[]): Promise<number>;
}

/** A SAML service provider added at run time (src/protocols/saml/service-providers.ts); those of the config file are never stored. */
export interface StoredSamlServiceProvider {
  /** The SP's entityID, which its metadata's must equal. */
  entityId: string;
  /** The SP's metadata, XML text as it was given. */
  metadata: string;
  /** Its options in the config file's shape (requireSignedRequests, signResponse, encryptAssertions), as JSON. */
  settings: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** The run-time SAML service providers, keyed by entityId. */
export type SamlServiceProviderStore = VersionedEntryStore<StoredSamlServiceProvider>;

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
  sessionNonces: SessionNonceStore;
  clients: ClientStore;
  samlServiceProviders: SamlServiceProviderStore;
  /** Throws if the database cannot be reached. */
  ping(): Promise<void>;
  /** Deletes expired rows; returns how many were removed. */
  purgeExpired(now: number): Promise<number>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}

