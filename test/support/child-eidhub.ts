/**
 * eidhub as a real, separate OS process (the `eidhub --config FILE` command), for what a server
 * in the test's own process cannot show: surviving `kill -9`, and several processes sharing one
 * store. Each child's stdout and stderr are kept in memory so tests can search them for leaks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Environment variables that override the config file (CONTRACT §1). A CI job that sets
 * EIDHUB_DATABASE_URL for the PostgreSQL suites would otherwise silently move a SQLite child
 * onto PostgreSQL, so the children get the config file and nothing else (the benchmark's
 * servers too).
 */
export const CONFIG_OVERRIDES: readonly string[] = ['PORT', 'HOST', 'EIDHUB_PUBLIC_URL', 'EIDHUB_DATABASE_URL', 'EIDHUB_DATA_DIR', 'EIDHUB_LOG_LEVEL', 'EIDHUB_CONFIG'];

export const READY_LINE = /^eidhub .*listening on (\S+) /m;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildEidhub {
  readonly pid: number;
  /** The public URL the child announced in its "listening on" line. */
  readonly publicUrl: string;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  /** Whether the process has ended. */
  exited(): boolean;
  /** Sends `signal` (default SIGKILL) and resolves once the process is gone; fails after `timeoutMs`. */
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ChildExit>;
}

/** Writes an operator's config file; returns its path. */
export function writeConfigFile(dir: string, name: string, config: ConfigInput): string {
  const path = join(dir, name);
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<ChildExit> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child ${child.pid} still running ${timeoutMs} ms after it was told to stop`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Stops `child`: SIGTERM, then SIGKILL if it is still running after `timeoutMs`; resolves once it is gone. */
export function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
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

export interface ReadyChild {
  child: ChildProcess;
  /** The match of the ready pattern in the child's output. */
  match: RegExpExecArray;
  /** What the child wrote to stdout and stderr so far (the latest `maxOutput` characters). */
  output(): string;
}

/**
 * Spawns `node ARGS` in the repository (or `cwd`) and resolves when its output matches `ready`.
 * The child gets this process's environment without the config overrides (CONFIG_OVERRIDES) and
 * the test runner's context, plus `env` (which may set overrides of its own). A child that fails to spawn, exits or stays silent past
 * `readyTimeoutMs` is killed and the start fails with its output, so a broken start never hangs;
 * a child still running when this process exits is killed.
 */
export async function spawnUntilReady(
  args: readonly string[],
  options: { what: string; ready: RegExp; readyTimeoutMs: number; env?: NodeJS.ProcessEnv; maxOutput?: number; cwd?: string },
): Promise<ReadyChild> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  for (const name of CONFIG_OVERRIDES) delete env[name];
  Object.assign(env, options.env);
  const child = spawn(process.execPath, args, { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // A runner that dies without running its after hooks must not leave servers behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const maxOutput = options.maxOutput ?? Number.POSITIVE_INFINITY;
  let output = '';
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.what} not ready within ${options.readyTimeoutMs} ms:\n${output}`)), options.readyTimeoutMs);
    const onData = (chunk: string) => {
      output += chunk;
      if (output.length > maxOutput) output = output.slice(-maxOutput);
      const match = options.ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.stderr?.setEncoding('utf8').on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.what} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  try {
    return { child, match: await ready, output: () => output };
  } catch (err) {
    child.kill('SIGKILL');
    await waitForExit(child, 5000).catch(() => undefined);
    throw err;
  }
}

/**
 * Starts `node --import tsx src/main.ts --config FILE` and resolves when it prints its ready line
 * (see spawnUntilReady).
 */
export async function startChildEidhub(configFile: string, readyTimeoutMs = 20_000): Promise<ChildEidhub> {
  const { child, match, output } = await spawnUntilReady(['--import', 'tsx', 'src/main.ts', '--config', configFile], {
    what: 'eidhub child',
    ready: READY_LINE,
    readyTimeoutMs,
  });
  return {
    pid: child.pid ?? -1,
    publicUrl: match[1]!,
    output,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return waitForExit(child, timeoutMs);
    },
  };
}
