/**
 * The sandbox's demo login (`npm start`): /sandbox/login starts an authorization request for the
 * demo client, the person goes through the hosted pages, and /sandbox/callback redeems the code
 * and calls UserInfo from inside eidhub, as the demo relying party. And the demo clients' secrets
 * as `eidhub` prints them at start: the random stored ones always work, the published ones only
 * while SMS go to the console provider.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigInput } from '../src/config/schema.js';
import { SANDBOX_API_CLIENT_SECRET, SANDBOX_CIBA_CLIENT_SECRET, SANDBOX_OIDC_CLIENT_SECRET } from '../src/sandbox/routes.js';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import { spawnUntilReady, stopChild, writeConfigFile } from './support/child-eidhub.js';
import { freePort, startEidhub, tempSqlitePath, type RunningEidhub } from './support/eidhub.js';
import { Browserless, CapturingSms, csrfOf } from './support/http-login.js';

/** The demo CIBA client asks eidhub to text `phone` its code (the back-channel authentication request). */
function startCiba(base: string, secret: string, phone: string): Promise<Response> {
  return fetch(`${base}/auth/realms/ipification/protocol/openid-connect/ext/ciba/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'showcase', client_secret: secret, scope: 'openid ip:phone_verify', login_hint: phone, channel: 'sms', message: 'PIN {{code}}' }),
  });
}

describe('sandbox demo login', () => {
  let eidhub: RunningEidhub;
  const sms = new CapturingSms();

  before(async () => {
    eidhub = await startEidhub({ sandbox: true, smsProvider: sms });
  });
  after(() => eidhub?.close());

  it('ends on the demo relying party with the ID token claims and UserInfo', async () => {
    const phone = '+447700900555';
    const browser = new Browserless(eidhub.url);
    const start = await browser.get(`/sandbox/login?login_hint=${encodeURIComponent(`mobile:${phone}`)}`);
    assert.equal(start.res.status, 200);
    assert.match(new URL(start.url).pathname, /^\/login\/[0-9a-f-]{36}$/);
    const codePage = await browser.post(`${start.url}/phone`, { csrf: csrfOf(start.body), phone });
    assert.equal(codePage.res.status, 200);
    const done = await browser.post(`${start.url}/code`, { csrf: csrfOf(codePage.body), code: sms.lastCodeFor(phone) });
    assert.equal(new URL(done.url).pathname, '/sandbox/callback');
    assert.equal(done.res.status, 200, done.body.replace(/\s+/g, ' ').slice(0, 300));
    assert.match(done.body, /Logged in/);
    // The UserInfo answer, HTML-escaped in the page.
    assert.match(done.body, /<h2>UserInfo<\/h2><pre>[^<]*&#34;phone_number&#34;: &#34;\+447700900555&#34;/);
  });

  it('serves the realm ipification with a demo CIBA client whose secret is kept in the store', async () => {
    const realm = `${eidhub.url}/auth/realms/ipification`;
    const discovery = (await (await fetch(`${realm}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(discovery.backchannel_authentication_endpoint, `${realm}/protocol/openid-connect/ext/ciba/auth`);
    const secret = await eidhub.store.secrets.getOrCreate('sandbox:realm-client-secret', 'not-the-one');
    assert.notEqual(secret, 'not-the-one');
    assert.notEqual(secret, SANDBOX_CIBA_CLIENT_SECRET, 'a random secret, not the published one');
    const phone = '+447700900556';
    const res = await startCiba(eidhub.url, secret, phone);
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(sms.sent.at(-1)!.body, /^PIN \d{6}$/);
  });
});

/**
 * The demo clients, each with its published secret, the line `eidhub` prints for it at start, and
 * a token request and its answer once the client is authenticated (`accepted`): a token, or
 * `invalid_grant` for a code or auth_req_id that does not exist; a wrong secret gets `invalid_client`.
 */
const DEMO_CLIENTS = [
  {
    id: 'demo-oidc-client',
    published: SANDBOX_OIDC_CLIENT_SECRET,
    line: /demo OIDC client id demo-oidc-client, secret (\S+)(.*)$/m,
    token: '/auth/open/connect/token',
    params: { grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: 'http://localhost:3001/oidc/callback' },
    accepted: '400 invalid_grant',
  },
  {
    id: 'demo-api-client',
    published: SANDBOX_API_CLIENT_SECRET,
    line: /demo API client id demo-api-client, secret (\S+)(.*)$/m,
    token: '/auth/open/connect/token',
    params: { grant_type: 'client_credentials', scope: 'auth-rest-api' },
    accepted: 'token',
  },
  {
    id: 'showcase',
    published: SANDBOX_CIBA_CLIENT_SECRET,
    line: /client id showcase, secret (\S+)(.*)$/m,
    token: '/auth/realms/ipification/protocol/openid-connect/token',
    params: { grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: 'no-such-request' },
    accepted: '400 invalid_grant',
  },
] as const;

/** 'token' when the token endpoint issued one, else its OAuth error. */
async function tokenAnswer(base: string, client: (typeof DEMO_CLIENTS)[number], secret: string): Promise<string> {
  const res = await fetch(`${base}${client.token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...client.params, client_id: client.id, client_secret: secret }),
  });
  const body = (await res.json()) as { access_token?: string; error?: string };
  return body.access_token ? 'token' : `${res.status} ${body.error}`;
}

/** The random secret `eidhub` printed for the client, and what the line says after it. */
function printedSecret(output: string, client: (typeof DEMO_CLIENTS)[number]): { printed: string; rest: string } {
  const [, printed, rest = ''] = client.line.exec(output) ?? [];
  assert.ok(printed, `eidhub printed the secret of ${client.id}:\n${output}`);
  assert.notEqual(printed, client.published, 'a random secret, not the published one');
  return { printed, rest };
}

describe("the sandbox's demo client secrets, by SMS provider (eidhub as its own process)", () => {
  let twilio: FakeTwilio;

  before(async () => {
    twilio = await startFakeTwilio({ accountSid: 'AC555', authToken: 'twilio-secret-555' });
  });
  after(() => twilio?.close());

  /** Starts `eidhub --config` in sandbox mode with these SMS, runs `check` with its URL and start-up output, stops it. */
  async function withSandbox(sms: ConfigInput['sms'], check: (url: string, output: string) => Promise<void>): Promise<void> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const path = tempSqlitePath();
    const file = writeConfigFile(dirname(path), 'eidhub.json', { sandbox: true, publicUrl: url, port, host: '127.0.0.1', storage: { driver: 'sqlite', path }, sms });
    // Ready once the sandbox's lines are out, the last of them the SMS line.
    const { child, output } = await spawnUntilReady(['--import', 'tsx', 'src/main.ts', '--config', file], { what: 'eidhub sandbox', ready: /^ {2}SMS: .*\n/m, readyTimeoutMs: 20_000 });
    try {
      await check(url, output());
    } finally {
      await stopChild(child, 5000);
    }
  }

  it('with SMS that leave the machine (twilio), only the printed random secrets work: the published ones are invalid_client', async () => {
    await withSandbox({ provider: 'twilio', accountSid: 'AC555', authToken: 'twilio-secret-555', from: 'eidhub', baseUrl: twilio.url }, async (url, output) => {
      assert.match(output, /SMS go out through twilio, so the published secrets are refused/);
      for (const client of DEMO_CLIENTS) {
        const { printed, rest } = printedSecret(output, client);
        assert.equal(rest, '', `only the random secret of ${client.id} is printed`);
        assert.equal(await tokenAnswer(url, client, client.published), '401 invalid_client', `${client.id} refuses its published secret`);
        assert.equal(await tokenAnswer(url, client, printed), client.accepted, `${client.id} accepts its printed secret`);
      }
      // The published secret cannot have an SMS sent either; the printed one does.
      const refused = await startCiba(url, SANDBOX_CIBA_CLIENT_SECRET, '+447700900557');
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client');
      assert.equal(twilio.requestCount, 0, 'no SMS went out');
      const started = await startCiba(url, printedSecret(output, DEMO_CLIENTS[2]).printed, '+447700900558');
      assert.equal(started.status, 200, await started.clone().text());
      assert.match((await twilio.waitForMessage((m) => m.to === '+447700900558', 5000)).body, /^PIN \d{6}$/);
      assert.equal(twilio.requestCount, 1);
    });
  });

  it('with SMS to the console, the printed random secrets and the published ones work, and the start-up lines say so', async () => {
    await withSandbox({ provider: 'console', from: 'eidhub' }, async (url, output) => {
      assert.match(output, /SMS go to the console only, so the published secrets work too/);
      for (const client of DEMO_CLIENTS) {
        const { printed, rest } = printedSecret(output, client);
        assert.equal(rest, ` or the published ${client.published}`);
        for (const secret of [printed, client.published]) assert.equal(await tokenAnswer(url, client, secret), client.accepted, `${client.id} accepts ${secret}`);
      }
    });
  });
});
