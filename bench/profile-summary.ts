/**
 * Where a server's main thread spent its time, from the `.cpuprofile` files `node --cpu-prof`
 * wrote: self time by function, inclusive time of eidhub's own functions (src/, as built in
 * dist/), and self time by area (eidhub, each package, Node internals, GC). Shares are of the
 * samples in which the thread was not idle. Given the measured window (monotonic-clock times, as
 * `process.hrtime` reads them, and the operations completed in it), only the samples inside it
 * count, and each figure is also given in milliseconds per operation. V8 samples the thread by wall clock, so time spent
 * blocked inside a native call (an fsync under better-sqlite3's `run`) counts like computation:
 * that is what the event loop could not do meanwhile.
 *
 *   node --import tsx bench/profile-summary.ts DIR_OR_FILE...
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** Monotonic clock, microseconds: the same clock as process.hrtime. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The part of a profile to summarise: from and to in microseconds of process.hrtime's clock. */
export interface MeasuredWindow {
  fromUs: number;
  toUs: number;
  ops: number;
}

/** process.hrtime's clock now, in microseconds, as MeasuredWindow wants it. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

const IDLE = new Set(['(idle)']);

function profileFiles(path: string): string[] {
  if (statSync(path).isDirectory()) return readdirSync(path).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(path, f));
  return [path];
}

function area(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return 'node internals';
  if (/\/(src|dist)\//.test(url)) return 'eidhub';
  if (/\/bench\//.test(url)) return 'bench peer';
  return 'other';
}

function where(frame: CallFrame, root: string): string {
  if (!frame.url) return '';
  const path = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  const short = path.startsWith(root) ? relative(root, path) : path;
  return `${short.replace(/^.*node_modules\//, '')}:${frame.lineNumber + 1}`;
}

const pct = (x: number, total: number) => `${((100 * x) / total).toFixed(1).padStart(5)}%`;

export function summarizeProfiles(path: string, root: string, top = 25, window?: MeasuredWindow): string {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const file of profileFiles(path)) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame, root)}`.trim();
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const dt = profile.timeDeltas[i] ?? 0;
      at += dt;
      if (window && (at < window.fromUs || at > window.toUs)) return;
      const node = byId.get(id);
      if (!node) return;
      if (IDLE.has(node.callFrame.functionName)) {
        idle += dt;
        return;
      }
      busy += dt;
      self.set(key(node), (self.get(key(node)) ?? 0) + dt);
      const a = area(node.callFrame);
      areas.set(a, (areas.get(a) ?? 0) + dt);
      // Inclusive time of eidhub's functions: each counted once per sample, however deep the recursion.
      const seen = new Set<string>();
      for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
        if (area(n.callFrame) === 'eidhub') seen.add(key(n));
      }
      for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    });
  }
  if (busy === 0) return `${path}: no samples\n`;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  const perOp = (us: number) => (window && window.ops > 0 ? `${(us / 1000 / window.ops).toFixed(3).padStart(7)} ms/op  ` : '');
  const row = ([k, v]: [string, number]) => `  ${pct(v, busy)}  ${perOp(v)}${k}`;
  const scope = window
    ? `, in the measured window of ${((window.toUs - window.fromUs) / 1e6).toFixed(1)} s (${window.ops} operations${window.ops > 0 ? `: ${perOp(busy).trim()} busy` : ''})`
    : '';
  const lines = [
    `${relative(root, path) || path}: ${(busy / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle (${pct(busy, busy + idle).trim()} busy)${scope}`,
    '',
    'self time by area',
    ...sorted(areas).map(row),
    '',
    `self time, top ${top} functions`,
    ...sorted(self).slice(0, top).map(row),
    '',
    `inclusive time of eidhub functions, top ${top}`,
    ...sorted(inclusive).slice(0, top).map(row),
    '',
  ];
  return lines.join('\n');
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const paths = process.argv.slice(2);
  if (paths.length === 0) {
    process.stderr.write('usage: profile-summary.ts DIR_OR_FILE...\n');
    process.exit(2);
  }
  for (const p of paths) process.stdout.write(`${summarizeProfiles(p, root)}\n`);
}
