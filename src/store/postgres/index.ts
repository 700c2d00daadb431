/**
 * The server Store: PostgreSQL through a `pg` Pool, shared by every eidhub process.
 *
 * Every method is one statement (purgeExpired is one transaction), so no state lives in this
 * process; single use is one `UPDATE … WHERE consumed_at IS NULL RETURNING`, which PostgreSQL
 * serialises on the row lock across all connections and processes. A promise resolves after the
 * server answered the commit, which with the server's default `synchronous_commit = on` means
 * the write is in its WAL on disk.
 */
import { DatabaseError, Pool, TypeOverrides, types, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
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

const DEFAULT_POOL_SIZE = 10;
/** Finished transactions stay readable this long after expiry (protocols may still ask about them). */
const TRANSACTION_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Advisory lock key serialising migrations of one database; any constant works, this is "eidh" in ASCII. */
const MIGRATION_LOCK_KEY = 0x65696468;
const UNIQUE_VIOLATION = '23505';

export async function openPostgresStore(opts: { url: string; poolSize?: number }): Promise<Store> {
  // Per-pool parsers, so this does not change how other code in the process reads BIGINT.
  const typeParsers = new TypeOverrides();
  typeParsers.setTypeParser(types.builtins.INT8, parseBigint);
  const pool = new Pool({ connectionString: opts.url, max: opts.poolSize ?? DEFAULT_POOL_SIZE, types: typeParsers });
  // An idle connection that breaks (server restart, network) is emitted here and would crash the
  // process if unhandled; the pool already dropped it, the next query opens a new one, and ping()
  // is how outages are reported.
  pool.on('error', () => {});
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return createStore(pool);
}

function parseBigint(text: string): number {
  const n = Number(text);
  // Epoch ms and counts fit easily; anything larger would silently lose precision as a number.
  if (!Number.isSafeInteger(n)) throw new RangeError(`BIGINT ${text} does not fit a JavaScript number`);
  return n;
}

async function migrate(pool: Pool): Promise<void> {
  const migrations = readMigrations(migrationsDir(import.meta.url, 'postgres'));
  await inTransaction(pool, async (client) => {
    // Held until COMMIT: a second process starting at the same moment waits here and then finds
    // the versions the first one recorded, instead of applying them twice.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const { rows } = await client.query<{ version: string }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      // No parameters: the simple query protocol, which runs a file of several statements.
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
    }
  });
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (err) {
    // A connection whose ROLLBACK fails is in an unknown state: destroy it rather than reuse it.
    const rollbackError = await client.query('ROLLBACK').then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    client.release(rollbackError);
    throw err;
  }
}

/** Transaction fields a patch may set, their columns and SQL types. A Record so a new patch field fails to compile until mapped. */
const PATCH_COLUMNS: Record<keyof TransactionPatch, { column: string; type: 'text' | 'bigint' | 'jsonb' }> = {
  provider: { column: 'provider', type: 'text' },
  language: { column: 'language', type: 'text' },
  status: { column: 'status', type: 'text' },
  subject: { column: 'subject', type: 'jsonb' },
  loa: { column: 'loa', type: 'text' },
  error: { column: 'error', type: 'jsonb' },
  browserBinding: { column: 'browser_binding', type: 'text' },
  authState: { column: 'auth_state', type: 'jsonb' },
  expiresAt: { column: 'expires_at', type: 'bigint' },
  finishedAt: { column: 'finished_at', type: 'bigint' },
  updatedAt: { column: 'updated_at', type: 'bigint' },
};
const PATCH_KEYS = Object.keys(PATCH_COLUMNS) as (keyof TransactionPatch)[];

// Explicit column lists, never `*`: named statements are planned once per connection, and a
// later migration adding a column would otherwise break them ("cached plan must not change result type").
const TX_COLUMNS = `id, account_id, protocol, protocol_ref, client_id, allowed_providers, provider, language, prefilled_input,
  provider_params, requested_attributes, requested_loa, status, subject, loa, error, browser_binding, auth_state,
  created_at, updated_at, expires_at, finished_at, version`;
const OTP_COLUMNS = 'id, transaction_id, code_hash, phone_number, attempts, max_attempts, created_at, expires_at, consumed_at';
const PROTOCOL_STATE_COLUMNS = 'protocol, ref, transaction_id, state, created_at, expires_at';
const NOT_EXPIRED = '(expires_at IS NULL OR expires_at > $3)';

/** Every statement, run as a named (server-side prepared) statement called `eidhub_<key>`. */
const SQL = {
  txInsert: `INSERT INTO transactions (${TX_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
  txGet: `SELECT ${TX_COLUMNS} FROM transactions WHERE id = $1`,
  txByRef: `SELECT ${TX_COLUMNS} FROM transactions WHERE protocol = $1 AND protocol_ref = $2`,
  // One statement for every patch shape: each column is set only when its flag is true, so the
  // version check and the write are one atomic step. $1 id, $2 expected version, then pairs.
  txUpdate: `UPDATE transactions SET ${PATCH_KEYS.map((k, i) => {
    const { column, type } = PATCH_COLUMNS[k];
    return `${column} = CASE WHEN $${3 + 2 * i}::boolean THEN $${4 + 2 * i}::${type} ELSE ${column} END`;
  }).join(', ')}, version = version + 1
    WHERE id = $1 AND version = $2 RETURNING ${TX_COLUMNS}`,

  otpInsert: `INSERT INTO otp_challenges (${OTP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  otpLatest: `SELECT ${OTP_COLUMNS} FROM otp_challenges WHERE transaction_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
  otpCount: 'SELECT count(*) AS n FROM otp_challenges WHERE transaction_id = $1',
  otpAttempt: `UPDATE otp_challenges SET attempts = attempts + 1
    WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2 AND attempts < max_attempts RETURNING ${OTP_COLUMNS}`,
  otpConsume: 'UPDATE otp_challenges SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL RETURNING id',

  // consumed_at survives a replace: once consumed, a row must never be consumable again
  // (oidc-provider may save a model after consuming it).
  oidcUpsert: `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
      user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
  oidcFind: `SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND id = $2 AND ${NOT_EXPIRED}`,
  oidcByUid: `SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND uid = $2 AND ${NOT_EXPIRED} LIMIT 1`,
  oidcByUserCode: `SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND user_code = $2 AND ${NOT_EXPIRED} LIMIT 1`,
  oidcConsume: 'UPDATE oidc_models SET consumed_at = $3 WHERE model = $1 AND id = $2 AND consumed_at IS NULL RETURNING id',
  oidcDestroy: 'DELETE FROM oidc_models WHERE model = $1 AND id = $2',
  oidcRevoke: 'DELETE FROM oidc_models WHERE grant_id = $1',

  keysList: `SELECT kid, alg, private_jwk, created_at, retired_at, remove_after FROM keys
    WHERE remove_after IS NULL OR remove_after > $1 ORDER BY created_at DESC, kid DESC`,
  keysInsert: `INSERT INTO keys (kid, alg, private_jwk, created_at, retired_at, remove_after) VALUES ($1, $2, $3, $4, $5, $6)`,
  keysRetire: 'UPDATE keys SET retired_at = $3, remove_after = $4 WHERE alg = $1 AND kid <> $2 AND retired_at IS NULL',

  secretGet: 'SELECT value FROM secrets WHERE name = $1',
  secretInsert: 'INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',

  counterHit: `INSERT INTO counters (key, window_start, window_end, count) VALUES ($1, $2, $3, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET count = counters.count + 1 RETURNING count`,

  subjectPut: `INSERT INTO subjects (sub, provider, attributes, updated_at, expires_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (sub) DO UPDATE SET provider = excluded.provider, attributes = excluded.attributes,
      updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
  subjectGet: 'SELECT sub, provider, attributes, updated_at, expires_at FROM subjects WHERE sub = $1 AND expires_at > $2',

  auditInsert: 'INSERT INTO audit_events (type, at, transaction_id, client_id, data) VALUES ($1, $2, $3, $4, $5)',
  auditRecent: 'SELECT type, at, transaction_id, client_id, data FROM audit_events ORDER BY at DESC, id DESC LIMIT $1',

  protocolStateInsert: `INSERT INTO protocol_state (${PROTOCOL_STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
  protocolStateGet: `SELECT ${PROTOCOL_STATE_COLUMNS} FROM protocol_state WHERE protocol = $1 AND ref = $2`,

  ping: 'SELECT 1',
  purgeOidc: 'DELETE FROM oidc_models WHERE expires_at <= $1',
  purgeSubjects: 'DELETE FROM subjects WHERE expires_at <= $1',
  purgeCounters: 'DELETE FROM counters WHERE window_end <= $1',
  // Child rows of purged transactions (OTP challenges, protocol state) are deleted explicitly, not left
  // to ON DELETE CASCADE, so they count in purgeExpired's total.
  purgeOtp: 'DELETE FROM otp_challenges WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < $1)',
  purgeProtocolState: 'DELETE FROM protocol_state WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < $1)',
  purgeTransactions: 'DELETE FROM transactions WHERE expires_at < $1',
} as const;

type SqlValue = string | number | boolean | null;

/** What both a Pool and a checked-out PoolClient offer. */
interface Queryable {
  query<R extends QueryResultRow>(config: QueryConfig<SqlValue[]>): Promise<QueryResult<R>>;
}

function run<R extends QueryResultRow = QueryResultRow>(db: Queryable, statement: keyof typeof SQL, values: SqlValue[]): Promise<QueryResult<R>> {
  return db.query<R>({ name: `eidhub_${statement}`, text: SQL[statement], values });
}

async function first<R extends QueryResultRow>(db: Queryable, statement: keyof typeof SQL, values: SqlValue[]): Promise<R | undefined> {
  return (await run<R>(db, statement, values)).rows[0];
}

async function insertOrConflict(insert: Promise<unknown>, what: string): Promise<void> {
  try {
    await insert;
  } catch (err) {
    if (err instanceof DatabaseError && err.code === UNIQUE_VIOLATION) throw new StoreConflictError(`${what} already exists`, { cause: err });
    throw err;
  }
}

function createStore(pool: Pool): Store {
  return {
    driver: 'postgres',
    transactions: {
      async create(tx) {
        await insertOrConflict(run(pool, 'txInsert', transactionValues(tx)), `transaction ${tx.id} (${tx.protocol} ${tx.protocolRef})`);
      },
      async get(id) {
        const row = await first<TransactionRow>(pool, 'txGet', [id]);
        return row ? rowToTransaction(row) : null;
      },
      async findByProtocolRef(protocol, protocolRef) {
        const row = await first<TransactionRow>(pool, 'txByRef', [protocol, protocolRef]);
        return row ? rowToTransaction(row) : null;
      },
      async update(id, expectedVersion, patch) {
        const values: SqlValue[] = [id, expectedVersion];
        for (const k of PATCH_KEYS) {
          const value = patch[k];
          values.push(value !== undefined, encodePatchValue(value));
        }
        const row = await first<TransactionRow>(pool, 'txUpdate', values);
        return row ? rowToTransaction(row) : null;
      },
    },

    otp: {
      async create(c) {
        await insertOrConflict(
          run(pool, 'otpInsert', [c.id, c.transactionId, c.codeHash, c.phoneNumber, c.attempts, c.maxAttempts, c.createdAt, c.expiresAt, c.consumedAt]),
          `OTP challenge ${c.id}`,
        );
      },
      async latest(transactionId) {
        const row = await first<OtpChallengeRow>(pool, 'otpLatest', [transactionId]);
        return row ? rowToOtp(row) : null;
      },
      async countForTransaction(transactionId) {
        return (await first<{ n: number }>(pool, 'otpCount', [transactionId]))?.n ?? 0;
      },
      async registerAttempt(id, now) {
        const row = await first<OtpChallengeRow>(pool, 'otpAttempt', [id, now]);
        return row ? rowToOtp(row) : null;
      },
      async consume(id, now) {
        return (await run(pool, 'otpConsume', [id, now])).rowCount === 1;
      },
    },

    oidc: {
      async upsert(model, id, payload, expiresAt, refs) {
        await run(pool, 'oidcUpsert', [
          model,
          id,
          JSON.stringify(payload),
          refs.grantId ?? null,
          refs.userCode ?? null,
          refs.uid ?? null,
          expiresAt,
        ]);
      },
      async find(model, id, now) {
        return oidcPayload(await first<OidcRow>(pool, 'oidcFind', [model, id, now]));
      },
      async findByUid(model, uid, now) {
        return oidcPayload(await first<OidcRow>(pool, 'oidcByUid', [model, uid, now]));
      },
      async findByUserCode(model, userCode, now) {
        return oidcPayload(await first<OidcRow>(pool, 'oidcByUserCode', [model, userCode, now]));
      },
      async consume(model, id, now) {
        return (await run(pool, 'oidcConsume', [model, id, now])).rowCount === 1;
      },
      async destroy(model, id) {
        await run(pool, 'oidcDestroy', [model, id]);
      },
      async revokeByGrantId(grantId) {
        await run(pool, 'oidcRevoke', [grantId]);
      },
    },

    keys: {
      async list(now) {
        return (await run<KeyRow>(pool, 'keysList', [now])).rows.map(rowToKey);
      },
      async insert(k) {
        await insertOrConflict(run(pool, 'keysInsert', [k.kid, k.alg, k.privateJwk, k.createdAt, k.retiredAt, k.removeAfter]), `key ${k.kid}`);
      },
      async retire(alg, exceptKid, retiredAt, removeAfter) {
        await run(pool, 'keysRetire', [alg, exceptKid, retiredAt, removeAfter]);
      },
    },

    secrets: {
      async getOrCreate(name, generate) {
        const existing = await first<{ value: string }>(pool, 'secretGet', [name]);
        if (existing) return existing.value;
        // Another process may insert between our read and this insert; DO NOTHING keeps its
        // value, and the read below (a new statement, so a new snapshot) returns whichever won.
        await run(pool, 'secretInsert', [name, generate(), Date.now()]);
        const row = await first<{ value: string }>(pool, 'secretGet', [name]);
        if (!row) throw new Error(`secret ${name} vanished right after insertion`);
        return row.value;
      },
    },

    counters: {
      async hit(key, windowMs, now) {
        const windowStart = windowStartOf(windowMs, now);
        const row = await first<{ count: number }>(pool, 'counterHit', [key, windowStart, windowStart + windowMs]);
        if (!row) throw new Error('counter upsert returned no row');
        return row.count;
      },
    },

    subjects: {
      async put(r) {
        await run(pool, 'subjectPut', [r.sub, r.provider, JSON.stringify(r.attributes), r.updatedAt, r.expiresAt]);
      },
      async get(sub, now) {
        const row = await first<SubjectRow>(pool, 'subjectGet', [sub, now]);
        return row ? rowToSubject(row) : null;
      },
    },

    audit: {
      async append(e) {
        await run(pool, 'auditInsert', [
          e.type,
          e.at,
          e.transactionId ?? null,
          e.clientId ?? null,
          e.data === undefined ? null : JSON.stringify(e.data),
        ]);
      },
      async recent(limit) {
        return (await run<AuditRow>(pool, 'auditRecent', [limit])).rows.map(rowToAudit);
      },
    },

    protocolState: {
      async create(r) {
        await insertOrConflict(
          run(pool, 'protocolStateInsert', [r.protocol, r.ref, r.transactionId, JSON.stringify(r.state), r.createdAt, r.expiresAt]),
          `protocol state ${r.protocol} ${r.ref}`,
        );
      },
      async get(protocol, ref) {
        const row = await first<ProtocolStateRow>(pool, 'protocolStateGet', [protocol, ref]);
        return row ? rowToProtocolState(row) : null;
      },
    },

    async ping() {
      await run(pool, 'ping', []);
    },
    async purgeExpired(now) {
      const txCutoff = now - TRANSACTION_RETENTION_MS;
      return inTransaction(pool, async (client) => {
        let removed = 0;
        for (const [statement, cutoff] of [
          ['purgeOidc', now],
          ['purgeSubjects', now],
          ['purgeCounters', now],
          ['purgeOtp', txCutoff],
          ['purgeProtocolState', txCutoff],
          ['purgeTransactions', txCutoff],
        ] as const) {
          removed += (await run(client, statement, [cutoff])).rowCount ?? 0;
        }
        return removed;
      });
    },
    async close() {
      await pool.end();
    },
  };
}

function windowStartOf(windowMs: number, now: number): number {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
  return now - (now % windowMs);
}

function encodePatchValue(value: TransactionPatch[keyof TransactionPatch]): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  // Stringified here: pg would turn a JS array into a PostgreSQL array literal, not JSON.
  return JSON.stringify(value);
}

/** Narrows a stored string to its union type, refusing a value the code does not know. */
function oneOf<T extends string>(allowed: readonly T[], value: string, column: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new Error(`transactions.${column} holds an unknown value: ${JSON.stringify(value)}`);
  return found;
}

/** jsonb columns arrive parsed by pg; their types are what we stored. */
interface TransactionRow {
  id: string;
  account_id: string;
  protocol: string;
  protocol_ref: string;
  client_id: string;
  allowed_providers: string[];
  provider: string | null;
  language: string | null;
  prefilled_input: Record<string, string>;
  provider_params: Record<string, string>;
  requested_attributes: string[];
  requested_loa: string | null;
  status: string;
  subject: TransactionSubject | null;
  loa: string | null;
  error: TransactionError | null;
  browser_binding: string | null;
  auth_state: Record<string, unknown>;
  created_at: number;
  updated_at: number;
  expires_at: number;
  finished_at: number | null;
  version: number;
}

function transactionValues(tx: Transaction): SqlValue[] {
  // Same order as TX_COLUMNS.
  return [
    tx.id,
    tx.accountId,
    tx.protocol,
    tx.protocolRef,
    tx.clientId,
    JSON.stringify(tx.allowedProviders),
    tx.provider,
    tx.language,
    JSON.stringify(tx.prefilledInput),
    JSON.stringify(tx.providerParams),
    JSON.stringify(tx.requestedAttributes),
    tx.requestedLoa,
    tx.status,
    tx.subject === null ? null : JSON.stringify(tx.subject),
    tx.loa,
    tx.error === null ? null : JSON.stringify(tx.error),
    tx.browserBinding,
    JSON.stringify(tx.authState),
    tx.createdAt,
    tx.updatedAt,
    tx.expiresAt,
    tx.finishedAt,
    tx.version,
  ];
}

function rowToTransaction(r: TransactionRow): Transaction {
  return {
    id: r.id,
    accountId: r.account_id,
    protocol: oneOf(PROTOCOLS, r.protocol, 'protocol'),
    protocolRef: r.protocol_ref,
    clientId: r.client_id,
    allowedProviders: r.allowed_providers,
    provider: r.provider,
    language: r.language,
    prefilledInput: r.prefilled_input,
    providerParams: r.provider_params,
    requestedAttributes: r.requested_attributes,
    requestedLoa: r.requested_loa === null ? null : oneOf(LEVELS_OF_ASSURANCE, r.requested_loa, 'requested_loa'),
    status: oneOf(TRANSACTION_STATUSES, r.status, 'status'),
    subject: r.subject,
    loa: r.loa === null ? null : oneOf(LEVELS_OF_ASSURANCE, r.loa, 'loa'),
    error: r.error,
    browserBinding: r.browser_binding,
    authState: r.auth_state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
    finishedAt: r.finished_at,
    version: r.version,
  };
}

interface OtpChallengeRow {
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
  payload: Record<string, unknown>;
  consumed_at: number | null;
}

/** oidc-provider reads `consumed` as epoch seconds. */
function oidcPayload(row: OidcRow | undefined): Record<string, unknown> | undefined {
  if (!row) return undefined;
  return row.consumed_at === null ? row.payload : { ...row.payload, consumed: Math.floor(row.consumed_at / 1000) };
}

interface KeyRow {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
  remove_after: number | null;
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

interface SubjectRow {
  sub: string;
  provider: string;
  attributes: Record<string, string>;
  updated_at: number;
  expires_at: number;
}

function rowToSubject(r: SubjectRow): SubjectRecord {
  return { sub: r.sub, provider: r.provider, attributes: r.attributes, updatedAt: r.updated_at, expiresAt: r.expires_at };
}

interface AuditRow {
  type: string;
  at: number;
  transaction_id: string | null;
  client_id: string | null;
  data: Record<string, unknown> | null;
}

function rowToAudit(r: AuditRow): AuditEvent {
  // Absent optional fields stay absent, so a read event equals the appended one.
  const event: AuditEvent = { type: r.type, at: r.at };
  if (r.transaction_id !== null) event.transactionId = r.transaction_id;
  if (r.client_id !== null) event.clientId = r.client_id;
  if (r.data !== null) event.data = r.data;
  return event;
}

interface ProtocolStateRow {
  protocol: string;
  ref: string;
  transaction_id: string;
  state: Record<string, unknown>;
  created_at: number;
  expires_at: number;
}

function rowToProtocolState(r: ProtocolStateRow): ProtocolStateRecord {
  return {
    protocol: r.protocol,
    ref: r.ref,
    transactionId: r.transaction_id,
    state: r.state,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}
