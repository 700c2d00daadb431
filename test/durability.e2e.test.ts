/**
 * Durability, end to end, with eidhub as real OS processes (`eidhub --config FILE`):
 * - `kill -9` between issuing a code and redeeming it: the restarted process redeems it, exactly
 *   once (SQLite file store), for the one-time code and for the authorization code;
 * - a login started on one process finishes on a second one sharing the PostgreSQL store, behind
 *   a switchable reverse proxy that stands in for a load balancer.
 * Chromium is the person, openid-client the relying party, a fake Twilio receives the SMS.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ConfigInput } from '../src/config/schema.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { startFakeTwilio, type FakeTwilio, type FakeTwilioMessage } from './fakes/twilio.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { READY_LINE, startChildEidhub, writeConfigFile, type ChildEidhub } from './support/child-eidhub.js';
import { freePort } from './support/eidhub.js';
import { smsCodeOf } from './support/http-login.js';
import { dropTestDatabase, getTestPostgresUrl } from './support/postgres.js';

const skip = browserSkipReason();
const CLIENT_ID = 'durability-client';
const SECRET = 'a-long-client-secret-durable-0001';
const TWILIO = { accountSid: 'AC123', authToken: 'twilio-secret-durable' };
/** Browser and SMS waits are bounded well below the test timeout, so a stuck step fails with its own message. */
const STEP_TIMEOUT_MS = 10_000;
const TEST_TIMEOUT_MS = 90_000;

const CODE_INPUT = 'input[autocomplete="one-time-code"]';
const PHONE_FORM = 'form[action$="/phone"]';
const CODE_FORM = 'form[action$="/code"]';
/** One number per login, so each SMS is matched to its own test. */
const PHONE_OTP_CRASH = '+447700900301';
const PHONE_CODE_CRASH = '+447700900302';
const PHONE_TWO_PROCESSES = '+447700900401';

interface Rp {
  url: string;
  /** Every request that reached `/callback`, oldest first. */
  callbacks: URL[];
  close(): Promise<void>;
}

/** The relying party's callback endpoint; it records what arrives so tests can count redemptions. */
async function startRp(): Promise<Rp> {
  const callbacks: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/callback') callbacks.push(url);
    res.end('relying party callback');
  });
  await listen(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, callbacks, close: () => closeServer(server) };
}

interface ProxiedRequest {
  method: string;
  path: string;
  /** The port of the eidhub process that answered. */
  backend: number;
  status: number;
  setCookies: number;
}

interface SwitchableProxy {
  /** The public URL both eidhub processes are configured with. */
  readonly url: string;
  /** Port of the eidhub process new requests go to. */
  target: number;
  readonly log: ProxiedRequest[];
  close(): Promise<void>;
}

/** Headers that describe one connection, not the message; a proxy must not pass them on (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/** Raw headers (name, value, name, value, …) without hop-by-hop ones; repeated headers such as Set-Cookie stay separate. */
function endToEndHeaders(raw: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (!HOP_BY_HOP.has(name.toLowerCase())) kept.push(name, raw[i + 1]!);
  }
  return kept;
}

/**
 * A load balancer in miniature: every request goes to the current target, method, path, headers
 * and body as they came, and the answer streams back unchanged. No keep-alive upstream, so a
 * switch of target applies to the very next request.
 */
async function startProxy(): Promise<SwitchableProxy> {
  const agent = new Agent({ keepAlive: false });
  const log: ProxiedRequest[] = [];
  let target = 0;
  const server = createServer((req, res) => {
    const backend = target;
    const entry: ProxiedRequest = { method: req.method ?? '', path: req.url ?? '', backend, status: 0, setCookies: 0 };
    log.push(entry);
    const upstream = request(
      { host: '127.0.0.1', port: backend, method: req.method, path: req.url, headers: endToEndHeaders(req.rawHeaders), agent, timeout: STEP_TIMEOUT_MS },
      (answer) => {
        entry.status = answer.statusCode ?? 0;
        entry.setCookies = answer.headers['set-cookie']?.length ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndHeaders(answer.rawHeaders));
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer from 127.0.0.1:${backend} within ${STEP_TIMEOUT_MS} ms`)));
    upstream.on('error', (err) => {
      entry.status = 502;
      if (res.headersSent) res.destroy(err);
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: ${err.message}`);
    });
    req.pipe(upstream);
  });
  await listen(server);
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    get target() {
      return target;
    },
    set target(port: number) {
      target = port;
    },
    log,
    close: () => closeServer(server),
  };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
}

function closeServer(server: Server): Promise<void> {
  // Keep-alive connections from Chromium would otherwise hold close() open.
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

function eidhubConfig(o: { port: number; publicUrl: string; storage: ConfigInput['storage']; twilioUrl: string; redirectUri: string }): ConfigInput {
  return {
    publicUrl: o.publicUrl,
    port: o.port,
    host: '127.0.0.1',
    // The most talkative level, so that the log check below covers every line eidhub can write.
    logLevel: 'debug',
    storage: o.storage,
    sms: { provider: 'twilio', ...TWILIO, from: 'eidhub', baseUrl: o.twilioUrl },
    oidcClients: [
      {
        clientId: CLIENT_ID,
        clientName: 'Durable shop',
        secrets: [SECRET],
        redirectUris: [o.redirectUri],
        grantTypes: ['authorization_code'],
        scopes: ['openid', 'idp-id', 'phone'],
        pkce: 'required',
        idTokenClaims: ['idp_id', 'phone_number'],
      },
    ],
  };
}

function discover(publicUrl: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(`${publicUrl}/auth/open`), CLIENT_ID, SECRET, undefined, { execute: [oidc.allowInsecureRequests], timeout: 10 });
}

function codeOf(message: FakeTwilioMessage): string {
  const code = smsCodeOf(message.body);
  assert.ok(code, 'the SMS ends with "@host #code"');
  return code;
}

/** No line any child wrote holds a code that was sent, or the national number it went to. */
function assertNothingSecretLogged(children: readonly ChildEidhub[], messages: readonly FakeTwilioMessage[]): void {
  assert.ok(messages.length > 0, 'some SMS were sent');
  // The check means something only if the logs were captured: every child's holds its ready line,
  // and together they hold the lines of the logins (a child killed early may have written little).
  assert.ok(children.every((child) => READY_LINE.test(child.output())), 'every child wrote its start-up line');
  assert.ok(children.map((child) => child.output().split('\n').length).reduce((a, b) => a + b, 0) > 10, 'the children wrote a log');
  for (const child of children) {
    const lines = child.output().split('\n');
    for (const message of messages) {
      // As a whole number only: a 6-digit run inside a longer one (a response time) is not a code.
      const code = new RegExp(`(?<!\\d)${codeOf(message)}(?!\\d)`);
      // The national number is part of both the E.164 and the 0-prefixed national form: one check covers both.
      const national = parsePhoneNumberFromString(message.to)?.nationalNumber;
      assert.ok(national, `a valid test number: ${message.to}`);
      lines.forEach((line, i) => {
        assert.ok(!code.test(line), `child ${child.pid}, log line ${i + 1}, holds a code`);
        assert.ok(!line.includes(national), `child ${child.pid}, log line ${i + 1}, holds a full phone number`);
      });
    }
  }
}

async function killAll(children: readonly ChildEidhub[]): Promise<void> {
  const results = await Promise.allSettled(children.map((c) => c.kill('SIGKILL')));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

describe('durability across eidhub processes', { skip }, () => {
  let twilio: FakeTwilio;
  let rp: Rp;
  let browser: Browser;
  const dirs: string[] = [];
  const children: ChildEidhub[] = [];

  before(async () => {
    twilio = await startFakeTwilio(TWILIO);
    rp = await startRp();
    browser = await launchBrowser();
  });

  after(async () => {
    // Every child, including those of a test that failed halfway; and the rest even if one will
    // not die, because an open browser or server would keep this process from ever exiting.
    try {
      await killAll(children);
    } finally {
      await browser?.close();
      await twilio?.close();
      await rp?.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-durability-'));
    dirs.push(dir);
    return dir;
  }

  async function startChild(configFile: string, group: ChildEidhub[]): Promise<ChildEidhub> {
    const child = await startChildEidhub(configFile);
    children.push(child);
    group.push(child);
    return child;
  }

  interface Login {
    context: BrowserContext;
    page: Page;
    state: string;
    checks: { pkceCodeVerifier: string; expectedState: string; expectedNonce: string };
  }

  /** An authorization request with PKCE, state and nonce, opened in a fresh browser. */
  async function beginLogin(config: oidc.Configuration, extra: Record<string, string> = {}): Promise<Login> {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${rp.url}/callback`,
      scope: 'openid idp-id phone',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...extra,
    });
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    await page.goto(url.href);
    return { context, page, state, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce } };
  }

  /** Submits the phone step and returns the code the SMS carried, once the code step is on screen. */
  async function submitPhone(page: Page, phone: string): Promise<string> {
    const since = Date.now();
    await page.fill('input[type=tel]', phone);
    await page.click(`${PHONE_FORM} button[type=submit]`);
    const sms = await twilio.waitForMessage((m) => m.to === phone && m.dateCreated.getTime() >= since, STEP_TIMEOUT_MS);
    await page.waitForSelector(CODE_INPUT);
    return codeOf(sms);
  }

  async function submitCodeUntilCallback(page: Page, code: string): Promise<URL> {
    await page.fill(CODE_INPUT, code);
    await page.click(`${CODE_FORM} button[type=submit]`);
    await page.waitForURL((u) => u.href.startsWith(`${rp.url}/callback`));
    return new URL(page.url());
  }

  describe('kill -9 of a process on a SQLite file store', () => {
    const mine: ChildEidhub[] = [];
    let port: number;
    let dbPath: string;
    let configFile: string;
    let server: ChildEidhub;
    let config: oidc.Configuration;

    before(async () => {
      const dir = tempDir();
      port = await freePort();
      const publicUrl = `http://localhost:${port}`;
      dbPath = join(dir, 'eidhub.db');
      configFile = writeConfigFile(
        dir,
        'eidhub.json',
        eidhubConfig({ port, publicUrl, storage: { driver: 'sqlite', path: dbPath }, twilioUrl: twilio.url, redirectUri: `${rp.url}/callback` }),
      );
      server = await startChild(configFile, mine);
      assert.equal(server.publicUrl, publicUrl);
      config = await discover(publicUrl);
    });

    after(() => killAll(mine));

    /** SIGKILL: no close, no exit handlers, nothing flushed later; then a new process on the same port and file. */
    async function crashAndRestart(): Promise<void> {
      const exit = await server.kill('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL');
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }), 'nothing answers once the process is gone');
      server = await startChild(configFile, mine);
    }

    it('redeems a one-time code sent before kill -9 on the restarted process, and only once', { timeout: TEST_TIMEOUT_MS }, async () => {
      const login = await beginLogin(config);
      const code = await submitPhone(login.page, PHONE_OTP_CRASH);
      const csrf = await login.page.inputValue(`${CODE_FORM} input[name=csrf]`);
      const codeAction = new URL((await login.page.getAttribute(CODE_FORM, 'action')) ?? '', login.page.url());

      await crashAndRestart();

      // The same page, still showing what the dead process rendered, now talks to the new one.
      const callback = await submitCodeUntilCallback(login.page, code);
      const tokens = await oidc.authorizationCodeGrant(config, callback, login.checks);
      assert.equal(tokens.claims()?.phone_number, PHONE_OTP_CRASH, 'logged in as the number the code went to');

      // Consumed is on disk, not in memory: after another crash the code logs no one in again.
      await crashAndRestart();
      const transactionId = /^\/login\/([^/]+)\/code$/.exec(codeAction.pathname)?.[1];
      assert.ok(transactionId, `the code form posts to /login/{transaction}/code: ${codeAction.pathname}`);
      const store = await openSqliteStore({ path: dbPath });
      const challenge = await store.otp.latest(transactionId).finally(() => store.close());
      assert.ok(challenge?.consumedAt, 'the code is recorded as used');
      assert.equal(challenge.attempts, 1, 'one attempt: the one that logged the person in');
      const replay = await login.context.request.post(codeAction.href, { form: { csrf, code }, timeout: STEP_TIMEOUT_MS });
      assert.ok(!replay.url().startsWith(rp.url), `the replayed code reached the relying party: ${replay.url()}`);
      assert.ok(replay.status() >= 400, `the replayed code is refused (HTTP ${replay.status()})`);
      assert.equal(rp.callbacks.filter((u) => u.searchParams.get('state') === login.state).length, 1, 'one callback for this login');
      await login.context.close();
    });

    it('redeems an authorization code issued before kill -9 on the restarted process, and only once', { timeout: TEST_TIMEOUT_MS }, async () => {
      const login = await beginLogin(config);
      const code = await submitPhone(login.page, PHONE_CODE_CRASH);
      const callback = await submitCodeUntilCallback(login.page, code);
      assert.ok(callback.searchParams.get('code'), 'the callback carries an authorization code');
      await login.context.close();

      await crashAndRestart();

      const tokens = await oidc.authorizationCodeGrant(config, callback, login.checks);
      const sub = tokens.claims()!.sub;
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, sub);
      assert.equal(userinfo.phone_number, PHONE_CODE_CRASH);

      await crashAndRestart();
      await assert.rejects(
        oidc.authorizationCodeGrant(config, callback, login.checks),
        (err: unknown) => err instanceof oidc.ResponseBodyError && err.error === 'invalid_grant',
        'a second exchange of the code is refused with invalid_grant',
      );
      // Reuse revokes what the first exchange gave (RFC 6749 §4.1.2), although this process never issued it.
      await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck), 'the first access token is revoked');
    });

    it('never writes a code or a full phone number to the log of any process', () => {
      assertNothingSecretLogged(mine, twilio.messages.filter((m) => m.to === PHONE_OTP_CRASH || m.to === PHONE_CODE_CRASH));
    });
  });

  describe('one login across two processes sharing PostgreSQL', () => {
    const mine: ChildEidhub[] = [];
    let databaseUrl: string | null = null;
    let proxy: SwitchableProxy | undefined;

    after(async () => {
      try {
        // The processes go first: a database with open connections cannot be dropped cleanly.
        await killAll(mine);
        if (databaseUrl) await dropTestDatabase(databaseUrl);
      } finally {
        await proxy?.close();
      }
    });

    it('starts a login on process A and finishes it on process B behind the same public URL', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      // Outside CI a missing PostgreSQL skips; in CI getTestPostgresUrl() throws, and this test fails.
      const url = await getTestPostgresUrl();
      if (url === null) {
        t.skip('no PostgreSQL: set EIDHUB_DATABASE_URL or install the server (apt-get install postgresql)');
        return;
      }
      databaseUrl = url;
      const balancer = await startProxy();
      proxy = balancer;
      const dir = tempDir();
      const portA = await freePort();
      let portB = await freePort();
      while (portB === portA) portB = await freePort();
      const configFor = (port: number, name: string) =>
        writeConfigFile(
          dir,
          name,
          eidhubConfig({ port, publicUrl: balancer.url, storage: { driver: 'postgres', url }, twilioUrl: twilio.url, redirectUri: `${rp.url}/callback` }),
        );
      // Started together on an empty store, as replicas behind a load balancer are: both race to
      // create the first signing keys, and must still end up publishing the same ones.
      const [a, b] = await Promise.all([startChild(configFor(portA, 'a.json'), mine), startChild(configFor(portB, 'b.json'), mine)]);
      assert.equal(a.publicUrl, balancer.url);
      assert.equal(b.publicUrl, balancer.url);

      const jwksOf = async (port: number) => {
        const res = await fetch(`http://127.0.0.1:${port}/auth/open/.well-known/openid-configuration/jwks`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
        assert.equal(res.status, 200);
        return (await res.json()) as { keys: { kid: string }[] };
      };
      const [jwksA, jwksB] = await Promise.all([jwksOf(portA), jwksOf(portB)]);
      assert.ok(jwksA.keys.length >= 2, 'an RS256 and an ES256 key');
      assert.deepEqual(jwksB, jwksA, 'A and B publish the same keys: they come from the store');

      balancer.target = portA;
      const config = await discover(balancer.url);
      const login = await beginLogin(config, { login_hint: `mobile:${PHONE_TWO_PROCESSES}` });
      assert.equal(await login.page.inputValue('input[type=tel]'), PHONE_TWO_PROCESSES, 'login_hint prefills the number');
      const code = await submitPhone(login.page, PHONE_TWO_PROCESSES);
      const servedByA = balancer.log.length;

      // The balancer moves the person to B, and A dies: nothing of this login can come from A's memory.
      balancer.target = portB;
      await a.kill('SIGKILL');

      const callback = await submitCodeUntilCallback(login.page, code);
      await login.context.close();
      const tokens = await oidc.authorizationCodeGrant(config, callback, login.checks);
      const claims = tokens.claims()!;
      assert.equal(claims.iss, `${balancer.url}/auth/open`);
      assert.equal(claims.phone_number, PHONE_TWO_PROCESSES);
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.deepEqual(userinfo, { sub: claims.sub, idp_id: PHONE_TWO_PROCESSES, idp_issuer: 'otp-sms', phone_number: PHONE_TWO_PROCESSES });

      const onA = balancer.log.slice(0, servedByA);
      const onB = balancer.log.slice(servedByA);
      const describeLog = () => balancer.log.map((r) => `${r.backend === portA ? 'A' : 'B'} ${r.method} ${r.path.split('?')[0]} ${r.status}`).join('\n');
      assert.ok(onA.every((r) => r.backend === portA) && onB.every((r) => r.backend === portB), describeLog());
      assert.ok(onB.every((r) => r.status < 500), `B answered everything:\n${describeLog()}`);
      const served = (log: ProxiedRequest[], method: string, path: RegExp) => log.find((r) => r.method === method && path.test(r.path.split('?')[0] ?? ''));
      const authorize = served(onA, 'GET', /^\/auth\/open\/connect\/authorize$/);
      assert.ok(authorize, `A received the authorization request:\n${describeLog()}`);
      assert.ok(authorize.setCookies >= 2, `the proxy passed on every Set-Cookie of the authorization response (${authorize.setCookies})`);
      assert.ok(served(onA, 'POST', /^\/login\/[^/]+\/phone$/), `A received the phone step:\n${describeLog()}`);
      for (const [method, path, what] of [
        ['POST', /^\/login\/[^/]+\/code$/, 'the code step, which ends the interaction'],
        ['GET', /^\/auth\/open\/connect\/authorize\/[^/]+$/, 'the authorization response'],
        ['POST', /^\/auth\/open\/connect\/token$/, 'the token request'],
        ['GET', /^\/auth\/open\/connect\/userinfo$/, 'the UserInfo request'],
      ] as const) {
        assert.ok(served(onB, method, path), `B received ${what}:\n${describeLog()}`);
      }

      assertNothingSecretLogged([a, b], twilio.messages.filter((m) => m.to === PHONE_TWO_PROCESSES));
    });
  });
});
