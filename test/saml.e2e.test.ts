/**
 * SAML 2.0 login with SMS OTP, end to end: Chromium as the person, the product document's own SP
 * metadata and AuthnRequest (entity id kept; ACS host, certificate, Destination, ID and
 * IssueInstant made this test's), @node-saml/node-saml as a second, independent service provider
 * (signed HTTP-Redirect requests, encrypted assertions, single logout), `xmlsec1` checking the
 * signatures, and a fake Twilio receiving the SMS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { smsCodeOf } from './support/http-login.js';
import { makePemPair, type PemPair } from './support/saml-certs.js';
import { xmlsecSkipReason } from './support/xmlsec.js';

const skip = browserSkipReason() || xmlsecSkipReason();
const PHONE = '+447700900456';
const SEED = readFileSync(new URL('./fixtures/saml/product-document.txt', import.meta.url), 'utf8');

/** The seed's SP metadata, verbatim but for the ACS host and the certificate. */
function seedMetadata(acsOrigin: string, certificateBase64: string): string {
  const start = SEED.indexOf('<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor');
  const end = SEED.indexOf('</md:EntityDescriptor>', start) + '</md:EntityDescriptor>'.length;
  return SEED.slice(start, end)
    .replace('https://*SP_APP_DOMAIN*', acsOrigin)
    .replace('<SP_PUBLIC_SIGNING_CERTIFICATE_USED_FOR_SIGNING_REQUESTS>', certificateBase64);
}

/** The seed's AuthnRequest with the two Extensions examples, verbatim but for Destination, ID and IssueInstant. */
function seedAuthnRequest(destination: string, id: string, extensions: 'language+sender' | 'none' = 'language+sender'): string {
  const start = SEED.indexOf('<samlp:AuthnRequest');
  const end = SEED.indexOf('</samlp:AuthnRequest>', start);
  let request = SEED.slice(start, end)
    .replace('https://*YOUR_SIGNICAT_DOMAIN*/auth/saml/login', destination)
    .replace('d2d2ae0656604b739d9bf36edca452a7', id)
    .replace('2024-08-12T07:20:50.265Z', new Date().toISOString())
    .replace('>ENTITY_ID<', '>SAML Example SP<');
  if (extensions === 'language+sender') {
    const example = (name: string) => {
      const i = SEED.indexOf(`Name="${name}"`);
      const s = SEED.lastIndexOf('<saml2p:Extensions', i);
      return SEED.slice(s, SEED.indexOf('</saml2p:Extensions>', i) + '</saml2p:Extensions>'.length);
    };
    // The page shows each parameter in its own Extensions; one request carries both, in one Extensions.
    const language = example('signicat:param:language');
    const sender = example('signicat:param:otp_sms_sender');
    const inner = (ext: string) => ext.slice(ext.indexOf('<req-attr:RequestedAttributes'), ext.lastIndexOf('</req-attr:RequestedAttributes>') + '</req-attr:RequestedAttributes>'.length);
    request += `${language.slice(0, language.indexOf('<req-attr:RequestedAttributes'))}${inner(language)}${inner(sender)}</saml2p:Extensions>\n`;
  }
  return `${request}</samlp:AuthnRequest>`;
}

interface Received {
  path: string;
  method: string;
  fields: Record<string, string>;
  query: string;
}

/** A service provider's web server: it records what reaches its ACS and SLO endpoints. */
/** A path's own answer: where to send the browser next (a 303), or nothing for the plain page. */
type SpHandler = (received: Received) => Promise<string | undefined>;

async function startSp(): Promise<{ server: Server; url: string; received: Received[]; handlers: Map<string, SpHandler>; next(path: string, since: number): Promise<Received> }> {
  const received: Received[] = [];
  const handlers = new Map<string, SpHandler>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://sp');
      const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const hit = { path: url.pathname, method: req.method ?? '', fields, query: url.search.slice(1) };
      received.push(hit);
      const handler = handlers.get(url.pathname);
      void (handler ? handler(hit) : Promise.resolve(undefined)).then(
        (location) => {
          if (location) {
            res.writeHead(303, { location });
            res.end();
            return;
          }
          res.setHeader('content-type', 'text/html');
          res.end(`<!doctype html><title>SP</title><p id="sp">${url.pathname}</p>`);
        },
        (err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    server,
    url,
    received,
    handlers,
    async next(path, since) {
      for (let i = 0; i < 100; i++) {
        const hit = received.slice(since).find((r) => r.path === path);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`nothing reached ${path}`);
    },
  };
}

function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

describe('SAML 2.0 login with SMS OTP', { skip }, () => {
  let twilio: FakeTwilio;
  let eidhub: RunningEidhub;
  let browser: Browser;
  let sp: Awaited<ReturnType<typeof startSp>>;
  let seedSpKeys: PemPair;
  let nodeSpKeys: PemPair;
  let nodeSpEncryption: PemPair;
  let idpCertificatePem: string;
  let work: string;
  const NODE_SP = 'https://sp.example.test/node-saml';
  const THIRD_SP = 'https://sp.example.test/third';

  const nodeSp = (extra: Partial<ConstructorParameters<typeof SAML>[0]> = {}) =>
    new SAML({
      entryPoint: `${eidhub.url}/auth/saml/login`,
      logoutUrl: `${eidhub.url}/auth/saml/logout`,
      issuer: NODE_SP,
      callbackUrl: `${sp.url}/node/acs`,
      logoutCallbackUrl: `${sp.url}/node/slo`,
      idpCert: idpCertificatePem,
      idpIssuer: `${eidhub.url}/auth/saml`,
      privateKey: nodeSpKeys.privateKeyPem,
      decryptionPvk: nodeSpEncryption.privateKeyPem,
      signatureAlgorithm: 'sha256',
      audience: NODE_SP,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      ...extra,
    });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'eidhub-saml-'));
    twilio = await startFakeTwilio({ accountSid: 'AC123', authToken: 'twilio-secret' });
    sp = await startSp();
    [seedSpKeys, nodeSpKeys, nodeSpEncryption] = await Promise.all([makePemPair('seed sp'), makePemPair('node sp'), makePemPair('node sp enc')]);
    const nodeMetadata = new SAML({
      issuer: NODE_SP,
      callbackUrl: `${sp.url}/node/acs`,
      logoutCallbackUrl: `${sp.url}/node/slo`,
      idpCert: 'unused',
      privateKey: nodeSpKeys.privateKeyPem,
      decryptionPvk: nodeSpEncryption.privateKeyPem,
    }).generateServiceProviderMetadata(nodeSpEncryption.certificatePem, nodeSpKeys.certificatePem);
    const thirdMetadata = new SAML({
      issuer: THIRD_SP,
      callbackUrl: `${sp.url}/third/acs`,
      logoutCallbackUrl: `${sp.url}/third/slo`,
      idpCert: 'unused',
      privateKey: nodeSpKeys.privateKeyPem,
    }).generateServiceProviderMetadata(null, nodeSpKeys.certificatePem);
    eidhub = await startEidhub({
      hostname: 'localhost',
      sms: { provider: 'twilio', accountSid: 'AC123', authToken: 'twilio-secret', from: 'eidhub', baseUrl: twilio.url },
      samlServiceProviders: [
        { entityId: 'SAML Example SP', metadata: seedMetadata(sp.url, seedSpKeys.certificateBase64) },
        { entityId: NODE_SP, metadata: nodeMetadata, requireSignedRequests: true },
        { entityId: THIRD_SP, metadata: thirdMetadata },
      ],
    });
    const metadata = await (await fetch(`${eidhub.url}/auth/saml/metadata`)).text();
    const cert = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata.slice(metadata.indexOf('KeyDescriptor')))?.[1];
    assert.ok(cert, 'the IdP metadata has a signing certificate');
    idpCertificatePem = `-----BEGIN CERTIFICATE-----\n${cert.replace(/\s+/g, '').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    writeFileSync(join(work, 'idp.crt'), idpCertificatePem);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await eidhub?.close();
    await twilio?.close();
    sp?.server.close();
  });

  async function codeFor(since: number) {
    const msg = await twilio.waitForMessage((m) => m.to === PHONE && m.dateCreated.getTime() >= since, 5000);
    const code = smsCodeOf(msg.body);
    assert.ok(code);
    return { code, from: msg.from };
  }

  /** Posts an AuthnRequest from a page of the SP (HTTP-POST binding), as an SP's own page would. */
  async function postFromSp(page: Page, xml: string, relayState?: string) {
    const fields = { SAMLRequest: Buffer.from(xml).toString('base64'), ...(relayState !== undefined ? { RelayState: relayState } : {}) };
    await page.goto(`${sp.url}/start`);
    await page.evaluate(
      ({ action, fields }) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = action;
        for (const [k, v] of Object.entries(fields)) {
          const input = document.createElement('input');
          input.type = 'hidden';
          input.name = k;
          input.value = v;
          form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
      },
      { action: `${eidhub.url}/auth/saml/login`, fields },
    );
  }

  async function loginOnPages(page: Page) {
    await page.waitForSelector('input[type=tel]');
    await page.fill('input[type=tel]', PHONE);
    const since = Date.now();
    await page.click('form[action$="/phone"] button[type=submit]');
    const sms = await codeFor(since);
    await page.fill('input[autocomplete="one-time-code"]', sms.code);
    await page.click('form[action$="/code"] button[type=submit]');
    return sms;
  }

  function xmlsecVerify(xml: string, idAttr: string): void {
    const file = join(work, `msg-${Date.now()}-${Math.random().toString(16).slice(2)}.xml`);
    writeFileSync(file, xml);
    execFileSync('xmlsec1', ['--verify', '--pubkey-cert-pem', join(work, 'idp.crt'), '--id-attr:ID', idAttr, file], { stdio: 'pipe' });
  }

  it("the seed's SP metadata and AuthnRequest (HTTP-POST) log a person in, in Greek, with the SMS from otp_sms_sender", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const id = `_seed${Date.now()}`;
    const relayState = 'r'.repeat(80);
    await postFromSp(page, seedAuthnRequest(`${eidhub.url}/auth/saml/login`, id), relayState);
    await page.waitForSelector('input[type=tel]');
    assert.equal(await page.getAttribute('html', 'lang'), 'el');
    const since = sp.received.length;
    const sms = await loginOnPages(page);
    assert.equal(sms.from, 'Signicat AS');
    const hit = await sp.next('/saml/acs', since);
    await context.close();

    assert.equal(hit.method, 'POST', 'the ACS that the metadata declares with HTTP-Redirect still receives an HTTP-POST');
    assert.equal(hit.fields.RelayState, relayState);
    const xml = decode(hit.fields.SAMLResponse!);
    assert.match(xml, new RegExp(`InResponseTo="${id}"`));
    assert.match(xml, /<saml2:NameID Format="urn:oasis:names:tc:SAML:1\.1:nameid-format:unspecified" NameQualifier="otp-sms">/);
    assert.match(xml, /<saml2:AuthnContextClassRef>low<\/saml2:AuthnContextClassRef>/);
    assert.match(xml, /<saml2:AuthenticatingAuthority>otp-sms<\/saml2:AuthenticatingAuthority>/);
    assert.match(xml, /<saml2:Audience>SAML Example SP<\/saml2:Audience>/);
    assert.match(xml, new RegExp(`Recipient="${sp.url}/saml/acs"`));
    xmlsecVerify(xml, 'urn:oasis:names:tc:SAML:2.0:protocol:Response');
    xmlsecVerify(xml.slice(xml.indexOf('<saml2:Assertion'), xml.indexOf('</saml2:Assertion>') + '</saml2:Assertion>'.length), 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion');

    const { profile } = await nodeSp({ issuer: 'SAML Example SP', audience: 'SAML Example SP', callbackUrl: `${sp.url}/saml/acs`, validateInResponseTo: ValidateInResponseTo.never }).validatePostResponseAsync({
      SAMLResponse: hit.fields.SAMLResponse!,
    });
    assert.equal(profile?.idpId, PHONE);
    assert.equal(profile?.phoneNumber, PHONE);
    assert.match(String(profile?.nameID), /^[A-Za-z0-9_-]{20,}$/, 'the NameID is the stable, opaque subject');
  });

  /** node-saml's signed HTTP-Redirect request, in `context`; returns what reached its ACS. */
  async function nodeSpLogin(context: BrowserContext, saml: SAML, opts: { expectPages: boolean }) {
    const page = await context.newPage();
    const since = sp.received.length;
    await page.goto(await saml.getAuthorizeUrlAsync('relay-123', undefined, {}));
    if (opts.expectPages) await loginOnPages(page);
    const hit = await sp.next('/node/acs', since);
    await page.close();
    return hit;
  }

  it('node-saml: a signed HTTP-Redirect request, an encrypted assertion, then single sign-on, ForceAuthn, IsPassive and single logout', async () => {
    const context = await browser.newContext();
    const saml = nodeSp();
    const first = await nodeSpLogin(context, saml, { expectPages: true });
    assert.equal(first.fields.RelayState, 'relay-123');
    assert.match(decode(first.fields.SAMLResponse!), /EncryptedAssertion/, 'the SP metadata has an encryption key: the assertion is encrypted');
    assert.doesNotMatch(decode(first.fields.SAMLResponse!), /447700900456/, 'the phone number travels encrypted');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: first.fields.SAMLResponse! });
    assert.equal(profile?.phoneNumber, PHONE);

    // Same browser, no ForceAuthn: answered from the session, without the pages.
    const sso = await nodeSpLogin(context, saml, { expectPages: false });
    const { profile: again } = await saml.validatePostResponseAsync({ SAMLResponse: sso.fields.SAMLResponse! });
    assert.equal(again?.nameID, profile?.nameID);
    assert.equal(again?.sessionIndex, profile?.sessionIndex);

    // ForceAuthn: the person authenticates again.
    const forced = await nodeSpLogin(context, nodeSp({ forceAuthn: true }), { expectPages: true });
    assert.ok((await saml.validatePostResponseAsync({ SAMLResponse: forced.fields.SAMLResponse! })).profile);

    // IsPassive in a browser without a session: NoPassive to the ACS.
    const fresh = await browser.newContext();
    const passive = await nodeSpLogin(fresh, nodeSp({ passive: true }), { expectPages: false });
    await fresh.close();
    assert.match(decode(passive.fields.SAMLResponse!), /urn:oasis:names:tc:SAML:2\.0:status:NoPassive/);

    // Single logout from the node-saml SP (HTTP-Redirect), answered at its SLO endpoint.
    const page = await context.newPage();
    const since = sp.received.length;
    await page.goto(await saml.getLogoutUrlAsync(profile!, 'bye', {}));
    const slo = await sp.next('/node/slo', since);
    // node-saml's metadata lists its SingleLogoutService with the HTTP-POST binding.
    assert.equal(slo.method, 'POST');
    const result = await saml.validatePostResponseAsync(slo.fields);
    assert.equal(result.loggedOut, true);
    assert.equal(slo.fields.RelayState, 'bye');
    // The session is gone: IsPassive now gets NoPassive in the same browser.
    const after = await nodeSpLogin(context, nodeSp({ passive: true }), { expectPages: false });
    assert.match(decode(after.fields.SAMLResponse!), /NoPassive/);
    await context.close();
  });

  it('single logout reaches every other SP of the session (HTTP-POST to it, its HTTP-Redirect answer back), then answers the SP that asked', async () => {
    const context = await browser.newContext();
    const first = nodeSp();
    const third = nodeSp({ issuer: THIRD_SP, audience: THIRD_SP, callbackUrl: `${sp.url}/third/acs`, logoutCallbackUrl: `${sp.url}/third/slo`, decryptionPvk: undefined });
    const one = await nodeSpLogin(context, first, { expectPages: true });
    const { profile } = await first.validatePostResponseAsync({ SAMLResponse: one.fields.SAMLResponse! });
    // The third SP joins the session by single sign-on.
    const page = await context.newPage();
    let since = sp.received.length;
    await page.goto(await third.getAuthorizeUrlAsync('t', undefined, {}));
    const joined = await sp.next('/third/acs', since);
    const { profile: thirdProfile } = await third.validatePostResponseAsync({ SAMLResponse: joined.fields.SAMLResponse! });
    assert.equal(thirdProfile?.sessionIndex, profile?.sessionIndex);

    // The third SP answers eidhub's LogoutRequest as node-saml does: it checks it, and redirects back with its LogoutResponse.
    let told: string | undefined;
    sp.handlers.set('/third/slo', async (hit) => {
      const { profile: request, loggedOut } = await third.validatePostRequestAsync(hit.fields);
      assert.equal(loggedOut, true);
      told = request?.nameID;
      return third.getLogoutResponseUrlAsync(request!, '', {}, true);
    });
    since = sp.received.length;
    await page.goto(await first.getLogoutUrlAsync(profile!, 'bye', {}));
    const done = await sp.next('/node/slo', since);
    sp.handlers.delete('/third/slo');
    assert.equal(told, thirdProfile?.nameID, 'the third SP was told who logs out');
    const result = await first.validatePostResponseAsync(done.fields);
    assert.equal(result.loggedOut, true);
    assert.doesNotMatch(Buffer.from(done.fields.SAMLResponse!, 'base64').toString(), /PartialLogout/, 'every SP confirmed');
    await page.close();
    await context.close();
  });

  it('a person who cancels: Responder / AuthnFailed to the same ACS, with the RelayState', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const since = sp.received.length;
    await postFromSp(page, seedAuthnRequest(`${eidhub.url}/auth/saml/login`, `_cancel${Date.now()}`, 'none'), 'keep-me');
    await page.waitForSelector('input[type=tel]');
    await page.click('form[action$="/cancel"] button[type=submit]');
    const hit = await sp.next('/saml/acs', since);
    await context.close();
    const xml = decode(hit.fields.SAMLResponse!);
    assert.match(xml, /status:Responder/);
    assert.match(xml, /status:AuthnFailed/);
    assert.equal(hit.fields.RelayState, 'keep-me');
    xmlsecVerify(xml, 'urn:oasis:names:tc:SAML:2.0:protocol:Response');
  });

  it('nothing secret in the log: no phone number, no code', () => {
    const log = eidhub.logText();
    assert.doesNotMatch(log, /447700900456/);
    for (const m of twilio.messages) {
      const code = smsCodeOf(m.body);
      if (code) assert.ok(!log.includes(code), 'an SMS code appears in the log');
    }
  });
});
