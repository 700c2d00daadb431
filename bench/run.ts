/**
 * `npm run bench`: eidhub against a bare oidc-provider peer, over loopback, bounded in time and
 * connections (about 5 minutes on 2 cores with the soak and PostgreSQL).
 *
 * Servers run one after another, never together (2 cores): the peer, eidhub on SQLite, and eidhub
 * on PostgreSQL when EIDHUB_DATABASE_URL is set (in a database created for the run and dropped at
 * the end). Each is a child process, so its CPU time and peak RSS are its own; the driver and the
 * fake Twilio run in this process. For each server: client_credentials, the full login and REST
 * sessions at each concurrency, then logins at half the server's best login rate (latency goal),
 * and on SQLite a 60 s soak of logins with RSS sampled every 5 s. Then, on eidhub only (the peer
 * has neither SAML nor CIBA nor itsme), SAML logins in a new eidhub process on the same store, then CIBA
 * verifications over SMS in another, and then itsme® logins in a third, in sandbox mode, whose
 * upstream is the itsme simulator that same process serves: for each, its sweep and its half load,
 * no soak (the soak's question, memory under logins, is asked of the OIDC login). Each of those
 * processes alone is given the SAML SP, the CIBA realm or sandbox mode and the itsme client, so the
 * other scenarios measure eidhub as before. Results go to
 * bench/results/<time>.json (and, for a full run, latest.json); docs/benchmarks.md and
 * docs/benchmarks.svg are rendered from them.
 *
 * Options:
 *   --quick                 1 s points at concurrency 1 and 8, no soak (a smoke test, ~50 s)
 *   --concurrency 1,4,16,32 the sweep
 *   --seconds N             seconds per sweep point (default 3 for tokens and REST, 4 for logins, OIDC, SAML and itsme, and CIBA)
 *   --soak-seconds N        length of the SQLite soak (default 60; 0 skips it)
 *   --only peer,sqlite,postgres
 *   --no-build              use dist/ as it is
 *   --no-report             do not rewrite docs/benchmarks.md and .svg
 *   --eidhub-entry FILE     run this build of eidhub instead of dist/main.js (to measure a fix
 *                           before it is merged; implies --no-report)
 *   --eidhub-node-options "--flag …"   Node flags for eidhub instead of the shipped flags (those of
 *                           package.json `start`; e.g. other heap sizes; its environment, such as
 *                           MALLOC_ARENA_MAX, stays; implies --no-report)
 *   --profile               instead: run each scenario once per server under `node --cpu-prof` and
 *                           summarise where the time goes (bench/results/profiles/)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedLoop, openLoop, type DriveResult, type Flow } from './lib/driver.js';
import { startBenchTwilio, type BenchTwilio } from './lib/fake-twilio.js';
import { describeMachine } from './lib/machine.js';
import { cpuMs, cpuSince, memoryMib, processesCpuMs, resetPeakRss, round, sampleRss, writeIo } from './lib/measure.js';
import { best, RSS_SAMPLE_MS, SOAK_SAMPLE_SECONDS, type BenchResults, type EidhubRun, type Point, type ScenarioName, type ServerResults, type Soak, type SoakSample } from './lib/results.js';
import { apiToken, cibaFlow, clientCredentials, itsmeLoginFlow, loginFlow, PhonePool, restFlow, samlLoginFlow } from './lib/scenarios.js';
import { createDatabaseOn, dropDatabaseOn } from '../test/support/postgres.js';
import { REPO_ROOT, shippedLaunch, startServer, type EidhubExtras, type RunningServer, type ServerKind } from './lib/servers.js';
import { monotonicUs, summarizeProfiles, type MeasuredWindow } from './profile-summary.js';
import { renderReport } from './report.js';

interface Options {
  concurrency: number[];
  seconds: { client_credentials: number; login: number; rest: number; halfLoad: number };
  soakSeconds: number;
  only: ServerKind[];
  build: boolean;
  report: boolean;
  profile: boolean;
  quick: boolean;
  eidhubEntry: string | undefined;
  /** Node flags for eidhub instead of the shipped ones (package.json `start`); undefined keeps those. */
  eidhubNodeOptions: string[] | undefined;
}

/** Flows in flight at most in the half-load run: enough for the peer's rate, still bounded. */
const HALF_LOAD_MAX_IN_FLIGHT = 64;
const WARMUP_SECONDS = 1;

function parseOptions(argv: string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const seconds = value('--seconds');
  const s = (fallback: number) => (seconds ? Number(seconds) : quick ? 1 : fallback);
  const options: Options = {
    concurrency: (value('--concurrency') ?? (quick ? '1,8' : '1,4,16,32')).split(',').map(Number),
    seconds: { client_credentials: s(3), login: s(4), rest: s(3), halfLoad: quick ? 2 : 5 },
    soakSeconds: Number(value('--soak-seconds') ?? (quick ? 0 : 60)),
    only: (value('--only') ?? 'peer,sqlite,postgres').split(',') as ServerKind[],
    build: !argv.includes('--no-build'),
    report: !argv.includes('--no-report'),
    profile: argv.includes('--profile'),
    quick,
    eidhubEntry: value('--eidhub-entry'),
    eidhubNodeOptions: value('--eidhub-node-options')?.split(' ').filter(Boolean),
  };
  // The page documents the product as it is: an experiment's figures stay in bench/results/.
  if (options.eidhubEntry || options.eidhubNodeOptions) options.report = false;
  for (const c of options.concurrency) if (!Number.isInteger(c) || c < 1 || c > 256) throw new Error(`--concurrency: ${c} is not 1..256`);
  for (const v of Object.values(options.seconds)) if (!(v > 0 && v <= 120)) throw new Error('--seconds: 0 < N <= 120');
  if (!(options.soakSeconds >= 0 && options.soakSeconds <= 600)) throw new Error('--soak-seconds: 0..600');
  return options;
}

/**
 * How eidhub runs in this run, resolved once, so that what the results record is what every eidhub
 * process got: the shipped environment (a variable the caller's environment sets keeps its value)
 * and the shipped Node flags unless `--eidhub-node-options` replaces them.
 */
function eidhubRun(options: Options): EidhubRun {
  const shipped = shippedLaunch();
  return {
    entry: options.eidhubEntry ?? 'dist/main.js',
    env: Object.fromEntries(Object.entries(shipped.env).map(([name, value]) => [name, process.env[name] ?? value])),
    nodeOptions: options.eidhubNodeOptions ?? shipped.nodeOptions,
    shippedFlags: options.eidhubNodeOptions === undefined,
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

/** Runs `drive` while measuring the server's CPU time and peak RSS (MiB). */
async function measured(server: RunningServer, scenario: ScenarioName, concurrency: number, drive: () => Promise<DriveResult>, extra: Partial<Point> = {}): Promise<Point> {
  resetPeakRss(server.pid);
  const rss = sampleRss(server.pid, RSS_SAMPLE_MS);
  const ioBefore = writeIo(server.pid);
  const cpuBefore = cpuMs(server.pid);
  const dbBefore = server.kind === 'postgres' ? processesCpuMs('postgres') : new Map<number, number>();
  const driverBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const result = await drive();
  // The wall time ends with the drive, not after the /proc reads below (the PostgreSQL one lists every process).
  const wall = performance.now() - wallBefore;
  const cpuAfter = cpuMs(server.pid);
  const ioAfter = writeIo(server.pid);
  const cpu = cpuAfter.total - cpuBefore.total;
  const sys = cpuAfter.system - cpuBefore.system;
  const driver = process.cpuUsage(driverBefore);
  const db = server.kind === 'postgres' ? cpuSince(dbBefore, processesCpuMs('postgres')) : 0;
  const memory = memoryMib(server.pid);
  const peak = Math.max(memory.peak, memory.rss, ...rss.stop());
  return {
    scenario,
    concurrency,
    mode: 'closed',
    result,
    cpuMsPerOp: result.ops > 0 ? round(cpu / result.ops, 3) : 0,
    sysMsPerOp: result.ops > 0 ? round(sys / result.ops, 3) : 0,
    cpuCores: round(cpu / wall, 2),
    driverCores: round((driver.user + driver.system) / 1000 / wall, 2),
    ...(server.kind === 'postgres' && result.ops > 0 ? { dbCpuMsPerOp: round(db / result.ops, 3) } : {}),
    peakRssMb: peak,
    ...(result.ops > 0
      ? {
          writeCallsPerOp: round((ioAfter.calls - ioBefore.calls) / result.ops, 1),
          writeKibPerOp: round((ioAfter.bytes - ioBefore.bytes) / 1024 / result.ops, 1),
          diskKibPerOp: round((ioAfter.diskBytes - ioBefore.diskBytes) / 1024 / result.ops, 1),
        }
      : {}),
    ...extra,
  };
}

function describe(p: Point): string {
  const r = p.result;
  const steps = Object.entries(r.steps)
    .map(([k, v]) => `${k} ${v.p50}/${v.p99}`)
    .join(', ');
  const errors = r.errors > 0 ? ` ERRORS ${r.errors}: ${r.errorSamples.join(' | ')}` : '';
  const late = r.late ? ` late ${r.late}` : '';
  return `  ${p.scenario.padEnd(18)} ${p.mode === 'open' ? `rate ${p.ratePerSec}/s` : `c=${p.concurrency}`}: ${r.opsPerSec}/s, cpu ${p.cpuMsPerOp} ms/op (sys ${p.sysMsPerOp}; ${p.cpuCores} cores; driver ${p.driverCores}${p.dbCpuMsPerOp !== undefined ? `; PostgreSQL ${p.dbCpuMsPerOp} ms/op` : ''}), peak RSS ${p.peakRssMb} MiB; writes ${p.writeCallsPerOp ?? '?'} calls, ${p.writeKibPerOp ?? '?'} KiB (disk ${p.diskKibPerOp ?? '?'} KiB)/op; p50/p99 ms: ${steps}${late}${errors}`;
}

/** How one scenario is warmed up (not recorded) and driven at concurrency `c` for `seconds`. */
interface ScenarioDriver {
  warm(): Promise<unknown>;
  drive(c: number, seconds: number): Promise<DriveResult>;
}

/**
 * The scenarios measured in an eidhub process of their own, after the others on the same store,
 * each with what only that process is given (so the other scenarios and the soak measure eidhub
 * without the SAML IdP, the CIBA realm or sandbox mode loaded, and each of these has its own peak RSS).
 */
type OwnProcessScenario = 'saml_login' | 'ciba' | 'itsme';
const OWN_PROCESS: { scenario: OwnProcessScenario; extras: EidhubExtras; what: string }[] = [
  { scenario: 'saml_login', extras: { saml: true }, what: 'SAML logins' },
  { scenario: 'ciba', extras: { ciba: true }, what: 'CIBA verifications' },
  { scenario: 'itsme', extras: { itsme: true }, what: 'itsme logins' },
];

/** A scenario's sweep seconds: the SAML and itsme logins and the CIBA verification are timed like the OIDC login. */
const sweepSeconds = (options: Options, scenario: ScenarioName) => options.seconds[scenario === 'saml_login' || scenario === 'ciba' || scenario === 'itsme' ? 'login' : scenario];

/** A flow driven in closed loops: warmed up at c=4, then at each concurrency. */
const flowDriver = (flow: Flow): ScenarioDriver => ({ warm: () => closedLoop(flow, 4, WARMUP_SECONDS * 1000), drive: (c, seconds) => closedLoop(flow, c, seconds * 1000) });

type Drivers = Record<Exclude<ScenarioName, OwnProcessScenario>, ScenarioDriver> & Partial<Record<OwnProcessScenario, ScenarioDriver>>;

/**
 * The scenarios against one server (`saml_login` only where the server has a SAML IdP, `ciba`
 * where it has the CIBA realm, `itsme` where it runs in sandbox mode with the itsme client); the
 * flows are also those of the half loads, and `login` of the soak.
 */
function scenarioDrivers(server: RunningServer, twilio: BenchTwilio): { drivers: Drivers; flows: { login: Flow } & Partial<Record<OwnProcessScenario, Flow>> } {
  // One pool for every flow: they never run at the same time, and each number keeps one code at a time.
  const phones = new PhonePool();
  const flows = {
    login: loginFlow({ server, twilio, phones }),
    ...(server.samlBase ? { saml_login: samlLoginFlow({ server, twilio, phones }) } : {}),
    ...(server.cibaBase ? { ciba: cibaFlow({ server, twilio, phones }) } : {}),
    ...(server.itsme ? { itsme: itsmeLoginFlow(server) } : {}),
  };
  let rest: Flow | undefined;
  const restFlowAfterWarmUp = () => {
    if (!rest) throw new Error('REST sessions driven before their warm-up');
    return rest;
  };
  const drivers: Drivers = {
    // Warm-up: JIT, connection pools, the first signing of each kind.
    client_credentials: { warm: () => clientCredentials(server, 4, WARMUP_SECONDS), drive: (c, seconds) => clientCredentials(server, c, seconds) },
    login: flowDriver(flows.login),
    rest: {
      warm: async () => {
        rest = restFlow(server, await apiToken(server));
        return closedLoop(rest, 4, WARMUP_SECONDS * 1000);
      },
      drive: (c, seconds) => closedLoop(restFlowAfterWarmUp(), c, seconds * 1000),
    },
    ...(flows.saml_login ? { saml_login: flowDriver(flows.saml_login) } : {}),
    ...(flows.ciba ? { ciba: flowDriver(flows.ciba) } : {}),
    ...(flows.itsme ? { itsme: flowDriver(flows.itsme) } : {}),
  };
  return { drivers, flows };
}

/** Records one server's points as they are measured: sweeps and half loads. */
function pointRecorder(server: RunningServer, options: Options, out: ServerResults) {
  const add = (p: Point) => {
    out.points.push(p);
    log(describe(p));
  };
  return {
    add,
    async sweep(scenario: ScenarioName, driver: ScenarioDriver) {
      for (const c of options.concurrency) add(await measured(server, scenario, c, () => driver.drive(c, sweepSeconds(options, scenario))));
    },
    /** Logins started at half the best rate of the sweep (open loop): the latency goal's load. Returns the best point. */
    async halfLoad(scenario: 'login' | OwnProcessScenario, flow: Flow): Promise<Point> {
      const bestPoint = best(out, scenario);
      if (!bestPoint) throw new Error(`no ${scenario} point`);
      const rate = round(bestPoint.result.opsPerSec / 2, 1);
      add(
        await measured(server, scenario, HALF_LOAD_MAX_IN_FLIGHT, () => openLoop(flow, rate, options.seconds.halfLoad * 1000, HALF_LOAD_MAX_IN_FLIGHT), {
          mode: 'open',
          ratePerSec: rate,
        }),
      );
      return bestPoint;
    },
  };
}

async function benchServer(server: RunningServer, twilio: BenchTwilio, options: Options, label: string): Promise<ServerResults> {
  const { drivers, flows } = scenarioDrivers(server, twilio);
  const login = flows.login;
  const out: ServerResults = { kind: server.kind, label, startMs: server.startMs, points: [] };
  const { sweep, halfLoad } = pointRecorder(server, options, out);

  await drivers.client_credentials.warm();
  await drivers.login.warm();
  await sweep('client_credentials', drivers.client_credentials);
  await sweep('login', drivers.login);
  // The best login point sets the half load's rate and the soak's concurrency.
  const bestLogin = await halfLoad('login', login);
  await drivers.rest.warm();
  await sweep('rest', drivers.rest);

  if (server.kind === 'sqlite' && options.soakSeconds > 0) {
    out.soak = await soak(server, login, bestLogin.concurrency, options.soakSeconds);
  }
  return out;
}

/**
 * One of the OWN_PROCESS scenarios (sweep and half load) in the eidhub process started for it,
 * added to `out`: its peak RSS is then its own, not what the scenarios before left in the heap,
 * and the OIDC scenarios and the soak run in a process that served only them.
 */
async function benchOwnProcess(server: RunningServer, twilio: BenchTwilio, options: Options, out: ServerResults, own: (typeof OWN_PROCESS)[number]): Promise<void> {
  const { drivers, flows } = scenarioDrivers(server, twilio);
  const driver = drivers[own.scenario];
  const flow = flows[own.scenario];
  if (!driver || !flow) throw new Error(`${server.kind} was started without what ${own.what} need`);
  const { sweep, halfLoad } = pointRecorder(server, options, out);
  log(`  ${own.what} (a new ${server.kind} process, started in ${server.startMs} ms)`);
  await driver.warm();
  await sweep(own.scenario, driver);
  await halfLoad(own.scenario, flow);
}

/** Logins back to back for `seconds`, in 5 s segments with the server's RSS taken after each. */
async function soak(server: RunningServer, login: ReturnType<typeof loginFlow>, concurrency: number, seconds: number): Promise<Soak> {
  log(`  soak: ${seconds} s of logins at c=${concurrency}, RSS every ${SOAK_SAMPLE_SECONDS} s`);
  resetPeakRss(server.pid);
  const samples: SoakSample[] = [{ atS: 0, rssMb: memoryMib(server.pid).rss, opsPerSec: 0, p99FlowMs: 0, errors: 0 }];
  const started = performance.now();
  let logins = 0;
  let errors = 0;
  while (performance.now() - started < seconds * 1000) {
    const r = await closedLoop(login, concurrency, SOAK_SAMPLE_SECONDS * 1000);
    logins += r.ops;
    errors += r.errors;
    samples.push({ atS: round((performance.now() - started) / 1000, 1), rssMb: memoryMib(server.pid).rss, opsPerSec: r.opsPerSec, p99FlowMs: r.flow.p99, errors: r.errors });
    log(`    ${samples.at(-1)!.atS} s: RSS ${samples.at(-1)!.rssMb} MiB, ${r.opsPerSec} logins/s, flow p99 ${r.flow.p99} ms${r.errors ? `, ${r.errors} errors` : ''}`);
  }
  // The first sample is taken before the soak's own load; growth compares the soak's thirds.
  const loaded = samples.slice(1);
  const third = Math.max(1, Math.floor(loaded.length / 3));
  const mean = (xs: SoakSample[]) => xs.reduce((a, s) => a + s.rssMb, 0) / xs.length;
  return {
    concurrency,
    seconds,
    samples,
    logins,
    errors,
    growthMb: round(mean(loaded.slice(-third)) - mean(loaded.slice(0, third)), 1),
    lateGrowthMb: round(mean(loaded.slice(-third)) - mean(loaded.slice(third, Math.max(third + 1, loaded.length - third))), 1),
    peakRssMb: memoryMib(server.pid).peak,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const resultsDir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  if (options.build) {
    log('building eidhub (npm run build)…');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  const workRoot = mkdtempSync(join(tmpdir(), 'eidhub-bench-'));
  const pgServer = process.env.EIDHUB_DATABASE_URL;
  const kinds = options.only.filter((k) => k !== 'postgres' || pgServer);
  if (options.only.includes('postgres') && !pgServer) log('EIDHUB_DATABASE_URL is not set: no PostgreSQL figures in this run');
  const dbName = `eidhub_bench_${randomBytes(4).toString('hex')}`;
  let dbUrl: string | undefined;
  const twilio = await startBenchTwilio();
  let current: RunningServer | undefined;

  // Ctrl-C: stop the server under test and drop the database before leaving.
  const cleanup = async () => {
    await current?.stop(3000).catch(() => undefined);
    await twilio.close().catch(() => undefined);
    if (dbUrl && pgServer) await dropDatabaseOn(pgServer, dbName).catch((err: unknown) => log(`could not drop ${dbName}: ${String(err)}`));
    rmSync(workRoot, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    log('interrupted; cleaning up');
    void cleanup().finally(() => process.exit(130));
  });

  try {
    const machine = await describeMachine(REPO_ROOT, workRoot, pgServer);
    log(`eidhub ${machine.eidhubCommit}; machine: ${machine.cpu} × ${machine.cores}, ${machine.memoryGb} GiB, node ${machine.node}, fsync ${machine.fsyncMs} ms on ${machine.tempFs}`);
    if (kinds.includes('postgres') && pgServer) dbUrl = await createDatabaseOn(pgServer, dbName);

    const eidhub = eidhubRun(options);
    if (options.profile) {
      await profileRun(kinds, twilio, workRoot, dbUrl, eidhub, options);
      return;
    }

    const servers: ServerResults[] = [];
    for (const kind of kinds) {
      const label = kind === 'peer' ? 'peer (oidc-provider, in memory)' : kind === 'sqlite' ? 'eidhub, SQLite (WAL, synchronous=FULL)' : 'eidhub, PostgreSQL';
      log(`${label}`);
      current = await startOne(kind, join(workRoot, kind), { twilio, dbUrl, eidhub });
      let out: ServerResults;
      try {
        out = await benchServer(current, twilio, options, label);
      } finally {
        await current.stop();
        current = undefined;
      }
      servers.push(out);
      // SQLite: a database of its own for each; PostgreSQL: the run's database, with the rows the processes before left.
      for (const own of kind === 'peer' ? [] : OWN_PROCESS) {
        current = await startOne(kind, join(workRoot, `${kind}-${own.scenario}`), { twilio, dbUrl, eidhub }, undefined, own.extras);
        try {
          await benchOwnProcess(current, twilio, options, out, own);
        } finally {
          await current.stop();
          current = undefined;
        }
      }
    }
    const finishedAt = new Date();
    const results: BenchResults = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      totalSeconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      options: {
        build: options.build,
        eidhub,
        concurrency: options.concurrency,
        seconds: options.seconds,
        soakSeconds: options.soakSeconds,
        warmupSeconds: WARMUP_SECONDS,
        halfLoadMaxInFlight: HALF_LOAD_MAX_IN_FLIGHT,
      },
      machine,
      servers,
    };
    const file = join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`results: ${file} (${results.totalSeconds} s)`);
    // latest.json is the run this page documents: smoke tests and experiments do not replace it.
    if (options.report && !options.quick) {
      writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
      const written = renderReport(results, REPO_ROOT);
      log(`report: ${written.join(', ')}`);
    }
  } finally {
    await cleanup();
  }
}

/** Starts one server of the run: eidhub as the run resolved it, PostgreSQL on the run's database. */
function startOne(
  kind: ServerKind,
  workDir: string,
  run: { twilio: BenchTwilio; dbUrl: string | undefined; eidhub: EidhubRun },
  cpuProfDir?: string,
  extras: EidhubExtras = {},
): Promise<RunningServer> {
  return startServer({
    kind,
    workDir,
    ...extras,
    twilioUrl: run.twilio.url,
    ...(kind === 'peer' ? {} : { eidhub: run.eidhub }),
    ...(kind === 'postgres' && run.dbUrl ? { databaseUrl: run.dbUrl } : {}),
    ...(cpuProfDir ? { cpuProfDir } : {}),
  });
}

/**
 * One server process per (server, scenario) under `node --cpu-prof`, so each profile holds one
 * scenario's work: a warm-up, then the scenario at the sweep's highest concurrency.
 */
async function profileRun(kinds: ServerKind[], twilio: BenchTwilio, workRoot: string, dbUrl: string | undefined, eidhub: EidhubRun, options: Options): Promise<void> {
  const dir = join(REPO_ROOT, 'bench', 'results', 'profiles');
  rmSync(dir, { recursive: true, force: true });
  const c = Math.max(...options.concurrency);
  const seconds = options.quick ? 2 : 8;
  for (const kind of kinds) {
    const scenarios: ScenarioName[] = kind === 'peer' ? ['client_credentials', 'login', 'rest'] : ['client_credentials', 'login', 'saml_login', 'ciba', 'itsme', 'rest'];
    for (const scenario of scenarios) {
      const profDir = join(dir, `${kind}-${scenario}`);
      const extras = OWN_PROCESS.find((own) => own.scenario === scenario)?.extras;
      const server = await startOne(kind, join(workRoot, `${kind}-${scenario}`), { twilio, dbUrl, eidhub }, profDir, extras);
      let window: MeasuredWindow | undefined;
      try {
        const driver = scenarioDrivers(server, twilio).drivers[scenario];
        if (!driver) throw new Error(`${kind} has no ${scenario} scenario`);
        await driver.warm();
        // The summary counts only the samples of the measured part, and gives figures per operation.
        const point = await measured(server, scenario, c, async () => {
          const fromUs = monotonicUs();
          const result = await driver.drive(c, seconds);
          window = { fromUs, toUs: monotonicUs(), ops: result.ops };
          return result;
        });
        log(`${kind}: ${describe(point)}`);
      } finally {
        await server.stop();
      }
      const summary = summarizeProfiles(profDir, REPO_ROOT, 25, window);
      writeFileSync(join(dir, `${kind}-${scenario}.txt`), summary);
      log(summary);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
