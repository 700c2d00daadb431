/**
 * The Authentication REST API end to end, as an integrator uses it: an API token from
 * client_credentials, a session created over the API, Chromium as the person (in a top-level
 * window for the redirect flow, inside an iframe of the integrator's page for the embedded flow),
 * a fake Twilio receiving the SMS, and the session read back over the API.
 *
 * eidhub runs on http://localhost:<port> and the integrator's site on http://127.0.0.1:<port>, so
 * the frame is cross-site: its cookie is a third-party cookie and only CHIPS (Partitioned) keeps it.
 * A third site, http://127.0.0.2:<port>, plays a page that is not allowed to frame the login.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Frame, Page, Response } from 'playwright-core';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { smsCodeOf } from './support/http-login.js';
import { OpenApiValidator } from './support/openapi.js';
import { sessionCalls } from './support/rest-api.js';

const skip = browserSkipReason();
const API_CLIENT_ID = 'rest-integrator-01';
const API_SECRET = 'a-long-api-client-secret-0001';
/** Every wait in a browser is bounded by this (ms), so a broken flow fails instead of hanging. */
const WAIT = 10_000;
const TEST_TIMEOUT = 60_000;

/** The session as the API returns it; only the fields these tests read. */
interface Session {
  id: string;
  status: string;
  flow: string;
  authenticationUrl: string;
  externalReference?: string;
  provider?: string;
  loa?: string;
  subject?: Record<string, string>;
}

/** What the integrator's parent page records of each message event. */
interface ReceivedMessage {
  origin: string;
  data: unknown;
}
type ParentWindow = Window & { eidhubMessages?: ReceivedMessage[] };

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The integrator's site: `/parent?src=…` frames a URL and records every postMessage it gets;
 * `/return` is the embedded flow's returnUrl; `/callback/*` are the redirect flow's callbacks.
 */
function siteHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://site.invalid');
  res.setHeader('content-type', 'text/html; charset=utf-8');
  if (url.pathname === '/parent') {
    const src = url.searchParams.get('src') ?? 'about:blank';
    res.end(`<!doctype html><html><head><title>integrator</title></head><body>
<script>
window.eidhubMessages = [];
window.addEventListener('message', function (event) { window.eidhubMessages.push({ origin: event.origin, data: event.data }); });
</script>
<iframe id="eidhub" src="${escapeAttribute(src)}" width="450" height="650"></iframe>
</body></html>`);
    return;
  }
  res.end(`<!doctype html><title>${escapeAttribute(url.pathname)}</title><p id="landed">${escapeAttribute(url.pathname)}</p>`);
}

async function listen(server: Server, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

describe('Authentication REST API with SMS OTP, in Chromium', { skip }, () => {
  let twilio: FakeTwilio;
  let eidhub: RunningEidhub;
  let browser: Browser;
  let siteServer: Server;
  let evilServer: Server;
  /** The allowed parent: http://127.0.0.1:<port>. */
  let site: string;
  /** A parent that is not allowed: http://127.0.0.2:<port>, a third site. */
  let evil: string;
  let token: string;
  let openapi: OpenApiValidator;
  let phoneSeq = 0;
  /** A fresh number per login, so no test meets the per-number hourly limit of another. */
  const nextPhone = () => `+4477009002${String(phoneSeq++).padStart(2, '0')}`;

  before(async () => {
    twilio = await startFakeTwilio({ accountSid: 'AC123', authToken: 'twilio-secret' });
    siteServer = createServer(siteHandler);
    evilServer = createServer(siteHandler);
    site = await listen(siteServer, '127.0.0.1');
    evil = await listen(evilServer, '127.0.0.2');
    eidhub = await startEidhub({
      hostname: 'localhost',
      accountId: 'a-test-rest-0001',
      sms: { provider: 'twilio', accountSid: 'AC123', authToken: 'twilio-secret', from: 'eidhub', baseUrl: twilio.url },
      apiClients: [{ clientId: API_CLIENT_ID, secrets: [API_SECRET], permissions: ['authentication-rest-api'] }],
    });
    assert.notEqual(new URL(eidhub.url).hostname, new URL(site).hostname, 'eidhub and the parent are different sites');
    token = await apiToken();
    openapi = await OpenApiValidator.fetch(eidhub.url);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await eidhub?.close();
    await twilio?.close();
    siteServer?.close();
    evilServer?.close();
  });

  /** An API access token obtained like an integrator: client_credentials with HTTP Basic. */
  async function apiToken(): Promise<string> {
    const res = await fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(API_CLIENT_ID)}:${encodeURIComponent(API_SECRET)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'signicat-api' }),
      signal: AbortSignal.timeout(WAIT),
    });
    const body = (await res.json()) as { access_token?: string; token_type?: string; scope?: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.match(body.scope ?? '', /\bsignicat-api\b/);
    assert.ok(body.access_token);
    return body.access_token;
  }

  const { createSession, getSession } = sessionCalls<Session>(() => ({ origin: eidhub.url, token, openapi }), WAIT);

  function embeddedRequest(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      allowedProviders: ['otp-sms'],
      flow: 'embedded',
      requestedAttributes: ['idpId', 'phoneNumber'],
      returnUrl: `${site}/return`,
      embeddedParentDomains: [new URL(site).host],
      ...extra,
    };
  }

  function redirectRequest(externalReference: string): Record<string, unknown> {
    return {
      allowedProviders: ['otp-sms'],
      flow: 'redirect',
      requestedAttributes: ['idpId', 'phoneNumber'],
      callbackUrls: { success: `${site}/callback/success`, abort: `${site}/callback/abort`, error: `${site}/callback/error` },
      externalReference,
    };
  }

  async function newContext(b: Browser = browser): Promise<BrowserContext> {
    const context = await b.newContext();
    context.setDefaultTimeout(WAIT);
    context.setDefaultNavigationTimeout(WAIT);
    return context;
  }

  async function codeFor(phone: string, since: number): Promise<string> {
    const msg = await twilio.waitForMessage((m) => m.to === phone && m.dateCreated.getTime() >= since, 5000);
    const code = smsCodeOf(msg.body);
    assert.ok(code, `the SMS ends with "@host #code": ${msg.body.replace(/\d{6}/g, '######')}`);
    return code;
  }

  /** Types the number and the code it receives, on a page or inside the frame. */
  async function logIn(target: Page | Frame, phone: string): Promise<void> {
    await target.fill('input[type=tel]', phone);
    const since = Date.now();
    await target.click('form[action$="/phone"] button[type=submit]');
    const code = await codeFor(phone, since);
    await target.fill('input[autocomplete="one-time-code"]', code);
    await target.click('form[action$="/code"] button[type=submit]');
  }

  /** Opens the parent page on `origin` framing `src`; returns the page and the iframe's frame. */
  async function openParent(context: BrowserContext, origin: string, src: string): Promise<{ page: Page; frame: Frame }> {
    const page = await context.newPage();
    await page.goto(`${origin}/parent?${new URLSearchParams({ src })}`);
    const frame = await (await page.waitForSelector('#eidhub', { state: 'attached' })).contentFrame();
    assert.ok(frame, 'the iframe has a frame');
    return { page, frame };
  }

  async function parentMessages(page: Page): Promise<ReceivedMessage[]> {
    return page.evaluate(() => (window as ParentWindow).eidhubMessages ?? []);
  }

  /** Waits (bounded) until the parent got a message, then returns all it got. */
  async function waitForParentMessage(page: Page): Promise<ReceivedMessage[]> {
    await page.waitForFunction(() => ((window as ParentWindow).eidhubMessages ?? []).length > 0, undefined, { timeout: WAIT });
    return parentMessages(page);
  }

  function assertSubject(session: Session, phone: string): void {
    assert.equal(session.status, 'SUCCESS');
    assert.equal(session.provider, 'otp-sms');
    assert.equal(session.loa, 'low');
    assert.ok(session.subject?.id, 'subject.id is set');
    assert.deepEqual(session.subject, { id: session.subject.id, idpId: phone, phoneNumber: phone });
    assert.ok(!session.subject.id.includes(phone.slice(1)), 'subject.id does not reveal the number');
  }

  it('redirect flow: from POST /sessions to SUCCESS, back on callbackUrls.success with sessionId and externalReference', { timeout: TEST_TIMEOUT }, async () => {
    const phone = nextPhone();
    const created = await createSession(redirectRequest('order-4711'));
    assert.equal(created.flow, 'redirect');
    assert.ok(created.authenticationUrl.startsWith(`${eidhub.url}/`), created.authenticationUrl);

    const context = await newContext();
    try {
      const page = await context.newPage();
      const first = await page.goto(created.authenticationUrl);
      // A redirect-flow page is never framed.
      assert.match((await first?.headerValue('content-security-policy')) ?? '', /frame-ancestors 'none'/);
      await logIn(page, phone);
      await page.waitForURL((u) => u.href.startsWith(`${site}/callback/success?`));
      const landed = new URL(page.url());
      assert.equal(landed.searchParams.get('sessionId'), created.id);
      assert.equal(landed.searchParams.get('externalReference'), 'order-4711');
    } finally {
      await context.close();
    }

    const session = await getSession(created.id);
    assertSubject(session, phone);
    assert.equal(session.externalReference, 'order-4711');
  });

  it('opening authenticationUrl elsewhere first (a link scanner, the integrator\'s server) changes nothing: the person still logs in', { timeout: TEST_TIMEOUT }, async () => {
    const phone = nextPhone();
    const created = await createSession(redirectRequest('order-scan'));
    const scanned = await fetch(created.authenticationUrl, { signal: AbortSignal.timeout(WAIT) });
    assert.equal(scanned.status, 200);
    assert.match(await scanned.text(), /<input[^>]*type="tel"/, 'the scanner sees the phone step');
    const head = await fetch(created.authenticationUrl, { method: 'HEAD', signal: AbortSignal.timeout(WAIT) });
    assert.equal(head.status, 200);
    assert.equal((await getSession(created.id)).status, 'CREATED', 'neither GET nor HEAD bound the session');

    const context = await newContext();
    try {
      const page = await context.newPage();
      const opened = await page.goto(created.authenticationUrl);
      assert.equal(opened?.status(), 200);
      await page.waitForSelector('input[type=tel][autocomplete=tel]');
      await logIn(page, phone);
      await page.waitForURL((u) => u.href.startsWith(`${site}/callback/success?`));
    } finally {
      await context.close();
    }
    assertSubject(await getSession(created.id), phone);
  });

  it('embedded flow in an iframe of an allowed parent: CHIPS cookie, frame-ancestors, returnUrl?sessionNonce, postMessage, SUCCESS', { timeout: TEST_TIMEOUT }, async () => {
    const phone = nextPhone();
    const created = await createSession(embeddedRequest());
    assert.equal(created.flow, 'embedded');

    const context = await newContext();
    try {
      // The frame's first response: the one that sets the binding cookie (its first form post binds the session).
      const pageResponses: Response[] = [];
      context.on('response', (r) => {
        if (r.url() === created.authenticationUrl) pageResponses.push(r);
      });
      const { page, frame } = await openParent(context, site, created.authenticationUrl);
      await frame.waitForSelector('input[type=tel]');
      assert.equal(pageResponses.length, 1, 'the hosted page was loaded once, in the frame');
      const hosted = pageResponses[0]!;
      assert.equal(hosted.frame(), frame, 'the hosted page answered the iframe');

      const csp = (await hosted.headerValue('content-security-policy')) ?? '';
      const frameAncestors = /(?:^|;)\s*frame-ancestors ([^;]*)/.exec(csp)?.[1]?.trim().split(/\s+/) ?? [];
      assert.deepEqual(frameAncestors, [new URL(site).host], `frame-ancestors lists exactly the allowed parent: ${csp}`);
      assert.equal(await hosted.headerValue('x-frame-options'), null, 'no X-Frame-Options that would forbid every frame');

      const cookieName = `__Host-eidhub-${created.id}`;
      const setCookies = ((await hosted.headerValue('set-cookie')) ?? '').split('\n');
      const binding = setCookies.find((c) => c.startsWith(`${cookieName}=`));
      assert.ok(binding, `a ${cookieName} cookie is set: ${setCookies.map((c) => c.split('=')[0]).join(', ')}`);
      const attributes = binding.split(';').slice(1).map((a) => a.trim().toLowerCase());
      for (const expected of ['secure', 'path=/', 'samesite=none', 'partitioned', 'httponly']) {
        assert.ok(attributes.includes(expected), `the cookie has ${expected}: ${attributes.join('; ')}`);
      }
      assert.ok(!attributes.some((a) => a.startsWith('domain=')), '__Host- cookies carry no Domain');

      // Chromium kept it, partitioned by the parent's site (not eidhub's).
      const stored = (await context.cookies(eidhub.url)).find((c) => c.name === cookieName);
      assert.ok(stored, 'Chromium stored the partitioned cookie');
      assert.equal(stored.sameSite, 'None');
      assert.equal(stored.secure, true);
      assert.equal(stored.httpOnly, true);
      assert.equal(stored.path, '/');
      assert.equal(stored.partitionKey, site.replace(/:\d+$/, ''), 'partitioned by the top-level site');

      await logIn(frame, phone);
      await frame.waitForURL((u) => u.href.startsWith(`${site}/return?`));
      const returned = new URL(frame.url());
      assert.equal(returned.origin + returned.pathname, `${site}/return`);
      const sessionNonce = returned.searchParams.get('sessionNonce');
      assert.ok(sessionNonce, 'the frame arrived at returnUrl?sessionNonce=…');
      assert.deepEqual([...returned.searchParams.keys()], ['sessionNonce'], 'nothing else (no CSRF key) leaks onto the returnUrl');
      assert.equal(page.url().startsWith(`${site}/parent?`), true, 'only the frame navigated; the parent page stayed');

      const messages = await waitForParentMessage(page);
      assert.deepEqual(messages, [{ origin: eidhub.url, data: { type: 'eidhub:session', sessionId: created.id, status: 'SUCCESS' } }]);

      const session = await getSession(created.id, sessionNonce);
      assertSubject(session, phone);
    } finally {
      await context.close();
    }
  });

  it('embedded flow framed by a parent that is not allowed renders nothing', { timeout: TEST_TIMEOUT }, async () => {
    const created = await createSession(embeddedRequest());
    const context = await newContext();
    try {
      let hosted: Response | undefined;
      context.on('response', (r) => {
        if (r.url() === created.authenticationUrl) hosted = r;
      });
      const { page, frame } = await openParent(context, evil, created.authenticationUrl);
      // Chromium replaces a page framed against its frame-ancestors with its error page.
      await frame.waitForURL('chrome-error://chromewebdata/');
      assert.equal(await frame.locator('form').count(), 0, 'no form in the frame');
      assert.equal(await frame.locator('input').count(), 0, 'no input in the frame');
      assert.ok(hosted, 'eidhub answered the frame');
      const csp = (await hosted.headerValue('content-security-policy')) ?? '';
      assert.match(csp, new RegExp(`frame-ancestors ${new URL(site).host.replace(/\./g, '\\.')}(;|$)`), csp);
      assert.ok(!csp.includes(new URL(evil).hostname), 'the evil parent is not in frame-ancestors');
      assert.deepEqual(await parentMessages(page), [], 'the evil parent gets no message');
    } finally {
      await context.close();
    }
  });

  it('embedded flow succeeds when the browser refuses every eidhub cookie', { timeout: TEST_TIMEOUT }, async () => {
    // Pages fulfilled by the test have no address, so Chromium's Local Network Access checks
    // would block their forms' navigations to loopback URLs; this browser turns those checks off.
    const strict = await launchBrowser(['--disable-features=LocalNetworkAccessChecks']);
    try {
      const phone = nextPhone();
      const created = await createSession(embeddedRequest());
      const context = await newContext(strict);
      const eidhubOrigin = new URL(eidhub.url).origin;
      let refusedSetCookies = 0;
      const cookiesSent: string[] = [];
      // The browser that refuses cookies: every eidhub answer reaches it without Set-Cookie, and
      // whatever route.fetch() put into the context's jar is thrown away before the next request.
      await context.route(
        (url) => url.origin === eidhubOrigin,
        async (route) => {
          const cookie = await route.request().headerValue('cookie');
          if (cookie) cookiesSent.push(cookie);
          const response = await route.fetch({ maxRedirects: 0 });
          await context.clearCookies();
          const headers = Object.fromEntries(response.headersArray().filter((h) => h.name.toLowerCase() !== 'set-cookie').map((h) => [h.name, h.value]));
          if (response.headersArray().some((h) => h.name.toLowerCase() === 'set-cookie')) refusedSetCookies++;
          const location = response.headers()['location'];
          if (response.status() >= 300 && response.status() < 400 && location) {
            // A redirect's target would not pass through this route again: go there by a page instead.
            const target = new URL(location, route.request().url()).href;
            await route.fulfill({ status: 200, contentType: 'text/html', body: `<!doctype html><meta http-equiv="refresh" content="0;url=${escapeAttribute(target)}">` });
            return;
          }
          await route.fulfill({ status: response.status(), headers, body: await response.body() });
        },
      );
      try {
        const { page, frame } = await openParent(context, site, created.authenticationUrl);
        await frame.waitForSelector('input[type=tel]');
        assert.ok(refusedSetCookies > 0, 'the hosted page tried to set its cookie and the browser refused it');
        assert.deepEqual(await context.cookies(), [], 'no cookie in the browser');

        await logIn(frame, phone);
        await frame.waitForURL((u) => u.href.startsWith(`${site}/return?`));
        const sessionNonce = new URL(frame.url()).searchParams.get('sessionNonce');
        assert.ok(sessionNonce, 'the frame arrived at returnUrl?sessionNonce=…');
        const messages = await waitForParentMessage(page);
        assert.deepEqual(messages, [{ origin: eidhub.url, data: { type: 'eidhub:session', sessionId: created.id, status: 'SUCCESS' } }]);
        assert.deepEqual(cookiesSent, [], 'eidhub never received a cookie: the form field alone carried the binding');
        assert.deepEqual(await context.cookies(), [], 'still no cookie in the browser');

        assertSubject(await getSession(created.id, sessionNonce), phone);
      } finally {
        await context.close();
      }
    } finally {
      await strict.close();
    }
  });

  it('Cancel on the hosted page: ABORT, and the browser lands on callbackUrls.abort', { timeout: TEST_TIMEOUT }, async () => {
    const created = await createSession(redirectRequest('order-4712'));
    const context = await newContext();
    try {
      const page = await context.newPage();
      await page.goto(created.authenticationUrl);
      await page.click('form[action$="/cancel"] button[type=submit]');
      await page.waitForURL((u) => u.href.startsWith(`${site}/callback/abort?`));
      const landed = new URL(page.url());
      assert.equal(landed.searchParams.get('sessionId'), created.id);
      assert.equal(landed.searchParams.get('externalReference'), 'order-4712');
    } finally {
      await context.close();
    }
    const session = await getSession(created.id);
    assert.equal(session.status, 'ABORT');
    assert.equal(session.subject, undefined, 'no subject without a login');
  });
});
