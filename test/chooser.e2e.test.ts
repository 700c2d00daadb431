/**
 * The provider chooser (CONTRACT §8): a login that several providers may run shows one button per
 * provider; the choice is recorded on the transaction and the chosen provider's step follows, or
 * its upstream when it logs people in elsewhere (`enter`). Two providers: the built-in otp-sms and
 * the test-only approve authenticator (test/authenticators/approve/) built to go straight to a
 * local upstream. Over OpenID Connect (openid-client as the relying party), the REST API and SAML;
 * plain HTTP for the mechanics, Chromium for the keyboard and the languages.
 */
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { ConfigError } from '../src/config/load.js';
import { SmsSendError, type SmsMessage } from '../src/sms/types.js';
import { APPROVE, APPROVED_PERSON, approveGoingStraightTo } from './authenticators/approve/index.js';
import { startApproveUpstream, type ApproveUpstream } from './authenticators/approve/upstream.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { callRestApi } from './support/rest-api.js';
import { Browserless, CapturingSms, csrfOf } from './support/http-login.js';
import { makePemPair } from './support/saml-certs.js';

const CLIENT_ID = 'chooser-client';
const LIMITED_ID = 'sms-only-client';
const SECRET = 'a-long-client-secret-chooser-1';
const API_ID = 'chooser-api';
const API_SECRET = 'a-long-api-secret-chooser-0001';
const REDIRECT = 'https://rp.example/callback';
const PHONE = '+447700900777';
const SP = 'https://sp.example.test/chooser';
const ACS = 'https://sp.example.test/acs';

const TX_PAGE = /\/login\/([0-9a-f-]{36})$/;

/** The provider ids the chooser's forms offer, in order, each form's button posting one to `/login/{id}/choose`. */
function offered(html: string): string[] {
  return Array.from(html.matchAll(/<form method="post" action="\/login\/[0-9a-f-]{36}\/choose">.*?<button type="submit" [^>]*name="provider" value="([^"]+)"/g), (m) => m[1]!);
}

/** CapturingSms that refuses every message while `failing` is set. */
class FailingSms extends CapturingSms {
  failing = false;
  override async send(message: SmsMessage) {
    if (this.failing) throw new SmsSendError('refused by the test', this.name, false);
    return super.send(message);
  }
}

describe('the provider chooser', () => {
  let eidhub: RunningEidhub;
  let config: oidc.Configuration;
  let limited: oidc.Configuration;
  let token: string;
  const sms = new FailingSms();
  /** Sends the browser back to the `return` URL it was given, with `answer=yes`. */
  let upstream: ApproveUpstream;
  let upstreamUrl: string;

  before(async () => {
    upstream = await startApproveUpstream();
    upstreamUrl = upstream.url;
    const spKeys = await makePemPair('chooser sp');
    eidhub = await startEidhub({
      smsProvider: sms,
      authenticators: [approveGoingStraightTo(upstreamUrl)],
      sms: { provider: 'console', from: 'eidhub' },
      oidcClients: [
        { clientId: CLIENT_ID, clientName: 'Two ways shop', secrets: [SECRET], redirectUris: [REDIRECT], scopes: ['openid', 'idp-id', 'phone'], idTokenClaims: ['idp_id'] },
        { clientId: LIMITED_ID, secrets: [SECRET], redirectUris: [REDIRECT], scopes: ['openid', 'idp-id', 'phone'], allowedProviders: ['otp-sms'] },
      ],
      apiClients: [{ clientId: API_ID, secrets: [API_SECRET], permissions: ['authentication-rest-api'] }],
      samlServiceProviders: [{ entityId: SP, metadata: spMetadata(spKeys.certificateBase64) }],
    });
    const discover = (id: string, secret: string) => oidc.discovery(new URL(eidhub.issuer), id, secret, undefined, { execute: [oidc.allowInsecureRequests] });
    config = await discover(CLIENT_ID, SECRET);
    limited = await discover(LIMITED_ID, SECRET);
    token = (await oidc.clientCredentialsGrant(await discover(API_ID, API_SECRET), { scope: 'auth-rest-api' })).access_token;
  });

  after(async () => {
    await eidhub?.close();
    upstream?.close();
  });

  function authorizeUrl(extra: Record<string, string> = {}, cfg = config) {
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: REDIRECT, scope: 'openid idp-id phone', state, ...extra });
    return { url: url.href, state };
  }

  /** Opens an authorization request's hosted page in a new browser; returns it and its transaction id. */
  async function open(extra: Record<string, string> = {}, cfg = config) {
    const req = authorizeUrl(extra, cfg);
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(req.url, REDIRECT);
    const txId = TX_PAGE.exec(new URL(page.url).pathname)?.[1];
    return { agent, page, txId, state: req.state };
  }

  async function transaction(id: string) {
    const tx = await eidhub.store.transactions.get(id);
    assert.ok(tx, `transaction ${id}`);
    return tx;
  }

  it('shows a client allowed two providers a chooser: a heading, a labelled list, one form and button per provider', async () => {
    const { page, txId } = await open();
    assert.equal(page.res.status, 200);
    assert.ok(txId, page.url);
    assert.match(page.body, /<h1 id="heading">Choose how to log in<\/h1>/);
    assert.match(page.body, /<ul class="choices" role="list" aria-label="Ways to log in">/);
    assert.deepEqual(offered(page.body), ['otp-sms', APPROVE], 'every enabled provider, in order');
    assert.match(page.body, /<button type="submit" class="btn btn-choice" name="provider" value="otp-sms">SMS code<\/button>/, "otp-sms's display name");
    assert.match(page.body, /<button type="submit" class="btn btn-choice" name="provider" value="approve">Approve \(test\)<\/button>/, "approve's display name");
    assert.match(page.body, /action="\/login\/[0-9a-f-]{36}\/cancel"/, 'the person may cancel here too');
    const csp = page.res.headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`form-action [^;]*${new URL(upstreamUrl).origin}`), `a choice may lead to an upstream: ${csp}`);
    const tx = await transaction(txId);
    assert.deepEqual([tx.status, tx.provider, tx.version], ['CREATED', null, 1], 'opening the page changed nothing');
  });

  it('skips the chooser for acr_values=idp:otp-sms', async () => {
    const { page } = await open({ acr_values: 'idp:otp-sms' });
    assert.equal(page.res.status, 200);
    assert.match(page.body, /<input[^>]+type="tel"/);
    assert.deepEqual(offered(page.body), []);
  });

  it('choosing otp-sms records it and leads to the phone step; the SMS login completes, with the sender the acr values asked for', async () => {
    const { agent, page, txId, state } = await open({ acr_values: 'otp_sms_sender:Signicat__AS' });
    const chosen = await agent.post(`${page.url}/choose`, { csrf: csrfOf(page.body), provider: 'otp-sms' });
    assert.equal(chosen.res.status, 200);
    assert.match(chosen.body, /<input[^>]+type="tel"/, 'the phone step');
    const tx = await transaction(txId!);
    assert.deepEqual([tx.status, tx.provider], ['WAITING_FOR_USER', 'otp-sms']);
    assert.deepEqual(tx.providerParams, { otp_sms_sender: 'Signicat AS' }, 'normalised by otp-sms when chosen');
    const events = await eidhub.store.audit.recent(20);
    assert.ok(events.some((e) => e.type === 'transaction.provider_chosen' && e.transactionId === txId && e.data?.provider === 'otp-sms'), 'the choice is audited');

    const afterPhone = await agent.post(`${page.url}/phone`, { csrf: csrfOf(chosen.body), phone: PHONE });
    assert.match(afterPhone.body, /autocomplete="one-time-code"/);
    assert.equal(sms.sent.at(-1)?.from, 'Signicat AS');
    const issued = (await eidhub.store.audit.recent(20)).find((e) => e.type === 'otp.issued' && e.transactionId === txId);
    assert.deepEqual(issued?.data, { to: '+44 ••••••0777', send: 1, country: 'GB', provider: sms.name }, 'the country and provider, the number masked');
    assert.ok(!JSON.stringify(issued).includes(PHONE.slice(1)) && !JSON.stringify(issued).includes(sms.lastCodeFor(PHONE)), 'neither the number nor the code');
    const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(afterPhone.body), code: sms.lastCodeFor(PHONE) }, REDIRECT);
    assert.ok(done.url.startsWith(REDIRECT), done.url);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { expectedState: state });
    assert.equal(tokens.claims()?.idp_id, PHONE);
    assert.deepEqual(tokens.claims()?.amr, ['sms', 'otp']);
    const success = (await eidhub.store.audit.recent(20)).find((e) => e.type === 'transaction.success' && e.transactionId === txId);
    assert.deepEqual(success?.data, { from: 'WAITING_FOR_USER', provider: 'otp-sms', country: 'GB' }, "the login's country, for the logins per country");
  });

  it('a send the SMS provider refuses is audited with the country and the provider, never the number', async () => {
    const { agent, page, txId } = await open();
    const chosen = await agent.post(`${page.url}/choose`, { csrf: csrfOf(page.body), provider: 'otp-sms' });
    sms.failing = true;
    try {
      const afterPhone = await agent.post(`${page.url}/phone`, { csrf: csrfOf(chosen.body), phone: PHONE });
      assert.match(afterPhone.body, /We couldn&#39;t send the text message/, 'the send failed');
    } finally {
      sms.failing = false;
    }
    const failed = (await eidhub.store.audit.recent(20)).find((e) => e.type === 'otp.send_failed' && e.transactionId === txId);
    assert.deepEqual(failed?.data, { country: 'GB', provider: sms.name });
  });

  it('a sender otp-sms cannot carry does not fail the login chosen on the chooser: the configured sender is used', async () => {
    const { agent, page } = await open({ acr_values: 'otp_sms_sender:Signi__Kitten' });
    const chosen = await agent.post(`${page.url}/choose`, { csrf: csrfOf(page.body), provider: 'otp-sms' });
    const afterPhone = await agent.post(`${page.url}/phone`, { csrf: csrfOf(chosen.body), phone: PHONE });
    assert.match(afterPhone.body, /autocomplete="one-time-code"/);
    assert.equal(sms.sent.at(-1)?.from, 'eidhub');
  });

  it('choosing a provider that logs people in elsewhere sends the browser there (303), and its callback ends the login', async () => {
    const { agent, page, txId, state } = await open();
    const away = await agent.post(`${page.url}/choose`, { csrf: csrfOf(page.body), provider: APPROVE }, upstreamUrl);
    assert.equal(away.res.status, 303);
    assert.ok(away.url.startsWith(`${upstreamUrl}?`), away.url);
    assert.equal(new URL(away.url).searchParams.get('return'), `${eidhub.url}/login/${txId}/callback`);
    const tx = await transaction(txId!);
    assert.deepEqual([tx.status, tx.provider], ['WAITING_FOR_USER', APPROVE]);

    const done = await agent.get(away.url, REDIRECT);
    assert.ok(done.url.startsWith(REDIRECT), `back at the relying party: ${done.url}`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { expectedState: state });
    assert.equal(tokens.claims()?.idp_id, APPROVED_PERSON.id);
    assert.equal(tokens.claims()?.acr, 'loa:substantial');
  });

  it('acr_values=idp:approve goes straight to its upstream from the first page, binding nothing until the browser comes back', async () => {
    const req = authorizeUrl({ acr_values: `idp:${APPROVE}` });
    const agent = new Browserless(eidhub.url);
    const away = await agent.get(req.url, upstreamUrl);
    assert.equal(away.res.status, 303);
    const back = new URL(new URL(away.url).searchParams.get('return')!);
    const txId = TX_PAGE.exec(back.pathname.replace(/\/callback$/, ''))?.[1];
    assert.ok(txId, back.href);
    assert.deepEqual([(await transaction(txId)).status, (await transaction(txId)).browserBinding], ['CREATED', null], 'opening the page bound nothing');

    const stranger = await new Browserless(eidhub.url).get(`${back.href}?answer=yes`);
    assert.equal(stranger.res.status, 403, 'a browser that never opened the page cannot come back in its place');
    assert.equal((await transaction(txId)).status, 'CREATED');

    const done = await agent.get(away.url, REDIRECT);
    assert.ok(done.url.startsWith(REDIRECT), `back at the relying party: ${done.url}`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { expectedState: req.state });
    assert.equal(tokens.claims()?.idp_id, APPROVED_PERSON.id);
  });

  it('a client limited to otp-sms gets no chooser, and its idp:approve is refused with access_denied', async () => {
    const { page } = await open({}, limited);
    assert.match(page.body, /<input[^>]+type="tel"/, 'straight to the phone step');
    assert.deepEqual(offered(page.body), []);

    const refused = await open({ acr_values: `idp:${APPROVE}` }, limited);
    const answer = new URL(refused.page.url);
    assert.ok(refused.page.url.startsWith(REDIRECT), refused.page.url);
    assert.equal(answer.searchParams.get('error'), 'access_denied');
    assert.match(answer.searchParams.get('error_description') ?? '', /may not use idp "approve"; it may use: otp-sms/);
    assert.equal(answer.searchParams.get('state'), refused.state);
  });

  it('a client added at run time keeps its allowedProviders: limited to approve, it goes straight to the upstream', async () => {
    await eidhub.clients.add({
      kind: 'oidc',
      settings: { clientId: 'added-approve-only', redirectUris: [REDIRECT], postLogoutRedirectUris: [], grantTypes: ['authorization_code'], scopes: ['openid', 'idp-id'], idTokenClaims: [], idTokenSigningAlg: 'RS256', allowedProviders: [APPROVE] },
      secrets: [SECRET],
    });
    await assert.rejects(
      eidhub.clients.add({ kind: 'oidc', settings: { clientId: 'added-empty', redirectUris: [REDIRECT], postLogoutRedirectUris: [], grantTypes: ['authorization_code'], scopes: ['openid'], idTokenClaims: [], idTokenSigningAlg: 'RS256', allowedProviders: [] }, secrets: [SECRET] }),
      /allowedProviders/,
      'the config schema checks it',
    );
    const added = await oidc.discovery(new URL(eidhub.issuer), 'added-approve-only', SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const agent = new Browserless(eidhub.url);
    const away = await agent.get(oidc.buildAuthorizationUrl(added, { redirect_uri: REDIRECT, scope: 'openid', state: oidc.randomState() }).href, upstreamUrl);
    assert.equal(away.res.status, 303);
    assert.ok(away.url.startsWith(`${upstreamUrl}?`), away.url);
  });

  it('acr_values=loa:substantial without idp leaves only the providers that reach it: no chooser', async () => {
    const req = authorizeUrl({ acr_values: 'loa:substantial' });
    const away = await new Browserless(eidhub.url).get(req.url, upstreamUrl);
    assert.ok(away.url.startsWith(`${upstreamUrl}?`), `straight to approve, the one that reaches substantial: ${away.url}`);
    const refused = await open({ acr_values: 'loa:substantial' }, limited);
    assert.equal(new URL(refused.page.url).searchParams.get('error'), 'unmet_authentication_requirements');
    assert.match(new URL(refused.page.url).searchParams.get('error_description') ?? '', /otp-sms reaches loa low, not the requested substantial/);
  });

  it('refuses a choice the login does not offer with a 400 page, and changes nothing', async () => {
    const { agent, page, txId } = await open();
    for (const provider of ['nope', '']) {
      const refused = await agent.post(`${page.url}/choose`, { csrf: csrfOf(page.body), provider });
      assert.equal(refused.res.status, 400, provider);
      assert.match(refused.body, /The request isn&#39;t valid/);
    }
    const tx = await transaction(txId!);
    assert.deepEqual([tx.status, tx.provider, tx.browserBinding, tx.version], ['CREATED', null, null, 1]);
    const again = await agent.get(page.url);
    assert.deepEqual(offered(again.body), ['otp-sms', APPROVE], 'the chooser is still there');
  });

  it('refuses a choice without the CSRF field, and a step of a provider not chosen yet', async () => {
    const { agent, page, txId } = await open();
    const noCsrf = await agent.post(`${page.url}/choose`, { provider: 'otp-sms' });
    assert.equal(noCsrf.res.status, 403);
    const otherKey = await agent.post(`${page.url}/choose`, { csrf: 'not-the-key', provider: 'otp-sms' });
    assert.equal(otherKey.res.status, 403);
    const phone = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone: PHONE });
    assert.equal(phone.res.status, 404, "otp-sms's step before anyone chose otp-sms");
    const tx = await transaction(txId!);
    assert.deepEqual([tx.status, tx.provider, tx.version], ['CREATED', null, 1]);
  });

  it('after the choice, another choice is refused and the same one goes on (a double submit)', async () => {
    const { agent, page, txId } = await open();
    const csrf = csrfOf(page.body);
    await agent.post(`${page.url}/choose`, { csrf, provider: 'otp-sms' });
    const twice = await agent.post(`${page.url}/choose`, { csrf, provider: 'otp-sms' });
    assert.equal(twice.res.status, 200);
    assert.match(twice.body, /<input[^>]+type="tel"/);
    const other = await agent.post(`${page.url}/choose`, { csrf, provider: APPROVE });
    assert.equal(other.res.status, 409);
    assert.equal((await transaction(txId!)).provider, 'otp-sms');
    const reopened = await agent.get(page.url);
    assert.match(reopened.body, /<input[^>]+type="tel"/, 'the page now shows the chosen step');
  });

  it('shows a finished login the usual way: cancelling on the chooser ends it', async () => {
    const { agent, page, txId } = await open();
    const cancelled = await agent.post(`${page.url}/cancel`, { csrf: csrfOf(page.body) }, REDIRECT);
    assert.equal(new URL(cancelled.url).searchParams.get('error'), 'access_denied');
    assert.equal((await transaction(txId!)).status, 'ABORT');
    const late = await agent.post(`${page.url}/choose`, { csrf: csrfOf(page.body), provider: 'otp-sms' });
    assert.notEqual(late.res.status, 200);
    assert.equal((await transaction(txId!)).provider, null);
  });

  const api = (method: string, path: string, body?: unknown) => callRestApi(eidhub.url, token, method, path, body);

  it('REST: a redirect session allowed two providers shows the chooser; choosing one runs it to the success URL', async () => {
    const created = await api('POST', '/sessions', {
      flow: 'redirect',
      allowedProviders: ['otp-sms', APPROVE],
      callbackUrls: { success: 'https://shop.example/ok', abort: 'https://shop.example/abort', error: 'https://shop.example/error' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(String(created.body.authenticationUrl));
    assert.deepEqual(offered(page.body), ['otp-sms', APPROVE]);
    const away = await agent.post(`${page.url}/choose`, { csrf: csrfOf(page.body), provider: APPROVE }, upstreamUrl);
    const done = await agent.get(away.url, 'https://shop.example/');
    assert.ok(done.url.startsWith('https://shop.example/ok'), done.url);
    const session = await api('GET', `/sessions/${String(created.body.id)}`);
    assert.deepEqual([session.body.status, session.body.provider], ['SUCCESS', APPROVE]);

    const headless = await api('POST', '/sessions', { flow: 'headless', allowedProviders: ['otp-sms', APPROVE] });
    assert.deepEqual([headless.status, headless.body.code], [400, 'headless_not_supported'], 'headless keeps its rule: one provider');
  });

  it('SAML: a request any provider may answer shows the chooser, and the chosen one answers the SP', async () => {
    const request = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_c${Date.now()}" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${SP}</saml:Issuer></samlp:AuthnRequest>`;
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(`/auth/saml/login?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(request)).toString('base64'))}`);
    assert.deepEqual(offered(page.body), ['otp-sms', APPROVE]);
    const chosen = await agent.post(`${page.url}/choose`, { csrf: csrfOf(page.body), provider: 'otp-sms' });
    const afterPhone = await agent.post(`${page.url}/phone`, { csrf: csrfOf(chosen.body), phone: PHONE });
    const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(afterPhone.body), code: sms.lastCodeFor(PHONE) });
    assert.match(done.body, new RegExp(`action="${ACS}"`));
    const response = Buffer.from(/name="SAMLResponse" value="([^"]+)"/.exec(done.body)![1]!, 'base64').toString();
    assert.match(response, /<saml2:AuthenticatingAuthority>otp-sms<\/saml2:AuthenticatingAuthority>/);
  });

  it('refuses to start when a client names a provider that is not enabled, naming where', async () => {
    await assert.rejects(
      startEidhub({ oidcClients: [{ clientId: 'x-client', secrets: [SECRET], redirectUris: [REDIRECT], allowedProviders: ['otp-sms', 'itsme-typo'] }] }),
      (err: unknown) => err instanceof ConfigError && /oidcClients\[0\]\.allowedProviders\[1\]: unknown provider "itsme-typo"; enabled: otp-sms/.test(err.message),
    );
  });

  describe('in Chromium', { skip: browserSkipReason() }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => browser?.close());

    for (const [lang, heading, button] of [
      ['fi', 'Valitse, miten kirjaudut', 'Tekstiviestikoodi'],
      ['sv', 'Välj hur du vill logga in', 'Kod via sms'],
    ] as const) {
      it(`is run from the keyboard: Tab to the first choice, Enter (ui_locales=${lang})`, async () => {
        const context = await browser.newContext({ javaScriptEnabled: lang === 'sv' });
        const page = await context.newPage();
        try {
          await page.goto(authorizeUrl({ ui_locales: lang }).url);
          assert.equal(await page.getAttribute('html', 'lang'), lang);
          assert.equal((await page.textContent('h1'))?.trim(), heading);
          const list = page.getByRole('list', { name: /./ });
          assert.equal(await list.getByRole('listitem').count(), 2);
          await page.keyboard.press('Tab');
          const focused = await page.evaluate(() => {
            const el = document.activeElement as HTMLButtonElement | null;
            return { tag: el?.tagName, text: el?.textContent, provider: el?.value };
          });
          assert.deepEqual(focused, { tag: 'BUTTON', text: button, provider: 'otp-sms' }, 'the first Tab reaches the first choice');
          await Promise.all([page.waitForURL(/\/choose$/), page.keyboard.press('Enter')]);
          assert.ok(await page.isVisible('input[type=tel][autocomplete=tel]'), 'the phone step');
          assert.equal(await page.getAttribute('html', 'lang'), lang);
        } finally {
          await context.close();
        }
      });
    }
  });
});

function spMetadata(certificate: string): string {
  return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${SP}">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${ACS}" index="0" isDefault="true"/>
</md:SPSSODescriptor></md:EntityDescriptor>`;
}
