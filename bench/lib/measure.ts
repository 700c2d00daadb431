/**
 * What is measured about a server process and its answers: latency percentiles from exact
 * samples, CPU time from /proc/<pid>/stat (utime + stime, every thread of the process) and
 * resident memory from /proc/<pid>/status (VmRSS now, VmHWM the peak since the last reset), and
 * what it writes from /proc/<pid>/io. Memory is in MiB: /proc's "kB" are KiB, divided by 1024.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Latency samples of one step. Kept exact (a growable Float64Array) rather than in a histogram:
 * a run collects at most a few hundred thousand samples, and exact percentiles need no choice of
 * resolution for steps that take 0.3 ms and steps that take 30 ms.
 */
export class Samples {
  private data = new Float64Array(1024);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  /** The q-quantiles (e.g. 0.999) as summary() computes its percentiles, not rounded, from one sort; 0s without samples. */
  percentiles(qs: readonly number[]): number[] {
    if (this.n === 0) return qs.map(() => 0);
    const sorted = this.data.slice(0, this.n).sort();
    return qs.map((q) => nearestRank(sorted, q));
  }

  summary(): LatencySummary {
    if (this.n === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const sorted = this.data.slice(0, this.n).sort();
    const at = (q: number) => round(nearestRank(sorted, q));
    let sum = 0;
    for (const v of sorted) sum += v;
    return { count: this.n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(sorted[this.n - 1]!), mean: round(sum / this.n) };
  }
}

/** The smallest of the (ascending, non-empty) samples with at least a share q of them at or below it. */
function nearestRank(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

let clockTicks: number | undefined;
/** Clock ticks per second for /proc/<pid>/stat times (100 on every Linux seen, but asked once, when first needed). */
function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** One line of /proc/<pid>/stat: the command name and the CPU time in milliseconds, user and system. */
function parseStat(stat: string): { comm: string; user: number; system: number } {
  // The command name (field 2) may contain spaces; fields are counted after its closing ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // After ')' fields start at #3 (state); utime is #14 and stime #15, i.e. indexes 11 and 12 here.
  return {
    comm: stat.slice(stat.indexOf('(') + 1, close),
    user: (Number(fields[11]) * 1000) / clockTicksPerSecond(),
    system: (Number(fields[12]) * 1000) / clockTicksPerSecond(),
  };
}

/** CPU time the process has used, in milliseconds: user, system (kernel on its behalf) and both. */
export function cpuMs(pid: number): { user: number; system: number; total: number } {
  const { user, system } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return { user, system, total: user + system };
}

/**
 * CPU time of every process named `comm` on this machine (for `postgres`: the database server's
 * backends, WAL writer, checkpointer…), by pid, in milliseconds. On loopback the database shares
 * the 2 cores with eidhub, so its CPU per operation belongs in the comparison with an in-memory peer.
 */
export function processesCpuMs(comm: string): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (stat.comm === comm) byPid.set(Number(entry), stat.user + stat.system);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return byPid;
}

/**
 * CPU used between two snapshots by the processes alive at the second one. A process that ended
 * in between takes its time with it (an undercount, never a negative figure); one that started
 * in between counts from zero.
 */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += Math.max(0, ms - (before.get(pid) ?? 0));
  return total;
}

/**
 * Resident memory in MiB from one read of /proc/<pid>/status: `rss` now (VmRSS) and `peak` since
 * the last reset (VmHWM). /proc's "kB" are KiB.
 */
export function memoryMib(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field: 'VmRSS' | 'VmHWM') => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
    return round(Number(match[1]) / 1024, 1);
  };
  return { rss: mib('VmRSS'), peak: mib('VmHWM') };
}

/**
 * What the process has written so far (/proc/<pid>/io): `bytes` through write calls (files and
 * sockets alike), `calls` the number of those calls, `diskBytes` what reached the block layer
 * (the WAL, checkpoints into the database file). Differences over a point, divided by its
 * operations, say how much each operation writes.
 */
export function writeIo(pid: number): { bytes: number; calls: number; diskBytes: number } {
  const fields = new Map(
    readFileSync(`/proc/${pid}/io`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [k, v] = line.split(': ');
        return [k, Number(v)] as const;
      }),
  );
  return { bytes: fields.get('wchar') ?? 0, calls: fields.get('syscw') ?? 0, diskBytes: fields.get('write_bytes') ?? 0 };
}

/**
 * Resets VmHWM to the current RSS (Linux `clear_refs` value 5), so the peak of one scenario is
 * not the peak of an earlier one. Where the kernel refuses, nothing is reset: VmHWM stays the
 * peak since the process started, so a point may show an earlier point's peak (never less than
 * its own).
 */
export function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Refused: see above.
  }
}

/**
 * Samples VmRSS (MiB) every `everyMs` while a run lasts, from its start; the highest sample backs
 * up VmHWM. The caller takes the last reading with memoryMib() when the run ends.
 */
export function sampleRss(pid: number, everyMs: number): { stop(): number[] } {
  const seen: number[] = [];
  const take = () => {
    try {
      seen.push(memoryMib(pid).rss);
    } catch {
      // The process ended; the run reports that through its errors.
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return seen;
    },
  };
}
