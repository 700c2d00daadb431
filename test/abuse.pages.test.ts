/**
 * Attacks on the pages and URLs a browser meets: a form posted to the hosted pages from another
 * site (with a valid CSRF token), REST URLs outside an API client's allowed origins or carrying
 * user information, a sessionNonce used twice or on another session, and the logout pages of
 * RP-initiated logout (eidhub's own, in the person's language, under the hosted pages' CSP).
 *
 * eidhub runs on http://localhost:<port>; the relying party's site (the embedded flow's parent,
 * the OIDC callback and the post-logout page) on http://127.0.0.1:<port>, another site.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Frame, Page } from 'playwright-core';
import { apiClientSchema } from '../src/config/schema.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { Browserless, CapturingSms, csrfOf, smsCodeOf } from './support/http-login.js';
import { getTestPostgresUrl } from './support/postgres.js';
import { usePostgresPair } from './support/postgres-pair.js';

const API = { id: 'abuse-api-open', secret: 'abuse-api-secret-000001' };
const LIMITED = { id: 'abuse-api-limited', secret: 'abuse-api-secret-000002' };
const RP = { id: 'abuse-rp', secret: 'abuse-rp-secret-0000001' };
const SESSIONS = '/auth/rest/sessions';
const WAIT = 10_000;
const BROWSER_TIMEOUT = 60_000;
const skipBrowser = browserSkipReason();

/** The relying party's site: `/parent?src=` frames a URL; every other path is a page naming itself. */
function siteServer(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site.invalid');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    const src = url.searchParams.get('src');
    if (url.pathname === '/parent' && src) {
      res.end(`<!doctype html><title>parent</title><iframe id="eidhub" src="${src.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" width="450" height="650"></iframe>`);
      return;
    }
    res.end(`<!doctype html><title>${url.pathname.replace(/[^a-z/]/g, '')}</title><p>site</p>`);
  });
}

const databaseUrl = await getTestPostgresUrl();

const sessionNonceOf = (html: string) => /name="sessionNonce" value="([^"]+)"/.exec(html)?.[1];

describe('abuse: cross-site posts, REST URLs, sessionNonce, logout pages', () => {
  let eidhub: RunningEidhub;
  let site: Server;
  let siteUrl: string;
  let token: string;
  let limitedToken: string;
  const sms = new CapturingSms();
  let phoneSeq = 0;
  const nextPhone = () => `+4477009005${String(phoneSeq++).padStart(2, '0')}`;

  const tokenOf = async (client: { id: string; secret: string }) => {
    const res = await fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'signicat-api' }).toString(),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const call = (method: string, path: string, body?: unknown, bearer = token) =>
    fetch(`${eidhub.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const create = async (body: unknown, bearer = token) => {
    const res = await call('POST', SESSIONS, body, bearer);
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const redirectSession = () => ({
    flow: 'redirect',
    allowedProviders: ['otp-sms'],
    callbackUrls: { success: `${siteUrl}/success`, abort: `${siteUrl}/abort`, error: `${siteUrl}/error` },
  });
  const embeddedSession = () => ({ flow: 'embedded', allowedProviders: ['otp-sms'], returnUrl: `${siteUrl}/return`, embeddedParentDomains: [new URL(siteUrl).host] });
  const readSession = async (id: string, sessionNonce: string) => {
    const res = await call('GET', `${SESSIONS}/${id}?${new URLSearchParams({ sessionNonce })}`);
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };

  /** A hosted page's form post with the headers a browser would add. */
  const postForm = (url: string, form: Record<string, string>, headers: Record<string, string>) =>
    fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() });

  before(async () => {
    site = siteServer();
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    eidhub = await startEidhub({
      hostname: 'localhost',
      accountId: 'a-test-abuse-01',
      smsProvider: sms,
      apiClients: [
        { clientId: API.id, secrets: [API.secret], permissions: ['authentication-rest-api'] },
        { clientId: LIMITED.id, secrets: [LIMITED.secret], permissions: ['authentication-rest-api'], allowedOrigins: [siteUrl, 'https://shop.example.com'] },
      ],
      oidcClients: [{ clientId: RP.id, clientName: 'Abuse shop', secrets: [RP.secret], redirectUris: [`${siteUrl}/callback`], postLogoutRedirectUris: [`${siteUrl}/bye`] }],
    });
    token = await tokenOf(API);
    limitedToken = await tokenOf(LIMITED);
  });
  after(async () => {
    await eidhub?.close();
    site?.close();
  });

  describe('cross-site form posts to the hosted pages', () => {
    it('a post from another origin is refused 403 with the error page although its CSRF token is valid; the same post from eidhub works', async () => {
      const created = await create(redirectSession());
      const page = await new Browserless(eidhub.url).get(created.body.authenticationUrl!);
      const form = { csrf: csrfOf(page.body), phone: nextPhone() };
      const action = `${page.url}/phone`;
      const refusals: Record<string, string>[] = [
        { origin: siteUrl },
        { origin: 'null', 'sec-fetch-site': 'cross-site' },
        { origin: 'null', 'sec-fetch-site': 'same-site' },
        { 'sec-fetch-site': 'cross-site' },
        // The right host on another scheme is another origin.
        { origin: eidhub.url.replace('http:', 'https:') },
      ];
      for (const headers of refusals) {
        const res = await postForm(action, form, headers);
        assert.equal(res.status, 403, JSON.stringify(headers));
        assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
        assert.match(await res.text(), /For your security, this page has expired/, 'the hosted error page');
      }
      assert.equal(sms.sent.length, 0, 'no refused post sent a code');
      const still = (await (await call('GET', `${SESSIONS}/${created.body.id}`)).json()) as { status: string };
      assert.equal(still.status, 'CREATED', 'no refused post bound the login');

      const accepted = await postForm(action, form, { origin: new URL(eidhub.url).origin });
      assert.equal(accepted.status, 200);
      assert.match(await accepted.text(), /one-time-code/, 'the code step');
      // Under the pages' no-referrer policy a browser sends `Origin: null` with Sec-Fetch-Site.
      const wrongCode = await postForm(`${page.url}/code`, { csrf: form.csrf, code: '000000' }, { origin: 'null', 'sec-fetch-site': 'same-origin' });
      assert.equal(wrongCode.status, 422, 'Origin null with Sec-Fetch-Site same-origin is eidhub\'s page: the code is checked');
    });

    it('the SAML HTTP-POST binding still takes posts from other sites (a service provider posts cross-site by design)', async () => {
      for (const path of ['/auth/saml/login', '/auth/saml/logout']) {
        const res = await postForm(`${eidhub.url}${path}`, { SAMLRequest: Buffer.from('<not-saml/>').toString('base64') }, { origin: 'https://sp.example.org', 'sec-fetch-site': 'cross-site' });
        assert.notEqual(res.status, 403, path);
        assert.doesNotMatch(await res.text(), /For your security, this page has expired/, path);
      }
    });
  });

  describe('REST URLs', () => {
    it('an API client with allowedOrigins gets URLs of other origins refused, naming the field', async () => {
      const ok = await create({ ...redirectSession(), callbackUrls: { success: `${siteUrl}/s`, abort: 'https://shop.example.com/a', error: `${siteUrl}/e` } }, limitedToken);
      assert.equal(ok.status, 201);
      const cases: [unknown, string][] = [
        [{ ...redirectSession(), callbackUrls: { ...redirectSession().callbackUrls, error: 'https://evil.example.net/e' } }, 'callbackUrls.error'],
        // Same host, other port: another origin.
        [{ ...redirectSession(), callbackUrls: { ...redirectSession().callbackUrls, success: 'https://shop.example.com:8443/s' } }, 'callbackUrls.success'],
        [{ ...embeddedSession(), returnUrl: 'https://evil.example.net/return' }, 'returnUrl'],
      ];
      for (const [body, field] of cases) {
        const refused = await create(body, limitedToken);
        assert.deepEqual([refused.status, refused.body.code, refused.body.field], [400, 'origin_not_allowed', field]);
        assert.match(refused.body.detail ?? '', /allowedOrigins/);
      }
      const open = await create({ ...redirectSession(), callbackUrls: { ...redirectSession().callbackUrls, error: 'https://evil.example.net/e' } });
      assert.equal(open.status, 201, 'a client without allowedOrigins takes any https URL');
    });

    it('URLs with user information are refused for every client, naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ ...redirectSession(), callbackUrls: { ...redirectSession().callbackUrls, success: 'https://shop.example.com@evil.example.net/s' } }, 'callbackUrls.success'],
        [{ ...redirectSession(), callbackUrls: { ...redirectSession().callbackUrls, abort: 'https://user:pw@shop.example.com/a' } }, 'callbackUrls.abort'],
        [{ ...embeddedSession(), returnUrl: `${siteUrl.replace('//', '//user@')}/return` }, 'returnUrl'],
      ];
      for (const bearer of [token, limitedToken]) {
        for (const [body, field] of cases) {
          const refused = await create(body, bearer);
          assert.deepEqual([refused.status, refused.body.code, refused.body.field], [400, 'invalid_url', field]);
          assert.match(refused.body.detail ?? '', /user information/);
        }
      }
    });

    it('allowedOrigins in the config are origins: a path, user info or plain http elsewhere than loopback is a config error', () => {
      const base = { clientId: 'c', secrets: ['a-long-enough-secret-01'] };
      for (const bad of ['https://shop.example.com/', 'https://shop.example.com/path', 'https://u@shop.example.com', 'http://shop.example.com', 'shop.example.com']) {
        const parsed = apiClientSchema.safeParse({ ...base, allowedOrigins: [bad] });
        assert.equal(parsed.success, false, bad);
        assert.match(parsed.error?.issues[0]?.message ?? '', /must be an origin like https:\/\/app\.example\.com/);
      }
      assert.equal(apiClientSchema.safeParse({ ...base, allowedOrigins: ['https://shop.example.com', 'https://shop.example.com:8443', 'http://localhost:3000'] }).success, true);
    });
  });

  describe('sessionNonce', () => {
    /** An embedded login run without a browser (a browser's frame would post the same forms); returns its sessionNonce. */
    async function embeddedLogin(id: string, authenticationUrl: string): Promise<string> {
      const agent = new Browserless(eidhub.url);
      const page = await agent.get(authenticationUrl);
      const phone = nextPhone();
      const codeStep = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone });
      const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(codeStep.body), code: sms.lastCodeFor(phone) });
      const nonce = sessionNonceOf(done.body);
      assert.ok(nonce, `session ${id}: the last page carries the returnUrl's sessionNonce`);
      return nonce;
    }

    it('is random, good for one read; another session\'s nonce is refused and stays good for its own session', async () => {
      const a = (await create(embeddedSession())).body;
      const b = (await create(embeddedSession())).body;
      const nonceA = await embeddedLogin(a.id!, a.authenticationUrl!);
      const nonceB = await embeddedLogin(b.id!, b.authenticationUrl!);
      assert.notEqual(nonceA, nonceB);
      assert.ok(Buffer.from(nonceA, 'base64url').length >= 32, 'at least 256 random bits');

      const crossed = await readSession(a.id!, nonceB);
      assert.deepEqual([crossed.status, crossed.body.code, crossed.body.field], [403, 'session_nonce_mismatch', 'sessionNonce']);
      const first = await readSession(a.id!, nonceA);
      assert.deepEqual([first.status, first.body.status], [200, 'SUCCESS']);
      const reused = await readSession(a.id!, nonceA);
      assert.deepEqual([reused.status, reused.body.code], [403, 'session_nonce_mismatch'], 'the second read with one nonce is refused');
      assert.equal(reused.body.subject, undefined);
      assert.equal((await readSession(b.id!, nonceB)).status, 200, 'the nonce tried on another session is still good for its own');
    });

    it('of reads racing with one nonce exactly one gets the session', async () => {
      const s = (await create(embeddedSession())).body;
      const nonce = await embeddedLogin(s.id!, s.authenticationUrl!);
      const reads = await Promise.all(Array.from({ length: 8 }, () => readSession(s.id!, nonce)));
      assert.deepEqual(reads.map((r) => r.status).sort(), [200, 403, 403, 403, 403, 403, 403, 403]);
    });
  });

  describe('logout pages', () => {
    /** An OIDC login over HTTP that leaves eidhub's session in the agent's cookie jar. */
    async function loggedIn(): Promise<Browserless> {
      const agent = new Browserless(eidhub.url);
      const verifier = randomBytes(32).toString('base64url');
      const authorize = `${eidhub.issuer}/connect/authorize?${new URLSearchParams({
        client_id: RP.id,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: `${siteUrl}/callback`,
        state: 's1',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      })}`;
      const page = await agent.get(authorize, siteUrl);
      const phone = nextPhone();
      const codeStep = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone });
      const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(codeStep.body), code: sms.lastCodeFor(phone) }, siteUrl);
      assert.ok(done.url.startsWith(`${siteUrl}/callback?code=`), done.url);
      return agent;
    }

    function assertPageHeaders(res: Response, html: string, formAction: string) {
      const csp = res.headers.get('content-security-policy') ?? '';
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce, csp);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.ok(csp.includes(`form-action ${formAction};`), csp);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.ok(html.includes(`<style nonce="${nonce}">`), 'the styles run under the nonce');
      const elsewhere = [...html.matchAll(/(?:src|href|action)="((?:https?:)?\/\/[^"]*)"/g)].map((m) => m[1]!).filter((u) => new URL(u, eidhub.url).origin !== new URL(eidhub.url).origin);
      assert.deepEqual(elsewhere, [], 'nothing is loaded from (or posted to) another host');
      assert.doesNotMatch(html, /@import|fonts\.googleapis/);
    }

    it('the confirmation page is eidhub\'s, in the language of ui_locales or Accept-Language, under the hosted pages\' CSP', async () => {
      const agent = await loggedIn();
      const query = { client_id: RP.id, post_logout_redirect_uri: `${siteUrl}/bye`, state: 'bye-1' };
      const da = await agent.get(`${eidhub.issuer}/connect/endsession?${new URLSearchParams({ ...query, ui_locales: 'da' })}`);
      assert.equal(da.res.status, 200);
      assert.match(da.body, /<html lang="da">/);
      assert.match(da.body, /Vil du logge ud af localhost:\d+\?/);
      assert.match(da.body, /Ja, log mig ud/);
      assertPageHeaders(da.res, da.body, `'self' ${siteUrl}`);
      assert.match(da.body, /<form id="op\.logoutForm" method="post" action="http:\/\/localhost:\d+\/auth\/open\/connect\/endsession\/confirm">/, 'oidc-provider\'s own form, posting to eidhub');

      const el = await agent.get(`${eidhub.issuer}/connect/endsession?${new URLSearchParams({ ...query, ui_locales: 'el' })}`);
      assert.match(el.body, /<html lang="el">/);
      assert.match(el.body, /Θέλετε να αποσυνδεθείτε από το localhost:\d+;/);
      assertPageHeaders(el.res, el.body, `'self' ${siteUrl}`);

      // "Yes" posts the latest page's form with logout=yes; the relying party gets its state back.
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(el.body)?.[1];
      assert.ok(xsrf);
      const out = await agent.post(`${eidhub.issuer}/connect/endsession/confirm`, { xsrf, logout: 'yes' }, siteUrl);
      assert.equal(out.url, `${siteUrl}/bye?state=bye-1`);
    });

    it('the success page is eidhub\'s, in the browser\'s language, under the hosted pages\' CSP', async () => {
      for (const [acceptLanguage, lang, text] of [
        ['sv-SE,sv;q=0.9', 'sv', /Du är utloggad/],
        ['fi', 'fi', /Olet kirjautunut ulos/],
      ] as const) {
        const res = await fetch(`${eidhub.issuer}/connect/endsession/success?client_id=${RP.id}`, { headers: { 'accept-language': acceptLanguage } });
        const html = await res.text();
        assert.equal(res.status, 200);
        assert.match(html, new RegExp(`<html lang="${lang}">`));
        assert.match(html, text);
        assert.match(html, /Abuse shop/, 'the client by its name');
        assertPageHeaders(res, html, "'self'");
      }
    });
  });

  describe('in Chromium', { skip: skipBrowser }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    async function logIn(target: Page | Frame): Promise<void> {
      const phone = nextPhone();
      await target.fill('input[type=tel]', phone);
      await target.click('form[action$="/phone"] button[type=submit]');
      await target.waitForSelector('input[autocomplete="one-time-code"]', { timeout: WAIT });
      await target.fill('input[autocomplete="one-time-code"]', sms.lastCodeFor(phone));
      await target.click('form[action$="/code"] button[type=submit]');
    }

    it('the embedded flow posts from inside its frame and ends at the returnUrl with a nonce good once', { timeout: BROWSER_TIMEOUT }, async () => {
      const context = await browser.newContext();
      try {
        const created = (await create(embeddedSession())).body;
        const page = await context.newPage();
        await page.goto(`${siteUrl}/parent?${new URLSearchParams({ src: created.authenticationUrl! })}`);
        const frame = await (await page.waitForSelector('#eidhub', { state: 'attached' })).contentFrame();
        assert.ok(frame);
        await frame.waitForSelector('input[type=tel]', { timeout: WAIT });
        await logIn(frame);
        await frame.waitForURL((u) => u.href.startsWith(`${siteUrl}/return?`), { timeout: WAIT });
        const nonce = new URL(frame.url()).searchParams.get('sessionNonce');
        assert.ok(nonce);
        assert.equal((await readSession(created.id!, nonce)).body.status, 'SUCCESS');
        assert.equal((await readSession(created.id!, nonce)).status, 403, 'used once');
      } finally {
        await context.close();
      }
    });

    it('an RP-initiated logout confirmed on eidhub\'s page logs the person out and returns to the relying party', { timeout: BROWSER_TIMEOUT }, async () => {
      const context = await browser.newContext({ locale: 'nl-NL' });
      try {
        const page = await context.newPage();
        const violations: string[] = [];
        page.on('console', (m) => {
          if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
        });
        const authorize = `${eidhub.issuer}/connect/authorize?${new URLSearchParams({
          client_id: RP.id,
          response_type: 'code',
          scope: 'openid',
          redirect_uri: `${siteUrl}/callback`,
          code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
          code_challenge_method: 'S256',
        })}`;
        await page.goto(authorize);
        await logIn(page);
        await page.waitForURL((u) => u.href.startsWith(`${siteUrl}/callback?code=`), { timeout: WAIT });

        await page.goto(`${eidhub.issuer}/connect/endsession?${new URLSearchParams({ client_id: RP.id, post_logout_redirect_uri: `${siteUrl}/bye`, state: 'chromium' })}`);
        assert.equal(await page.getAttribute('html', 'lang'), 'nl', 'the browser\'s language');
        await page.click('button[name="logout"][value="yes"]');
        await page.waitForURL((u) => u.href.startsWith(`${siteUrl}/bye`), { timeout: WAIT });
        assert.equal(new URL(page.url()).searchParams.get('state'), 'chromium');

        // Logged out: a new authorization asks for a login again instead of answering at once.
        await page.goto(authorize);
        await page.waitForSelector('input[type=tel]', { timeout: WAIT });
        assert.ok(new URL(page.url()).pathname.startsWith('/login/'), page.url());
        assert.deepEqual(violations, [], 'no CSP violation on the way');
      } finally {
        await context.close();
      }
    });
  });
});

describe('sessionNonce on two processes sharing PostgreSQL', { skip: databaseUrl === null ? 'no PostgreSQL (set EIDHUB_DATABASE_URL or install the server)' : false }, () => {
  const pair = usePostgresPair(databaseUrl!, { accountSid: 'AC016', authToken: 'twilio-secret-016' }, {
    apiClients: [{ clientId: API.id, secrets: [API.secret], permissions: ['authentication-rest-api'] }],
  });
  const { processes } = pair;

  const bearerOf = async (publicUrl: string) => {
    const res = await fetch(`${publicUrl}/auth/open/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${API.id}:${API.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'signicat-api' }).toString(),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  };

  it('reads racing on both processes with one nonce: exactly one gets the session', async () => {
    const [a, b] = processes;
    const bearers = [await bearerOf(a!.publicUrl), await bearerOf(b!.publicUrl)];
    const created = await fetch(`${a!.publicUrl}${SESSIONS}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearers[0]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ flow: 'embedded', allowedProviders: ['otp-sms'], returnUrl: 'https://shop.example/return', embeddedParentDomains: ['shop.example'] }),
    });
    const session = (await created.json()) as { id: string; authenticationUrl: string };
    assert.equal(created.status, 201);
    const agent = new Browserless(a!.publicUrl);
    const page = await agent.get(session.authenticationUrl);
    const phone = '+447700900599';
    const since = Date.now();
    const codeStep = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone });
    const message = await pair.twilio.waitForMessage((m) => m.to === phone && m.dateCreated.getTime() >= since, 5000);
    const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(codeStep.body), code: smsCodeOf(message.body)! });
    const nonce = sessionNonceOf(done.body);
    assert.ok(nonce);
    const reads = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        fetch(`${processes[i % 2]!.publicUrl}${SESSIONS}/${session.id}?${new URLSearchParams({ sessionNonce: nonce })}`, { headers: { authorization: `Bearer ${bearers[i % 2]}` } }).then((r) => r.status),
      ),
    );
    assert.deepEqual(reads.sort(), [200, 403, 403, 403, 403, 403, 403, 403]);
  });
});
