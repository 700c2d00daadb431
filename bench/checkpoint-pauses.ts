/**
 * How long a COMMIT takes on this machine's disk with SQLite's WAL checkpoint at different
 * `wal_autocheckpoint` settings: the checkpoint runs inside the COMMIT that crosses the mark, on
 * the event loop, so its length is a pause of the whole server. A synthetic load shaped like
 * eidhub's token writes (20 inserts with random keys per commit), into the oidc_models table of a
 * database opened exactly as eidhub's SQLite store opens it (openSqliteDatabase: WAL,
 * `synchronous = FULL`, its migrations) but for the checkpoint interval, in a temporary directory.
 *
 *   node --import tsx bench/checkpoint-pauses.ts [pages,pages,…] [commits]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../src/store/sqlite/index.js';
import { Samples } from './lib/measure.js';

const settings = (process.argv[2] ?? '250,500,1000,2000,4000').split(',').map(Number);
const commits = Number(process.argv[3] ?? 6000);
const dir = mkdtempSync(join(tmpdir(), 'eidhub-checkpoint-'));
const payload = JSON.stringify({ iat: 1, exp: 2, clientId: 'bench-api', kind: 'ClientCredentials', jti: 'x'.repeat(43), scope: 'signicat-api' });
const ms = (x: number) => `${x.toFixed(1)} ms`;

try {
  console.log('| wal_autocheckpoint | all commits | commit p50 | commit p99 | commit p99.9 | longest commit |');
  console.log('|---|---|---|---|---|---|');
  for (const pages of settings) {
    const db = await openSqliteDatabase(join(dir, `pages-${pages}.db`), { walAutocheckpoint: pages });
    const insert = db.prepare('INSERT INTO oidc_models (model, id, payload, expires_at) VALUES (?, ?, ?, ?)');
    const times = new Samples();
    let total = 0;
    for (let c = 0; c < commits; c++) {
      db.exec('BEGIN IMMEDIATE');
      for (let i = 0; i < 20; i++) insert.run('ClientCredentials', randomBytes(32).toString('base64url'), payload, Date.now() + 600_000);
      const started = performance.now();
      db.exec('COMMIT');
      const took = performance.now() - started;
      times.add(took);
      total += took;
    }
    db.close();
    console.log(`| ${pages} | ${total.toFixed(0)} ms | ${times.percentiles([0.5, 0.99, 0.999, 1]).map(ms).join(' | ')} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
