/**
 * The server Store: PostgreSQL through a `pg` Pool, shared by every eidhub process.
 *
 * Each method is one statement, except purgeExpired and OTP verify, which are one transaction on
 * one pooled client (verify compares the code between its statements); no state lives in this
 * process. A method that writes several rows (a transaction change with its audit event, OTP
 * issue) is one statement of data-modifying CTEs: atomic, one round trip, one commit. Single use
 * is one `UPDATE … WHERE consumed_at IS NULL RETURNING`, which PostgreSQL serialises on the row
 * lock across all connections and processes. A promise resolves after the server answered the
 * commit, which with the server's default `synchronous_commit = on` means the write is in its WAL
 * on disk.
 */
import { DatabaseError, Pool, TypeOverrides, types, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import type { TransactionPatch } from '../../core/transaction.js';
import { migrationsDir, readMigrations } from '../migrate.js';
import * as budget from '../otp-budgets.js';
import {
  AUDIT_COLUMNS,
  AUDIT_PURGE_BATCH,
  auditPage,
  auditQuerySql,
  rowToLoginCount,
  rowToSmsCount,
  type LoginCountSqlRow,
  type AuditPageRow,
  type SmsCountSqlRow,
  CLIENT_COLUMNS,
  KEY_COLUMNS,
  OIDC_MODEL_COLUMNS,
  OTP_CHALLENGE_COLUMNS,
  PATCH_COLUMNS,
  PROTOCOL_STATE_COLUMNS,
  SUBJECT_COLUMNS,
  TRANSACTION_COLUMNS,
  auditToRow,
  clientToRow,
  codeHashMatches,
  latestSecretUses,
  rowsToSecretUses,
  keyToRow,
  oidcModelToRow,
  oidcPayload,
  otpToRow,
  patchAssignments,
  protocolStateOf,
  protocolStateToRow,
  purgePlan,
  rowToAudit,
  rowToClient,
  rowToKey,
  rowToOtp,
  rowToProtocolState,
  rowToSamlSp,
  rowToSubject,
  rowToTransaction,
  SAML_SP_COLUMNS,
  samlSpToRow,
  subjectToRow,
  transactionToRow,
  counterWindow,
  windowStartOf,
  wrongCodeAudit,
  type AuditRow,
  type ClientRow,
  type ColumnKind,
  type KeyRow,
  type OidcPayloadRow,
  type OtpChallengeRow,
  type ProtocolStateRow,
  type SecretUseRow,
  type SqlValue,
  type SubjectRow,
  type TransactionRow,
} from '../rows.js';
import { SECRET_USE_PRECISION_MS, StoreConflictError, type AuditEvent, type OtpIssue, type OtpIssueResult, type OtpVerifyResult, type Store, type StoredClient, type VersionedEntryStore } from '../types.js';

const DEFAULT_POOL_SIZE = 10;
/** Advisory lock key serialising migrations of one database; any constant works, this is "eidh" in ASCII. */
const MIGRATION_LOCK_KEY = 0x65696468;
const UNIQUE_VIOLATION = '23505';

export async function openPostgresStore(opts: { url: string; poolSize?: number }): Promise<Store> {
  // Rows in the neutral shape of ../rows.ts: BIGINT as a number, jsonb as its JSON text (which
  // rows.ts parses). Per-pool parsers, so this does not change how other code in the process reads them.
  const typeParsers = new TypeOverrides();
  typeParsers.setTypeParser(types.builtins.INT8, parseBigint);
  typeParsers.setTypeParser(types.builtins.JSONB, (text: string) => text);
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

/** The SQL type of each kind of patchable column, for the casts its parameters need in txUpdate. */
const SQL_TYPE: Record<ColumnKind, string> = { text: 'text', integer: 'bigint', json: 'jsonb' };

/**
 * The SQL types of the columns a statement inserts from `INSERT … SELECT $n, … FROM <cte>`, where
 * PostgreSQL cannot infer a parameter's type from its column and needs a cast.
 */
const OTP_CHALLENGE_TYPES: Record<keyof OtpChallengeRow, string> = {
  id: 'text',
  transaction_id: 'text',
  code_hash: 'text',
  phone_number: 'text',
  attempts: 'integer',
  max_attempts: 'integer',
  created_at: 'bigint',
  expires_at: 'bigint',
  consumed_at: 'bigint',
};
const AUDIT_TYPES: Record<keyof AuditRow, string> = { type: 'text', at: 'bigint', transaction_id: 'text', client_id: 'text', data: 'jsonb' };

// Explicit column lists, never `*`: named statements are planned once per connection, and a
// later migration adding a column would otherwise break them ("cached plan must not change result type").
const TX_COLUMNS = TRANSACTION_COLUMNS.join(', ');
const OTP_COLUMNS = OTP_CHALLENGE_COLUMNS.join(', ');
const NOT_EXPIRED = '(expires_at IS NULL OR expires_at > $3)';

/** `INSERT INTO table (…) VALUES ($1, …)`, bound with valuesOf(row, columns). */
function insertSql(table: string, columns: readonly string[], first = 1): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${first + i}`).join(', ')})`;
}

/** `INSERT INTO table (…) SELECT $first::type, … FROM source`: one row per row of `source` (none when it is empty). */
function insertFromSql<C extends string>(table: string, columns: readonly C[], types: Record<C, string>, first: number, source: string): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns.map((c, i) => `$${first + i}::${types[c]}`).join(', ')} FROM ${source}`;
}

/** The row's values in the order of `columns`: pg binds parameters by position. */
function valuesOf<R>(row: R, columns: readonly (keyof R)[]): R[keyof R][] {
  return columns.map((c) => row[c]);
}

/** How many parameters a patch takes: a (flag, value) pair for each of PATCH_COLUMNS. */
const PATCH_PARAMS = 2 * PATCH_COLUMNS.length;

/**
 * The compare-and-set update of a transaction: $id the id, $id+1 the expected version, then from
 * $id+2 a (flag, value) pair for each of PATCH_COLUMNS, bound with patchValues(); `andAlso` is a
 * further condition.
 */
function txUpdateSql(id: number, andAlso = ''): string {
  const sets = PATCH_COLUMNS.map(
    ({ column, kind }, i) => `${column} = CASE WHEN $${id + 2 + 2 * i}::boolean THEN $${id + 3 + 2 * i}::${SQL_TYPE[kind]} ELSE ${column} END`,
  );
  return `UPDATE transactions SET ${sets.join(', ')}, version = version + 1
    WHERE id = $${id} AND version = $${id + 1}${andAlso ? ` AND ${andAlso}` : ''} RETURNING ${TX_COLUMNS}`;
}

function patchValues(id: string, expectedVersion: number, patch: TransactionPatch): Param[] {
  const values: Param[] = [id, expectedVersion];
  for (const { set, value } of patchAssignments(patch)) values.push(set, value);
  return values;
}

function auditValues(e: AuditEvent): Param[] {
  return valuesOf(auditToRow(e), AUDIT_COLUMNS);
}

/** A client's columns, then its audit event's when there is one (clientWriteSql's parameters). */
function clientValues(c: StoredClient, audit: AuditEvent | undefined): Param[] {
  const values: Param[] = valuesOf(clientToRow(c), CLIENT_COLUMNS);
  return audit ? [...values, ...auditValues(audit)] : values;
}

/** The columns of the CTE `u`, qualified. */
const u = (columns: readonly string[]) => columns.map((c) => `u.${c}`).join(', ');

/** otpIssue's row: the count, and the updated transaction or, when the update did not apply, nulls. */
type IssueRow = { hit_count: number } & (TransactionRow | { [K in keyof TransactionRow]: null });

/** $1 counter key, $2 window start, $3 window end: one hit on the window, which returns its count. */
const COUNTER_HIT = `INSERT INTO counters (key, window_start, window_end, count) VALUES ($1, $2, $3, 1)
  ON CONFLICT (key, window_start) DO UPDATE SET count = counters.count + 1 RETURNING count`;

/** Inserts a client from its columns at $1…; ON CONFLICT makes it clientPut's upsert. */
const CLIENT_INSERT = insertSql('clients', CLIENT_COLUMNS);
const CLIENT_UPSERT = `${CLIENT_INSERT}
  ON CONFLICT (client_id) DO UPDATE SET kind = excluded.kind, settings = excluded.settings, secrets = excluded.secrets,
    created_at = excluded.created_at, updated_at = excluded.updated_at`;

/**
 * A client written (`write`, its columns from $1) with what goes with it, in one statement, so
 * all of it or none: the recorded uses of secrets it no longer has deleted (`uses`), the version
 * advanced in the same commit, and, when `audited`, the audit event from the parameter after the
 * client's columns.
 */
function clientWriteSql(write: string, uses: string, audited: boolean): string {
  const audit = audited ? `, a AS (${insertSql('audit_events', AUDIT_COLUMNS, CLIENT_COLUMNS.length + 1)})` : '';
  return `WITH c AS (${write}), u AS (${uses})${audit} UPDATE clients_version SET version = version + 1`;
}

const CLIENT_SECRETS_PARAM = `$${CLIENT_COLUMNS.indexOf('secrets') + 1}::jsonb`;
/** A new client has no secret used yet: rows of an earlier client of its id are stale. */
const CLIENT_USES_REMOVE = 'DELETE FROM secret_uses WHERE client_key = $1';
const CLIENT_USES_PRUNE = `DELETE FROM secret_uses WHERE client_key = $1
  AND secret_name NOT IN (SELECT s->>'name' FROM jsonb_array_elements(${CLIENT_SECRETS_PARAM}) s)`;

/**
 * $1 the client's key, then the audit event's columns when `audited`. One row (the version's) when
 * a client was removed, none when there was none; its recorded uses and its audit event go with it.
 */
function clientRemoveSql(audited: boolean): string {
  const audit = audited ? `, a AS (${insertFromSql('audit_events', AUDIT_COLUMNS, AUDIT_TYPES, 2, 'd')})` : '';
  return `WITH d AS (DELETE FROM clients WHERE client_id = $1 RETURNING client_id),
    u AS (DELETE FROM secret_uses WHERE client_key = $1 AND EXISTS (SELECT 1 FROM d))${audit}
    UPDATE clients_version SET version = version + 1 WHERE EXISTS (SELECT 1 FROM d)`;
}

/** Every statement, run as a named (server-side prepared) statement called `eidhub_<key>`. */
const SQL = {
  txInsert: insertSql('transactions', TRANSACTION_COLUMNS),
  txGet: `SELECT ${TX_COLUMNS} FROM transactions WHERE id = $1`,
  // $1 id, $2 expected version, then a (flag, value) pair for each of PATCH_COLUMNS.
  txUpdate: txUpdateSql(1),
  // The insert's columns, then the audit event's: one statement, so both or neither.
  txInsertAudited: `WITH t AS (${insertSql('transactions', TRANSACTION_COLUMNS)})
    ${insertSql('audit_events', AUDIT_COLUMNS, TRANSACTION_COLUMNS.length + 1)}`,
  // As txInsertAudited, then the protocol state's columns: one statement, so all three or none.
  txInsertAuditedState: `WITH t AS (${insertSql('transactions', TRANSACTION_COLUMNS)}),
    a AS (${insertSql('audit_events', AUDIT_COLUMNS, TRANSACTION_COLUMNS.length + 1)})
    ${insertSql('protocol_state', PROTOCOL_STATE_COLUMNS, TRANSACTION_COLUMNS.length + AUDIT_COLUMNS.length + 1)}`,
  // The insert's columns, then the protocol state's.
  txInsertState: `WITH t AS (${insertSql('transactions', TRANSACTION_COLUMNS)})
    ${insertSql('protocol_state', PROTOCOL_STATE_COLUMNS, TRANSACTION_COLUMNS.length + 1)}`,
  // As txUpdate, then the audit event's columns, written only if the update applied.
  txUpdateAudited: `WITH u AS (${txUpdateSql(1)}),
    a AS (${insertFromSql('audit_events', AUDIT_COLUMNS, AUDIT_TYPES, 3 + PATCH_PARAMS, 'u')})
    SELECT ${u(TRANSACTION_COLUMNS)} FROM u`,

  otpInsert: insertSql('otp_challenges', OTP_CHALLENGE_COLUMNS),
  otpGet: `SELECT ${OTP_COLUMNS} FROM otp_challenges WHERE id = $1`,
  otpLatest: `SELECT ${OTP_COLUMNS} FROM otp_challenges WHERE transaction_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
  otpCount: 'SELECT count(*) AS n FROM otp_challenges WHERE transaction_id = $1',
  otpAttempt: `UPDATE otp_challenges SET attempts = attempts + 1
    WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2 AND attempts < max_attempts RETURNING ${OTP_COLUMNS}`,
  // $1 counter key, $2 window start, $3 window end, $4 limit; the transaction's update from $5;
  // then the challenge's columns, then the audit event's. The hit always counts; the rest only
  // within the limit and if the compare-and-set applied. One row: the count, and the updated
  // transaction's columns (null when it did not apply). A send without budgets nor conversion guard.
  otpIssue: `WITH hit AS (${COUNTER_HIT}),
    u AS (${txUpdateSql(5, '(SELECT count FROM hit) <= $4')}),
    c AS (${insertFromSql('otp_challenges', OTP_CHALLENGE_COLUMNS, OTP_CHALLENGE_TYPES, 7 + PATCH_PARAMS, 'u')}),
    a AS (${insertFromSql('audit_events', AUDIT_COLUMNS, AUDIT_TYPES, 7 + PATCH_PARAMS + OTP_CHALLENGE_COLUMNS.length, 'u')})
    SELECT hit.count AS hit_count, ${u(TRANSACTION_COLUMNS)} FROM hit LEFT JOIN u ON true`,
  // As otpIssue without the hit, inside issueBudgeted's transaction: the transaction's update from
  // $1, then the challenge's columns, then the audit event's. No row when the update did not apply.
  otpIssueChange: `WITH u AS (${txUpdateSql(1)}),
    c AS (${insertFromSql('otp_challenges', OTP_CHALLENGE_COLUMNS, OTP_CHALLENGE_TYPES, 3 + PATCH_PARAMS, 'u')}),
    a AS (${insertFromSql('audit_events', AUDIT_COLUMNS, AUDIT_TYPES, 3 + PATCH_PARAMS + OTP_CHALLENGE_COLUMNS.length, 'u')})
    SELECT ${u(TRANSACTION_COLUMNS)} FROM u`,
  otpPauseGet: 'SELECT paused_until FROM otp_prefix_pauses WHERE prefix = $1 AND paused_until > $2',
  otpPausePut: `INSERT INTO otp_prefix_pauses (prefix, paused_at, paused_until) VALUES ($1, $2, $3)
    ON CONFLICT (prefix) DO UPDATE SET paused_at = excluded.paused_at, paused_until = excluded.paused_until`,
  otpConversionSent: `INSERT INTO otp_conversions (prefix, bucket_start, expires_at, sent, verified) VALUES ($1, $2, $3, 1, 0)
    ON CONFLICT (prefix, bucket_start) DO UPDATE SET sent = otp_conversions.sent + 1`,
  otpConversionVerified: `INSERT INTO otp_conversions (prefix, bucket_start, expires_at, sent, verified) VALUES ($1, $2, $3, 0, 1)
    ON CONFLICT (prefix, bucket_start) DO UPDATE SET verified = otp_conversions.verified + 1`,
  otpConversionSums: `SELECT coalesce(sum(sent), 0)::integer AS sent, coalesce(sum(verified), 0)::integer AS verified
    FROM otp_conversions WHERE prefix = $1 AND bucket_start > $2`,
  otpConversionReset: 'DELETE FROM otp_conversions WHERE prefix = $1',
  // A right code, inside verify's transaction: the transaction's update from $1, then $n the
  // challenge id, $n+1 the time, then the audit event. The challenge is consumed and the event
  // written only if the update applied. No row when it did not.
  otpVerified: `WITH u AS (${txUpdateSql(1)}),
    c AS (UPDATE otp_challenges SET consumed_at = $${4 + PATCH_PARAMS}
      WHERE id = $${3 + PATCH_PARAMS} AND consumed_at IS NULL AND EXISTS (SELECT 1 FROM u) RETURNING id),
    a AS (${insertFromSql('audit_events', AUDIT_COLUMNS, AUDIT_TYPES, 5 + PATCH_PARAMS, 'u')})
    SELECT (SELECT count(*) FROM c)::integer AS consumed, ${u(TRANSACTION_COLUMNS)} FROM u`,

  // consumed_at survives a replace: once consumed, a row must never be consumable again
  // (oidc-provider may save a model after consuming it).
  oidcUpsert: `${insertSql('oidc_models', OIDC_MODEL_COLUMNS)}
    ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
      user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
  oidcFind: `SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND id = $2 AND ${NOT_EXPIRED}`,
  oidcByUid: `SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND uid = $2 AND ${NOT_EXPIRED} LIMIT 1`,
  oidcByUserCode: `SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND user_code = $2 AND ${NOT_EXPIRED} LIMIT 1`,
  oidcConsume: 'UPDATE oidc_models SET consumed_at = $3 WHERE model = $1 AND id = $2 AND consumed_at IS NULL RETURNING id',
  oidcDestroy: 'DELETE FROM oidc_models WHERE model = $1 AND id = $2',
  oidcRevoke: 'DELETE FROM oidc_models WHERE grant_id = $1',

  keysList: `SELECT ${KEY_COLUMNS.join(', ')} FROM keys
    WHERE remove_after IS NULL OR remove_after > $1 ORDER BY created_at DESC, kid DESC`,
  keysInsert: insertSql('keys', KEY_COLUMNS),
  keysRetire: 'UPDATE keys SET retired_at = $3, remove_after = $4 WHERE alg = $1 AND kid <> $2 AND retired_at IS NULL',

  secretGet: 'SELECT value FROM secrets WHERE name = $1',
  secretInsert: 'INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',

  counterHit: COUNTER_HIT,
  counterCounts: 'SELECT key, count FROM counters WHERE key IN (SELECT jsonb_array_elements_text($1::jsonb)) AND window_start = $2',
  counterUndo: 'UPDATE counters SET count = count - 1 WHERE key = $1 AND window_start = $2',

  subjectPut: `${insertSql('subjects', SUBJECT_COLUMNS)}
    ON CONFLICT (sub) DO UPDATE SET provider = excluded.provider, attributes = excluded.attributes,
      updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
  subjectGet: `SELECT ${SUBJECT_COLUMNS.join(', ')} FROM subjects WHERE sub = $1 AND expires_at > $2`,

  auditInsert: insertSql('audit_events', AUDIT_COLUMNS),
  auditRecent: `SELECT ${AUDIT_COLUMNS.join(', ')} FROM audit_events ORDER BY at DESC, id DESC LIMIT $1`,
  auditPurge: 'DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 ORDER BY at, id LIMIT $2)',
  // COLLATE "C": the same order as SQLite's, whatever collation the database was created with.
  smsCounts: `SELECT to_char(to_timestamp(at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
      data->>'country' AS country, data->>'provider' AS provider,
      count(*) FILTER (WHERE type = 'otp.issued') AS sent, count(*) FILTER (WHERE type = 'otp.send_failed') AS failed
    FROM audit_events WHERE type IN ('otp.issued', 'otp.send_failed') AND at >= $1 AND at < $2
    GROUP BY 1, 2, 3 ORDER BY 1, (data->>'country') COLLATE "C" NULLS FIRST, (data->>'provider') COLLATE "C" NULLS FIRST`,
  loginCounts: `SELECT to_char(to_timestamp(at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
      data->>'country' AS country, data->>'provider' AS provider, count(*) AS succeeded
    FROM audit_events WHERE type = 'transaction.success' AND at >= $1 AND at < $2
    GROUP BY 1, 2, 3 ORDER BY 1, (data->>'country') COLLATE "C" NULLS FIRST, (data->>'provider') COLLATE "C" NULLS FIRST`,

  protocolStateInsert: insertSql('protocol_state', PROTOCOL_STATE_COLUMNS),
  protocolStateGet: `SELECT ${PROTOCOL_STATE_COLUMNS.join(', ')} FROM protocol_state WHERE protocol = $1 AND ref = $2`,
  sessionNonceIssue: `INSERT INTO session_nonces (transaction_id, nonce_hash, issued_at, used_at) VALUES ($1, $2, $3, NULL)
    ON CONFLICT (transaction_id) DO UPDATE SET nonce_hash = excluded.nonce_hash, issued_at = excluded.issued_at, used_at = NULL`,
  // One statement: PostgreSQL's row lock lets exactly one of two concurrent consumers match.
  sessionNonceConsume: 'UPDATE session_nonces SET used_at = $3 WHERE transaction_id = $1 AND nonce_hash = $2 AND used_at IS NULL RETURNING transaction_id',

  // COLLATE "C": by code point, as SQLite's default, whatever collation the database was created with.
  clientList: `SELECT ${CLIENT_COLUMNS.join(', ')} FROM clients ORDER BY client_id COLLATE "C"`,
  clientGet: `SELECT ${CLIENT_COLUMNS.join(', ')} FROM clients WHERE client_id = $1`,
  clientInsert: clientWriteSql(CLIENT_INSERT, CLIENT_USES_REMOVE, false),
  clientInsertAudited: clientWriteSql(CLIENT_INSERT, CLIENT_USES_REMOVE, true),
  clientPut: clientWriteSql(CLIENT_UPSERT, CLIENT_USES_PRUNE, false),
  clientPutAudited: clientWriteSql(CLIENT_UPSERT, CLIENT_USES_PRUNE, true),
  clientRemove: clientRemoveSql(false),
  clientRemoveAudited: clientRemoveSql(true),
  clientsVersion: 'SELECT version FROM clients_version',
  // $1 the uses as a JSON array of SecretUse, $2 SECRET_USE_PRECISION_MS.
  secretUsesRecord: `INSERT INTO secret_uses (client_key, secret_name, last_used_at)
      SELECT u->>'clientKey', u->>'secretName', (u->>'at')::bigint FROM jsonb_array_elements($1::jsonb) u
    ON CONFLICT (client_key, secret_name) DO UPDATE SET last_used_at = excluded.last_used_at
    WHERE excluded.last_used_at >= secret_uses.last_used_at + $2`,
  secretUsesOf: 'SELECT secret_name, last_used_at FROM secret_uses WHERE client_key = $1',
  // $1: the kept secrets as a JSON array of SecretRef.
  secretUsesPurge: `DELETE FROM secret_uses u
    WHERE NOT EXISTS (SELECT 1 FROM clients c
        WHERE c.client_id = u.client_key AND c.secrets @> jsonb_build_array(jsonb_build_object('name', u.secret_name)))
      AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements($1::jsonb) k WHERE k->>'clientKey' = u.client_key AND k->>'secretName' = u.secret_name)`,

  // As the clients' statements, on the SAML service providers and their own version.
  samlSpList: `SELECT ${SAML_SP_COLUMNS.join(', ')} FROM saml_service_providers ORDER BY entity_id COLLATE "C"`,
  samlSpGet: `SELECT ${SAML_SP_COLUMNS.join(', ')} FROM saml_service_providers WHERE entity_id = $1`,
  samlSpPut: `WITH p AS (${insertSql('saml_service_providers', SAML_SP_COLUMNS)}
      ON CONFLICT (entity_id) DO UPDATE SET metadata = excluded.metadata, settings = excluded.settings,
        created_at = excluded.created_at, updated_at = excluded.updated_at)
    UPDATE saml_service_providers_version SET version = version + 1`,
  samlSpRemove: `WITH d AS (DELETE FROM saml_service_providers WHERE entity_id = $1 RETURNING entity_id)
    UPDATE saml_service_providers_version SET version = version + 1 WHERE EXISTS (SELECT 1 FROM d)`,
  samlSpsVersion: 'SELECT version FROM saml_service_providers_version',

  ping: 'SELECT 1',
  // What these delete, and in which order, is purgePlan's (../rows.ts).
  purgeOidc: 'DELETE FROM oidc_models WHERE expires_at <= $1',
  purgeSubjects: 'DELETE FROM subjects WHERE expires_at <= $1',
  purgeCounters: 'DELETE FROM counters WHERE window_end <= $1',
  purgeOtpConversions: 'DELETE FROM otp_conversions WHERE expires_at <= $1',
  purgeOtpPauses: 'DELETE FROM otp_prefix_pauses WHERE paused_until <= $1',
  purgeOtp: 'DELETE FROM otp_challenges WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < $1)',
  purgeProtocolState: 'DELETE FROM protocol_state WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < $1)',
  purgeTransactions: 'DELETE FROM transactions WHERE expires_at < $1',
} as const;

/** A bound parameter: a neutral value, or a boolean for txUpdate's flags. */
type Param = SqlValue | boolean;

/** What both a Pool and a checked-out PoolClient offer. */
interface Queryable {
  query<R extends QueryResultRow>(config: QueryConfig<Param[]>): Promise<QueryResult<R>>;
}

function run<R extends QueryResultRow = QueryResultRow>(db: Queryable, statement: keyof typeof SQL, values: Param[]): Promise<QueryResult<R>> {
  return db.query<R>({ name: `eidhub_${statement}`, text: SQL[statement], values });
}

async function first<R extends QueryResultRow>(db: Queryable, statement: keyof typeof SQL, values: Param[]): Promise<R | undefined> {
  return (await run<R>(db, statement, values)).rows[0];
}

/** `what` names the row that exists already; a function picks it from the error (which names the table) when a statement inserts into several tables. */
async function insertOrConflict<T>(insert: Promise<T>, what: string | ((err: DatabaseError) => string)): Promise<T> {
  try {
    return await insert;
  } catch (err) {
    if (err instanceof DatabaseError && err.code === UNIQUE_VIOLATION) {
      throw new StoreConflictError(`${typeof what === 'string' ? what : what(err)} already exists`, { cause: err });
    }
    throw err;
  }
}

/**
 * A table of entries added at run time with its one-row version table (the SAML SPs; the clients'
 * store adds inserts, audit events and secret uses to the same shape), through the statements
 * `{prefix}List`, `Get`, `Put`, `Remove` and `{prefix}sVersion`; Put and Remove advance the version
 * in their own statement, so in the change's commit.
 */
function versionedEntries<T, R extends QueryResultRow & { [K in keyof R]: SqlValue }>(
  pool: Pool,
  prefix: 'samlSp',
  rows: { toRow(entry: T): R; fromRow(row: R): T; columns: readonly (keyof R)[] },
): VersionedEntryStore<T> {
  return {
    async list() {
      return (await run<R>(pool, `${prefix}List`, [])).rows.map(rows.fromRow);
    },
    async get(key) {
      const row = await first<R>(pool, `${prefix}Get`, [key]);
      return row ? rows.fromRow(row) : null;
    },
    async put(entry) {
      await run(pool, `${prefix}Put`, valuesOf(rows.toRow(entry), rows.columns));
    },
    async remove(key) {
      return (await run(pool, `${prefix}Remove`, [key])).rowCount === 1;
    },
    async version() {
      const row = await first<{ version: number }>(pool, `${prefix}sVersion`, []);
      if (!row) throw new Error(`the version table of ${prefix}s has no row`);
      return row.version;
    },
  };
}

/**
 * OtpChallengeStore.issue with budgets or a conversion guard: one transaction, as each budget's
 * outcome decides the next step. Counter rows are hit per-number first, then the budgets in key
 * order, so concurrent sends queue on the shared rows (the global budget's) in one order, and
 * the row locks hold every other process's send on those budgets until this one commits.
 */
async function issueBudgeted(pool: Pool, { now, counter, change, challenge, budgets, conversion }: OtpIssue): Promise<OtpIssueResult> {
  return inTransaction(pool, async (client): Promise<OtpIssueResult> => {
    const hit = async (key: string, start: number, end: number) => (await first<{ count: number }>(client, 'counterHit', [key, start, end]))!.count;
    const own = counterWindow(counter.windowMs, now);
    const count = await hit(counter.key, own.start, own.end);
    if (count > counter.limit) return { kind: 'limited', count };
    const pause = conversion && (await first<{ paused_until: number }>(client, 'otpPauseGet', [conversion.prefix, now]));
    if (pause) return { kind: 'paused', count, retryAt: pause.paused_until };
    const hits: { key: string; name: string; start: number; end: number; over: boolean }[] = [];
    for (const b of budget.budgetsInLockOrder(budgets)) {
      const window = counterWindow(b.windowMs, now);
      hits.push({ key: b.key, name: b.name, ...window, over: (await hit(b.key, window.start, window.end)) > b.limit });
    }
    const undoHits = async () => {
      for (const h of hits) await run(client, 'counterUndo', [h.key, h.start]);
    };
    const refused = budget.overBudget(
      hits.filter((h) => h.over).map((h) => ({ name: h.name, retryAt: h.end })),
      count,
    );
    if (refused) {
      await undoHits();
      return refused;
    }
    const values = [...patchValues(change.id, change.expectedVersion, change.patch), ...valuesOf(otpToRow(challenge), OTP_CHALLENGE_COLUMNS), ...auditValues(change.audit)];
    const row = await insertOrConflict(first<TransactionRow>(client, 'otpIssueChange', values), `OTP challenge ${challenge.id}`);
    if (!row) {
      await undoHits();
      return { kind: 'changed', count };
    }
    const tx = rowToTransaction(row);
    if (!conversion) return { kind: 'issued', count, tx };
    const bucket = budget.conversionBucket(conversion, now);
    await run(client, 'otpConversionSent', [conversion.prefix, bucket.start, bucket.expiresAt]);
    const counts = (await first<{ sent: number; verified: number }>(client, 'otpConversionSums', [conversion.prefix, budget.conversionSince(conversion.windowMs, now)])) ?? { sent: 0, verified: 0 };
    if (!budget.conversionTrips(conversion, counts)) return { kind: 'issued', count, tx };
    const until = now + conversion.pauseMs;
    await run(client, 'otpPausePut', [conversion.prefix, now, until]);
    await run(client, 'otpConversionReset', [conversion.prefix]);
    return { kind: 'issued', count, tx, paused: { until, ...counts } };
  });
}

function createStore(pool: Pool): Store {
  return {
    driver: 'postgres',
    transactions: {
      async create(tx, audit, protocolState) {
        const values: Param[] = valuesOf(transactionToRow(tx), TRANSACTION_COLUMNS);
        if (audit) values.push(...auditValues(audit));
        const state = protocolState && protocolStateOf(tx, protocolState);
        if (state) values.push(...valuesOf(protocolStateToRow(state), PROTOCOL_STATE_COLUMNS));
        const statement = state ? (audit ? 'txInsertAuditedState' : 'txInsertState') : audit ? 'txInsertAudited' : 'txInsert';
        await insertOrConflict(run(pool, statement, values), (err) =>
          state && err.table === 'protocol_state' ? `protocol state ${state.protocol} ${state.ref}` : `transaction ${tx.id} (${tx.protocol} ${tx.protocolRef})`,
        );
      },
      async get(id) {
        const row = await first<TransactionRow>(pool, 'txGet', [id]);
        return row ? rowToTransaction(row) : null;
      },
      // WriteDurability `ordered` is `durable` here, as for the oidc models below.
      async update(id, expectedVersion, patch, audit) {
        const values = patchValues(id, expectedVersion, patch);
        if (audit) values.push(...auditValues(audit));
        const row = await first<TransactionRow>(pool, audit ? 'txUpdateAudited' : 'txUpdate', values);
        return row ? rowToTransaction(row) : null;
      },
    },

    otp: {
      async create(c) {
        await insertOrConflict(run(pool, 'otpInsert', valuesOf(otpToRow(c), OTP_CHALLENGE_COLUMNS)), `OTP challenge ${c.id}`);
      },
      async latest(transactionId) {
        const row = await first<OtpChallengeRow>(pool, 'otpLatest', [transactionId]);
        return row ? rowToOtp(row) : null;
      },
      async countForTransaction(transactionId) {
        return (await first<{ n: number }>(pool, 'otpCount', [transactionId]))?.n ?? 0;
      },
      async issue(issue) {
        const { now, counter, change, challenge, budgets, conversion } = issue;
        if (challenge.transactionId !== change.id) throw new Error(`OTP challenge ${challenge.id} is not for transaction ${change.id}`);
        if ((budgets?.length ?? 0) > 0 || conversion) return issueBudgeted(pool, issue);
        const windowStart = windowStartOf(counter.windowMs, now);
        const values: Param[] = [
          counter.key,
          windowStart,
          windowStart + counter.windowMs,
          counter.limit,
          ...patchValues(change.id, change.expectedVersion, change.patch),
          ...valuesOf(otpToRow(challenge), OTP_CHALLENGE_COLUMNS),
          ...auditValues(change.audit),
        ];
        const row = await insertOrConflict(first<IssueRow>(pool, 'otpIssue', values), `OTP challenge ${challenge.id}`);
        if (!row) throw new Error('OTP issue returned no row');
        const count = row.hit_count;
        if (count > counter.limit) return { kind: 'limited', count };
        if (row.id === null) return { kind: 'changed', count };
        return { kind: 'issued', count, tx: rowToTransaction(row) };
      },
      async verify({ id, now, codeHash, onMatch, onWrong, conversion }) {
        // One transaction: the attempt's row lock holds other verifications of this challenge
        // until COMMIT.
        return inTransaction(pool, async (client): Promise<OtpVerifyResult> => {
          const counted = await first<OtpChallengeRow>(client, 'otpAttempt', [id, now]);
          if (!counted) {
            const current = await first<OtpChallengeRow>(client, 'otpGet', [id]);
            return { kind: 'void', challenge: current ? rowToOtp(current) : null };
          }
          const challenge = rowToOtp(counted);
          if (!codeHashMatches(challenge, codeHash)) {
            await run(client, 'auditInsert', auditValues(wrongCodeAudit(onWrong, challenge)));
            return { kind: 'wrong', challenge };
          }
          if (onMatch.id !== challenge.transactionId) throw new Error(`OTP challenge ${id} is not for transaction ${onMatch.id}`);
          const values = [...patchValues(onMatch.id, onMatch.expectedVersion, onMatch.patch), id, now, ...auditValues(onMatch.audit)];
          const row = await first<TransactionRow & { consumed: number }>(client, 'otpVerified', values);
          if (!row) return { kind: 'changed', challenge };
          // Cannot miss: this transaction's attempt found the challenge unconsumed and holds its row lock.
          if (row.consumed !== 1) throw new Error(`OTP challenge ${id} could not be consumed`);
          if (conversion) {
            const bucket = budget.conversionBucket(conversion, now);
            await run(client, 'otpConversionVerified', [conversion.prefix, bucket.start, bucket.expiresAt]);
          }
          return { kind: 'verified', challenge: { ...challenge, consumedAt: now }, tx: rowToTransaction(row) };
        });
      },
      async conversion(prefix, windowMs, now) {
        const counts = (await first<{ sent: number; verified: number }>(pool, 'otpConversionSums', [prefix, budget.conversionSince(windowMs, now)])) ?? { sent: 0, verified: 0 };
        const pause = await first<{ paused_until: number }>(pool, 'otpPauseGet', [prefix, now]);
        return { ...counts, pausedUntil: pause?.paused_until ?? null };
      },
    },

    oidc: {
      // WriteDurability `ordered` (upsert, consume, destroy) is `durable` here: pooled connections commit in no fixed order.
      async upsert(model, id, payload, expiresAt, refs) {
        await run(pool, 'oidcUpsert', valuesOf(oidcModelToRow(model, id, payload, expiresAt, refs), OIDC_MODEL_COLUMNS));
      },
      async find(model, id, now) {
        return oidcPayload(await first<OidcPayloadRow>(pool, 'oidcFind', [model, id, now]));
      },
      async findByUid(model, uid, now) {
        return oidcPayload(await first<OidcPayloadRow>(pool, 'oidcByUid', [model, uid, now]));
      },
      async findByUserCode(model, userCode, now) {
        return oidcPayload(await first<OidcPayloadRow>(pool, 'oidcByUserCode', [model, userCode, now]));
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
        await insertOrConflict(run(pool, 'keysInsert', valuesOf(keyToRow(k), KEY_COLUMNS)), `key ${k.kid}`);
      },
      async retire(alg, exceptKid, retiredAt, removeAfter) {
        await run(pool, 'keysRetire', [alg, exceptKid, retiredAt, removeAfter]);
      },
    },

    secrets: {
      async getOrCreate(name, candidate) {
        const existing = await first<{ value: string }>(pool, 'secretGet', [name]);
        if (existing) return existing.value;
        // Another process may insert between our read and this insert; DO NOTHING keeps its
        // value, and the read below (a new statement, so a new snapshot) returns whichever won.
        await run(pool, 'secretInsert', [name, candidate, Date.now()]);
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
      async counts(keys, windowMs, now) {
        const { rows } = await run<{ key: string; count: number }>(pool, 'counterCounts', [JSON.stringify(keys), windowStartOf(windowMs, now)]);
        const byKey = new Map(rows.map((r) => [r.key, r.count]));
        return keys.map((k) => byKey.get(k) ?? 0);
      },
    },

    subjects: {
      async put(r) {
        await run(pool, 'subjectPut', valuesOf(subjectToRow(r), SUBJECT_COLUMNS));
      },
      async get(sub, now) {
        const row = await first<SubjectRow>(pool, 'subjectGet', [sub, now]);
        return row ? rowToSubject(row) : null;
      },
    },

    audit: {
      async append(e) {
        await run(pool, 'auditInsert', auditValues(e));
      },
      async recent(limit) {
        return (await run<AuditRow>(pool, 'auditRecent', [limit])).rows.map(rowToAudit);
      },
      async query(q) {
        // Unnamed: the filters make many shapes, and a page is read rarely.
        const { sql, values } = auditQuerySql(q, (n) => `$${n}`);
        return auditPage((await pool.query<AuditPageRow>(sql, values)).rows, q.limit);
      },
      async purgeOlderThan(at) {
        // One statement per batch, each its own transaction, so no lock is held for long.
        let removed = 0;
        for (;;) {
          const n = (await run(pool, 'auditPurge', [at, AUDIT_PURGE_BATCH])).rowCount ?? 0;
          removed += n;
          if (n < AUDIT_PURGE_BATCH) return removed;
        }
      },
      async smsCounts({ from, to }) {
        return (await run<SmsCountSqlRow>(pool, 'smsCounts', [from, to])).rows.map(rowToSmsCount);
      },
      async loginCounts({ from, to }) {
        return (await run<LoginCountSqlRow>(pool, 'loginCounts', [from, to])).rows.map(rowToLoginCount);
      },
    },

    protocolState: {
      async create(r) {
        await insertOrConflict(
          run(pool, 'protocolStateInsert', valuesOf(protocolStateToRow(r), PROTOCOL_STATE_COLUMNS)),
          `protocol state ${r.protocol} ${r.ref}`,
        );
      },
      async get(protocol, ref) {
        const row = await first<ProtocolStateRow>(pool, 'protocolStateGet', [protocol, ref]);
        return row ? rowToProtocolState(row) : null;
      },
    },

    sessionNonces: {
      async issue(transactionId, nonceHash, now) {
        await run(pool, 'sessionNonceIssue', [transactionId, nonceHash, now]);
      },
      async consume(transactionId, nonceHash, now) {
        return (await run(pool, 'sessionNonceConsume', [transactionId, nonceHash, now])).rowCount === 1;
      },
    },

    clients: {
      async list() {
        return (await run<ClientRow>(pool, 'clientList', [])).rows.map(rowToClient);
      },
      async get(clientId) {
        const row = await first<ClientRow>(pool, 'clientGet', [clientId]);
        return row ? rowToClient(row) : null;
      },
      async insert(c, audit) {
        await insertOrConflict(run(pool, audit ? 'clientInsertAudited' : 'clientInsert', clientValues(c, audit)), `client ${c.clientId}`);
      },
      async put(c, audit) {
        await run(pool, audit ? 'clientPutAudited' : 'clientPut', clientValues(c, audit));
      },
      async remove(clientId, audit) {
        const values: Param[] = audit ? [clientId, ...auditValues(audit)] : [clientId];
        return (await run(pool, audit ? 'clientRemoveAudited' : 'clientRemove', values)).rowCount === 1;
      },
      async version() {
        const row = await first<{ version: number }>(pool, 'clientsVersion', []);
        if (!row) throw new Error('clients_version has no row');
        return row.version;
      },
      async recordSecretUses(uses) {
        const latest = latestSecretUses(uses);
        if (latest.length > 0) await run(pool, 'secretUsesRecord', [JSON.stringify(latest), SECRET_USE_PRECISION_MS]);
      },
      async secretUses(clientKey) {
        return rowsToSecretUses((await run<SecretUseRow>(pool, 'secretUsesOf', [clientKey])).rows);
      },
      async purgeSecretUses(kept) {
        return (await run(pool, 'secretUsesPurge', [JSON.stringify(kept)])).rowCount ?? 0;
      },
    },
    samlServiceProviders: versionedEntries(pool, 'samlSp', { toRow: samlSpToRow, fromRow: rowToSamlSp, columns: SAML_SP_COLUMNS }),

    async ping() {
      await run(pool, 'ping', []);
    },
    async purgeExpired(now) {
      return inTransaction(pool, async (client) => {
        let removed = 0;
        for (const [statement, cutoff] of purgePlan(now)) removed += (await run(client, statement, [cutoff])).rowCount ?? 0;
        return removed;
      });
    },
    async close() {
      await pool.end();
    },
  };
}
