/**
 * The embedded Store: one SQLite file through better-sqlite3.
 *
 * better-sqlite3 is synchronous, so every statement has finished (and, with WAL and
 * `synchronous = FULL`, its commit is fsynced to the WAL) before the returned promise resolves:
 * what the server acknowledged is on disk. Each method is a single statement (or one
 * transaction), so other processes on the same file see consistent rows; single use is one
 * `UPDATE … WHERE … RETURNING`.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  LEVELS_OF_ASSURANCE,
  PROTOCOLS,
  TRANSACTION_STATUSES,
  type Transaction,
  type TransactionError,
  type TransactionPatch,
  type TransactionSubject,
} from '../../core/transaction.js';
import { migrationsDir, readMigrations } from '../migrate.js';
import {
  StoreConflictError,
  type AuditEvent,
  type OtpChallenge,
  type ProtocolStateRecord,
  type Store,
  type StoredKey,
  type SubjectRecord,
} from '../types.js';

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;
/** Finished transactions stay readable this long after expiry (protocols may still ask about them). */
const TRANSACTION_RETENTION_MS = 24 * 60 * 60 * 1000;

type SqlValue = string | number | null;
type Row = Record<string, SqlValue>;

export async function openSqliteStore(opts: { path: string }): Promise<Store> {
  const inMemory = opts.path === ':memory:';
  if (!inMemory) mkdirSync(dirname(resolve(opts.path)), { recursive: true });
  const db = new Database(opts.path);
  try {
    // Set before anything else so that even switching to WAL waits for a concurrent opener.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (!inMemory && mode !== 'wal') throw new Error(`SQLite refused WAL mode for ${opts.path} (got ${String(mode)})`);
    // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and an
    // acknowledged write (a consumed code, an issued token) must survive that.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return createStore(db);
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrate(db: Database.Database): void {
  const migrations = readMigrations(migrationsDir(import.meta.url, 'sqlite'));
  // IMMEDIATE takes the write lock at BEGIN: a second process starting at the same moment waits
  // (busy_timeout) and then finds the versions the first one recorded, instead of applying them twice.
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
    const applied = new Set(
      db
        .prepare<[], { version: string }>('SELECT version FROM schema_migrations')
        .all()
        .map((r) => r.version),
    );
    const record = db.prepare<[string, number]>('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, Date.now());
    }
  }).immediate();
}

/** Transaction fields a patch may set, and their columns. A Record so a new patch field fails to compile until mapped. */
const PATCH_COLUMNS: Record<keyof TransactionPatch, string> = {
  provider: 'provider',
  language: 'language',
  status: 'status',
  subject: 'subject',
  loa: 'loa',
  error: 'error',
  browserBinding: 'browser_binding',
  authState: 'auth_state',
  expiresAt: 'expires_at',
  finishedAt: 'finished_at',
  updatedAt: 'updated_at',
};
const PATCH_KEYS = Object.keys(PATCH_COLUMNS) as (keyof TransactionPatch)[];

function createStore(db: Database.Database): Store {
  const s = {
    txInsert: db.prepare<[Row]>(
      `INSERT INTO transactions (id, account_id, protocol, protocol_ref, client_id, allowed_providers, provider, language,
         prefilled_input, provider_params, requested_attributes, requested_loa, status, subject, loa, error, browser_binding,
         auth_state, created_at, updated_at, expires_at, finished_at, version)
       VALUES (@id, @account_id, @protocol, @protocol_ref, @client_id, @allowed_providers, @provider, @language,
         @prefilled_input, @provider_params, @requested_attributes, @requested_loa, @status, @subject, @loa, @error, @browser_binding,
         @auth_state, @created_at, @updated_at, @expires_at, @finished_at, @version)`,
    ),
    txGet: db.prepare<[string], TransactionRow>('SELECT * FROM transactions WHERE id = ?'),
    txByRef: db.prepare<[string, string], TransactionRow>('SELECT * FROM transactions WHERE protocol = ? AND protocol_ref = ?'),
    // One statement for every patch shape: each column is set only when its flag is 1, so the
    // statement is prepared once and the version check and the write are one atomic step.
    txUpdate: db.prepare<[Row], TransactionRow>(
      `UPDATE transactions SET ${PATCH_KEYS.map((k) => {
        const c = PATCH_COLUMNS[k];
        return `${c} = CASE WHEN @set_${c} THEN @${c} ELSE ${c} END`;
      }).join(', ')}, version = version + 1
       WHERE id = @id AND version = @expected_version RETURNING *`,
    ),

    otpInsert: db.prepare<[OtpChallengeRow]>(
      `INSERT INTO otp_challenges (id, transaction_id, code_hash, phone_number, attempts, max_attempts, created_at, expires_at, consumed_at)
       VALUES (@id, @transaction_id, @code_hash, @phone_number, @attempts, @max_attempts, @created_at, @expires_at, @consumed_at)`,
    ),
    otpLatest: db.prepare<[string], OtpChallengeRow>(
      'SELECT * FROM otp_challenges WHERE transaction_id = ? ORDER BY created_at DESC, id DESC LIMIT 1',
    ),
    otpCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM otp_challenges WHERE transaction_id = ?'),
    otpAttempt: db.prepare<[string, number], OtpChallengeRow>(
      `UPDATE otp_challenges SET attempts = attempts + 1
       WHERE id = ? AND consumed_at IS NULL AND expires_at > ? AND attempts < max_attempts RETURNING *`,
    ),
    otpConsume: db.prepare<[number, string], { id: string }>(
      'UPDATE otp_challenges SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL RETURNING id',
    ),

    // consumed_at survives a replace: once consumed, a row must never be consumable again
    // (oidc-provider may save a model after consuming it).
    oidcUpsert: db.prepare<[Row]>(
      `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
       VALUES (@model, @id, @payload, @grant_id, @user_code, @uid, @expires_at)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
    ),
    oidcFind: db.prepare<[string, string, number], OidcRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    oidcByUid: db.prepare<[string, string, number], OidcRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND uid = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1',
    ),
    oidcByUserCode: db.prepare<[string, string, number], OidcRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND user_code = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1',
    ),
    oidcConsume: db.prepare<[number, string, string], { id: string }>(
      'UPDATE oidc_models SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL RETURNING id',
    ),
    oidcDestroy: db.prepare<[string, string]>('DELETE FROM oidc_models WHERE model = ? AND id = ?'),
    oidcRevoke: db.prepare<[string]>('DELETE FROM oidc_models WHERE grant_id = ?'),

    keysList: db.prepare<[number], KeyRow>(
      'SELECT * FROM keys WHERE remove_after IS NULL OR remove_after > ? ORDER BY created_at DESC, kid DESC',
    ),
    keysInsert: db.prepare<[KeyRow]>(
      `INSERT INTO keys (kid, alg, private_jwk, created_at, retired_at, remove_after)
       VALUES (@kid, @alg, @private_jwk, @created_at, @retired_at, @remove_after)`,
    ),
    keysRetire: db.prepare<[number, number, string, string]>(
      'UPDATE keys SET retired_at = ?, remove_after = ? WHERE alg = ? AND kid <> ? AND retired_at IS NULL',
    ),

    secretGet: db.prepare<[string], { value: string }>('SELECT value FROM secrets WHERE name = ?'),
    secretInsert: db.prepare<[string, string, number]>(
      'INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
    ),

    counterHit: db.prepare<[string, number, number], { count: number }>(
      `INSERT INTO counters (key, window_start, window_end, count) VALUES (?, ?, ?, 1)
       ON CONFLICT (key, window_start) DO UPDATE SET count = counters.count + 1 RETURNING count`,
    ),

    subjectPut: db.prepare<[SubjectRow]>(
      `INSERT INTO subjects (sub, provider, attributes, updated_at, expires_at)
       VALUES (@sub, @provider, @attributes, @updated_at, @expires_at)
       ON CONFLICT (sub) DO UPDATE SET provider = excluded.provider, attributes = excluded.attributes,
         updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
    ),
    subjectGet: db.prepare<[string, number], SubjectRow>('SELECT * FROM subjects WHERE sub = ? AND expires_at > ?'),

    auditInsert: db.prepare<[AuditRow]>(
      `INSERT INTO audit_events (type, at, transaction_id, client_id, data)
       VALUES (@type, @at, @transaction_id, @client_id, @data)`,
    ),
    auditRecent: db.prepare<[number], AuditRow>(
      'SELECT type, at, transaction_id, client_id, data FROM audit_events ORDER BY at DESC, id DESC LIMIT ?',
    ),

    protocolStateInsert: db.prepare<[ProtocolStateRow]>(
      `INSERT INTO protocol_state (protocol, ref, transaction_id, state, created_at, expires_at)
       VALUES (@protocol, @ref, @transaction_id, @state, @created_at, @expires_at)`,
    ),
    protocolStateGet: db.prepare<[string, string], ProtocolStateRow>('SELECT * FROM protocol_state WHERE protocol = ? AND ref = ?'),

    ping: db.prepare('SELECT 1'),
    purgeOidc: db.prepare<[number]>('DELETE FROM oidc_models WHERE expires_at <= ?'),
    purgeSubjects: db.prepare<[number]>('DELETE FROM subjects WHERE expires_at <= ?'),
    purgeCounters: db.prepare<[number]>('DELETE FROM counters WHERE window_end <= ?'),
    // Child rows of purged transactions (OTP challenges, protocol state) are deleted explicitly, not left
    // to ON DELETE CASCADE, so they count in purgeExpired's total.
    purgeOtp: db.prepare<[number]>(
      'DELETE FROM otp_challenges WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < ?)',
    ),
    purgeProtocolState: db.prepare<[number]>(
      'DELETE FROM protocol_state WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < ?)',
    ),
    purgeTransactions: db.prepare<[number]>('DELETE FROM transactions WHERE expires_at < ?'),
  };

  const purge = db.transaction((now: number): number => {
    const txCutoff = now - TRANSACTION_RETENTION_MS;
    return (
      s.purgeOidc.run(now).changes +
      s.purgeSubjects.run(now).changes +
      s.purgeCounters.run(now).changes +
      s.purgeOtp.run(txCutoff).changes +
      s.purgeProtocolState.run(txCutoff).changes +
      s.purgeTransactions.run(txCutoff).changes
    );
  });

  return {
    driver: 'sqlite',
    transactions: {
      async create(tx) {
        insertOrConflict(() => s.txInsert.run(transactionToRow(tx)), `transaction ${tx.id} (${tx.protocol} ${tx.protocolRef})`);
      },
      async get(id) {
        const row = s.txGet.get(id);
        return row ? rowToTransaction(row) : null;
      },
      async findByProtocolRef(protocol, protocolRef) {
        const row = s.txByRef.get(protocol, protocolRef);
        return row ? rowToTransaction(row) : null;
      },
      async update(id, expectedVersion, patch) {
        const params: Row = { id, expected_version: expectedVersion };
        for (const k of PATCH_KEYS) {
          const c = PATCH_COLUMNS[k];
          const value = patch[k];
          params[`set_${c}`] = value === undefined ? 0 : 1;
          params[c] = encodePatchValue(value);
        }
        const row = s.txUpdate.get(params);
        return row ? rowToTransaction(row) : null;
      },
    },

    otp: {
      async create(c) {
        insertOrConflict(() => s.otpInsert.run(otpToRow(c)), `OTP challenge ${c.id}`);
      },
      async latest(transactionId) {
        const row = s.otpLatest.get(transactionId);
        return row ? rowToOtp(row) : null;
      },
      async countForTransaction(transactionId) {
        return s.otpCount.get(transactionId)?.n ?? 0;
      },
      async registerAttempt(id, now) {
        const row = s.otpAttempt.get(id, now);
        return row ? rowToOtp(row) : null;
      },
      async consume(id, now) {
        return s.otpConsume.get(now, id) !== undefined;
      },
    },

    oidc: {
      async upsert(model, id, payload, expiresAt, refs) {
        s.oidcUpsert.run({
          model,
          id,
          payload: JSON.stringify(payload),
          grant_id: refs.grantId ?? null,
          user_code: refs.userCode ?? null,
          uid: refs.uid ?? null,
          expires_at: expiresAt,
        });
      },
      async find(model, id, now) {
        return oidcPayload(s.oidcFind.get(model, id, now));
      },
      async findByUid(model, uid, now) {
        return oidcPayload(s.oidcByUid.get(model, uid, now));
      },
      async findByUserCode(model, userCode, now) {
        return oidcPayload(s.oidcByUserCode.get(model, userCode, now));
      },
      async consume(model, id, now) {
        return s.oidcConsume.get(now, model, id) !== undefined;
      },
      async destroy(model, id) {
        s.oidcDestroy.run(model, id);
      },
      async revokeByGrantId(grantId) {
        s.oidcRevoke.run(grantId);
      },
    },

    keys: {
      async list(now) {
        return s.keysList.all(now).map(rowToKey);
      },
      async insert(key) {
        insertOrConflict(() => s.keysInsert.run(keyToRow(key)), `key ${key.kid}`);
      },
      async retire(alg, exceptKid, retiredAt, removeAfter) {
        s.keysRetire.run(retiredAt, removeAfter, alg, exceptKid);
      },
    },

    secrets: {
      async getOrCreate(name, generate) {
        const existing = s.secretGet.get(name);
        if (existing) return existing.value;
        // Another process may insert between our read and this insert; DO NOTHING keeps its
        // value, and the read below returns whichever value won.
        s.secretInsert.run(name, generate(), Date.now());
        const row = s.secretGet.get(name);
        if (!row) throw new Error(`secret ${name} vanished right after insertion`);
        return row.value;
      },
    },

    counters: {
      async hit(key, windowMs, now) {
        const windowStart = windowStartOf(windowMs, now);
        const row = s.counterHit.get(key, windowStart, windowStart + windowMs);
        if (!row) throw new Error('counter upsert returned no row');
        return row.count;
      },
    },

    subjects: {
      async put(r) {
        s.subjectPut.run({
          sub: r.sub,
          provider: r.provider,
          attributes: JSON.stringify(r.attributes),
          updated_at: r.updatedAt,
          expires_at: r.expiresAt,
        });
      },
      async get(sub, now) {
        const row = s.subjectGet.get(sub, now);
        return row ? rowToSubject(row) : null;
      },
    },

    audit: {
      async append(e) {
        s.auditInsert.run({
          type: e.type,
          at: e.at,
          transaction_id: e.transactionId ?? null,
          client_id: e.clientId ?? null,
          data: e.data === undefined ? null : JSON.stringify(e.data),
        });
      },
      async recent(limit) {
        return s.auditRecent.all(limit).map(rowToAudit);
      },
    },

    protocolState: {
      async create(r) {
        insertOrConflict(() => s.protocolStateInsert.run(protocolStateToRow(r)), `protocol state ${r.protocol} ${r.ref}`);
      },
      async get(protocol, ref) {
        const row = s.protocolStateGet.get(protocol, ref);
        return row ? rowToProtocolState(row) : null;
      },
    },

    async ping() {
      s.ping.get();
    },
    async purgeExpired(now) {
      return purge(now);
    },
    async close() {
      db.close();
    },
  };
}

function insertOrConflict(insert: () => unknown, what: string): void {
  try {
    insert();
  } catch (err) {
    if (err instanceof Database.SqliteError && (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err.code === 'SQLITE_CONSTRAINT_UNIQUE')) {
      throw new StoreConflictError(`${what} already exists`, { cause: err });
    }
    throw err;
  }
}

function windowStartOf(windowMs: number, now: number): number {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
  return now - (now % windowMs);
}

/** JSON text in our own columns was written by JSON.stringify of exactly this type. */
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

function encodePatchValue(value: TransactionPatch[keyof TransactionPatch]): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  return JSON.stringify(value);
}

/** Narrows a stored string to its union type, refusing a value the code does not know. */
function oneOf<T extends string>(allowed: readonly T[], value: string, column: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new Error(`transactions.${column} holds an unknown value: ${JSON.stringify(value)}`);
  return found;
}

interface TransactionRow extends Row {
  id: string;
  account_id: string;
  protocol: string;
  protocol_ref: string;
  client_id: string;
  allowed_providers: string;
  provider: string | null;
  language: string | null;
  prefilled_input: string;
  provider_params: string;
  requested_attributes: string;
  requested_loa: string | null;
  status: string;
  subject: string | null;
  loa: string | null;
  error: string | null;
  browser_binding: string | null;
  auth_state: string;
  created_at: number;
  updated_at: number;
  expires_at: number;
  finished_at: number | null;
  version: number;
}

function transactionToRow(tx: Transaction): TransactionRow {
  return {
    id: tx.id,
    account_id: tx.accountId,
    protocol: tx.protocol,
    protocol_ref: tx.protocolRef,
    client_id: tx.clientId,
    allowed_providers: JSON.stringify(tx.allowedProviders),
    provider: tx.provider,
    language: tx.language,
    prefilled_input: JSON.stringify(tx.prefilledInput),
    provider_params: JSON.stringify(tx.providerParams),
    requested_attributes: JSON.stringify(tx.requestedAttributes),
    requested_loa: tx.requestedLoa,
    status: tx.status,
    subject: tx.subject === null ? null : JSON.stringify(tx.subject),
    loa: tx.loa,
    error: tx.error === null ? null : JSON.stringify(tx.error),
    browser_binding: tx.browserBinding,
    auth_state: JSON.stringify(tx.authState),
    created_at: tx.createdAt,
    updated_at: tx.updatedAt,
    expires_at: tx.expiresAt,
    finished_at: tx.finishedAt,
    version: tx.version,
  };
}

function rowToTransaction(r: TransactionRow): Transaction {
  return {
    id: r.id,
    accountId: r.account_id,
    protocol: oneOf(PROTOCOLS, r.protocol, 'protocol'),
    protocolRef: r.protocol_ref,
    clientId: r.client_id,
    allowedProviders: parseJson<string[]>(r.allowed_providers),
    provider: r.provider,
    language: r.language,
    prefilledInput: parseJson<Record<string, string>>(r.prefilled_input),
    providerParams: parseJson<Record<string, string>>(r.provider_params),
    requestedAttributes: parseJson<string[]>(r.requested_attributes),
    requestedLoa: r.requested_loa === null ? null : oneOf(LEVELS_OF_ASSURANCE, r.requested_loa, 'requested_loa'),
    status: oneOf(TRANSACTION_STATUSES, r.status, 'status'),
    subject: r.subject === null ? null : parseJson<TransactionSubject>(r.subject),
    loa: r.loa === null ? null : oneOf(LEVELS_OF_ASSURANCE, r.loa, 'loa'),
    error: r.error === null ? null : parseJson<TransactionError>(r.error),
    browserBinding: r.browser_binding,
    authState: parseJson<Record<string, unknown>>(r.auth_state),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
    finishedAt: r.finished_at,
    version: r.version,
  };
}

interface OtpChallengeRow extends Row {
  id: string;
  transaction_id: string;
  code_hash: string;
  phone_number: string;
  attempts: number;
  max_attempts: number;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

function otpToRow(c: OtpChallenge): OtpChallengeRow {
  return {
    id: c.id,
    transaction_id: c.transactionId,
    code_hash: c.codeHash,
    phone_number: c.phoneNumber,
    attempts: c.attempts,
    max_attempts: c.maxAttempts,
    created_at: c.createdAt,
    expires_at: c.expiresAt,
    consumed_at: c.consumedAt,
  };
}

function rowToOtp(r: OtpChallengeRow): OtpChallenge {
  return {
    id: r.id,
    transactionId: r.transaction_id,
    codeHash: r.code_hash,
    phoneNumber: r.phone_number,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    consumedAt: r.consumed_at,
  };
}

interface OidcRow {
  payload: string;
  consumed_at: number | null;
}

/** oidc-provider reads `consumed` as epoch seconds. */
function oidcPayload(row: OidcRow | undefined): Record<string, unknown> | undefined {
  if (!row) return undefined;
  const payload = parseJson<Record<string, unknown>>(row.payload);
  return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
}

interface KeyRow extends Row {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
  remove_after: number | null;
}

function keyToRow(k: StoredKey): KeyRow {
  return {
    kid: k.kid,
    alg: k.alg,
    private_jwk: k.privateJwk,
    created_at: k.createdAt,
    retired_at: k.retiredAt,
    remove_after: k.removeAfter,
  };
}

function rowToKey(r: KeyRow): StoredKey {
  return {
    kid: r.kid,
    alg: r.alg,
    privateJwk: r.private_jwk,
    createdAt: r.created_at,
    retiredAt: r.retired_at,
    removeAfter: r.remove_after,
  };
}

interface SubjectRow extends Row {
  sub: string;
  provider: string;
  attributes: string;
  updated_at: number;
  expires_at: number;
}

function rowToSubject(r: SubjectRow): SubjectRecord {
  return {
    sub: r.sub,
    provider: r.provider,
    attributes: parseJson<Record<string, string>>(r.attributes),
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
  };
}

interface AuditRow extends Row {
  type: string;
  at: number;
  transaction_id: string | null;
  client_id: string | null;
  data: string | null;
}

function rowToAudit(r: AuditRow): AuditEvent {
  // Absent optional fields stay absent, so a read event equals the appended one.
  const event: AuditEvent = { type: r.type, at: r.at };
  if (r.transaction_id !== null) event.transactionId = r.transaction_id;
  if (r.client_id !== null) event.clientId = r.client_id;
  if (r.data !== null) event.data = parseJson<Record<string, unknown>>(r.data);
  return event;
}

interface ProtocolStateRow extends Row {
  protocol: string;
  ref: string;
  transaction_id: string;
  state: string;
  created_at: number;
  expires_at: number;
}

function protocolStateToRow(r: ProtocolStateRecord): ProtocolStateRow {
  return {
    protocol: r.protocol,
    ref: r.ref,
    transaction_id: r.transactionId,
    state: JSON.stringify(r.state),
    created_at: r.createdAt,
    expires_at: r.expiresAt,
  };
}

function rowToProtocolState(r: ProtocolStateRow): ProtocolStateRecord {
  return {
    protocol: r.protocol,
    ref: r.ref,
    transactionId: r.transaction_id,
    state: parseJson<Record<string, unknown>>(r.state),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}
