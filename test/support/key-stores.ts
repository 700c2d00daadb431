/**
 * For the key tests: temporary SQLite stores closed after each test, a script run in a process of
 * its own (several at once stand for servers that start together), and `eidhub keys rotate`.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';

/** Fresh database paths, and stores opened on them that are closed after each test of the file. */
export function tempStores(prefix: string): { tempDb(): string; open(path?: string): Promise<Store> } {
  const tempDb = () => join(mkdtempSync(join(tmpdir(), prefix)), 'e.db');
  const opened: Store[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  return {
    tempDb,
    async open(path = tempDb()) {
      const store = await openStore({ driver: 'sqlite', path });
      opened.push(store);
      return store;
    },
  };
}

/** Runs an ES module `script` (with tsx) in a new process with `args`; resolves with its stdout, rejects if it fails. */
export function runScript(script: string, ...args: string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

/** `eidhub keys rotate --config FILE`, as an operator runs it. */
export function keysRotate(configFile: string): SpawnSyncReturns<string> {
  // The config file names the store; an EIDHUB_DATABASE_URL in the environment would override it.
  const { EIDHUB_DATABASE_URL: _ignored, ...env } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'keys', 'rotate', '--config', configFile], { encoding: 'utf8', timeout: 60_000, env });
}
