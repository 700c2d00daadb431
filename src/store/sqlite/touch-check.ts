/**
 * The check that every write of the SQLite store touches the read keys of what it changed, for
 * tests (openSqliteStore's `checkTouches`; never on in production). A write that forgets a key
 * still works, but a read of that row would answer before the write is durable; nothing else
 * would notice.
 *
 * TEMP triggers (they belong to this connection alone, so the schema on disk does not change)
 * record every row an INSERT, UPDATE or DELETE changes: the values of the columns ROW_READ_KEYS
 * names, before and after. After each write op GroupCommit asks verify() whether the op touched
 * every read key of those rows.
 */
import type Database from 'better-sqlite3';
import { EVERY_KEY, type WriteCheck } from './group-commit.js';
import { ROW_READ_KEYS, type ChangedRow } from './read-keys.js';

/** Tables no write op changes: migrate() fills schema_migrations outside GroupCommit. */
const NOT_WRITTEN_BY_OPS = new Set(['schema_migrations']);
const LOG = 'eidhub_changed_rows';

export function createTouchCheck(db: Database.Database): WriteCheck {
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all()
    .map((t) => t.name)
    .filter((name) => !NOT_WRITTEN_BY_OPS.has(name));
  const unknown = tables.filter((name) => !Object.hasOwn(ROW_READ_KEYS, name));
  if (unknown.length > 0) {
    throw new Error(`the touch check knows no read keys for the table(s) ${unknown.join(', ')}: add them to ROW_READ_KEYS (src/store/sqlite/read-keys.ts)`);
  }
  db.exec(`CREATE TEMP TABLE ${LOG} (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, row TEXT NOT NULL)`);
  for (const table of tables) {
    const { columns } = ROW_READ_KEYS[table]!;
    // Unqualified: SQLite allows no schema name on a statement inside a trigger; the name is unique to temp.
    const log = (ref: 'NEW' | 'OLD') =>
      `INSERT INTO ${LOG} (tbl, row) VALUES ('${table}', json_object(${columns.map((c) => `'${c}', ${ref}.${c}`).join(', ')}));`;
    db.exec(`
      CREATE TEMP TRIGGER ${LOG}_${table}_insert AFTER INSERT ON main.${table} BEGIN ${log('NEW')} END;
      CREATE TEMP TRIGGER ${LOG}_${table}_update AFTER UPDATE ON main.${table} BEGIN ${log('OLD')} ${log('NEW')} END;
      CREATE TEMP TRIGGER ${LOG}_${table}_delete AFTER DELETE ON main.${table} BEGIN ${log('OLD')} END;
    `);
  }
  const changed = db.prepare<[], { tbl: string; row: string }>(`SELECT tbl, row FROM ${LOG} ORDER BY seq`);
  const clear = db.prepare(`DELETE FROM ${LOG}`);

  return {
    verify(write, touched) {
      const rows = changed.all();
      if (rows.length === 0) return;
      clear.run();
      if (touched.has(EVERY_KEY)) return;
      for (const { tbl, row } of rows) {
        const values = JSON.parse(row) as ChangedRow;
        for (const k of ROW_READ_KEYS[tbl]!.keysOf(values)) {
          if (!touched.has(k)) {
            throw new Error(
              `write ${write} changed a ${tbl} row (${row}) without touching its read key "${k}": a read of it would answer before the write is durable`,
            );
          }
        }
      }
    },
    discard() {
      clear.run();
    },
  };
}
