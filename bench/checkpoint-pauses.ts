/**
 * How long a COMMIT takes on this machine's disk with SQLite's WAL checkpoint at different
 * `wal_autocheckpoint` settings: the checkpoint runs inside the COMMIT that crosses the mark, on
 * the event loop, so its length is a pause of the whole server. A synthetic load shaped like
 * eidhub's token writes (20 inserts with random keys per commit, `synchronous = FULL`, the
 * oidc_models layout), in a temporary directory.
 *
 *   node --import tsx bench/checkpoint-pauses.ts [pages,pages,…] [commits]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const settings = (process.argv[2] ?? '250,500,1000,2000,4000').split(',').map(Number);
const commits = Number(process.argv[3] ?? 6000);
const dir = mkdtempSync(join(tmpdir(), 'eidhub-checkpoint-'));
const payload = JSON.stringify({ iat: 1, exp: 2, clientId: 'bench-api', kind: 'ClientCredentials', jti: 'x'.repeat(43), scope: 'signicat-api' });

try {
  console.log('| wal_autocheckpoint | all commits | commit p50 | commit p99 | commit p99.9 | longest commit |');
  console.log('|---|---|---|---|---|---|');
  for (const pages of settings) {
    const db = new Database(join(dir, `pages-${pages}.db`));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`wal_autocheckpoint = ${pages}`);
    db.exec(`CREATE TABLE oidc_models (model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, grant_id TEXT, expires_at INTEGER,
               PRIMARY KEY (model, id)) STRICT;
             CREATE INDEX oidc_models_grant_id ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
             CREATE INDEX oidc_models_expires_at ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;`);
    const insert = db.prepare('INSERT INTO oidc_models VALUES (?, ?, ?, NULL, ?)');
    const times: number[] = [];
    for (let c = 0; c < commits; c++) {
      db.exec('BEGIN IMMEDIATE');
      for (let i = 0; i < 20; i++) insert.run('ClientCredentials', randomBytes(32).toString('base64url'), payload, Date.now() + 600_000);
      const started = performance.now();
      db.exec('COMMIT');
      times.push(performance.now() - started);
    }
    db.close();
    const total = times.reduce((a, b) => a + b, 0);
    times.sort((a, b) => a - b);
    const at = (q: number) => `${times[Math.min(times.length - 1, Math.floor(times.length * q))]!.toFixed(1)} ms`;
    console.log(`| ${pages} | ${total.toFixed(0)} ms | ${at(0.5)} | ${at(0.99)} | ${at(0.999)} | ${times.at(-1)!.toFixed(1)} ms |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
