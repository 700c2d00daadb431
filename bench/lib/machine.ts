/** The machine a run was measured on, for the report: figures mean little without it. */
import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { withClient } from '../../test/support/postgres.js';
import type { Machine } from './results.js';
import { round } from './measure.js';

/** A durable SQLite commit in WAL mode waits for one fdatasync of the WAL; this is its price here. */
function fsyncMs(dir: string): number {
  const file = join(dir, 'fsync-probe.bin');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  const n = 200;
  const started = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      writeSync(fd, block);
      fdatasyncSync(fd);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return round((performance.now() - started) / n, 3);
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function filesystemOf(dir: string): string {
  try {
    const lines = execFileSync('df', ['-T', dir], { encoding: 'utf8' }).trim().split('\n');
    const [device, type] = (lines[1] ?? '').split(/\s+/);
    return `${type ?? '?'} (${device ?? '?'})`;
  } catch {
    return 'unknown';
  }
}

/** The commit of the work tree, and whether src/ differs from it (then the figures are of uncommitted code). */
function eidhubCommit(root: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return `${commit}${changed ? '+changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

export async function describeMachine(root: string, tempDir: string, pgServer: string | undefined): Promise<Machine> {
  const db = new Database(':memory:');
  const sqlite = String(db.prepare('SELECT sqlite_version() AS v').pluck().get());
  db.close();
  let postgres: string | undefined;
  if (pgServer) {
    postgres = await withClient(pgServer, async (client) => {
      const row = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0];
      const sync = (await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0];
      const fsync = (await client.query<{ fsync: string }>('SHOW fsync')).rows[0];
      return `${row?.server_version ?? '?'} (synchronous_commit=${sync?.synchronous_commit ?? '?'}, fsync=${fsync?.fsync ?? '?'})`;
    });
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: round(totalmem() / 2 ** 30, 1),
    os: osName(),
    kernel: release(),
    node: process.version,
    sqlite,
    ...(postgres ? { postgres } : {}),
    eidhubCommit: eidhubCommit(root),
    fsyncMs: fsyncMs(tempDir),
    tempFs: filesystemOf(tempDir),
  };
}
