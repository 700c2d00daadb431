/**
 * The showcase app (apps/showcase, seed 004) end to end: eidhub in this process with realm
 * `ipification` and SMS to a fake Twilio, the showcase as its own process pointed at eidhub with
 * NODE_CONFIG, Chromium as the person. The phone number goes in, the code comes from the fake
 * Twilio, /user/info shows the verified number; the seed's error answers over plain HTTP; and
 * the page's other flows (eidhub's OIDC login, the REST embedded flow) through to /user/info.
 * Then the showcase with its own default config against eidhub's sandbox, as `npm start` and
 * `npm run showcase` run them: all three flows with the sandbox's published secrets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { SANDBOX_SHOWCASE_URL } from '../src/sandbox/routes.js';
import type { SandboxInbox } from '../src/sms/sandbox-inbox.js';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { smsCodeOf } from './support/http-login.js';
import { showcaseAddress, startShowcase, type RunningShowcase } from './support/showcase.js';

const skip = browserSkipReason();
const WAIT = 10_000;
const TEST_TIMEOUT = 60_000;

const CIBA_CLIENT = 'showcase';
const CIBA_SECRET = 'showcase-ciba-secret-0001';
const OIDC_CLIENT = 'showcase-oidc';
const OIDC_SECRET = 'showcase-oidc-secret-0001';
const API_CLIENT = 'showcase-api';
const API_SECRET = 'showcase-api-secret-00001';
const SECRETS = [CIBA_SECRET, OIDC_SECRET, API_SECRET];
/** The seed's message template, as the showcase sends it. */
const SMS_TEXT = /^Your verification PIN is: (\d{6})$/;

interface Json {
  [key: string]: unknown;
}

/** A JSON POST to a showcase with this "browser"'s cookie (if any); answers status, body and cookie. */
async function postJson(base: string, path: string, body: unknown, cookie?: string): Promise<{ status: number; body: Json; cookie: string | undefined; setCookie: string | null }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
  const setCookie = res.headers.get('set-cookie');
  return { status: res.status, body: (await res.json()) as Json, cookie: setCookie?.split(';')[0] ?? cookie, setCookie };
}

/** The code in an SMS: the seed's template, or eidhub's own text with its WebOTP line. */
function codeIn(body: string): string | undefined {
  return SMS_TEXT.exec(body)?.[1] ?? smsCodeOf(body);
}

/** Reads the code of the SMS sent to a number since a time, waiting for it to arrive. */
type CodeSource = (phone: string, since: number) => Promise<string>;

/** The sandbox inbox as a code source: what the console provider "sent", as /sandbox/sms shows it. */
function inboxCodes(inbox: SandboxInbox): CodeSource {
  return async (phone, since) => {
    for (const deadline = Date.now() + WAIT; Date.now() < deadline; await sleep(50)) {
      const body = inbox.list().find((m) => m.to === phone && m.at.getTime() >= since)?.body;
      const code = body && codeIn(body);
      if (code) return code;
    }
    throw new Error(`no code in the sandbox inbox for ${phone.slice(0, 4)}… within ${WAIT} ms`);
  };
}

/** The person's side: a browser, and the addresses of the showcase and eidhub as it sees them. */
interface Person {
  browser: Browser;
  showcaseUrl: string;
  eidhubUrl: string;
  codeFor: CodeSource;
}

/** A fresh browser context and page, closed after `run`. */
async function withPage<T>(browser: Browser, run: (page: Page, context: BrowserContext, problems: string[]) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  const page = await context.newPage();
  // CSP refusals and script errors show up here; the page must cause none.
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  try {
    return await run(page, context, problems);
  } finally {
    await context.close();
  }
}

async function userInfoOf(page: Page): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of ['phone_number', 'phone_number_verified', 'sub', 'via']) {
    const el = await page.$(`#${id}`);
    if (el) out[id] = (await el.textContent()) ?? '';
  }
  return out;
}

/** What the person does on eidhub's hosted pages (OIDC redirect, REST frame). */
async function logInOnEidhub(target: Page | Frame, phone: string, codeFor: CodeSource): Promise<void> {
  // Where several providers may log the person in (the sandbox also has itsme), the chooser comes first.
  const chooser = target.locator('button[name="provider"][value="otp-sms"]');
  const phoneInput = target.locator('input[type=tel]');
  await chooser.or(phoneInput).first().waitFor({ timeout: WAIT });
  if (await chooser.isVisible()) await chooser.click();
  await target.fill('input[type=tel]', phone);
  const since = Date.now();
  await target.click('form[action$="/phone"] button[type=submit]');
  await target.fill('input[autocomplete="one-time-code"]', await codeFor(phone, since));
  await target.click('form[action$="/code"] button[type=submit]');
}

/** The page's "Log in with eidhub": the redirect to eidhub's pages and back, through to /user/info. */
async function logInWithOidc(person: Person, phone: string): Promise<void> {
  const { showcaseUrl, eidhubUrl } = person;
  await withPage(person.browser, async (page, _context, problems) => {
    await page.goto(`${showcaseUrl}/`);
    await page.click('#oidc_login');
    await page.waitForURL((u) => u.origin === eidhubUrl, { timeout: WAIT });
    await logInOnEidhub(page, phone, person.codeFor);
    await page.waitForURL(`${showcaseUrl}/user/info`, { timeout: WAIT });
    const shown = await userInfoOf(page);
    assert.equal(shown.phone_number, phone);
    assert.equal(shown.via, 'oidc');
    assert.deepEqual(problems, []);
  });
}

/** The page's embedded login: eidhub's pages in a frame of the page, through to /user/info. */
async function logInEmbedded(person: Person, phone: string): Promise<void> {
  const { showcaseUrl, eidhubUrl } = person;
  await withPage(person.browser, async (page, _context, problems) => {
    await page.goto(`${showcaseUrl}/`);
    await page.click('#rest_embedded');
    const frame = await (await page.waitForSelector('#rest_frame iframe', { timeout: WAIT })).contentFrame();
    assert.ok(frame);
    await frame.waitForSelector('input[type=tel]', { timeout: WAIT });
    assert.equal(new URL(frame.url()).origin, eidhubUrl, 'eidhub\'s page in the frame');
    await logInOnEidhub(frame, phone, person.codeFor);
    await page.waitForURL(`${showcaseUrl}/user/info`, { timeout: WAIT });
    const shown = await userInfoOf(page);
    assert.equal(shown.phone_number, phone);
    assert.equal(shown.via, 'rest');
    // Chromium's note that eidhub's pages may not autofocus their field inside a cross-site frame.
    assert.deepEqual(problems.filter((p) => !p.startsWith('Blocked autofocusing')), []);
  });
}

describe('showcase app against eidhub', { skip }, () => {
  let twilio: FakeTwilio;
  let eidhub: RunningEidhub;
  let showcase: RunningShowcase;
  let browser: Browser;
  let phoneSeq = 0;
  /** A fresh number per verification, so no test meets another's per-number limits. */
  const nextPhone = () => `+4477009003${String(phoneSeq++).padStart(2, '0')}`;

  before(async () => {
    twilio = await startFakeTwilio({ accountSid: 'AC123', authToken: 'twilio-secret' });
    // The showcase on 127.0.0.1 and eidhub on localhost: two sites, as in a real deployment.
    const address = await showcaseAddress('127.0.0.1');
    eidhub = await startEidhub({
      hostname: 'localhost',
      accountId: 'a-test-showcase',
      sms: { provider: 'twilio', accountSid: 'AC123', authToken: 'twilio-secret', from: 'eidhub', baseUrl: twilio.url },
      realms: [{ name: 'ipification', clients: [{ clientId: CIBA_CLIENT, secrets: [CIBA_SECRET], scopes: ['openid', 'ip:phone_verify'], deliveryMode: 'poll' }] }],
      oidcClients: [
        {
          clientId: OIDC_CLIENT,
          secrets: [OIDC_SECRET],
          redirectUris: [`${address.url}/oidc/callback`],
          scopes: ['openid', 'idp-id', 'phone'],
          pkce: 'required',
          idTokenClaims: ['idp_id', 'phone_number'],
        },
      ],
      apiClients: [{ clientId: API_CLIENT, secrets: [API_SECRET], permissions: ['authentication-rest-api'] }],
    });
    showcase = await startShowcase(
      {
        auth_servers: [
          { id: 'eidhub', title: 'eidhub under test', url: `${eidhub.url}/auth` },
          // A port nothing listens on: an auth server that cannot be reached.
          { id: 'offline', url: 'http://127.0.0.1:9/auth' },
        ],
        client_id: CIBA_CLIENT,
        client_secret: CIBA_SECRET,
        realm: 'ipification',
        eidhub: { url: eidhub.url, oidc: { client_id: OIDC_CLIENT, client_secret: OIDC_SECRET }, rest: { client_id: API_CLIENT, client_secret: API_SECRET } },
      },
      address,
    );
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await showcase?.close();
    await eidhub?.close();
    await twilio?.close();
  });

  const post = (path: string, body: unknown, cookie?: string) => postJson(showcase.url, path, body, cookie);

  async function smsCodeFor(phone: string, since: number): Promise<{ code: string; body: string }> {
    const msg = await twilio.waitForMessage((m) => m.to === phone && m.dateCreated.getTime() >= since, WAIT);
    const code = codeIn(msg.body);
    assert.ok(code, `the SMS holds a 6-digit code: ${msg.body.replace(/\d{6}/g, '######')}`);
    return { code, body: msg.body };
  }

  const person = (): Person => ({ browser, showcaseUrl: showcase.url, eidhubUrl: eidhub.url, codeFor: async (phone, since) => (await smsCodeFor(phone, since)).code });

  it('the page: seed 004\'s phone input and pvn_sms button, libraries served by the app itself, a self-only CSP', async () => {
    const res = await fetch(`${showcase.url}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/, csp);
    assert.match(csp, /style-src 'self'(;|$)/, csp);
    assert.match(csp, /frame-ancestors 'none'/, csp);
    const html = await res.text();
    for (const secret of SECRETS) assert.ok(!html.includes(secret), 'no secret reaches the page');
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    for (const source of sources) assert.ok(source.startsWith('/') || source.startsWith('data:'), `everything comes from the app itself: ${source}`);
    for (const asset of sources.filter((s) => s.startsWith('/vendor/') || s.startsWith('/assets/'))) {
      const got = await fetch(`${showcase.url}${asset}`);
      assert.equal(got.status, 200, asset);
      await got.arrayBuffer();
    }

    await withPage(browser, async (page, _context, problems) => {
      await page.goto(`${showcase.url}/`);
      const button = page.locator('button#pvn_sms.btn_sms');
      assert.equal(await button.getAttribute('data-user-flow'), 'pvn_sms');
      assert.equal(await button.getAttribute('data-client-id'), CIBA_CLIENT);
      assert.equal(await page.locator('#server_id option').count(), 2, 'a chooser for the two auth servers');
      // intl-tel-input took over the field, with its flags from the app.
      await page.waitForSelector('.iti .iti__selected-country');
      const flags = await page.evaluate(() => {
        const el = document.querySelector('.iti__flag');
        return el ? getComputedStyle(el).backgroundImage : '';
      });
      assert.ok(flags.includes(`url("${showcase.url}/vendor/intl-tel-input/img/flags.webp")`), flags);

      // intl-tel-input refuses what is not a phone number, before anything is sent.
      const before = twilio.requestCount;
      await button.click();
      assert.equal(await page.textContent('#phone_error'), 'Type your mobile phone number.');
      await page.fill('#phone', '12');
      await button.click();
      assert.equal(await page.isVisible('#phone_error'), true);
      assert.equal(await page.isVisible('.swal2-popup'), false, 'no popup for an invalid number');
      assert.equal(twilio.requestCount, before, 'no SMS for an invalid number');
      assert.deepEqual(problems, []);
    });
  });

  it('verifies a phone number by SMS: number, SMS button, code from the SMS in the popup, /user/info shows the verified number', { timeout: TEST_TIMEOUT }, async () => {
    const phone = nextPhone();
    await withPage(browser, async (page, _context, problems) => {
      await page.goto(`${showcase.url}/`);
      await page.waitForSelector('.iti');
      // Typed the way a person in the UK does; intl-tel-input makes it E.164.
      await page.fill('#phone', `0${phone.slice(3)}`);
      const since = Date.now();
      await page.click('button#pvn_sms');

      const popup = page.locator('.swal2-popup');
      await popup.waitFor({ state: 'visible', timeout: WAIT });
      assert.equal(await page.textContent('.swal2-title'), 'Enter OTP code');
      const sms = await smsCodeFor(phone, since);
      assert.match(sms.body, SMS_TEXT, 'the SMS is the message template with the code put in, nothing else');

      await page.fill('.swal2-popup input.swal2-input', sms.code);
      await page.click('.swal2-popup button.swal2-confirm');
      await page.waitForURL(`${showcase.url}/user/info`, { timeout: WAIT });
      const shown = await userInfoOf(page);
      assert.equal(shown.phone_number, phone);
      assert.equal(shown.phone_number_verified, 'yes');
      assert.equal(shown.via, 'pvn_sms');
      assert.ok(shown.sub && !shown.sub.includes(phone.slice(1)), 'a subject that does not reveal the number');
      assert.deepEqual(problems, []);
    });
    const log = showcase.output();
    assert.match(log, /sms flow reported by the page/, 'the page reported the flow to /sms/log');
    for (const secret of SECRETS) assert.ok(!log.includes(secret), 'no secret in the showcase log');
    assert.ok(!log.includes(phone), 'no full phone number in the showcase log');
  });

  it('a wrong code keeps the popup open with the auth server\'s error; the right one then succeeds', { timeout: TEST_TIMEOUT }, async () => {
    const phone = nextPhone();
    await withPage(browser, async (page) => {
      await page.goto(`${showcase.url}/`);
      await page.waitForSelector('.iti');
      await page.fill('#phone', phone);
      const since = Date.now();
      await page.click('button#pvn_sms');
      await page.locator('.swal2-popup').waitFor({ state: 'visible', timeout: WAIT });
      const { code } = await smsCodeFor(phone, since);
      const wrong = code === '000000' ? '111111' : '000000';
      await page.fill('.swal2-popup input.swal2-input', wrong);
      await page.click('.swal2-popup button.swal2-confirm');
      const message = page.locator('.swal2-validation-message');
      await message.waitFor({ state: 'visible', timeout: WAIT });
      assert.ok(((await message.textContent()) ?? '').length > 0, 'the popup says why');
      await page.fill('.swal2-popup input.swal2-input', code);
      await page.click('.swal2-popup button.swal2-confirm');
      await page.waitForURL(`${showcase.url}/user/info`, { timeout: WAIT });
      assert.equal((await userInfoOf(page)).phone_number, phone);
    });
  });

  it('POST /sms/auth and /sms/token answer the seed\'s shapes over plain HTTP', { timeout: TEST_TIMEOUT }, async () => {
    const phone = nextPhone();
    const since = Date.now();
    const auth = await post('/sms/auth', { client_id: CIBA_CLIENT, server_id: 'eidhub', login_hint: phone, scope: 'openid ip:phone_verify' });
    assert.equal(auth.status, 200, JSON.stringify(auth.body));
    assert.deepEqual(Object.keys(auth.body).sort(), ['auth_req_id', 'auth_server', 'nonce']);
    assert.deepEqual(auth.body.auth_server, { id: 'eidhub', url: `${eidhub.url}/auth` });
    assert.match(String(auth.body.nonce), /^[0-9a-f-]{36}$/, 'the nonce is a UUID');
    assert.ok(auth.cookie, 'a session cookie');
    const { code } = await smsCodeFor(phone, since);

    const token = await post('/sms/token', { code, auth_req_id: auth.body.auth_req_id, client_id: CIBA_CLIENT, nonce: auth.body.nonce, server_id: 'eidhub' }, auth.cookie);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.deepEqual(token.body.auth_server, { id: 'eidhub', url: `${eidhub.url}/auth` });
    assert.equal(token.body.phone_number, phone);
    assert.equal(token.body.phone_number_verified, true);
    assert.equal(typeof token.body.sub, 'string');
    assert.equal(token.body.access_token, undefined, 'no token reaches the browser');

    const log = await fetch(`${showcase.url}/sms/log`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: { step: 'done' } }) });
    assert.equal(log.status, 200);
    assert.equal(await log.text(), 'OK');

    const info = await fetch(`${showcase.url}/user/info`, { headers: { cookie: auth.cookie! } });
    assert.match(await info.text(), new RegExp(`<dd id="phone_number">\\${phone}</dd>`));
  });

  it('the seed\'s errors: 400 for an unknown server_id, 401 for an unknown client_id, the auth server\'s error passed on', { timeout: TEST_TIMEOUT }, async () => {
    const phone = nextPhone();
    const badServer = await post('/sms/auth', { client_id: CIBA_CLIENT, server_id: 'nowhere', login_hint: phone });
    assert.equal(badServer.status, 400);
    assert.equal(badServer.body.error, 'invalid_server_id');
    assert.equal(badServer.body.status, 400);

    const badClient = await post('/sms/auth', { client_id: 'someone-else', server_id: 'eidhub', login_hint: phone });
    assert.equal(badClient.status, 401);
    assert.equal(badClient.body.status, 401);
    const badClientToken = await post('/sms/token', { code: '123456', auth_req_id: 'x', client_id: 'someone-else', nonce: 'n', server_id: 'eidhub' });
    assert.equal(badClientToken.status, 401);
    const badServerToken = await post('/sms/token', { code: '123456', auth_req_id: 'x', client_id: CIBA_CLIENT, nonce: 'n', server_id: 'nowhere' });
    assert.equal(badServerToken.status, 400);

    const offline = await post('/sms/auth', { client_id: CIBA_CLIENT, server_id: 'offline', login_hint: phone });
    assert.equal(offline.status, 502);
    assert.equal(offline.body.error, 'auth_server_unreachable');

    // The auth server's own refusal (a number that is no phone number) keeps its status and body.
    const refused = await post('/sms/auth', { client_id: CIBA_CLIENT, server_id: 'eidhub', login_hint: '+10000000000' });
    assert.ok(refused.status >= 400 && refused.status < 500, `eidhub's status: ${refused.status} ${JSON.stringify(refused.body)}`);
    assert.equal(refused.body.status, refused.status);
    assert.equal(typeof (refused.body.data as Json).error, 'string', 'data is the auth server\'s answer');
    assert.equal(refused.body.error, (refused.body.data as Json).error);

    // A wrong code: the callback's error, with eidhub's status, in {error, status, data}.
    const since = Date.now();
    const auth = await post('/sms/auth', { client_id: CIBA_CLIENT, server_id: 'eidhub', login_hint: phone });
    assert.equal(auth.status, 200, JSON.stringify(auth.body));
    const { code } = await smsCodeFor(phone, since);
    const wrong = await post('/sms/token', { code: code === '000000' ? '111111' : '000000', auth_req_id: auth.body.auth_req_id, client_id: CIBA_CLIENT, nonce: auth.body.nonce, server_id: 'eidhub' }, auth.cookie);
    assert.ok(wrong.status >= 400 && wrong.status < 500, `eidhub's status: ${wrong.status} ${JSON.stringify(wrong.body)}`);
    assert.equal(wrong.body.status, wrong.status);
    assert.equal(wrong.body.error, (wrong.body.data as Json).error);
    const info = await fetch(`${showcase.url}/user/info`, { headers: { cookie: auth.cookie! } });
    assert.match(await info.text(), /Verification failed/, '/user/info shows the error the session kept');

    // The nonce binds the auth_req_id to the browser that started it.
    const otherBrowser = await post('/sms/token', { code, auth_req_id: auth.body.auth_req_id, client_id: CIBA_CLIENT, nonce: auth.body.nonce, server_id: 'eidhub' });
    assert.equal(otherBrowser.status, 400);
    assert.equal(otherBrowser.body.error, 'invalid_nonce');
    const wrongNonce = await post('/sms/token', { code, auth_req_id: auth.body.auth_req_id, client_id: CIBA_CLIENT, nonce: crypto.randomUUID(), server_id: 'eidhub' }, auth.cookie);
    assert.equal(wrongNonce.status, 400);
    assert.equal(wrongNonce.body.error, 'invalid_nonce');
    // The request is still open: the right code with the right nonce works.
    const right = await post('/sms/token', { code, auth_req_id: auth.body.auth_req_id, client_id: CIBA_CLIENT, nonce: auth.body.nonce, server_id: 'eidhub' }, auth.cookie);
    assert.equal(right.status, 200, JSON.stringify(right.body));
    assert.equal(right.body.phone_number, phone);
  });

  it('logs in with eidhub over OpenID Connect (redirect, PKCE) and shows the result at /user/info', { timeout: TEST_TIMEOUT }, async () => {
    await logInWithOidc(person(), nextPhone());
  });

  it('logs in inside the page with the REST API\'s embedded flow and shows the result at /user/info', { timeout: TEST_TIMEOUT }, async () => {
    await logInEmbedded(person(), nextPhone());
    assert.ok(!showcase.output().includes('sessionNonce='), 'the return URL\'s sessionNonce stays out of the log');
  });
});

describe("showcase app with its own config against eidhub's sandbox (npm start + npm run showcase)", () => {
  let eidhub: RunningEidhub;
  let showcase: RunningShowcase;
  let browser: Browser | undefined;
  let codeFor: CodeSource;
  let phoneSeq = 0;
  const nextPhone = () => `+4477009004${String(phoneSeq++).padStart(2, '0')}`;

  before(async () => {
    // SMS to the console provider, as `npm start` has it: codes come from the sandbox inbox.
    eidhub = await startEidhub({ sandbox: true, hostname: 'localhost' });
    codeFor = inboxCodes(eidhub.inbox!);
    // Only the addresses differ from `npm start`'s: the clients, their secrets and the realm are the
    // showcase's defaults. The browser sees the showcase at its default address, which the demo
    // OIDC client accepts; Chromium maps that address to the port the showcase has here.
    const address = await showcaseAddress('127.0.0.1');
    showcase = await startShowcase({ public_url: SANDBOX_SHOWCASE_URL, auth_servers: [{ id: 'local', url: `${eidhub.url}/auth` }], eidhub: { url: eidhub.url } }, address);
    if (!skip) browser = await launchBrowser([`--host-resolver-rules=MAP ${new URL(SANDBOX_SHOWCASE_URL).host} ${address.hostname}:${address.port}`]);
  });

  after(async () => {
    await browser?.close();
    await showcase?.close();
    await eidhub?.close();
  });

  const person = (): Person => ({ browser: browser!, showcaseUrl: SANDBOX_SHOWCASE_URL, eidhubUrl: eidhub.url, codeFor });

  it('verifies a number with the sandbox realm ipification and its demo client', async () => {
    const phone = nextPhone();
    const since = Date.now();
    const auth = await postJson(showcase.url, '/sms/auth', { client_id: 'showcase', login_hint: phone });
    assert.equal(auth.status, 200, JSON.stringify(auth.body));
    assert.match(auth.setCookie ?? '', /; HttpOnly/i);
    assert.match(auth.setCookie ?? '', /; SameSite=Lax/i);
    const code = await codeFor(phone, since);
    const token = await postJson(showcase.url, '/sms/token', { code, auth_req_id: auth.body.auth_req_id, client_id: 'showcase', nonce: auth.body.nonce, server_id: 'local' }, auth.cookie);
    const verified = token.body;
    assert.equal(token.status, 200, JSON.stringify(verified));
    assert.equal(verified.phone_number, phone);
    assert.equal(verified.phone_number_verified, true);
  });

  it("the sandbox's demo OIDC client accepts the showcase's callback at its default address", () => {
    const demo = eidhub.config.oidcClients.find((c) => c.clientId === 'demo-oidc-client');
    assert.ok(demo?.redirectUris.includes('http://localhost:3001/oidc/callback'));
  });

  it('logs in with the sandbox\'s demo OIDC client and its published secret', { skip, timeout: TEST_TIMEOUT }, async () => {
    await logInWithOidc(person(), nextPhone());
  });

  it('logs in inside the page with the sandbox\'s demo API client and its published secret', { skip, timeout: TEST_TIMEOUT }, async () => {
    await logInEmbedded(person(), nextPhone());
  });
});
