/**
 * PostgreSQL for tests. Every call to getTestPostgresUrl() returns a new, empty database, so
 * suites never see each other's rows.
 *
 * Where the server comes from, in order:
 * 1. EIDHUB_DATABASE_URL: a server someone runs (CI service, developer); we create databases on it.
 * 2. Debian's server binaries under /usr/lib/postgresql/<version>/bin: a throwaway cluster in a
 *    temp folder on a free port (the recipe in ENVIRONMENT.md), stopped and removed when this
 *    process exits.
 * 3. Neither: null, so the suite skips with a message; but under CI=true that throws, because a
 *    skipped database suite in CI would hide that it never ran.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';

const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** The server (maintenance database) URL each test database was created on, for dropping it. */
const serverOf = new Map<string, string>();
/** The throwaway cluster of this process, started on first use; undefined when not needed yet. */
let cluster: Promise<string | null> | undefined;

export async function getTestPostgresUrl(): Promise<string | null> {
  const server = process.env.EIDHUB_DATABASE_URL || (await (cluster ??= startThrowawayCluster()));
  if (!server) {
    if (process.env.CI === 'true') {
      throw new Error(
        'CI=true but no PostgreSQL: set EIDHUB_DATABASE_URL or install the server (apt-get install postgresql); a skipped database suite must not pass in CI',
      );
    }
    return null;
  }
  return createDatabase(server);
}

/** Drops a database made by getTestPostgresUrl(), closing any connections still open on it. */
export async function dropTestDatabase(url: string): Promise<void> {
  const server = serverOf.get(url);
  if (!server) throw new Error(`not a database made by getTestPostgresUrl(): ${url}`);
  await dropDatabaseOn(server, databaseName(url));
  serverOf.delete(url);
}

async function createDatabase(server: string): Promise<string> {
  const url = await createDatabaseOn(server, `eidhub_test_${randomBytes(6).toString('hex')}`);
  serverOf.set(url, server);
  return url;
}

/** Creates the database `name` on the server of `server` (a maintenance database URL) and returns its URL. */
export async function createDatabaseOn(server: string, name: string): Promise<string> {
  await withClient(server, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops the database `name` on the server of `server`, closing any connections still open on it. */
export async function dropDatabaseOn(server: string, name: string): Promise<void> {
  await withClient(server, (client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
}

/** Runs `work` on a connection of its own to `url`, closed afterwards; returns what `work` returned. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** The newest Debian server's bin folder, or null when the server is not installed. */
function findPgBin(): string | null {
  if (!existsSync(DEBIAN_PG_ROOT)) return null;
  const versions = readdirSync(DEBIAN_PG_ROOT)
    .filter((v) => existsSync(join(DEBIAN_PG_ROOT, v, 'bin', 'initdb')) && existsSync(join(DEBIAN_PG_ROOT, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number.parseFloat(a) - Number.parseFloat(b));
  const newest = versions.at(-1);
  return newest === undefined ? null : join(DEBIAN_PG_ROOT, newest, 'bin');
}

async function startThrowawayCluster(): Promise<string | null> {
  const bin = findPgBin();
  if (!bin) return null;
  const dir = mkdtempSync(join(tmpdir(), 'eidhub-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'pg.log');
  // initdb refuses to run as root; the server user must own the folder and its log, or initdb
  // fails without saying why.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const runAsServerUser = (args: string[]): void => {
    if (asRoot) execFileSync('su', ['postgres', '-c', args.map(shellQuote).join(' ')], { stdio: 'pipe' });
    else execFileSync(args[0] ?? '', args.slice(1), { stdio: 'pipe' });
  };
  const port = await freePort();
  const stop = () => {
    try {
      runAsServerUser([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // Already stopped, or never started: either way there is nothing left to stop.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    runAsServerUser([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    // fsync off: this cluster is deleted when the tests end, so its own crash safety is irrelevant
    // and skipping fsync makes CREATE DATABASE and every commit much faster.
    const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    runAsServerUser([join(bin, 'pg_ctl'), '-D', data, '-o', serverOptions, '-l', log, '-w', 'start']);
  } catch (err) {
    const serverLog = existsSync(log) ? readFileSync(log, 'utf8') : '(no server log)';
    stop();
    throw new Error(`could not start a throwaway PostgreSQL with ${bin}: ${String(err)}\n${serverLog}`, { cause: err });
  }
  process.once('exit', stop);
  // 'exit' does not run when a signal ends the process; stop the cluster, then die of the same signal.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop();
      process.kill(process.pid, signal);
    });
  }
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
