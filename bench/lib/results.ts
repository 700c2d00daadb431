/**
 * The shape of bench/results/*.json: what run.ts writes and report.ts renders.
 *
 * Memory figures are binary units whatever their field names say: the `…Mb` fields (peakRssMb,
 * rssMb, growthMb, lateGrowthMb) are MiB (/proc's kB are KiB, divided by 1024) and `memoryGb` is
 * GiB. The names stay as they are so that earlier results files still read.
 */
import type { DriveResult } from './driver.js';
import type { ServerKind } from './servers.js';

/**
 * `login` is the OIDC login; `saml_login` the same login started by a SAML SP; `ciba` a phone
 * number verification over CIBA and SMS; `itsme` an OIDC login with itsme® through the sandbox's
 * simulator (these three eidhub only, and not in results before they were added).
 */
export type ScenarioName = 'client_credentials' | 'login' | 'saml_login' | 'ciba' | 'itsme' | 'rest';

export interface Point {
  scenario: ScenarioName;
  /** Closed loop: loops (= connections). Open loop: the most flows in flight. */
  concurrency: number;
  mode: 'closed' | 'open';
  /** Open loop: flows started per second. */
  ratePerSec?: number;
  result: DriveResult;
  /** Server CPU time (user + system, all threads) per completed operation. */
  cpuMsPerOp: number;
  /** The part of cpuMsPerOp spent in the kernel (socket and file I/O, fsync bookkeeping). */
  sysMsPerOp: number;
  /** Server CPU time over wall time: 1.0 is one core busy. */
  cpuCores: number;
  /** PostgreSQL runs only: CPU of the database server's processes per operation. */
  dbCpuMsPerOp?: number;
  /** CPU of the benchmark process itself (driver + fake Twilio) over wall time: near 1.0 it may be the limit. */
  driverCores: number;
  /** Highest resident set size of the server during this point, in MiB. */
  peakRssMb: number;
  /** Server write calls per operation (files and sockets; /proc/<pid>/io syscw). */
  writeCallsPerOp?: number;
  /** KiB the server wrote per operation through write calls (files and sockets; wchar). */
  writeKibPerOp?: number;
  /** KiB per operation that reached the disk (WAL and checkpoints; write_bytes). */
  diskKibPerOp?: number;
}

export interface SoakSample {
  atS: number;
  /** MiB. */
  rssMb: number;
  opsPerSec: number;
  p99FlowMs: number;
  errors: number;
}

export interface Soak {
  concurrency: number;
  seconds: number;
  samples: SoakSample[];
  logins: number;
  errors: number;
  /** Mean RSS of the last third minus that of the first third after the first sample, in MiB. */
  growthMb: number;
  /** The same, last third minus middle third: growth that continues once the heap has sized itself (MiB). */
  lateGrowthMb: number;
  /** MiB. */
  peakRssMb: number;
}

export interface ServerResults {
  kind: ServerKind;
  label: string;
  startMs: number;
  points: Point[];
  soak?: Soak;
}

export interface Machine {
  cpu: string;
  cores: number;
  /** GiB. */
  memoryGb: number;
  os: string;
  kernel: string;
  node: string;
  sqlite: string;
  postgres?: string;
  /** The eidhub commit measured, with "+changes" when the work tree differed from it. */
  eidhubCommit: string;
  /** Mean fdatasync of a 4 KiB write in the temp directory: what a durable SQLite commit waits for. */
  fsyncMs: number;
  tempFs: string;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  totalSeconds: number;
  command: string;
  /**
   * How the run was made. run.ts writes every field; the optional ones are missing from results
   * files written before they were recorded (the report then says "not recorded").
   */
  options: {
    /** Whether the run built eidhub first (`npm run build`) or used dist/ as it was (`--no-build`). */
    build?: boolean;
    /**
     * How eidhub ran: its entry file, the environment it was started with and the exact Node
     * flags; `shippedFlags` when those were the shipped ones (package.json `start` at the time of
     * the run), not `--eidhub-node-options`. Older files have it only for experiments, without
     * `shippedFlags` or `env`.
     */
    eidhub?: EidhubRun;
    concurrency: number[];
    seconds: { client_credentials: number; login: number; rest: number; halfLoad: number };
    soakSeconds: number;
    /** Warm-up before each server's sweep and before its REST points (not recorded as points). */
    warmupSeconds?: number;
    /** The most logins in flight in the half-load (open loop) run. */
    halfLoadMaxInFlight?: number;
  };
  machine: Machine;
  servers: ServerResults[];
}

/** How eidhub runs in a benchmark run: entry file, environment and the exact Node flags. */
export interface EidhubRun {
  entry: string;
  env?: Record<string, string>;
  nodeOptions: string[];
  shippedFlags?: boolean;
}

/** VmRSS is sampled this often during a point, backing VmHWM. */
export const RSS_SAMPLE_MS = 250;
/** The soak's segments: RSS and throughput are taken after each. */
export const SOAK_SAMPLE_SECONDS = 5;
/** Loaded soak samples needed to compare its first and last thirds. */
export const SOAK_MIN_SAMPLES = 3;
/** Driver CPU (cores) from which a figure is marked as possibly limited by the driver (one core at most). */
export const DRIVER_BUSY_CORES = 0.85;

/**
 * A server's best closed-loop point of a scenario: the highest throughput among the points
 * without errors (a point whose flows partly failed says nothing about what the server can do),
 * or among all of them if every one had errors.
 */
export function best(server: Pick<ServerResults, 'points'>, scenario: ScenarioName): Point | undefined {
  const closed = server.points.filter((p) => p.scenario === scenario && p.mode === 'closed');
  const clean = closed.filter((p) => p.result.errors === 0);
  return (clean.length > 0 ? clean : closed).reduce<Point | undefined>((a, p) => (!a || p.result.opsPerSec > a.result.opsPerSec ? p : a), undefined);
}
