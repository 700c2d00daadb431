/**
 * The container files, checked without Docker: the Dockerfile is linted and held against the
 * code (what it copies, the port, the environment, the command, the probed route), compose.yaml
 * against the Dockerfile and the config it mounts, and the files the image contains are laid out
 * in a temporary folder the way the Dockerfile lays them out and started there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { validate } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '../src/config/schema.js';
import { shippedLaunch } from '../bench/lib/servers.js';
import { READY_LINE, spawnUntilReady, stopChild } from './support/child-eidhub.js';
import { freePort } from './support/net.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// ---- the Dockerfile, parsed ----

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions by stage: continuation lines joined, comments left out. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole === '') continue;
    const [keyword, ...rest] = whole.split(/\s+/);
    const instruction = { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = rest;
      stages.push({ image: image!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      assert.ok(stages.length > 0, `${instruction.keyword} before FROM`);
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** An exec-form argument list (`["node", "…"]`). */
function execForm(args: string): string[] {
  assert.ok(args.startsWith('['), `not in exec form: ${args}`);
  return JSON.parse(args) as string[];
}

/** A stage's ENV as name → value (the `NAME=value` form, values without spaces or quotes). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of all(stage, 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      assert.ok(eq > 0, `ENV ${args}: use NAME=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}
function copiesOf(stage: Stage): Copy[] {
  return all(stage, 'COPY').map((args) => {
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
  });
}

/** Where `source` lands in a stage whose WORKDIR is `workdir`: in `dest` if it is a folder (several sources, or a trailing slash), else at `dest`. */
function landing(copy: Copy, source: string, workdir: string): string {
  const intoFolder = copy.sources.length > 1 || copy.dest.endsWith('/');
  const dest = intoFolder ? posix.join(copy.dest, posix.basename(source)) : copy.dest;
  return posix.normalize(dest.startsWith('/') ? dest : posix.join(workdir, dest)).replace(/\/$/, '');
}

const dockerfileText = read('Dockerfile');
const stages = parseDockerfile(dockerfileText);
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1)!;
const runtimeEnv = envOf(runtime);
const workdirOf = (stage: Stage) => all(stage, 'WORKDIR').at(-1) ?? '/';

/** The environment variables eidhub reads: the overrides in src/config/load.ts, and EIDHUB_CONFIG. */
function variablesEidhubReads(): Set<string> {
  const names = new Set<string>();
  for (const file of ['src/config/load.ts', 'src/main.ts']) {
    for (const m of read(file).matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
  }
  return names;
}
const READ_BY_EIDHUB = variablesEidhubReads();

/** The files of src/ that are not TypeScript: what tsc leaves out of dist/ and eidhub reads from src/. */
function runtimeDataFiles(): string[] {
  return (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[])
    .filter((file) => !file.endsWith('.ts') && statSync(join(ROOT, 'src', file)).isFile())
    .map((file) => posix.join('src', file.split(sep).join('/')));
}

/** Runs `node ARGS` to its end in `cwd` with exactly `env` (and PATH); resolves with its exit code and output. */
function runNode(args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('Dockerfile', () => {
  it('has no problems by dockerfile-utils (which does find them in a broken one)', () => {
    assert.deepEqual(
      validate(dockerfileText).map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
      [],
    );
    assert.ok(validate('FROM node:24\nEXPOSE port\n').length > 0, 'the linter finds nothing at all');
  });

  it('is multi-stage: a build stage with the compilers, a runtime stage built from its output', () => {
    assert.ok(build, 'a stage named build');
    assert.ok(stages.length >= 2);
    assert.match(all(build, 'RUN').join('\n'), /python3.*make.*g\+\+/s, 'the build stage installs what better-sqlite3 compiles with');
    assert.match(all(build, 'RUN').join('\n'), /npm ci\b/);
    assert.match(all(build, 'RUN').join('\n'), /npm run build\b/);
    assert.match(all(build, 'RUN').join('\n'), /npm prune --omit=dev\b/, 'only production dependencies reach the image');
    assert.ok(!/python3|g\+\+/.test(all(runtime, 'RUN').join('\n')), 'no compilers in the runtime stage');
  });

  it('runs a Node major the README names as tested, the same in every stage', () => {
    const tested = /Tested Node\.js versions: ([^.]+)\./.exec(read('README.md'));
    assert.ok(tested, 'the README says "Tested Node.js versions: …."');
    const majors = [...tested[1]!.matchAll(/\b(\d{2})\b/g)].map((m) => m[1]);
    for (const stage of stages) {
      const major = /^node:(\d+)-/.exec(stage.image)?.[1];
      assert.ok(major && majors.includes(major), `${stage.image}: not a Node version the README names as tested (${majors.join(', ')})`);
    }
    assert.equal(new Set(stages.map((s) => s.image)).size, 1, 'the runtime runs what the build stage compiled for');
  });

  it('copies into the build stage only files of the repository that .dockerignore lets through', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.replace(/^\*\*\//, ''));
    for (const copy of copiesOf(build!)) {
      assert.equal(copy.from, undefined);
      for (const source of copy.sources) {
        assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: not in the repository`);
        assert.ok(!ignored.some((p) => source === p || source.startsWith(`${p}/`)), `COPY ${source}: excluded by .dockerignore`);
      }
    }
  });

  it('copies into the image only what the build stage has, and every file eidhub reads from src/', () => {
    const buildDir = workdirOf(build!);
    const copiedIntoBuild = copiesOf(build!).flatMap((c) => c.sources.map((s) => landing(c, s, buildDir)));
    const madeByBuild = ['dist', 'node_modules'].map((p) => posix.join(buildDir, p));
    const runtimeCopies = copiesOf(runtime);
    for (const copy of runtimeCopies) {
      assert.equal(copy.from, 'build', `COPY ${copy.sources.join(' ')}: the runtime stage copies from the build stage only`);
      for (const source of copy.sources) {
        const from = posix.normalize(source);
        assert.ok(
          [...copiedIntoBuild, ...madeByBuild].some((p) => from === p || from.startsWith(`${p}/`)),
          `COPY --from=build ${source}: the build stage neither copies nor makes it`,
        );
      }
    }
    const runtimeDir = workdirOf(runtime);
    const landed = runtimeCopies.flatMap((c) => c.sources.map((s) => landing(c, s, runtimeDir)));
    for (const file of runtimeDataFiles()) {
      const inImage = posix.join(runtimeDir, file);
      assert.ok(landed.some((d) => inImage.startsWith(`${d}/`)), `${file} is read at run time but not copied into the image`);
    }
  });

  it('runs as a non-root user given by number', () => {
    const user = all(runtime, 'USER').at(-1);
    assert.ok(user, 'a USER');
    const [uid, gid] = user.split(':');
    assert.match(uid!, /^\d+$/, 'numeric, so runAsNonRoot can check it');
    assert.notEqual(Number(uid), 0);
    if (gid !== undefined) assert.notEqual(Number(gid), 0);
  });

  it('exposes the port eidhub listens on, and sets only variables that eidhub or npm start use', () => {
    const defaultPort = configSchema.parse({}).port;
    assert.deepEqual(all(runtime, 'EXPOSE'), [String(defaultPort)]);
    assert.equal(runtimeEnv.PORT, String(defaultPort));
    const shipped = shippedLaunch().env;
    for (const [name, value] of Object.entries(runtimeEnv)) {
      if (name in shipped) assert.equal(value, shipped[name], `${name}: npm start sets ${shipped[name]}`);
      else assert.ok(READ_BY_EIDHUB.has(name), `ENV ${name}: eidhub does not read it (it reads ${[...READ_BY_EIDHUB].join(', ')})`);
    }
    for (const [name, value] of Object.entries(shipped)) assert.equal(runtimeEnv[name], value, `npm start sets ${name}=${value}`);
  });

  it('keeps its data in the volume EIDHUB_DATA_DIR names', () => {
    assert.ok(runtimeEnv.EIDHUB_DATA_DIR, 'EIDHUB_DATA_DIR is set');
    assert.deepEqual(all(runtime, 'VOLUME').flatMap((v) => (v.startsWith('[') ? execForm(v) : v.split(/\s+/))), [runtimeEnv.EIDHUB_DATA_DIR]);
  });

  it('starts the way npm start does: the same Node flags, in exec form', () => {
    const cmd = execForm(all(runtime, 'CMD').at(-1) ?? '');
    assert.deepEqual(cmd, ['node', ...shippedLaunch().nodeOptions, 'dist/main.js']);
    assert.equal(all(runtime, 'ENTRYPOINT').length, 0);
  });

  it('has a HEALTHCHECK that node runs against /healthz', () => {
    const healthcheck = all(runtime, 'HEALTHCHECK').at(-1);
    assert.ok(healthcheck, 'a HEALTHCHECK');
    const cmd = execForm(healthcheck.slice(healthcheck.indexOf('CMD ') + 4));
    assert.equal(cmd[0], 'node', 'no curl or wget in a slim image');
    assert.match(cmd.join(' '), /\/healthz'/);
  });
});

describe('docs/deploy.md', () => {
  const guide = read('docs/deploy.md');

  it('says what the Dockerfile does: its user, port, config path, data volume and command', () => {
    const uid = all(runtime, 'USER').at(-1)!.split(':')[0]!;
    assert.match(guide, new RegExp(`uid and gid \`${uid}\``));
    for (const name of ['EIDHUB_CONFIG', 'EIDHUB_DATA_DIR', 'PORT', 'HOST']) assert.ok(guide.includes(`${name}=${runtimeEnv[name]}`), `the guide gives ${name}=${runtimeEnv[name]}`);
    assert.ok(guide.includes(`\`${execForm(all(runtime, 'CMD').at(-1)!).join(' ')}\``), 'the guide gives the CMD');
    assert.ok(guide.includes(`\`${stages[0]!.image}\``), 'the guide names the base image');
  });

  it('is linked from the README, whose container example uses the image\'s paths', () => {
    const readme = read('README.md');
    assert.ok(readme.includes('(docs/deploy.md)'));
    assert.ok(readme.includes(`:${runtimeEnv.EIDHUB_CONFIG}:ro`) && readme.includes(`eidhub-data:${runtimeEnv.EIDHUB_DATA_DIR}`));
  });
});

// ---- compose.yaml ----

interface ComposeService {
  build?: string;
  image?: string;
  init?: boolean;
  environment?: Record<string, string>;
  volumes?: string[];
  secrets?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file: string }>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(read('compose.yaml')) as Compose;
const eidhubService = compose.services.eidhub!;

/** Values as compose would fill them in from `.env`: `${NAME}` and `${NAME:?message}`. */
const DOT_ENV: Record<string, string> = { EIDHUB_DOMAIN: 'login.example.com', POSTGRES_PASSWORD: 'a-password' };
const interpolate = (value: string) =>
  value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::\?[^}]*)?\}/g, (_, name: string) => {
    assert.ok(name in DOT_ENV, `compose.yaml uses \${${name}}, which the guide's .env does not set`);
    return DOT_ENV[name]!;
  });
const eidhubEnvironment = Object.fromEntries(Object.entries(eidhubService.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));

/** `./source:/target[:ro]` bind mounts of a service. */
const bindsOf = (service: ComposeService) =>
  (service.volumes ?? [])
    .filter((v) => v.startsWith('./'))
    .map((v) => {
      const [source, target, mode] = v.split(':');
      return { source: source!, target: target!, readOnly: mode === 'ro' };
    });

const configMount = bindsOf(eidhubService).find((b) => b.target === eidhubEnvironment.EIDHUB_CONFIG);

describe('compose.yaml', () => {
  it('builds eidhub from the Dockerfile and sets only variables eidhub reads', () => {
    assert.equal(eidhubService.build, '.');
    assert.equal(eidhubService.init, true, 'a reaper as PID 1');
    for (const name of Object.keys(eidhubEnvironment)) assert.ok(READ_BY_EIDHUB.has(name), `${name}: eidhub does not read it`);
    assert.match(eidhubEnvironment.EIDHUB_DATABASE_URL ?? '', /^postgres:\/\/[^@]+@db:5432\//);
    assert.match(eidhubEnvironment.EIDHUB_PUBLIC_URL ?? '', /^https:\/\//);
  });

  it('mounts files that exist, the config read-only where EIDHUB_CONFIG points', () => {
    for (const service of Object.values(compose.services)) {
      for (const bind of bindsOf(service)) assert.ok(existsSync(join(ROOT, bind.source)), `${bind.source}: not in the repository`);
    }
    assert.ok(configMount, 'the config file is mounted at EIDHUB_CONFIG');
    assert.ok(configMount.readOnly);
  });

  it('starts eidhub once PostgreSQL 17 answers, its data in a named volume', () => {
    const db = compose.services.db!;
    assert.match(db.image ?? '', /^postgres:17\b/);
    assert.ok(db.healthcheck?.test.length, 'the database has a healthcheck');
    assert.equal(eidhubService.depends_on?.db?.condition, 'service_healthy');
    const named = (db.volumes ?? []).filter((v) => !v.startsWith('./')).map((v) => v.split(':')[0]!);
    assert.ok(named.length > 0 && named.every((v) => v in (compose.volumes ?? {})));
  });

  it('gives eidhub the secret files its config names, kept out of git', () => {
    const config = read(configMount!.source);
    for (const m of config.matchAll(/"\/run\/secrets\/([^"]+)"/g)) assert.ok(eidhubService.secrets?.includes(m[1]!), `the config reads secret ${m[1]}, which compose does not give eidhub`);
    for (const name of eidhubService.secrets ?? []) {
      const file = compose.secrets?.[name]?.file;
      assert.ok(file?.startsWith('./deploy/secrets/'), `secret ${name}: a file under deploy/secrets/`);
    }
    assert.match(read('deploy/secrets/.gitignore'), /^\*$/m);
  });

  it('lets only the proxy reach eidhub when the config trusts one hop, and the proxy finds it', () => {
    const config = JSON.parse(read(configMount!.source)) as { trustProxy?: unknown };
    if (typeof config.trustProxy === 'number') assert.equal(eidhubService.ports, undefined, 'a hop count trusts whoever connects: publish no port');
    const caddy = compose.services.caddy!;
    const caddyfile = bindsOf(caddy).find((b) => b.target === '/etc/caddy/Caddyfile');
    assert.ok(caddyfile);
    const text = read(caddyfile.source);
    assert.match(text, /^\s*name eidhub$/m);
    assert.match(text, new RegExp(`^\\s*port ${all(runtime, 'EXPOSE')[0]}$`, 'm'));
    assert.equal(caddy.environment?.EIDHUB_DOMAIN !== undefined && /\{\$EIDHUB_DOMAIN\}/.test(text), true);
  });
});

// ---- the image's files, started ----

/**
 * The build stage's /app: the repository's files it copies, node_modules (npm ci) and dist/. dist/
 * is each source file transpiled alone, which gives the JavaScript `tsc -p tsconfig.build.json`
 * gives (isolatedModules and verbatimModuleSyntax make every file compile alone), in a few
 * seconds instead of half a minute.
 */
function buildStage(dir: string): void {
  const options = JSON.parse(read('tsconfig.json')) as { compilerOptions: Record<string, unknown> };
  assert.equal(options.compilerOptions.isolatedModules, true);
  assert.equal(options.compilerOptions.verbatimModuleSyntax, true);
  const buildOptions = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
  assert.deepEqual([buildOptions.compilerOptions.rootDir, buildOptions.compilerOptions.outDir], ['src', 'dist']);
  for (const copy of copiesOf(build!)) for (const source of copy.sources) symlinkSync(join(ROOT, source), join(dir, source));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const compilerOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true };
  for (const file of readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const out = join(dir, 'dist', file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, ts.transpileModule(read(join('src', file)), { compilerOptions, fileName: file }).outputText);
  }
}

/** The runtime stage's files, copied from `buildDir` as its COPY instructions say; node_modules is linked, not copied. */
function runtimeStage(buildDir: string, appDir: string): void {
  const from = workdirOf(build!);
  const to = workdirOf(runtime);
  for (const copy of copiesOf(runtime)) {
    for (const source of copy.sources) {
      const src = join(buildDir, posix.relative(from, source));
      const dest = join(appDir, posix.relative(to, landing(copy, source, to)));
      mkdirSync(dirname(dest), { recursive: true });
      if (posix.basename(source) === 'node_modules') symlinkSync(realpathSync(src), dest);
      else cpSync(realpathSync(src), dest, { recursive: true });
    }
  }
}

describe('the image\'s files', () => {
  let tmp: string;
  let appDir: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'eidhub-image-'));
    const buildDir = join(tmp, 'build');
    appDir = join(tmp, 'app');
    mkdirSync(buildDir);
    mkdirSync(appDir);
    buildStage(buildDir);
    runtimeStage(buildDir, appDir);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** The container's environment, with a local port, data folder and config file in place of the volume and the mount. */
  const containerEnv = (port: number) => ({
    ...runtimeEnv,
    PORT: String(port),
    EIDHUB_DATA_DIR: join(tmp, 'data'),
    EIDHUB_CONFIG: join(tmp, 'etc', 'eidhub.json'),
  });

  it('hold compose\'s config, which passes `eidhub config check` with compose\'s environment', async () => {
    mkdirSync(join(tmp, 'etc'), { recursive: true });
    // The compose secrets, mounted at /run/secrets/NAME in the container, are files of this folder here.
    const secrets = join(tmp, 'secrets');
    mkdirSync(secrets, { recursive: true });
    const config = read(configMount!.source).replace(/"\/run\/secrets\/([^"]+)"/g, (_m, name: string) => {
      writeFileSync(join(secrets, name), `test-${name}\n`);
      return JSON.stringify(join(secrets, name));
    });
    assert.notEqual(config, read(configMount!.source), 'the config reads its Twilio token from a compose secret');
    writeFileSync(join(tmp, 'etc', 'eidhub.json'), config);
    const env = { ...containerEnv(0), ...eidhubEnvironment, EIDHUB_CONFIG: join(tmp, 'etc', 'eidhub.json') };
    const { code, output } = await runNode(['dist/main.js', 'config', 'check'], env, appDir);
    assert.equal(code, 0, output);
    assert.match(output, /configuration is valid: .*\n.*store postgres, SMS twilio/);
  });

  it('are enough to start: /healthz, the HEALTHCHECK, /readyz, discovery and a hosted page answer; SIGTERM stops it cleanly', async () => {
    const port = await freePort();
    const env = containerEnv(port);
    const cmd = execForm(all(runtime, 'CMD').at(-1)!);
    const { child, output } = await spawnUntilReady(cmd.slice(1), { what: 'eidhub from the image\'s files', ready: READY_LINE, readyTimeoutMs: 30_000, env, cwd: appDir });
    try {
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const healthcheck = all(runtime, 'HEALTHCHECK').at(-1)!;
      const probe = execForm(healthcheck.slice(healthcheck.indexOf('CMD ') + 4));
      const { code: probeCode } = await runNode(probe.slice(1), { PORT: String(port) }, appDir);
      assert.equal(probeCode, 0, 'the HEALTHCHECK command succeeds against the running server');
      assert.equal((await fetch(`${base}/readyz`)).status, 200, 'the store is open: the migrations were found');
      const discovery = (await (await fetch(`${base}/auth/open/.well-known/openid-configuration`)).json()) as { issuer: string };
      assert.equal(discovery.issuer, 'https://login.example.com/auth/open');
      const page = await fetch(`${base}/auth/open/connect/authorize?client_id=unknown&response_type=code&scope=openid&redirect_uri=https://example.com/cb`, { headers: { 'accept-language': 'da' } });
      const html = await page.text();
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(html, /<html lang="da"/, 'the page is drawn with its message catalogues');
      assert.ok(existsSync(join(env.EIDHUB_DATA_DIR, 'eidhub.db')), 'the SQLite store is in EIDHUB_DATA_DIR');
    } finally {
      const exited = new Promise<number | null>((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(child.exitCode)));
      await stopChild(child, 10_000);
      assert.equal(await exited, 0, `SIGTERM ends it with 0:\n${output()}`);
    }
  });
});
