/**
 * The embedded Store: one SQLite file through better-sqlite3.
 *
 * better-sqlite3 is synchronous: every statement has run when the method returns. Writes are
 * group-committed: the writes of one event-loop turn share one transaction, committed (and, with
 * WAL and `synchronous = FULL`, fsynced) on the next turn, and each write's promise resolves only
 * after that commit. What the server acknowledged is on disk, at one fsync per batch instead of
 * one per statement. Reads run at once (inside an open batch they see its writes, as the same
 * connection always does). Single use is one `UPDATE … WHERE … RETURNING`.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { migrationsDir, readMigrations } from '../migrate.js';
import {
  AUDIT_COLUMNS,
  KEY_COLUMNS,
  OIDC_MODEL_COLUMNS,
  OTP_CHALLENGE_COLUMNS,
  PATCH_COLUMNS,
  PROTOCOL_STATE_COLUMNS,
  SUBJECT_COLUMNS,
  TRANSACTION_COLUMNS,
  auditToRow,
  keyToRow,
  oidcModelToRow,
  oidcPayload,
  otpToRow,
  patchAssignments,
  protocolStateToRow,
  purgePlan,
  rowToAudit,
  rowToKey,
  rowToOtp,
  rowToProtocolState,
  rowToSubject,
  rowToTransaction,
  subjectToRow,
  transactionToRow,
  windowStartOf,
  type AuditRow,
  type KeyRow,
  type OidcModelRow,
  type OidcPayloadRow,
  type OtpChallengeRow,
  type ProtocolStateRow,
  type SqlValue,
  type SubjectRow,
  type TransactionRow,
} from '../rows.js';
import { StoreConflictError, type Store } from '../types.js';

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

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

/** `INSERT INTO table (…) VALUES (@column, …)`: better-sqlite3 binds each `@column` from the row object passed to run(). */
function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}

/**
 * Group commit. The first write of a turn opens a transaction and schedules its commit; every
 * write runs immediately inside it and settles when the commit has reached the disk. A failing
 * statement is rolled back alone (SQLite's statement-level abort); an error that ends the whole
 * transaction rejects every write of the batch, none of which had been acknowledged yet.
 */
class GroupCommit {
  private waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private open = false;

  constructor(private readonly db: Database.Database) {}

  write<T>(op: () => T): Promise<T> {
    if (!this.open) {
      this.db.exec('BEGIN IMMEDIATE');
      this.open = true;
      setImmediate(() => this.commit());
    }
    let result: T;
    try {
      result = op();
    } catch (err) {
      if (!this.db.inTransaction) this.fail(err);
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => this.waiting.push({ resolve: () => resolve(result), reject }));
  }

  /** Commits the open batch now (also used before closing). */
  commit(): void {
    if (!this.open) return;
    const batch = this.waiting;
    this.waiting = [];
    this.open = false;
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
  }

  private fail(err: unknown): void {
    const batch = this.waiting;
    this.waiting = [];
    this.open = false;
    for (const w of batch) w.reject(err);
  }
}

function createStore(db: Database.Database): Store {
  const batch = new GroupCommit(db);
  const s = {
    txInsert: db.prepare<[TransactionRow]>(insertSql('transactions', TRANSACTION_COLUMNS)),
    txGet: db.prepare<[string], TransactionRow>('SELECT * FROM transactions WHERE id = ?'),
    txByRef: db.prepare<[string, string], TransactionRow>('SELECT * FROM transactions WHERE protocol = ? AND protocol_ref = ?'),
    // Each column's flag is 1 when the patch sets it (see PATCH_COLUMNS).
    txUpdate: db.prepare<[Record<string, SqlValue>], TransactionRow>(
      `UPDATE transactions SET ${PATCH_COLUMNS.map(
        ({ column: c }) => `${c} = CASE WHEN @set_${c} THEN @${c} ELSE ${c} END`,
      ).join(', ')}, version = version + 1
       WHERE id = @id AND version = @expected_version RETURNING *`,
    ),

    otpInsert: db.prepare<[OtpChallengeRow]>(insertSql('otp_challenges', OTP_CHALLENGE_COLUMNS)),
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
    oidcUpsert: db.prepare<[OidcModelRow]>(
      `${insertSql('oidc_models', OIDC_MODEL_COLUMNS)}
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
    ),
    oidcFind: db.prepare<[string, string, number], OidcPayloadRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    oidcByUid: db.prepare<[string, string, number], OidcPayloadRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND uid = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1',
    ),
    oidcByUserCode: db.prepare<[string, string, number], OidcPayloadRow>(
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

    protocolStateInsert: db.prepare<[ProtocolStateRow]>(insertSql('protocol_state', PROTOCOL_STATE_COLUMNS)),
    protocolStateGet: db.prepare<[string, string], ProtocolStateRow>('SELECT * FROM protocol_state WHERE protocol = ? AND ref = ?'),

    ping: db.prepare('SELECT 1'),
    // What these delete, and in which order, is purgePlan's (../rows.ts).
    purgeOidc: db.prepare<[number]>('DELETE FROM oidc_models WHERE expires_at <= ?'),
    purgeSubjects: db.prepare<[number]>('DELETE FROM subjects WHERE expires_at <= ?'),
    purgeCounters: db.prepare<[number]>('DELETE FROM counters WHERE window_end <= ?'),
    purgeOtp: db.prepare<[number]>(
      'DELETE FROM otp_challenges WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < ?)',
    ),
    purgeProtocolState: db.prepare<[number]>(
      'DELETE FROM protocol_state WHERE transaction_id IN (SELECT id FROM transactions WHERE expires_at < ?)',
    ),
    purgeTransactions: db.prepare<[number]>('DELETE FROM transactions WHERE expires_at < ?'),
  };

  const purge = db.transaction((now: number): number => {
    let removed = 0;
    for (const [statement, cutoff] of purgePlan(now)) removed += s[statement].run(cutoff).changes;
    return removed;
  });

  return {
    driver: 'sqlite',
    transactions: {
      async create(tx) {
        await batch.write(() => insertOrConflict(() => s.txInsert.run(transactionToRow(tx)), `transaction ${tx.id} (${tx.protocol} ${tx.protocolRef})`));
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
        const params: Record<string, SqlValue> = { id, expected_version: expectedVersion };
        for (const { column, set, value } of patchAssignments(patch)) {
          params[`set_${column}`] = set ? 1 : 0;
          params[column] = value;
        }
        const row = await batch.write(() => s.txUpdate.get(params));
        return row ? rowToTransaction(row) : null;
      },
    },

    otp: {
      async create(c) {
        await batch.write(() => insertOrConflict(() => s.otpInsert.run(otpToRow(c)), `OTP challenge ${c.id}`));
      },
      async latest(transactionId) {
        const row = s.otpLatest.get(transactionId);
        return row ? rowToOtp(row) : null;
      },
      async countForTransaction(transactionId) {
        return s.otpCount.get(transactionId)?.n ?? 0;
      },
      async registerAttempt(id, now) {
        const row = await batch.write(() => s.otpAttempt.get(id, now));
        return row ? rowToOtp(row) : null;
      },
      async consume(id, now) {
        return (await batch.write(() => s.otpConsume.get(now, id))) !== undefined;
      },
    },

    oidc: {
      async upsert(model, id, payload, expiresAt, refs) {
        await batch.write(() => s.oidcUpsert.run(oidcModelToRow(model, id, payload, expiresAt, refs)));
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
        return (await batch.write(() => s.oidcConsume.get(now, model, id))) !== undefined;
      },
      async destroy(model, id) {
        await batch.write(() => s.oidcDestroy.run(model, id));
      },
      async revokeByGrantId(grantId) {
        await batch.write(() => s.oidcRevoke.run(grantId));
      },
    },

    keys: {
      async list(now) {
        return s.keysList.all(now).map(rowToKey);
      },
      async insert(key) {
        await batch.write(() => insertOrConflict(() => s.keysInsert.run(keyToRow(key)), `key ${key.kid}`));
      },
      async retire(alg, exceptKid, retiredAt, removeAfter) {
        await batch.write(() => s.keysRetire.run(retiredAt, removeAfter, alg, exceptKid));
      },
    },

    secrets: {
      async getOrCreate(name, generate) {
        const existing = s.secretGet.get(name);
        if (existing) return existing.value;
        // Another process may insert between our read and this insert; DO NOTHING keeps its
        // value, and the read below returns whichever value won.
        await batch.write(() => s.secretInsert.run(name, generate(), Date.now()));
        const row = s.secretGet.get(name);
        if (!row) throw new Error(`secret ${name} vanished right after insertion`);
        return row.value;
      },
    },

    counters: {
      async hit(key, windowMs, now) {
        const windowStart = windowStartOf(windowMs, now);
        const row = await batch.write(() => s.counterHit.get(key, windowStart, windowStart + windowMs));
        if (!row) throw new Error('counter upsert returned no row');
        return row.count;
      },
    },

    subjects: {
      async put(r) {
        await batch.write(() => s.subjectPut.run(subjectToRow(r)));
      },
      async get(sub, now) {
        const row = s.subjectGet.get(sub, now);
        return row ? rowToSubject(row) : null;
      },
    },

    audit: {
      async append(e) {
        await batch.write(() => s.auditInsert.run(auditToRow(e)));
      },
      async recent(limit) {
        return s.auditRecent.all(limit).map(rowToAudit);
      },
    },

    protocolState: {
      async create(r) {
        await batch.write(() => insertOrConflict(() => s.protocolStateInsert.run(protocolStateToRow(r)), `protocol state ${r.protocol} ${r.ref}`));
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
      return batch.write(() => purge(now));
    },
    async close() {
      batch.commit();
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
