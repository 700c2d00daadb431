/**
 * The servers under test, each a child process of the benchmark so that its CPU time and memory
 * are its own: eidhub as operators run it (`node dist/main.js --config FILE`, built first), and the
 * peer (`node --import tsx bench/peer/server.ts --config FILE`). Both listen on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.js';
import { CONFIG_OVERRIDES } from '../../test/support/child-eidhub.js';
import { freePort } from '../../test/support/net.js';
import type { PeerConfig } from '../peer/server.js';
import { TWILIO_ACCOUNT } from './fake-twilio.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How eidhub ships to be started: environment variables and Node flags (see shippedLaunch). */
export interface Launch {
  env: Record<string, string>;
  nodeOptions: string[];
}

/**
 * How eidhub ships to be started: package.json's `start` (`[NAME=value …] node [flags]
 * dist/main.js`, values without quotes or expansions; test/launch.test.ts checks that the
 * `eidhub` command's first line says the same). The benchmark runs eidhub that way, as operators
 * do; `--eidhub-node-options` replaces the Node flags, the environment stays (see eidhubEnv).
 */
export function shippedLaunch(): Launch {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const start = pkg.scripts.start ?? '';
  const match = /^((?:[A-Z_][A-Z0-9_]*=[^\s'"`$\\]+\s+)*)node((?:\s+--\S+)*)\s+dist\/main\.js/.exec(start);
  if (!match) throw new Error(`package.json "start" is not "[NAME=value …] node [flags] dist/main.js" (values unquoted, without $): ${start}`);
  const env = Object.fromEntries(
    match[1]!
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  return { env, nodeOptions: match[2]!.trim().split(/\s+/).filter(Boolean) };
}

/**
 * The environment eidhub runs with in the benchmark: the shipped variables, each with the value
 * the caller's environment gives it if it gives one (so `MALLOC_ARENA_MAX=8 npm run bench` measures
 * that; the results record what was used).
 */
export function eidhubEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(shippedLaunch().env).map(([name, value]) => [name, process.env[name] ?? value]));
}

/** The clients every server is given; the driver authenticates with these. */
export const OIDC_CLIENT = { clientId: 'bench-rp', secret: 'bench-rp-secret-000000001', redirectUri: 'http://127.0.0.1:9/callback' } as const;
export const API_CLIENT = { clientId: 'bench-api', secret: 'bench-api-secret-00000001' } as const;

export type ServerKind = 'peer' | 'sqlite' | 'postgres';

export interface RunningServer {
  kind: ServerKind;
  pid: number;
  port: number;
  /** Prefix of the OpenID Provider's routes: `/auth/open` for eidhub, none for the peer. */
  oidcBase: string;
  /** Milliseconds from spawn to the ready line. */
  startMs: number;
  /** SIGTERM (so `--cpu-prof` can write its profile), SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  kind: ServerKind;
  workDir: string;
  twilioUrl: string;
  /** PostgreSQL URL of a database made for this run (kind 'postgres'). */
  databaseUrl?: string;
  /** Directory for `--cpu-prof` output; no profiling when absent. */
  cpuProfDir?: string;
  /** eidhub's entry file (default dist/main.js): another build, to measure a fix. */
  eidhubEntry?: string;
  /** Node flags for eidhub (not the peer) instead of the shipped flags (shippedLaunch()). */
  nodeOptions?: string[];
}

export function eidhubConfig(kind: 'sqlite' | 'postgres', port: number, workDir: string, twilioUrl: string, databaseUrl?: string): ConfigInput {
  if (kind === 'postgres' && !databaseUrl) throw new Error('postgres needs a database URL');
  return {
    publicUrl: `http://127.0.0.1:${port}`,
    port,
    host: '127.0.0.1',
    // As behind a reverse proxy (the README's production config): the driver gives each simulated
    // person their own X-Forwarded-For address, so the per-address form limit applies per person.
    trustProxy: true,
    logLevel: 'warn',
    storage: kind === 'sqlite' ? { driver: 'sqlite', path: join(workDir, 'eidhub.db') } : { driver: 'postgres', url: databaseUrl! },
    sms: { provider: 'twilio', accountSid: TWILIO_ACCOUNT.accountSid, authToken: TWILIO_ACCOUNT.authToken, from: 'eidhub', baseUrl: twilioUrl, timeoutMs: 10_000 },
    // The driver cycles through the 1000 numbers of Ofcom's drama range; a run sends each of
    // them up to a few dozen codes, more than the default 10 an hour.
    otp: { maxSendsPerNumberPerHour: 1000 },
    oidcClients: [
      { clientId: OIDC_CLIENT.clientId, clientName: 'Benchmark RP', secrets: [OIDC_CLIENT.secret], redirectUris: [OIDC_CLIENT.redirectUri], scopes: ['openid', 'idp-id', 'phone'] },
    ],
    apiClients: [{ clientId: API_CLIENT.clientId, secrets: [API_CLIENT.secret], permissions: ['authentication-rest-api'] }],
  };
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  mkdirSync(opts.workDir, { recursive: true });
  const port = await freePort();
  const configFile = join(opts.workDir, `${opts.kind}.json`);
  let args: string[];
  if (opts.kind === 'peer') {
    const peer: PeerConfig = {
      port,
      oidcClient: { ...OIDC_CLIENT },
      apiClient: { ...API_CLIENT },
      twilio: { baseUrl: opts.twilioUrl, accountSid: TWILIO_ACCOUNT.accountSid, authToken: TWILIO_ACCOUNT.authToken, from: 'eidhub' },
    };
    writeFileSync(configFile, JSON.stringify(peer, null, 2));
    args = [await compilePeer(), '--config', configFile];
  } else {
    writeFileSync(configFile, JSON.stringify(eidhubConfig(opts.kind, port, opts.workDir, opts.twilioUrl, opts.databaseUrl), null, 2));
    args = [...(opts.nodeOptions ?? shippedLaunch().nodeOptions), opts.eidhubEntry ?? 'dist/main.js', '--config', configFile];
  }
  if (opts.cpuProfDir) {
    mkdirSync(opts.cpuProfDir, { recursive: true });
    args = ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir, `--cpu-prof-name=${opts.kind}-\${pid}.cpuprofile`, ...args];
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ...(opts.kind === 'peer' ? {} : eidhubEnv()), NODE_ENV: 'production' };
  delete env.NODE_TEST_CONTEXT;
  // The benchmark's config says which store to use: an EIDHUB_DATABASE_URL in the caller's
  // environment must not move the SQLite run onto PostgreSQL.
  for (const name of CONFIG_OVERRIDES) delete env[name];
  const started = Date.now();
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  // Kept for the start-up error messages below.
  let output = '';
  const ready = /listening on http:\/\/127\.0\.0\.1:\d+/;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${opts.kind} not ready within 30 s:\n${output}`)), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: string) => {
      // Bounded: a server that logs a lot under load must not grow the benchmark's memory.
      output = (output + chunk).slice(-20_000);
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.stderr?.setEncoding('utf8').on('data', onData);
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`${opts.kind} exited (${code ?? signal}) before it was ready:\n${output}`)));
  });

  return {
    kind: opts.kind,
    pid: child.pid ?? -1,
    port,
    oidcBase: opts.kind === 'peer' ? '' : '/auth/open',
    startMs: Date.now() - started,
    stop: (timeoutMs = 10_000) => stopChild(child, timeoutMs),
  };
}

/** The peer's compiled file, once per process (a profile run starts the peer once per scenario). */
let compiledPeer: Promise<string> | undefined;

/**
 * The peer as plain JavaScript, so that it runs on bare `node` like eidhub's dist/: under tsx its
 * RSS would include tsx's loader thread. Written inside the repository (bench/results/, ignored by
 * git) so that its imports resolve from node_modules. The TypeScript compiler is loaded only here,
 * so that what imports this module without starting the peer does not pay for it.
 */
function compilePeer(): Promise<string> {
  compiledPeer ??= (async () => {
    const { default: ts } = await import('typescript');
    const source = join(REPO_ROOT, 'bench', 'peer', 'server.ts');
    const out = join(REPO_ROOT, 'bench', 'results', '.peer', 'server.mjs');
    const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true },
      fileName: source,
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
    return out;
  })();
  return compiledPeer;
}

function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
