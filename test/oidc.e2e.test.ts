/**
 * OpenID Connect login with SMS OTP, end to end: openid-client as the relying party, Chromium as
 * the person, a fake Twilio server (speaking Twilio's API) receiving the SMS.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { smsCodeOf } from './support/http-login.js';

const skip = browserSkipReason();
const PHONE = '+447700900123';
const CLIENT_ID = 'dev-test-client-123';
const SECRET = 'a-long-client-secret-0001';
const SECOND_SECRET = 'a-long-client-secret-0002';

/** A relying party's callback endpoint: it only has to exist. */
async function startRp(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.end('relying party callback'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('OIDC login with SMS OTP', { skip }, () => {
  let twilio: FakeTwilio;
  let eidhub: RunningEidhub;
  let browser: Browser;
  let rp: { server: Server; url: string };
  let config: oidc.Configuration;
  let publicConfig: oidc.Configuration;

  before(async () => {
    twilio = await startFakeTwilio({ accountSid: 'AC123', authToken: 'twilio-secret' });
    rp = await startRp();
    eidhub = await startEidhub({
      hostname: 'localhost',
      accountId: 'a-test-0001',
      sms: { provider: 'twilio', accountSid: 'AC123', authToken: 'twilio-secret', from: 'eidhub', baseUrl: twilio.url },
      // Every login of this suite comes from 127.0.0.1, more than one person's budget (test/abuse.budgets.test.ts checks it).
      otp: { budgets: { perAddress: { limit: 1000 } } },
      oidcClients: [
        {
          clientId: CLIENT_ID,
          clientName: 'Demo shop',
          secrets: [SECRET, SECOND_SECRET],
          redirectUris: [`${rp.url}/callback`],
          grantTypes: ['authorization_code', 'refresh_token'],
          scopes: ['openid', 'idp-id', 'phone'],
          pkce: 'required',
          idTokenClaims: ['idp_id', 'phone_number'],
        },
        { clientId: 'public-spa', redirectUris: [`${rp.url}/spa`], scopes: ['openid', 'idp-id', 'phone'], idTokenSigningAlg: 'ES256' },
      ],
    });
    browser = await launchBrowser();
    config = await oidc.discovery(new URL(eidhub.issuer), CLIENT_ID, SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    publicConfig = await oidc.discovery(new URL(eidhub.issuer), 'public-spa', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  });

  after(async () => {
    await browser?.close();
    await eidhub?.close();
    await twilio?.close();
    rp?.server.close();
  });

  /** Starts an authorization request with PKCE, state and nonce; returns what the RP keeps. */
  async function authorize(extra: Record<string, string> = {}, cfg = config, redirect = `${rp.url}/callback`) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: redirect,
      scope: 'openid idp-id phone',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...extra,
    });
    return { url, verifier, state, nonce };
  }

  async function codeFor(phone: string, since: number): Promise<{ code: string; from: string; body: string }> {
    const msg = await twilio.waitForMessage((m) => m.to === phone && m.dateCreated.getTime() >= since, 5000);
    const code = smsCodeOf(msg.body);
    assert.ok(code, `the SMS ends with "@host #code": ${msg.body.replace(/\d{6}/g, '######')}`);
    return { code, from: msg.from, body: msg.body };
  }

  async function submitPhone(page: Page, phone?: string) {
    if (phone !== undefined) await page.fill('input[type=tel]', phone);
    await page.click('form[action$="/phone"] button[type=submit]');
  }

  async function submitCode(page: Page, code: string) {
    await page.fill('input[autocomplete="one-time-code"]', code);
    await page.click('form[action$="/code"] button[type=submit]');
  }

  /** A full login in a fresh browser context; returns the tokens and the claims. */
  async function login(opts: { extra?: Record<string, string>; phone?: string; cfg?: oidc.Configuration; redirect?: string } = {}) {
    const phone = opts.phone ?? PHONE;
    const req = await authorize(opts.extra ?? {}, opts.cfg ?? config, opts.redirect);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(req.url.href);
      const since = Date.now();
      await submitPhone(page, phone);
      const { code } = await codeFor(phone, since);
      await submitCode(page, code);
      await page.waitForURL((u) => u.href.startsWith(opts.redirect ?? `${rp.url}/callback`));
      const tokens = await oidc.authorizationCodeGrant(opts.cfg ?? config, new URL(page.url()), {
        pkceCodeVerifier: req.verifier,
        expectedState: req.state,
        expectedNonce: req.nonce,
      });
      return { tokens, callbackUrl: new URL(page.url()) };
    } finally {
      await context.close();
    }
  }

  it('logs a person in: PKCE, nonce, state, login_hint, sender from acr_values, Greek pages, ID token and UserInfo', async () => {
    const req = await authorize({
      login_hint: `mobile:${PHONE}`,
      acr_values: 'idp:otp-sms otp_sms_sender:Signicat__AS',
      ui_locales: 'el',
      prompt: 'login',
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(req.url.href);

    assert.equal(await page.getAttribute('html', 'lang'), 'el');
    assert.equal(await page.inputValue('input[type=tel]'), PHONE, 'login_hint prefills the number');
    const label = await page.textContent('label[for=phone]');
    assert.match(label ?? '', /[\u0370-\u03ff]/, `the label is Greek: ${label}`);
    const csp = (await page.request.get(page.url())).headers()['content-security-policy'] ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    const formAction = /(?:^|;)\s*form-action ([^;]*)/.exec(csp)?.[1]?.trim().split(/\s+/) ?? [];
    assert.deepEqual(formAction, ["'self'", new URL(rp.url).origin], `forms may lead to eidhub and the client's redirect origin only: ${csp}`);

    const since = Date.now();
    await submitPhone(page);
    const sms = await codeFor(PHONE, since);
    assert.equal(sms.from, 'Signicat AS', 'sender name from acr_values, __ as a space');
    assert.match(sms.body, /[\u0370-\u03ff]/, 'the SMS is in the UI language');
    assert.ok(sms.body.trimEnd().endsWith(`@${new URL(eidhub.url).host} #${sms.code}`));
    assert.match(await page.textContent('body') ?? '', /[\u0370-\u03ff]/);

    await submitCode(page, sms.code);
    await page.waitForURL((u) => u.href.startsWith(`${rp.url}/callback`));
    const callback = new URL(page.url());
    assert.equal(callback.searchParams.get('iss'), eidhub.issuer, 'iss in the authorization response');
    await context.close();

    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    const claims = tokens.claims()!;
    assert.equal(claims.iss, eidhub.issuer);
    assert.equal(claims.aud, CLIENT_ID);
    assert.equal(claims.nonce, req.nonce);
    assert.equal(claims.acr, 'loa:low');
    assert.deepEqual(claims.amr, ['sms', 'otp']);
    assert.equal(claims.idp_id, PHONE, 'idTokenClaims of the client');
    assert.equal(claims.phone_number, PHONE);
    assert.equal(claims.idp_issuer, undefined, 'not in this client\'s idTokenClaims');
    assert.ok(!String(claims.sub).includes('7700900123'), 'sub never reveals the number');
    assert.ok(tokens.refresh_token, 'a client with the refresh_token grant gets a refresh token');

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.deepEqual(userinfo, { sub: claims.sub, idp_id: PHONE, idp_issuer: 'otp-sms', phone_number: PHONE });

    const second = await login({ extra: { prompt: 'login' } });
    assert.equal(second.tokens.claims()!.sub, claims.sub, 'the same number gives the same sub');

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal(refreshed.claims()?.sub, claims.sub);
  });

  it('accepts every configured secret, by client_secret_basic and client_secret_post', async () => {
    const post = await oidc.discovery(new URL(eidhub.issuer), CLIENT_ID, SECOND_SECRET, oidc.ClientSecretPost(SECOND_SECRET), { execute: [oidc.allowInsecureRequests] });
    const req = await authorize({}, post);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(req.url.href);
    const since = Date.now();
    await submitPhone(page, '+447700900124');
    await submitCode(page, (await codeFor('+447700900124', since)).code);
    await page.waitForURL((u) => u.href.startsWith(`${rp.url}/callback`));
    const tokens = await oidc.authorizationCodeGrant(post, new URL(page.url()), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    await context.close();
    assert.ok(tokens.access_token);

    const wrong = await oidc.discovery(new URL(eidhub.issuer), CLIENT_ID, 'not-the-secret-at-all', undefined, { execute: [oidc.allowInsecureRequests] });
    await assert.rejects(oidc.refreshTokenGrant(wrong, 'whatever'), (err: Error) => {
      const challenge = err instanceof oidc.WWWAuthenticateChallengeError ? err.cause[0]?.parameters.error : (err as oidc.ResponseBodyError).error;
      return challenge === 'invalid_client';
    });
  });

  it('signs with ES256 for a public client that uses PKCE', async () => {
    const { tokens } = await login({ cfg: publicConfig, redirect: `${rp.url}/spa`, phone: '+447700900125' });
    const header = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()) as { alg: string };
    assert.equal(header.alg, 'ES256');
  });

  it('refuses a reused authorization code with invalid_grant and revokes what it gave', async () => {
    const req = await authorize();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(req.url.href);
    const since = Date.now();
    await submitPhone(page, '+447700900126');
    await submitCode(page, (await codeFor('+447700900126', since)).code);
    await page.waitForURL((u) => u.href.startsWith(`${rp.url}/callback`));
    const callback = new URL(page.url());
    await context.close();
    const checks = { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce };
    const first = await oidc.authorizationCodeGrant(config, callback, checks);
    await assert.rejects(oidc.authorizationCodeGrant(config, callback, checks), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    const introspection = await oidc.tokenIntrospection(config, first.access_token);
    assert.equal(introspection.active, false, 'the first access token is revoked');
    await assert.rejects(oidc.fetchUserInfo(config, first.access_token, oidc.skipSubjectCheck));
  });

  it('shows an error page and does not redirect for an unregistered redirect_uri', async () => {
    const url = new URL(`${eidhub.issuer}/connect/authorize`);
    url.search = new URLSearchParams({ client_id: CLIENT_ID, response_type: 'code', redirect_uri: 'https://evil.example/cb', scope: 'openid', state: 's' }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /redirect_uri/);
  });

  it('refuses a missing or plain PKCE challenge', async () => {
    const base = { client_id: CLIENT_ID, response_type: 'code', redirect_uri: `${rp.url}/callback`, scope: 'openid', state: 'xyz' };
    const variants: Record<string, string>[] = [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }];
    for (const extra of variants) {
      const url = new URL(`${eidhub.issuer}/connect/authorize`);
      url.search = new URLSearchParams({ ...base, ...extra }).toString();
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 303);
      const location = new URL(res.headers.get('location')!);
      assert.equal(location.origin + location.pathname, `${rp.url}/callback`);
      assert.equal(location.searchParams.get('error'), 'invalid_request', JSON.stringify(extra));
      assert.match(location.searchParams.get('error_description') ?? '', /PKCE|code_challenge/);
    }
  });

  it('refuses malformed parameters with clear errors', async () => {
    const base = { client_id: CLIENT_ID, redirect_uri: `${rp.url}/callback`, scope: 'openid', state: 's' };
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ response_type: 'token' }, 'unsupported_response_type', /response_type/],
      [{ response_type: 'code', prompt: 'bogus' }, 'invalid_request', /prompt/],
      [{ response_type: 'code', max_age: 'soon' }, 'invalid_request', /max_age/],
      [{ response_type: 'code', code_challenge: 'short' }, 'invalid_request', /code_challenge/],
    ];
    for (const [extra, error, description] of cases) {
      const url = new URL(`${eidhub.issuer}/connect/authorize`);
      url.search = new URLSearchParams({ ...base, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...extra }).toString();
      const res = await fetch(url, { redirect: 'manual' });
      const location = res.headers.get('location');
      if (location) {
        const url = new URL(location);
        // Errors travel in the query, or in the fragment for response types that use it.
        const params = url.hash ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
        assert.equal(url.origin, rp.url, 'errors go only to the registered redirect_uri');
        assert.equal(params.get('error'), error, JSON.stringify(extra));
        assert.match(params.get('error_description') ?? '', description);
      } else {
        assert.equal(res.status, 400);
        const body = await res.text();
        assert.match(body, new RegExp(error));
        assert.match(body, description);
      }
    }
    // An unknown client has no trusted redirect: an error page.
    const res = await fetch(`${eidhub.issuer}/connect/authorize?client_id=nobody&response_type=code&scope=openid&redirect_uri=https://x.example/cb`, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });

  it("logs in with the seed's own Signi__Kitten sender: the SMS leaves from the configured sender, one warning names the client", async () => {
    const extra = { acr_values: 'idp:otp-sms otp_sms_sender:Signi__Kitten' };
    const first = await login({ extra, phone: '+447700900141' });
    assert.equal(first.tokens.claims()?.phone_number, '+447700900141');
    await login({ extra, phone: '+447700900142' });
    const sent = twilio.messages.filter((m) => m.to === '+447700900141' || m.to === '+447700900142');
    assert.deepEqual(
      sent.map((m) => m.from),
      ['eidhub', 'eidhub'],
      'a sender the provider cannot carry (12 characters) falls back to sms.from',
    );
    const warnings = eidhub
      .logText()
      .split('\n')
      .filter((line) => line.includes('cannot carry'));
    assert.equal(warnings.length, 1, 'one warning, not one per login');
    assert.match(warnings[0]!, new RegExp(`"clientId":"${CLIENT_ID}"`));
    assert.match(warnings[0]!, /"level":40/);
  });

  it('voids a code after 3 wrong attempts, and refuses an invalid number without sending', async () => {
    const req = await authorize();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(req.url.href);

    const sentBefore = twilio.messages.length;
    await submitPhone(page, '+44 20 7946 0000');
    assert.match(await page.textContent('.field-error') ?? '', /mobile/i, 'a fixed line is refused with a clear message');
    await submitPhone(page, 'not a number');
    assert.ok(await page.isVisible('.field-error'));
    assert.equal(twilio.messages.length, sentBefore, 'no SMS for an invalid number');

    const phone = '+447700900127';
    const since = Date.now();
    await submitPhone(page, phone);
    const { code } = await codeFor(phone, since);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 3; i++) await submitCode(page, wrong);
    assert.match(await page.textContent('.field-error') ?? '', /attempt|new code/i);
    await submitCode(page, code);
    assert.ok(await page.isVisible('.field-error'), 'the right code no longer works after 3 wrong attempts');
    assert.ok(!page.url().startsWith(rp.url));

    const resend = page.locator('form[action$="/resend"] button[type=submit]');
    assert.equal(await resend.isDisabled(), true, 'a new code can be asked for after 30 s');
    await context.close();
  });

  it('refuses an expired code and a 4th send (with a clock moved forward)', async () => {
    let offset = 0;
    const clocked = await startEidhub({
      hostname: 'localhost',
      sms: { provider: 'twilio', accountSid: 'AC123', authToken: 'twilio-secret', from: 'eidhub', baseUrl: twilio.url },
      oidcClients: [{ clientId: CLIENT_ID, secrets: [SECRET], redirectUris: [`${rp.url}/callback`] }],
      now: () => Date.now() + offset,
    });
    try {
      const cfg = await oidc.discovery(new URL(clocked.issuer), CLIENT_ID, SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
      const req = await authorize({}, cfg);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(req.url.href);
      const phone = '+447700900128';
      let since = Date.now();
      await submitPhone(page, phone);
      const first = await codeFor(phone, since);
      offset += 181_000;
      await submitCode(page, first.code);
      assert.match(await page.textContent('.field-error') ?? '', /expired/i, 'an expired code gets a clear error');

      const loginPage = page.url().replace(/\/(phone|code|resend)$/, '');
      for (let send = 2; send <= 3; send++) {
        offset += 31_000;
        await page.goto(loginPage);
        since = Date.now();
        await page.click('form[action$="/resend"] button[type=submit]');
        await codeFor(phone, since);
      }
      const sent = twilio.messages.filter((m) => m.to === phone).length;
      assert.equal(sent, 3);
      assert.equal(await page.locator('form[action$="/resend"] button[type=submit]').count(), 0, 'no resend button once 3 codes were sent');
      // A 4th send forced by posting the form anyway is refused.
      const csrf = await page.inputValue('input[name=csrf]');
      const res = await page.request.post(page.url().replace(/\/(phone|code|resend)$/, '') + '/resend', { form: { csrf } });
      assert.match(await res.text(), /class="field-error"/);
      assert.equal(twilio.messages.filter((m) => m.to === phone).length, 3, 'no 4th SMS');
      await context.close();
    } finally {
      await clocked.close();
    }
  });

  it('lets the person use another number, and cancel: the relying party gets access_denied', async () => {
    const req = await authorize({ login_hint: 'mobile:+447700900129' });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(req.url.href);
    const since = Date.now();
    await submitPhone(page);
    await codeFor('+447700900129', since);
    await page.click('form[action$="/change-number"] button[type=submit]');
    assert.equal(await page.inputValue('input[type=tel]'), '', 'the phone step again, empty');
    await page.click('form[action$="/cancel"] button[type=submit]');
    await page.waitForURL((u) => u.href.startsWith(`${rp.url}/callback`));
    const callback = new URL(page.url());
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), req.state);
    await context.close();
    await assert.rejects(
      oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce }),
      (err: oidc.AuthorizationResponseError) => err.error === 'access_denied',
    );
  });

  it('binds a login to the first browser that posts a form, and refuses forged forms', async () => {
    const req = await authorize();
    const owner = await browser.newContext();
    const page = await owner.newPage();
    await page.goto(req.url.href);
    const loginUrl = page.url();
    // Opening the page binds nothing (a link scanner or a second tab must not lock the person out).
    const other = await browser.newContext();
    const intruder = await other.newPage();
    const opened = await intruder.goto(loginUrl);
    assert.equal(opened?.status(), 200, 'another browser may open the page before anyone posted');
    const since = Date.now();
    await submitPhone(page, '+447700900130');
    await codeFor('+447700900130', since);
    // The owner's first post bound the login: the other browser's own form is now refused.
    const [late] = await Promise.all([intruder.waitForResponse((r) => r.url().endsWith('/phone')), submitPhone(intruder, '+447700900132')]);
    assert.equal(late.status(), 403, 'another browser cannot use the login once bound');
    const reopened = await other.newPage().then((p) => p.goto(loginUrl));
    assert.equal(reopened?.status(), 403, 'nor open it');
    const forged = await other.request.post(`${loginUrl}/phone`, { form: { phone: '+447700900130', csrf: 'forged' } });
    assert.equal(forged.status(), 403);
    const noToken = await page.request.post(`${loginUrl}/phone`, { form: { phone: '+447700900130' } });
    assert.equal(noToken.status(), 403, 'even with the cookie, a form without the token is refused');
    assert.equal(twilio.messages.filter((m) => m.to === '+447700900130').length, 1, 'only the owner’s code');
    assert.equal(twilio.messages.filter((m) => m.to === '+447700900132').length, 0);
    await owner.close();
    await other.close();
  });

  it('does not let a login link passed on to another browser log in the browser that started it', async () => {
    // The one who starts the login keeps its cookies and passes the hosted page's link on.
    const req = await authorize();
    const started = await fetch(req.url, { redirect: 'manual' });
    assert.equal(started.status, 303);
    const starterCookies = started.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const loginUrl = new URL(started.headers.get('location')!, eidhub.url);
    assert.match(loginUrl.pathname, /^\/login\/[0-9a-f-]{36}$/, 'the authorization request leads straight to the hosted page');

    // Someone else opens the link and proves their number.
    const phone = '+447700900131';
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(loginUrl.href);
    const since = Date.now();
    await submitPhone(page, phone);
    const { code } = await codeFor(phone, since);
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/code')), submitCode(page, code)]);
    assert.equal(answer.status(), 400, 'the login ends on an error page, not at the relying party');
    assert.match(await page.textContent('main') ?? '', /expired|again/i);
    assert.ok(!page.url().startsWith(rp.url));
    await context.close();

    // The starter's browser gets no code: oidc-provider has no result for its interaction.
    const resumePath = /;\s*path=([^;]+)/i.exec(started.headers.getSetCookie().find((c) => c.startsWith('_interaction_resume=')) ?? '')?.[1];
    assert.ok(resumePath, 'oidc-provider set its resume cookie');
    const resume = await fetch(new URL(resumePath, eidhub.url), {
      redirect: 'manual',
      headers: { cookie: starterCookies },
    });
    // No result was stored: oidc-provider starts the login over, on a new hosted page, and gives no code.
    const next = resume.headers.get('location') ?? '';
    assert.equal(resume.status, 303, `${resume.status} ${next}`);
    assert.match(new URL(next, eidhub.url).pathname, /^\/login\/[0-9a-f-]{36}$/);
    assert.notEqual(new URL(next, eidhub.url).pathname, loginUrl.pathname, 'a new login, not the one finished elsewhere');
  });

  it('never writes a code or a full phone number to the log', () => {
    const log = eidhub.logText();
    assert.ok(log.length > 1000, 'the log has lines');
    for (const m of twilio.messages) {
      const code = smsCodeOf(m.body);
      assert.ok(code, `the SMS ends with "@host #code"`);
      // As a token of its own: six digits inside a request id or another random value are not the code.
      const leaked = new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`).exec(log);
      assert.ok(!leaked, `a code appears in the log: …${log.slice(Math.max(0, (leaked?.index ?? 0) - 200), (leaked?.index ?? 0) + 40)}…`);
      assert.ok(!log.includes(m.to.slice(1)), 'a full number appears in the log');
    }
    assert.ok(!log.includes(SECRET) && !log.includes('twilio-secret'), 'a secret appears in the log');
  });
});
