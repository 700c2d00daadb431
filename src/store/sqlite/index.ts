/**
 * The embedded Store: one SQLite file through better-sqlite3.
 *
 * better-sqlite3 is synchronous: every statement has run when the method returns. Writes are
 * group-committed: the writes of one event-loop turn share one transaction, committed (and, with
 * WAL and `synchronous = FULL`, fsynced) on the next turn, and each write's promise resolves only
 * after that commit. What the server acknowledged is on disk, at one fsync per batch instead of
 * one per statement. A store call that writes several rows (a transaction change with its audit
 * event, OTP issue and verify) is one op of the batch, inside a savepoint: all of it or none of
 * it, at one commit wait. Reads run at once; one whose key a write of the open batch touched
 * answers only after that batch committed, so no answer shows a state a crash could undo (see
 * group-commit.ts). Single use is one `UPDATE … WHERE … RETURNING`, or one atomic op.
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
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
  type KeyRow,
  type OidcModelRow,
  type OidcPayloadRow,
  type OtpChallengeRow,
  type ProtocolStateRow,
  type SamlServiceProviderRow,
  type SecretUseRow,
  type SqlValue,
  type SubjectRow,
  type TransactionRow,
} from '../rows.js';
import { SECRET_USE_PRECISION_MS, StoreConflictError, type AuditEvent, type OtpChallenge, type ProtocolStateRecord, type OtpIssueResult, type OtpVerifyResult, type Store, type VersionedEntryStore } from '../types.js';
import { EVERY_KEY, GroupCommit, type Touch } from './group-commit.js';
import { key, touchClient, touchOidc, touchSamlSp } from './read-keys.js';
import { createTouchCheck } from './touch-check.js';

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * `checkTouches`: for tests, never in production. Every write op is checked to have touched the
 * read keys of every row it changed, and fails naming the key it forgot (see touch-check.ts).
 */
export async function openSqliteStore(opts: { path: string; checkTouches?: boolean }): Promise<Store> {
  const db = await openSqliteDatabase(opts.path);
  try {
    return createStore(db, new GroupCommit(db, opts.checkTouches ? createTouchCheck(db) : undefined));
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * The database as the store uses it: WAL, durable commits, the checkpoint interval below, foreign
 * keys, every migration applied. Exported for bench/checkpoint-pauses.ts, which measures commits
 * on this very setup with other checkpoint intervals.
 */
export async function openSqliteDatabase(path: string, options: { walAutocheckpoint?: number } = {}): Promise<Database.Database> {
  const inMemory = path === ':memory:';
  if (!inMemory) mkdirSync(dirname(resolve(path)), { recursive: true });
  const db = new Database(path);
  try {
    // Set before anything else so that every statement waits for a concurrent opener's locks.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = await switchToWal(db);
    if (!inMemory && mode !== 'wal') throw new Error(`SQLite refused WAL mode for ${path} (got ${String(mode)})`);
    // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and an
    // acknowledged write (a consumed code, an issued token) must survive that.
    db.pragma('synchronous = FULL');
    // The WAL is checkpointed inside the COMMIT that crosses 500 pages, on the event loop, so every
    // request in flight waits for it. Larger intervals copy less in all (a page that changed
    // several times is copied once) but pause for longer: on a cloud disk a checkpointing commit
    // took about 6 ms at 500 pages, 9–10 ms at SQLite's default 1000 and 19–20 ms at 4000
    // (bench/checkpoint-pauses.ts), and at half load 500 pages kept every login step's p99 under
    // 10 ms where 1000 did not.
    db.pragma(`wal_autocheckpoint = ${options.walAutocheckpoint ?? 500}`);
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * `PRAGMA journal_mode = WAL`, tried again while another connection holds the file's write lock.
 * Switching needs that lock on top of the read lock the statement already holds, and SQLite
 * answers SQLITE_BUSY at once in that case instead of waiting (two connections waiting for each
 * other would deadlock), whatever busy_timeout says: a second process starting on a new file
 * while the first one migrates it. The failed statement released its lock, so a later try gets
 * through once the other connection's transaction ended; this waits up to BUSY_TIMEOUT_MS.
 */
async function switchToWal(db: Database.Database): Promise<unknown> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let pause = 2; ; pause = Math.min(pause * 2, 100)) {
    try {
      return db.pragma('journal_mode = WAL', { simple: true });
    } catch (err) {
      if (!(err instanceof Database.SqliteError && err.code === 'SQLITE_BUSY') || Date.now() + pause > deadline) throw err;
      await delay(pause);
    }
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

/** `INSERT INTO table (…) VALUES (@column, …)`: better-sqlite3 binds each `@column` from the row object passed to run(). */
function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}

function createStore(db: Database.Database, batch: GroupCommit): Store {
  const s = {
    txInsert: db.prepare<[TransactionRow]>(insertSql('transactions', TRANSACTION_COLUMNS)),
    txGet: db.prepare<[string], TransactionRow>('SELECT * FROM transactions WHERE id = ?'),

    otpInsert: db.prepare<[OtpChallengeRow]>(insertSql('otp_challenges', OTP_CHALLENGE_COLUMNS)),
    otpGet: db.prepare<[string], OtpChallengeRow>('SELECT * FROM otp_challenges WHERE id = ?'),
    otpLatest: db.prepare<[string], OtpChallengeRow>(
      'SELECT * FROM otp_challenges WHERE transaction_id = ? ORDER BY created_at DESC, id DESC LIMIT 1',
    ),
    otpCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM otp_challenges WHERE transaction_id = ?'),
    otpAttempt: db.prepare<[string, number], OtpChallengeRow>(
      `UPDATE otp_challenges SET attempts = attempts + 1
       WHERE id = ? AND consumed_at IS NULL AND expires_at > ? AND attempts < max_attempts RETURNING *`,
    ),
    otpConsume: db.prepare<[number, string], { id: string }>('UPDATE otp_challenges SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL RETURNING id'),

    // consumed_at survives a replace: once consumed, a row must never be consumable again
    // (oidc-provider may save a model after consuming it).
    oidcUpsert: db.prepare<[OidcModelRow]>(
      `${insertSql('oidc_models', OIDC_MODEL_COLUMNS)}
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
    ),
    // The references a row is read by before an upsert replaces them: reads by the old ones change too.
    oidcRefs: db.prepare<[string, string], OidcRefsRow>('SELECT id, uid, user_code FROM oidc_models WHERE model = ? AND id = ?'),
    oidcFind: db.prepare<[string, string, number], OidcPayloadRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    oidcByUid: db.prepare<[string, string, number], OidcPayloadRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND uid = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1',
    ),
    oidcByUserCode: db.prepare<[string, string, number], OidcPayloadRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND user_code = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1',
    ),
    oidcConsume: db.prepare<[number, string, string], OidcRefsRow>(
      'UPDATE oidc_models SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL RETURNING id, uid, user_code',
    ),
    oidcDestroy: db.prepare<[string, string], OidcRefsRow>('DELETE FROM oidc_models WHERE model = ? AND id = ? RETURNING id, uid, user_code'),
    oidcRevoke: db.prepare<[string], OidcRefsRow & { model: string }>(
      'DELETE FROM oidc_models WHERE grant_id = ? RETURNING model, id, uid, user_code',
    ),

    keysList: db.prepare<[number], KeyRow>(
      'SELECT * FROM keys WHERE remove_after IS NULL OR remove_after > ? ORDER BY created_at DESC, kid DESC',
    ),
    keysInsert: db.prepare<[KeyRow]>(insertSql('keys', KEY_COLUMNS)),
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
    counterUndo: db.prepare<[string, number]>('UPDATE counters SET count = count - 1 WHERE key = ? AND window_start = ?'),

    otpPauseGet: db.prepare<[string, number], { paused_until: number }>('SELECT paused_until FROM otp_prefix_pauses WHERE prefix = ? AND paused_until > ?'),
    otpPausePut: db.prepare<[string, number, number]>(
      `INSERT INTO otp_prefix_pauses (prefix, paused_at, paused_until) VALUES (?, ?, ?)
       ON CONFLICT (prefix) DO UPDATE SET paused_at = excluded.paused_at, paused_until = excluded.paused_until`,
    ),
    otpConversionSent: db.prepare<[string, number, number]>(
      `INSERT INTO otp_conversions (prefix, bucket_start, expires_at, sent, verified) VALUES (?, ?, ?, 1, 0)
       ON CONFLICT (prefix, bucket_start) DO UPDATE SET sent = otp_conversions.sent + 1`,
    ),
    otpConversionVerified: db.prepare<[string, number, number]>(
      `INSERT INTO otp_conversions (prefix, bucket_start, expires_at, sent, verified) VALUES (?, ?, ?, 0, 1)
       ON CONFLICT (prefix, bucket_start) DO UPDATE SET verified = otp_conversions.verified + 1`,
    ),
    otpConversionSums: db.prepare<[string, number], { sent: number; verified: number }>(
      'SELECT coalesce(sum(sent), 0) AS sent, coalesce(sum(verified), 0) AS verified FROM otp_conversions WHERE prefix = ? AND bucket_start > ?',
    ),
    otpConversionReset: db.prepare<[string]>('DELETE FROM otp_conversions WHERE prefix = ?'),

    subjectPut: db.prepare<[SubjectRow]>(
      `${insertSql('subjects', SUBJECT_COLUMNS)}
       ON CONFLICT (sub) DO UPDATE SET provider = excluded.provider, attributes = excluded.attributes,
         updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
    ),
    subjectGet: db.prepare<[string, number], SubjectRow>('SELECT * FROM subjects WHERE sub = ? AND expires_at > ?'),

    auditInsert: db.prepare<[AuditRow]>(insertSql('audit_events', AUDIT_COLUMNS)),
    auditRecent: db.prepare<[number], AuditRow>(
      `SELECT ${AUDIT_COLUMNS.join(', ')} FROM audit_events ORDER BY at DESC, id DESC LIMIT ?`,
    ),
    auditPurge: db.prepare<[number, number]>(
      'DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < ? ORDER BY at, id LIMIT ?)',
    ),
    smsCounts: db.prepare<[number, number], SmsCountSqlRow>(
      `SELECT strftime('%Y-%m-%d', at / 1000, 'unixepoch') AS day,
         json_extract(data, '$.country') AS country, json_extract(data, '$.provider') AS provider,
         sum(type = 'otp.issued') AS sent, sum(type = 'otp.send_failed') AS failed
       FROM audit_events WHERE type IN ('otp.issued', 'otp.send_failed') AND at >= ? AND at < ?
       GROUP BY day, country, provider ORDER BY day, country NULLS FIRST, provider NULLS FIRST`,
    ),
    loginCounts: db.prepare<[number, number], LoginCountSqlRow>(
      `SELECT strftime('%Y-%m-%d', at / 1000, 'unixepoch') AS day,
         json_extract(data, '$.country') AS country, json_extract(data, '$.provider') AS provider, count(*) AS succeeded
       FROM audit_events WHERE type = 'transaction.success' AND at >= ? AND at < ?
       GROUP BY day, country, provider ORDER BY day, country NULLS FIRST, provider NULLS FIRST`,
    ),

    protocolStateInsert: db.prepare<[ProtocolStateRow]>(insertSql('protocol_state', PROTOCOL_STATE_COLUMNS)),
    protocolStateGet: db.prepare<[string, string], ProtocolStateRow>('SELECT * FROM protocol_state WHERE protocol = ? AND ref = ?'),
    sessionNonceIssue: db.prepare<[string, string, number]>(
      `INSERT INTO session_nonces (transaction_id, nonce_hash, issued_at, used_at) VALUES (?, ?, ?, NULL)
       ON CONFLICT (transaction_id) DO UPDATE SET nonce_hash = excluded.nonce_hash, issued_at = excluded.issued_at, used_at = NULL`,
    ),
    sessionNonceConsume: db.prepare<[number, string, string], { transaction_id: string }>(
      'UPDATE session_nonces SET used_at = ? WHERE transaction_id = ? AND nonce_hash = ? AND used_at IS NULL RETURNING transaction_id',
    ),

    clientList: db.prepare<[], ClientRow>('SELECT * FROM clients ORDER BY client_id'),
    clientGet: db.prepare<[string], ClientRow>('SELECT * FROM clients WHERE client_id = ?'),
    clientPut: db.prepare<[ClientRow]>(
      `${insertSql('clients', CLIENT_COLUMNS)}
       ON CONFLICT (client_id) DO UPDATE SET kind = excluded.kind, settings = excluded.settings, secrets = excluded.secrets,
         created_at = excluded.created_at, updated_at = excluded.updated_at`,
    ),
    clientInsert: db.prepare<[ClientRow]>(insertSql('clients', CLIENT_COLUMNS)),
    clientRemove: db.prepare<[string]>('DELETE FROM clients WHERE client_id = ?'),
    clientsVersion: db.prepare<[], { version: number }>('SELECT version FROM clients_version'),
    clientsAdvance: db.prepare('UPDATE clients_version SET version = version + 1'),
    secretUsesRecord: db.prepare<[string, string, number, number]>(
      `INSERT INTO secret_uses (client_key, secret_name, last_used_at) VALUES (?, ?, ?)
       ON CONFLICT (client_key, secret_name) DO UPDATE SET last_used_at = excluded.last_used_at
       WHERE excluded.last_used_at >= secret_uses.last_used_at + ?`,
    ),
    secretUsesOf: db.prepare<[string], SecretUseRow>('SELECT secret_name, last_used_at FROM secret_uses WHERE client_key = ?'),
    secretUsesRemove: db.prepare<[string]>('DELETE FROM secret_uses WHERE client_key = ?'),
    // $1: the kept secrets as a JSON array of SecretRef.
    secretUsesPurge: db.prepare<[string], { client_key: string }>(
      `DELETE FROM secret_uses
       WHERE NOT EXISTS (SELECT 1 FROM clients, json_each(clients.secrets) s
           WHERE clients.client_id = secret_uses.client_key AND json_extract(s.value, '$.name') = secret_uses.secret_name)
         AND NOT EXISTS (SELECT 1 FROM json_each(?) k
           WHERE json_extract(k.value, '$.clientKey') = secret_uses.client_key AND json_extract(k.value, '$.secretName') = secret_uses.secret_name)
       RETURNING client_key`,
    ),
    // $2: the client's secrets as JSON, whose names stay.
    secretUsesPrune: db.prepare<[string, string]>(
      "DELETE FROM secret_uses WHERE client_key = ? AND secret_name NOT IN (SELECT json_extract(value, '$.name') FROM json_each(?))",
    ),

    samlSpList: db.prepare<[], SamlServiceProviderRow>('SELECT * FROM saml_service_providers ORDER BY entity_id'),
    samlSpGet: db.prepare<[string], SamlServiceProviderRow>('SELECT * FROM saml_service_providers WHERE entity_id = ?'),
    samlSpPut: db.prepare<[SamlServiceProviderRow]>(
      `${insertSql('saml_service_providers', SAML_SP_COLUMNS)}
       ON CONFLICT (entity_id) DO UPDATE SET metadata = excluded.metadata, settings = excluded.settings,
         created_at = excluded.created_at, updated_at = excluded.updated_at`,
    ),
    samlSpRemove: db.prepare<[string]>('DELETE FROM saml_service_providers WHERE entity_id = ?'),
    samlSpsVersion: db.prepare<[], { version: number }>('SELECT version FROM saml_service_providers_version'),
    samlSpsAdvance: db.prepare('UPDATE saml_service_providers_version SET version = version + 1'),

    ping: db.prepare('SELECT 1'),
    // What these delete, and in which order, is purgePlan's (../rows.ts).
    purgeOidc: db.prepare<[number]>('DELETE FROM oidc_models WHERE expires_at <= ?'),
    purgeSubjects: db.prepare<[number]>('DELETE FROM subjects WHERE expires_at <= ?'),
    purgeCounters: db.prepare<[number]>('DELETE FROM counters WHERE window_end <= ?'),
    purgeOtpConversions: db.prepare<[number]>('DELETE FROM otp_conversions WHERE expires_at <= ?'),
    purgeOtpPauses: db.prepare<[number]>('DELETE FROM otp_prefix_pauses WHERE paused_until <= ?'),
    purgeOtp: db.prepare<[number]>(
      'DELETE FROM otp_challenges WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < ?)',
    ),
    purgeProtocolState: db.prepare<[number]>(
      'DELETE FROM protocol_state WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < ?)',
    ),
    purgeTransactions: db.prepare<[number]>('DELETE FROM transactions WHERE expires_at < ?'),
  };

  /** AuditStore.query's statements, one per shape of filter (few: the types' count is bounded by the caller). */
  const auditQueries = new Map<string, Database.Statement<SqlValue[], AuditPageRow>>();
  function auditQueryStatement(sql: string): Database.Statement<SqlValue[], AuditPageRow> {
    let statement = auditQueries.get(sql);
    if (!statement) {
      statement = db.prepare<SqlValue[], AuditPageRow>(sql);
      auditQueries.set(sql, statement);
    }
    return statement;
  }

  const purge = db.transaction((now: number): number => {
    let removed = 0;
    for (const [statement, cutoff] of purgePlan(now)) removed += s[statement].run(cutoff).changes;
    return removed;
  });

  /**
   * The compare-and-set update, run inside a write op; the updated row, or undefined when the
   * version did not match. One UPDATE per patch shape (the set of columns it writes), prepared on
   * first use: it writes only those columns, so an index on a column the patch leaves alone is
   * not touched. The shapes are few (one per kind of transition), so the cache stays small.
   */
  const txUpdates = new Map<string, Database.Statement<[Record<string, SqlValue>], TransactionRow>>();
  function updateTransaction(touch: Touch, id: string, expectedVersion: number, patch: TransactionPatch): TransactionRow | undefined {
    const params: Record<string, SqlValue> = { id, expected_version: expectedVersion };
    const columns: string[] = [];
    for (const { column, set, value } of patchAssignments(patch)) {
      if (!set) continue;
      columns.push(column);
      params[column] = value;
    }
    const shape = columns.join(',');
    let update = txUpdates.get(shape);
    if (!update) {
      update = db.prepare<[Record<string, SqlValue>], TransactionRow>(
        `UPDATE transactions SET ${columns.map((c) => `${c} = @${c}, `).join('')}version = version + 1
         WHERE id = @id AND version = @expected_version RETURNING *`,
      );
      txUpdates.set(shape, update);
    }
    const row = update.get(params);
    if (row) touch(key.tx(row.id));
    return row;
  }

  function appendAudit(touch: Touch, event: AuditEvent): void {
    s.auditInsert.run(auditToRow(event));
    touch(key.audit);
  }

  /** What every change of a client does beside changing its row: advance the version, and write its audit event if any. */
  function clientChanged(touch: Touch, clientId: string, audit: AuditEvent | undefined): void {
    s.clientsAdvance.run();
    touchClient(touch, clientId);
    touch(key.secretUses(clientId));
    if (audit) appendAudit(touch, audit);
  }

  /** The statement reading the counts of `n` keys in one window, prepared once per `n`. */
  const countStatements = new Map<number, Database.Statement<unknown[], { key: string; count: number }>>();
  function counterCounts(n: number): Database.Statement<unknown[], { key: string; count: number }> {
    let statement = countStatements.get(n);
    if (!statement) {
      statement = db.prepare<unknown[], { key: string; count: number }>(`SELECT key, count FROM counters WHERE window_start = ? AND key IN (${Array(n).fill('?').join(', ')})`);
      countStatements.set(n, statement);
    }
    return statement;
  }

  /** One hit on a counter's current window; the window's count after it. */
  function hitCounter(touch: Touch, counterKey: string, windowMs: number, now: number): number {
    const windowStart = windowStartOf(windowMs, now);
    touch(key.counter(counterKey));
    const row = s.counterHit.get(counterKey, windowStart, windowStart + windowMs);
    if (!row) throw new Error('counter upsert returned no row');
    return row.count;
  }

  function insertProtocolState(touch: Touch, r: ProtocolStateRecord): void {
    insertOrConflict(() => s.protocolStateInsert.run(protocolStateToRow(r)), `protocol state ${r.protocol} ${r.ref}`);
    touch(key.protocolState(r.protocol, r.ref));
  }

  function insertChallenge(touch: Touch, c: OtpChallenge): void {
    insertOrConflict(() => s.otpInsert.run(otpToRow(c)), `OTP challenge ${c.id}`);
    touch(key.otp(c.transactionId));
  }

  /**
   * A table of entries added at run time with its one-row version table (the SAML SPs; the clients'
   * store adds inserts, audit events and secret uses to the same shape): a put
   * or remove advances the version in the same atomic op, and touches the entry's key and the
   * key of the list and version.
   */
  function versionedEntries<T, R>(name: string, t: VersionedTable<T, R>): VersionedEntryStore<T> {
    return {
      async list() {
        return (await batch.read(t.listKey, () => t.list.all())).map(t.fromRow);
      },
      async get(entryKey) {
        const row = await batch.read(t.itemKey(entryKey), () => t.get.get(entryKey));
        return row ? t.fromRow(row) : null;
      },
      async put(entry) {
        await batch.writeAtomic(`${name}.put`, (touch) => {
          t.put.run(t.toRow(entry));
          t.advance.run();
          t.touchEntry(touch, t.keyOf(entry));
        });
      },
      async remove(entryKey) {
        return batch.writeAtomic(`${name}.remove`, (touch) => {
          if (t.remove.run(entryKey).changes === 0) return false;
          t.advance.run();
          t.touchEntry(touch, entryKey);
          return true;
        });
      },
      async version() {
        const row = await batch.read(t.listKey, () => t.version.get());
        if (!row) throw new Error(`the version table of ${name} has no row`);
        return row.version;
      },
    };
  }

  return {
    driver: 'sqlite',
    transactions: {
      async create(tx, audit, protocolState) {
        const insert = (touch: Touch) => {
          const row = transactionToRow(tx);
          insertOrConflict(() => s.txInsert.run(row), `transaction ${tx.id} (${tx.protocol} ${tx.protocolRef})`);
          touch(key.tx(row.id));
          if (audit) appendAudit(touch, audit);
          if (protocolState) insertProtocolState(touch, protocolStateOf(tx, protocolState));
        };
        await (audit || protocolState ? batch.writeAtomic('transactions.create', insert) : batch.write('transactions.create', insert));
      },
      async get(id) {
        const row = await batch.read(key.tx(id), () => s.txGet.get(id));
        return row ? rowToTransaction(row) : null;
      },
      async update(id, expectedVersion, patch, audit, durability) {
        const update = (touch: Touch) => {
          const row = updateTransaction(touch, id, expectedVersion, patch);
          if (row && audit) appendAudit(touch, audit);
          return row;
        };
        const row = await (audit ? batch.writeAtomic('transactions.update', update, durability) : batch.write('transactions.update', update, durability));
        return row ? rowToTransaction(row) : null;
      },
    },

    otp: {
      async create(c) {
        await batch.write('otp.create', (touch) => insertChallenge(touch, c));
      },
      async latest(transactionId) {
        const row = await batch.read(key.otp(transactionId), () => s.otpLatest.get(transactionId));
        return row ? rowToOtp(row) : null;
      },
      async countForTransaction(transactionId) {
        return (await batch.read(key.otp(transactionId), () => s.otpCount.get(transactionId)))?.n ?? 0;
      },
      async issue({ now, counter, change, challenge, budgets, conversion }) {
        if (challenge.transactionId !== change.id) throw new Error(`OTP challenge ${challenge.id} is not for transaction ${change.id}`);
        return batch.writeAtomic('otp.issue', (touch): OtpIssueResult => {
          const count = hitCounter(touch, counter.key, counter.windowMs, now);
          if (count > counter.limit) return { kind: 'limited', count };
          const pause = conversion && s.otpPauseGet.get(conversion.prefix, now);
          if (pause) return { kind: 'paused', count, retryAt: pause.paused_until };
          const hits = budget.budgetsInLockOrder(budgets).map((b) => ({ ...b, window: counterWindow(b.windowMs, now), count: hitCounter(touch, b.key, b.windowMs, now) }));
          const undoHits = () => hits.forEach((h) => s.counterUndo.run(h.key, h.window.start));
          const refused = budget.overBudget(
            hits.filter((h) => h.count > h.limit).map((h) => ({ name: h.name, retryAt: h.window.end })),
            count,
          );
          if (refused) {
            undoHits();
            return refused;
          }
          const row = updateTransaction(touch, change.id, change.expectedVersion, change.patch);
          if (!row) {
            undoHits();
            return { kind: 'changed', count };
          }
          insertChallenge(touch, challenge);
          appendAudit(touch, change.audit);
          const tx = rowToTransaction(row);
          if (!conversion) return { kind: 'issued', count, tx };
          const bucket = budget.conversionBucket(conversion, now);
          touch(key.otpPrefix(conversion.prefix));
          s.otpConversionSent.run(conversion.prefix, bucket.start, bucket.expiresAt);
          const counts = s.otpConversionSums.get(conversion.prefix, budget.conversionSince(conversion.windowMs, now)) ?? { sent: 0, verified: 0 };
          if (!budget.conversionTrips(conversion, counts)) return { kind: 'issued', count, tx };
          const until = now + conversion.pauseMs;
          s.otpPausePut.run(conversion.prefix, now, until);
          s.otpConversionReset.run(conversion.prefix);
          return { kind: 'issued', count, tx, paused: { until, ...counts } };
        });
      },
      async verify({ id, now, codeHash, onMatch, onWrong, conversion }) {
        return batch.writeAtomic('otp.verify', (touch): OtpVerifyResult => {
          const counted = s.otpAttempt.get(id, now);
          if (!counted) {
            const current = s.otpGet.get(id);
            return { kind: 'void', challenge: current ? rowToOtp(current) : null };
          }
          touch(key.otp(counted.transaction_id));
          const challenge = rowToOtp(counted);
          if (!codeHashMatches(challenge, codeHash)) {
            appendAudit(touch, wrongCodeAudit(onWrong, challenge));
            return { kind: 'wrong', challenge };
          }
          if (onMatch.id !== challenge.transactionId) throw new Error(`OTP challenge ${id} is not for transaction ${onMatch.id}`);
          const row = updateTransaction(touch, onMatch.id, onMatch.expectedVersion, onMatch.patch);
          if (!row) return { kind: 'changed', challenge };
          // Cannot miss: the attempt above found the challenge unconsumed, in this same atomic op.
          if (!s.otpConsume.get(now, id)) throw new Error(`OTP challenge ${id} could not be consumed`);
          appendAudit(touch, onMatch.audit);
          if (conversion) {
            const bucket = budget.conversionBucket(conversion, now);
            touch(key.otpPrefix(conversion.prefix));
            s.otpConversionVerified.run(conversion.prefix, bucket.start, bucket.expiresAt);
          }
          return { kind: 'verified', challenge: { ...challenge, consumedAt: now }, tx: rowToTransaction(row) };
        });
      },
      async conversion(prefix, windowMs, now) {
        return batch.read(key.otpPrefix(prefix), () => {
          const counts = s.otpConversionSums.get(prefix, budget.conversionSince(windowMs, now)) ?? { sent: 0, verified: 0 };
          return { ...counts, pausedUntil: s.otpPauseGet.get(prefix, now)?.paused_until ?? null };
        });
      },
    },

    oidc: {
      async upsert(model, id, payload, expiresAt, refs, durability) {
        await batch.write('oidc.upsert', (touch) => {
          const old = s.oidcRefs.get(model, id);
          if (old) touchOidc(touch, model, old);
          const row = oidcModelToRow(model, id, payload, expiresAt, refs);
          s.oidcUpsert.run(row);
          touchOidc(touch, model, row);
        }, durability);
      },
      async find(model, id, now) {
        return oidcPayload(await batch.read(key.oidc(model, id), () => s.oidcFind.get(model, id, now)));
      },
      async findByUid(model, uid, now) {
        return oidcPayload(await batch.read(key.oidcUid(model, uid), () => s.oidcByUid.get(model, uid, now)));
      },
      async findByUserCode(model, userCode, now) {
        return oidcPayload(await batch.read(key.oidcUserCode(model, userCode), () => s.oidcByUserCode.get(model, userCode, now)));
      },
      async consume(model, id, now, durability) {
        return batch.write('oidc.consume', (touch) => {
          const consumed = s.oidcConsume.get(now, model, id);
          if (consumed) touchOidc(touch, model, consumed);
          return consumed !== undefined;
        }, durability);
      },
      async destroy(model, id, durability) {
        await batch.write('oidc.destroy', (touch) => {
          const gone = s.oidcDestroy.get(model, id);
          if (gone) touchOidc(touch, model, gone);
        }, durability);
      },
      async revokeByGrantId(grantId) {
        // The deleted rows name themselves, so reads of any of them (by id, uid or user code) wait for the commit.
        await batch.write('oidc.revokeByGrantId', (touch) => {
          for (const gone of s.oidcRevoke.all(grantId)) touchOidc(touch, gone.model, gone);
        });
      },
    },

    keys: {
      async list(now) {
        return (await batch.read(key.keys, () => s.keysList.all(now))).map(rowToKey);
      },
      async insert(k) {
        await batch.write('keys.insert', (touch) => {
          insertOrConflict(() => s.keysInsert.run(keyToRow(k)), `key ${k.kid}`);
          touch(key.keys);
        });
      },
      async retire(alg, exceptKid, retiredAt, removeAfter) {
        await batch.write('keys.retire', (touch) => {
          s.keysRetire.run(retiredAt, removeAfter, alg, exceptKid);
          touch(key.keys);
        });
      },
    },

    secrets: {
      async getOrCreate(name, candidate) {
        const existing = await batch.read(key.secret(name), () => s.secretGet.get(name));
        if (existing) return existing.value;
        // Another process may insert between our read and this insert; DO NOTHING keeps its
        // value, and the read below returns whichever value won.
        await batch.write('secrets.getOrCreate', (touch) => {
          s.secretInsert.run(name, candidate, Date.now());
          touch(key.secret(name));
        });
        const row = await batch.read(key.secret(name), () => s.secretGet.get(name));
        if (!row) throw new Error(`secret ${name} vanished right after insertion`);
        return row.value;
      },
    },

    counters: {
      async hit(counterKey, windowMs, now, durability) {
        return batch.write('counters.hit', (touch) => hitCounter(touch, counterKey, windowMs, now), durability);
      },
      async counts(counterKeys, windowMs, now) {
        if (counterKeys.length === 0) return [];
        const windowStart = windowStartOf(windowMs, now);
        // One statement for all the keys: a client's authentication reads three (src/protocols/oidc/client-auth-limits.ts).
        const rows = await batch.read(
          counterKeys.map((k) => key.counter(k)),
          () => counterCounts(counterKeys.length).all(windowStart, ...counterKeys),
        );
        const byKey = new Map(rows.map((r) => [r.key, r.count]));
        return counterKeys.map((k) => byKey.get(k) ?? 0);
      },
    },

    subjects: {
      async put(r, durability) {
        await batch.write('subjects.put', (touch) => {
          s.subjectPut.run(subjectToRow(r));
          touch(key.subject(r.sub));
        }, durability);
      },
      async get(sub, now) {
        const row = await batch.read(key.subject(sub), () => s.subjectGet.get(sub, now));
        return row ? rowToSubject(row) : null;
      },
    },

    audit: {
      async append(e) {
        await batch.write('audit.append', (touch) => appendAudit(touch, e));
      },
      async recent(limit) {
        return (await batch.read(key.audit, () => s.auditRecent.all(limit))).map(rowToAudit);
      },
      async query(q) {
        const { sql, values } = auditQuerySql(q, () => '?');
        return auditPage(await batch.read(key.audit, () => auditQueryStatement(sql).all(...values)), q.limit);
      },
      async purgeOlderThan(at) {
        // One batch per write, so reads and other writes get in between the batches.
        let removed = 0;
        for (;;) {
          const n = await batch.write('audit.purgeOlderThan', (touch) => {
            touch(key.audit);
            return s.auditPurge.run(at, AUDIT_PURGE_BATCH).changes;
          });
          removed += n;
          if (n < AUDIT_PURGE_BATCH) return removed;
        }
      },
      async smsCounts({ from, to }) {
        return (await batch.read(key.audit, () => s.smsCounts.all(from, to))).map(rowToSmsCount);
      },
      async loginCounts({ from, to }) {
        return (await batch.read(key.audit, () => s.loginCounts.all(from, to))).map(rowToLoginCount);
      },
    },

    protocolState: {
      async create(r) {
        await batch.write('protocolState.create', (touch) => insertProtocolState(touch, r));
      },
      async get(protocol, ref) {
        const row = await batch.read(key.protocolState(protocol, ref), () => s.protocolStateGet.get(protocol, ref));
        return row ? rowToProtocolState(row) : null;
      },
    },

    // Nothing reads session_nonces but consume, which is a write: no read key to touch.
    sessionNonces: {
      async issue(transactionId, nonceHash, now) {
        await batch.write('sessionNonces.issue', () => s.sessionNonceIssue.run(transactionId, nonceHash, now));
      },
      async consume(transactionId, nonceHash, now) {
        return batch.write('sessionNonces.consume', () => s.sessionNonceConsume.get(now, transactionId, nonceHash) !== undefined);
      },
    },

    clients: {
      async list() {
        return (await batch.read(key.clients, () => s.clientList.all())).map(rowToClient);
      },
      async get(clientId) {
        const row = await batch.read(key.client(clientId), () => s.clientGet.get(clientId));
        return row ? rowToClient(row) : null;
      },
      async insert(c, audit) {
        await batch.writeAtomic('clients.insert', (touch) => {
          insertOrConflict(() => s.clientInsert.run(clientToRow(c)), `client ${c.clientId}`);
          s.secretUsesRemove.run(c.clientId);
          clientChanged(touch, c.clientId, audit);
        });
      },
      async put(c, audit) {
        await batch.writeAtomic('clients.put', (touch) => {
          const row = clientToRow(c);
          s.clientPut.run(row);
          s.secretUsesPrune.run(c.clientId, row.secrets);
          clientChanged(touch, c.clientId, audit);
        });
      },
      async remove(clientId, audit) {
        return batch.writeAtomic('clients.remove', (touch) => {
          if (s.clientRemove.run(clientId).changes === 0) return false;
          s.secretUsesRemove.run(clientId);
          clientChanged(touch, clientId, audit);
          return true;
        });
      },
      async version() {
        const row = await batch.read(key.clients, () => s.clientsVersion.get());
        if (!row) throw new Error('clients_version has no row');
        return row.version;
      },
      async recordSecretUses(uses) {
        const latest = latestSecretUses(uses);
        if (latest.length === 0) return;
        await batch.writeAtomic('clients.recordSecretUses', (touch) => {
          for (const use of latest) {
            s.secretUsesRecord.run(use.clientKey, use.secretName, use.at, SECRET_USE_PRECISION_MS);
            touch(key.secretUses(use.clientKey));
          }
        });
      },
      async secretUses(clientKey) {
        return rowsToSecretUses(await batch.read(key.secretUses(clientKey), () => s.secretUsesOf.all(clientKey)));
      },
      async purgeSecretUses(kept) {
        return batch.write('clients.purgeSecretUses', (touch) => {
          const gone = s.secretUsesPurge.all(JSON.stringify(kept));
          for (const row of gone) touch(key.secretUses(row.client_key));
          return gone.length;
        });
      },
    },

    samlServiceProviders: versionedEntries('samlServiceProviders', {
      list: s.samlSpList, get: s.samlSpGet, put: s.samlSpPut, remove: s.samlSpRemove, version: s.samlSpsVersion, advance: s.samlSpsAdvance,
      toRow: samlSpToRow, fromRow: rowToSamlSp, keyOf: (sp) => sp.entityId, listKey: key.samlSps, itemKey: key.samlSp, touchEntry: touchSamlSp,
    }),

    async ping() {
      s.ping.get();
    },
    async purgeExpired(now) {
      return batch.write('purgeExpired', (touch) => {
        // Rows of every kind, unnamed: every read waits for this batch. Purges are rare.
        touch(EVERY_KEY);
        return purge(now);
      });
    },
    async close() {
      batch.commit();
      db.close();
    },
  };
}

/** The statements, row mapping and read keys of a table versionedEntries serves. */
interface VersionedTable<T, R> {
  list: Database.Statement<[], R>;
  get: Database.Statement<[string], R>;
  put: Database.Statement<[R]>;
  remove: Database.Statement<[string]>;
  version: Database.Statement<[], { version: number }>;
  advance: Database.Statement;
  toRow(entry: T): R;
  fromRow(row: R): T;
  keyOf(entry: T): string;
  listKey: string;
  itemKey(entryKey: string): string;
  touchEntry(touch: Touch, entryKey: string): void;
}

/** What the oidc_models statements that change a row return: the references it is read by. */
interface OidcRefsRow {
  id: string;
  uid: string | null;
  user_code: string | null;
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
