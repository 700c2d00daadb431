/**
 * The servers under test, each a child process of the benchmark so that its CPU time and memory
 * are its own: eidhub as operators run it (`node dist/main.js --config FILE`, built first), and the
 * peer (`node --import tsx bench/peer/server.ts --config FILE`). Both listen on 127.0.0.1 only.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.js';
import { spawnUntilReady, stopChild, writeConfigFile } from '../../test/support/child-eidhub.js';
import { freePort } from '../../test/support/net.js';
import type { PeerConfig } from '../peer/server.js';
import { TWILIO_ACCOUNT } from './fake-twilio.js';
import type { EidhubRun } from './results.js';

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
 * do; `--eidhub-node-options` replaces the Node flags, the environment stays (run.ts resolves both
 * once per run, a variable set in the caller's environment keeping its value).
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

/** The clients every server is given; the driver authenticates with these. */
export const OIDC_CLIENT = { clientId: 'bench-rp', secret: 'bench-rp-secret-000000001', redirectUri: 'http://127.0.0.1:9/callback' } as const;
export const API_CLIENT = { clientId: 'bench-api', secret: 'bench-api-secret-00000001' } as const;

/**
 * The SAML service provider eidhub is given (the peer has none): unsigned requests, so no
 * KeyDescriptor, and an HTTP-POST ACS on a loopback port that is never fetched (the driver checks
 * the Response form and stops there). It asks for the attributes the OIDC client's scopes give.
 */
export const SAML_SP = { entityId: 'https://bench-sp.example.test', acsUrl: 'http://127.0.0.1:9/acs' } as const;
const SAML_SP_METADATA = [
  `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${SAML_SP.entityId}">`,
  '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">',
  `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${SAML_SP.acsUrl}" index="0" isDefault="true"/>`,
  '<md:AttributeConsumingService index="0" isDefault="true">',
  '<md:ServiceName xml:lang="en">Benchmark SP</md:ServiceName>',
  '<md:RequestedAttribute Name="idpId"/>',
  '<md:RequestedAttribute Name="phoneNumber"/>',
  '</md:AttributeConsumingService>',
  '</md:SPSSODescriptor>',
  '</md:EntityDescriptor>',
].join('');

/**
 * The CIBA client of the benchmark's realm (CONTRACT §7, seed 004): a relying party's backend that
 * verifies phone numbers over SMS, polling for its tokens.
 */
export const CIBA_REALM = 'ipification';
export const CIBA_CLIENT = { clientId: 'bench-ciba', secret: 'bench-ciba-secret-0000001', scopes: ['openid', 'ip:phone_verify'] } as const;

/**
 * The relying party of the itsme® login (CONTRACT §8, seed 002's Authentication): a confidential
 * client that asks for `openid name` and has the name in its ID tokens, as the seed's client does.
 */
export const ITSME_CLIENT = {
  clientId: 'bench-itsme-rp',
  secret: 'bench-itsme-rp-secret-0001',
  redirectUri: 'http://127.0.0.1:9/itsme-callback',
  scopes: ['openid', 'name'],
} as const;

export type ServerKind = 'peer' | 'sqlite' | 'postgres';

export interface RunningServer {
  kind: ServerKind;
  pid: number;
  port: number;
  /** Prefix of the OpenID Provider's routes: `/auth/open` for eidhub, none for the peer. */
  oidcBase: string;
  /** The SAML identity provider's routes (`/auth/saml`, with SAML_SP configured); undefined for the peer, which has none. */
  samlBase: string | undefined;
  /** The CIBA realm's routes (`/auth/realms/ipification`, with CIBA_CLIENT configured); undefined for the peer and eidhub without the realm. */
  cibaBase: string | undefined;
  /** Whether eidhub runs in sandbox mode with ITSME_CLIENT, its itsme being the simulator it serves itself; false for the peer and other eidhub processes. */
  itsme: boolean;
  /** Milliseconds from spawn to the ready line. */
  startMs: number;
  /** SIGTERM (so `--cpu-prof` can write its profile), SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** What an eidhub process is given beside the OIDC and API clients every one has. */
export interface EidhubExtras {
  /**
   * Configure the benchmark's SAML SP (eidhub then loads its SAML IdP at start). Only the SAML
   * scenario's process has it, so the other scenarios' memory is measured as eidhub without SAML.
   */
  saml?: boolean;
  /** Configure the benchmark's CIBA realm and client; only the CIBA scenario's process has it, as for `saml`. */
  ciba?: boolean;
  /**
   * Sandbox mode and ITSME_CLIENT: eidhub then serves the itsme simulator at
   * `{publicUrl}/sandbox/itsme` and logs people in with itsme through it, as an upstream on the
   * same process. Sandbox mode also adds its demo clients and demo realm; only the itsme
   * scenario's process has any of it, as for `saml`.
   */
  itsme?: boolean;
}

export interface StartOptions extends EidhubExtras {
  kind: ServerKind;
  workDir: string;
  twilioUrl: string;
  /** PostgreSQL URL of a database made for this run (kind 'postgres'). */
  databaseUrl?: string;
  /** Directory for `--cpu-prof` output; no profiling when absent. */
  cpuProfDir?: string;
  /** How eidhub runs (entry file, environment, Node flags), resolved once per run; not for the peer. */
  eidhub?: EidhubRun;
}

export function eidhubConfig(kind: 'sqlite' | 'postgres', port: number, workDir: string, twilioUrl: string, databaseUrl?: string, extras: EidhubExtras = {}): ConfigInput {
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
    // them up to a few dozen codes, more than the default 10 an hour. All of them share one prefix,
    // one country and one client, at hundreds of codes a second: far past the default send budgets
    // (which it still checks on every code) and the conversion guard's concern (it verifies them all).
    otp: {
      maxSendsPerNumberPerHour: 1000,
      budgets: Object.fromEntries(
        (['perAddress', 'perPrefix', 'perCountry', 'perClient', 'globalPerMinute', 'globalPerDay'] as const).map((name) => [name, { limit: 10_000_000 }]),
      ),
    },
    oidcClients: [
      { clientId: OIDC_CLIENT.clientId, clientName: 'Benchmark RP', secrets: [OIDC_CLIENT.secret], redirectUris: [OIDC_CLIENT.redirectUri], scopes: ['openid', 'idp-id', 'phone'] },
      ...(extras.itsme
        ? [
            {
              clientId: ITSME_CLIENT.clientId,
              clientName: 'Benchmark itsme RP',
              secrets: [ITSME_CLIENT.secret],
              redirectUris: [ITSME_CLIENT.redirectUri],
              scopes: [...ITSME_CLIENT.scopes],
              idTokenClaims: ['name' as const],
            },
          ]
        : []),
    ],
    apiClients: [{ clientId: API_CLIENT.clientId, secrets: [API_CLIENT.secret], permissions: ['authentication-rest-api'] }],
    samlServiceProviders: extras.saml ? [{ entityId: SAML_SP.entityId, metadata: SAML_SP_METADATA }] : [],
    ...(extras.ciba
      ? {
          realms: [
            {
              name: CIBA_REALM,
              clients: [{ clientId: CIBA_CLIENT.clientId, secrets: [CIBA_CLIENT.secret], scopes: [...CIBA_CLIENT.scopes], deliveryMode: 'poll' }],
            },
          ],
        }
      : {}),
    ...(extras.itsme ? { sandbox: true } : {}),
  };
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  mkdirSync(opts.workDir, { recursive: true });
  const port = await freePort();
  let args: string[];
  if (opts.kind === 'peer') {
    const configFile = join(opts.workDir, 'peer.json');
    const peer: PeerConfig = {
      port,
      oidcClient: { ...OIDC_CLIENT },
      apiClient: { ...API_CLIENT },
      twilio: { baseUrl: opts.twilioUrl, accountSid: TWILIO_ACCOUNT.accountSid, authToken: TWILIO_ACCOUNT.authToken, from: 'eidhub' },
    };
    writeFileSync(configFile, JSON.stringify(peer, null, 2));
    args = [await compilePeer(), '--config', configFile];
  } else {
    if (!opts.eidhub) throw new Error(`${opts.kind}: how to run eidhub (StartOptions.eidhub) is missing`);
    const configFile = writeConfigFile(opts.workDir, `${opts.kind}.json`, eidhubConfig(opts.kind, port, opts.workDir, opts.twilioUrl, opts.databaseUrl, { saml: opts.saml === true, ciba: opts.ciba === true, itsme: opts.itsme === true }));
    args = [...opts.eidhub.nodeOptions, opts.eidhub.entry, '--config', configFile];
  }
  if (opts.cpuProfDir) {
    mkdirSync(opts.cpuProfDir, { recursive: true });
    args = ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir, `--cpu-prof-name=${opts.kind}-\${pid}.cpuprofile`, ...args];
  }
  const started = Date.now();
  const { child } = await spawnUntilReady(args, {
    what: opts.kind,
    ready: /listening on http:\/\/127\.0\.0\.1:\d+/,
    readyTimeoutMs: 30_000,
    // The benchmark's config says which store to use: spawnUntilReady drops an EIDHUB_DATABASE_URL
    // of the caller's environment, which would otherwise move the SQLite run onto PostgreSQL.
    env: { ...(opts.kind === 'peer' ? {} : opts.eidhub?.env), NODE_ENV: 'production' },
    // Bounded: a server that logs a lot under load must not grow the benchmark's memory.
    maxOutput: 20_000,
  });

  return {
    kind: opts.kind,
    pid: child.pid ?? -1,
    port,
    oidcBase: opts.kind === 'peer' ? '' : '/auth/open',
    samlBase: opts.kind !== 'peer' && opts.saml ? '/auth/saml' : undefined,
    cibaBase: opts.kind !== 'peer' && opts.ciba ? `/auth/realms/${CIBA_REALM}` : undefined,
    itsme: opts.kind !== 'peer' && opts.itsme === true,
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

