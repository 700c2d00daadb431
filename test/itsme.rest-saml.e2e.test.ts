/**
 * itsme® over the Authentication REST API and SAML 2.0 (CONTRACT §3, §6, §8), in Chromium through
 * the sandbox simulator at {publicUrl}/sandbox/itsme: an API client's sessions (redirect flow,
 * itsme alone and beside otp-sms on the chooser, the person rejecting), and @node-saml/node-saml as
 * a service provider whose RequestedAuthnContext only itsme meets. The person is the same on every
 * protocol: the REST `subject.id`, the SAML NameID and the OIDC `sub` of an itsme login are one value.
 *
 * eidhub runs on http://localhost:<port>; the integrator's site (REST callbacks, the SP's ACS, the
 * OIDC relying party's redirect URI) on http://127.0.0.1:<port>.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { subjectOf, TEST_IDENTITIES } from '../src/sandbox/itsme/index.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { OpenApiValidator } from './support/openapi.js';
import { sessionCalls } from './support/rest-api.js';
import { makePemPair, type PemPair } from './support/saml-certs.js';

const skip = browserSkipReason();
const API_CLIENT_ID = 'itsme-rest-integrator';
const API_SECRET = 'a-long-api-client-secret-itsme-01';
const OIDC_CLIENT_ID = 'itsme-oidc-client';
const OIDC_SECRET = 'a-long-oidc-client-secret-itsme-1';
const SP = 'https://sp.example.test/itsme';
/** Every wait in a browser is bounded by this (ms), so a broken flow fails instead of hanging. */
const WAIT = 10_000;
const TEST_TIMEOUT = 60_000;

/** Maxence Legrand as the simulator has her (seed 002), and as the itsme attributes name her. */
const MAXENCE = TEST_IDENTITIES[0]!;
const MAXENCE_ATTRIBUTES = {
  idpId: subjectOf(MAXENCE),
  name: 'Maxence Legrand',
  firstName: 'Maxence',
  lastName: 'Legrand',
  dateOfBirth: '1981-04-24',
  gender: 'female',
};
const ITSME_ATTRIBUTES = Object.keys(MAXENCE_ATTRIBUTES);

interface Session {
  id: string;
  status: string;
  flow: string;
  authenticationUrl: string;
  allowedProviders: string[];
  requestedAttributes: string[];
  externalReference?: string;
  provider?: string;
  loa?: string;
  subject?: Record<string, string>;
  error?: { code: string; message: string };
}

interface Hit {
  path: string;
  method: string;
  query: URLSearchParams;
  fields: Record<string, string>;
}

/** The integrator's site: records every request and answers with a small page naming its path. */
async function startSite(): Promise<{ server: Server; url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://site.invalid');
      hits.push({ path: url.pathname, method: req.method ?? '', query: url.searchParams, fields: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>site</title><p id="landed">${url.pathname.replace(/[<&]/g, '')}</p>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

/**
 * The SP's metadata: a signing key for its requests, an HTTP-POST ACS on the site, and two
 * AttributeConsumingServices: 1 (the default) asks for every itsme attribute, 2 for two of them.
 */
function spMetadata(site: string, certificate: string): string {
  const requested = (names: string[]) => names.map((n) => `<md:RequestedAttribute Name="${n}"/>`).join('');
  return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${SP}">
<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${site}/saml/acs" index="0" isDefault="true"/>
<md:AttributeConsumingService index="1" isDefault="true"><md:ServiceName xml:lang="en">itsme attributes</md:ServiceName>${requested(ITSME_ATTRIBUTES)}</md:AttributeConsumingService>
<md:AttributeConsumingService index="2"><md:ServiceName xml:lang="en">Name and age</md:ServiceName>${requested(['firstName', 'dateOfBirth'])}</md:AttributeConsumingService>
</md:SPSSODescriptor></md:EntityDescriptor>`;
}

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

describe('itsme® over the REST API and SAML, in Chromium through the sandbox simulator', { skip }, () => {
  let eidhub: RunningEidhub;
  let browser: Browser;
  let site: Awaited<ReturnType<typeof startSite>>;
  let spKeys: PemPair;
  let idpCertificatePem: string;
  let token: string;
  let openapi: OpenApiValidator;
  let rp: oidc.Configuration;
  let simulator: string;

  before(async () => {
    site = await startSite();
    spKeys = await makePemPair('itsme sp');
    eidhub = await startEidhub({
      hostname: 'localhost',
      sandbox: true,
      accountId: 'a-test-itsme-0001',
      apiClients: [{ clientId: API_CLIENT_ID, secrets: [API_SECRET], permissions: ['authentication-rest-api'] }],
      oidcClients: [{ clientId: OIDC_CLIENT_ID, secrets: [OIDC_SECRET], redirectUris: [`${site.url}/oidc/callback`], scopes: ['openid', 'name', 'profile'] }],
      samlServiceProviders: [{ entityId: SP, metadata: spMetadata(site.url, spKeys.certificateBase64), requireSignedRequests: true }],
    });
    simulator = `${eidhub.url}/sandbox/itsme`;
    assert.notEqual(new URL(eidhub.url).hostname, new URL(site.url).hostname, 'eidhub and the integrator are different sites');
    const apiClient = await oidc.discovery(new URL(eidhub.issuer), API_CLIENT_ID, API_SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    token = (await oidc.clientCredentialsGrant(apiClient, { scope: 'signicat-api' })).access_token;
    openapi = await OpenApiValidator.fetch(eidhub.url);
    rp = await oidc.discovery(new URL(eidhub.issuer), OIDC_CLIENT_ID, OIDC_SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const metadata = await (await fetch(`${eidhub.url}/auth/saml/metadata`)).text();
    const cert = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata.slice(metadata.indexOf('KeyDescriptor')))?.[1];
    assert.ok(cert, 'the IdP metadata has a signing certificate');
    idpCertificatePem = `-----BEGIN CERTIFICATE-----\n${cert.replace(/\s+/g, '').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await eidhub?.close();
    site?.server.close();
  });

  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext();
    context.setDefaultTimeout(WAIT);
    context.setDefaultNavigationTimeout(WAIT);
    return context;
  }

  /** Runs `body` with a page of a fresh browser context, closed afterwards. */
  async function inBrowser<T>(body: (page: Page) => Promise<T>): Promise<T> {
    const context = await newContext();
    try {
      return await body(await context.newPage());
    } finally {
      await context.close();
    }
  }

  /** A few log lines (warnings, errors) to explain a browser that went elsewhere. */
  const recentProblems = () =>
    eidhub
      .logText()
      .split('\n')
      .filter((l) => /"level":[45]0/.test(l))
      .slice(-3)
      .join('\n');

  /**
   * On the simulator's consent page (checked to be one): picks `identity` and presses `button`,
   * then waits until the browser reaches a URL that `arrived` accepts.
   */
  async function atSimulator(page: Page, button: 'Confirm' | 'Reject', arrived: (u: URL) => boolean, identity = 'Maxence Legrand'): Promise<URL> {
    assert.ok(page.url().startsWith(`${simulator}/`), `at the simulator, not ${page.url()}: ${(await page.textContent('body'))?.slice(0, 300)}\n${recentProblems()}`);
    await page.getByLabel(identity).check();
    await Promise.all([page.waitForURL(arrived), page.getByRole('button', { name: button }).click()]);
    return new URL(page.url());
  }

  /**
   * Opens `url` in a fresh browser; `before` runs on the pages before the simulator (a chooser),
   * then `button` is pressed at the simulator; where the browser ends.
   */
  function throughSimulator(url: string, button: 'Confirm' | 'Reject', arrived: (u: URL) => boolean, before?: (page: Page) => Promise<void>): Promise<URL> {
    return inBrowser(async (page) => {
      await page.goto(url);
      if (before) await before(page);
      return atSimulator(page, button, arrived);
    });
  }

  /** On the chooser (checked to offer otp-sms and itsme, by their names): chooses itsme, which leads to the simulator. */
  async function chooseItsme(page: Page): Promise<void> {
    assert.ok(page.url().startsWith(`${eidhub.url}/login/`), `the chooser, on eidhub's page: ${page.url()}`);
    const offered = await page.locator('button[name=provider]').evaluateAll((buttons) => buttons.map((b) => [(b as HTMLButtonElement).value, b.textContent?.trim()]));
    assert.deepEqual(offered, [['otp-sms', 'SMS code'], ['itsme', 'itsme®']], "one button per allowed provider, with the provider's display name");
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${simulator}/`)), page.click('button[name=provider][value=itsme]')]);
  }

  // ------------------------------------------------------------------ REST API

  const { createSession, getSession } = sessionCalls<Session>(() => ({ origin: eidhub.url, token, openapi }), WAIT);

  const callbackUrls = () => ({ success: `${site.url}/rest/success`, abort: `${site.url}/rest/abort`, error: `${site.url}/rest/error` });
  const atCallback = (u: URL) => u.origin === site.url && u.pathname.startsWith('/rest/');

  /** The `sub` eidhub gives Maxence on an OIDC itsme login (acr_values=idp:itsme), fetched once. */
  let oidcSub: Promise<string> | undefined;
  function maxenceOidcSub(): Promise<string> {
    oidcSub ??= (async () => {
      const state = oidc.randomState();
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(rp, {
        redirect_uri: `${site.url}/oidc/callback`,
        scope: 'openid name',
        acr_values: 'idp:itsme',
        state,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const landed = await throughSimulator(url.href, 'Confirm', (u) => u.origin === site.url && u.pathname === '/oidc/callback');
      const tokens = await oidc.authorizationCodeGrant(rp, landed, { expectedState: state, pkceCodeVerifier: verifier });
      const claims = tokens.claims()!;
      assert.equal(claims.idp, 'itsme');
      assert.equal(claims.name, undefined, 'this client puts no person data into its ID tokens');
      return claims.sub;
    })();
    return oidcSub;
  }

  it('REST redirect flow, allowedProviders ["itsme"]: straight to the simulator, back on the success URL, SUCCESS with every itsme attribute', { timeout: TEST_TIMEOUT }, async () => {
    const created = await createSession({
      flow: 'redirect',
      allowedProviders: ['itsme'],
      requestedAttributes: ITSME_ATTRIBUTES,
      callbackUrls: callbackUrls(),
      externalReference: 'itsme-order-1',
    });
    assert.deepEqual(created.allowedProviders, ['itsme']);
    assert.deepEqual(created.requestedAttributes, ITSME_ATTRIBUTES);
    assert.ok(created.authenticationUrl.startsWith(`${eidhub.url}/`), created.authenticationUrl);

    const landed = await throughSimulator(created.authenticationUrl, 'Confirm', atCallback, async (page) => {
      // Maxence Legrand is the first identity the consent page lists.
      assert.match((await page.locator('label').first().textContent()) ?? '', /Maxence Legrand/);
    });
    assert.equal(landed.pathname, '/rest/success', landed.href);
    assert.equal(landed.searchParams.get('sessionId'), created.id);
    assert.equal(landed.searchParams.get('externalReference'), 'itsme-order-1');

    const session = await getSession(created.id);
    assert.equal(session.status, 'SUCCESS');
    assert.equal(session.provider, 'itsme');
    assert.equal(session.loa, 'high', 'itsme is notified under eIDAS at level high');
    assert.ok(session.subject?.id, 'subject.id is set');
    assert.deepEqual(session.subject, { id: session.subject.id, ...MAXENCE_ATTRIBUTES });
    assert.notEqual(session.subject.id, MAXENCE_ATTRIBUTES.idpId, "subject.id is eidhub's own, not itsme's user id");
    assert.equal(session.subject.id, await maxenceOidcSub(), 'the same person has the same subject over REST and OIDC');
  });

  it('REST: subject carries only the requested attributes; an attribute itsme does not give is refused at creation', { timeout: TEST_TIMEOUT }, async () => {
    const refused = await fetch(`${eidhub.url}/auth/rest/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ flow: 'redirect', allowedProviders: ['itsme'], requestedAttributes: ['firstName', 'phoneNumber'], callbackUrls: callbackUrls() }),
      signal: AbortSignal.timeout(WAIT),
    });
    const problem = (await openapi.check('post', '/auth/rest/sessions', refused)) as { code: string; field: string };
    assert.equal(refused.status, 400);
    assert.deepEqual([problem.code, problem.field], ['unknown_attribute', 'requestedAttributes[1]']);

    const everything = await createSession({ flow: 'redirect', allowedProviders: ['itsme'], callbackUrls: callbackUrls() });
    assert.deepEqual([...everything.requestedAttributes].sort(), [...ITSME_ATTRIBUTES].sort(), 'without requestedAttributes: every attribute itsme gives');

    const created = await createSession({ flow: 'redirect', allowedProviders: ['itsme'], requestedAttributes: ['firstName', 'dateOfBirth'], callbackUrls: callbackUrls() });
    const landed = await throughSimulator(created.authenticationUrl, 'Confirm', atCallback);
    assert.equal(landed.pathname, '/rest/success');
    const session = await getSession(created.id);
    assert.equal(session.status, 'SUCCESS');
    assert.deepEqual(session.subject, { id: await maxenceOidcSub(), firstName: 'Maxence', dateOfBirth: '1981-04-24' });
  });

  it('REST embedded flow: itsme (whose pages refuse frames) is left out of the default providers and refused when named', { timeout: TEST_TIMEOUT }, async () => {
    const embedded = { flow: 'embedded', returnUrl: `${site.url}/rest/return`, embeddedParentDomains: ['127.0.0.1'] };
    const refused = await fetch(`${eidhub.url}/auth/rest/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...embedded, allowedProviders: ['otp-sms', 'itsme'] }),
      signal: AbortSignal.timeout(WAIT),
    });
    const problem = (await openapi.check('post', '/auth/rest/sessions', refused)) as { code: string; field: string; detail?: string };
    assert.equal(refused.status, 400);
    assert.deepEqual([problem.code, problem.field], ['provider_not_embeddable', 'allowedProviders[1]']);
    const byDefault = await createSession(embedded);
    assert.deepEqual(byDefault.allowedProviders, ['otp-sms'], 'every enabled provider that can run in a frame');
    const redirect = await createSession({ flow: 'redirect', callbackUrls: callbackUrls() });
    assert.deepEqual([...redirect.allowedProviders].sort(), ['itsme', 'otp-sms'], 'the redirect flow keeps every provider');
  });

  it('REST with allowedProviders ["otp-sms", "itsme"]: the chooser shows both; choosing itsme leads to the simulator and to SUCCESS', { timeout: TEST_TIMEOUT }, async () => {
    const created = await createSession({
      flow: 'redirect',
      allowedProviders: ['otp-sms', 'itsme'],
      requestedAttributes: ['idpId', 'phoneNumber', 'name'],
      callbackUrls: callbackUrls(),
      externalReference: 'itsme-order-2',
    });
    const landed = await throughSimulator(created.authenticationUrl, 'Confirm', atCallback, async (page) => {
      assert.equal((await getSession(created.id)).status, 'CREATED', 'opening the chooser changed nothing');
      await chooseItsme(page);
    });
    assert.equal(landed.pathname, '/rest/success', landed.href);
    assert.equal(landed.searchParams.get('externalReference'), 'itsme-order-2');
    const session = await getSession(created.id);
    assert.equal(session.status, 'SUCCESS');
    assert.equal(session.provider, 'itsme');
    assert.equal(session.loa, 'high');
    // phoneNumber is otp-sms's: an itsme login has none to give.
    assert.deepEqual(session.subject, { id: await maxenceOidcSub(), idpId: MAXENCE_ATTRIBUTES.idpId, name: 'Maxence Legrand' });
  });

  it('REST: Reject at the simulator ends the session as ABORT (the person aborted) and the browser lands on callbackUrls.abort', { timeout: TEST_TIMEOUT }, async () => {
    const created = await createSession({ flow: 'redirect', allowedProviders: ['itsme'], requestedAttributes: ITSME_ATTRIBUTES, callbackUrls: callbackUrls(), externalReference: 'itsme-order-3' });
    const landed = await throughSimulator(created.authenticationUrl, 'Reject', atCallback);
    assert.equal(landed.pathname, '/rest/abort', landed.href);
    assert.equal(landed.searchParams.get('sessionId'), created.id);
    assert.equal(landed.searchParams.get('externalReference'), 'itsme-order-3');
    const session = await getSession(created.id);
    assert.equal(session.status, 'ABORT');
    assert.equal(session.subject, undefined, 'no subject without a login');
    assert.equal(session.provider, undefined);
    // The transaction says why; the API's error member is for ERROR.
    const tx = await eidhub.store.transactions.get(created.id);
    assert.equal(tx?.error?.code, 'access_denied');
    assert.equal(session.error, undefined);
  });

  // ------------------------------------------------------------------ SAML 2.0

  const nodeSp = (extra: Partial<ConstructorParameters<typeof SAML>[0]> = {}) =>
    new SAML({
      entryPoint: `${eidhub.url}/auth/saml/login`,
      issuer: SP,
      callbackUrl: `${site.url}/saml/acs`,
      idpCert: idpCertificatePem,
      idpIssuer: `${eidhub.url}/auth/saml`,
      privateKey: spKeys.privateKeyPem,
      signatureAlgorithm: 'sha256',
      audience: SP,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      identifierFormat: null,
      // The request ID node-saml made must come back as InResponseTo.
      validateInResponseTo: ValidateInResponseTo.always,
      // Only itsme reaches high: the request names no provider, its authentication context leaves only itsme.
      authnContext: ['high'],
      racComparison: 'exact',
      ...extra,
    });

  /** node-saml's signed HTTP-Redirect AuthnRequest in a fresh browser, through the simulator; the Response that reached the ACS. */
  async function samlLogin(saml: SAML, button: 'Confirm' | 'Reject', before?: (page: Page) => Promise<void>): Promise<Hit> {
    const since = site.hits.length;
    await throughSimulator(await saml.getAuthorizeUrlAsync('relay-itsme', undefined, {}), button, (u) => u.origin === site.url && u.pathname === '/saml/acs', before);
    const hit = site.hits.slice(since).find((h) => h.path === '/saml/acs');
    assert.ok(hit, 'the Response reached the ACS');
    assert.equal(hit.method, 'POST');
    assert.equal(hit.fields.RelayState, 'relay-itsme');
    return hit;
  }

  function assertMaxence(profile: Profile | null | undefined, names: string[]): void {
    assert.ok(profile);
    const attributes = profile.attributes as Record<string, unknown>;
    assert.deepEqual(Object.keys(attributes).sort(), [...names].sort(), 'the attributes the AttributeConsumingService asks for, no more');
    for (const name of names) assert.equal(attributes[name], MAXENCE_ATTRIBUTES[name as keyof typeof MAXENCE_ATTRIBUTES], name);
  }

  it('SAML: an AuthnRequest only itsme can meet goes straight to the simulator; the validated Response names the same subject, the itsme attributes, the issuer and level high', { timeout: TEST_TIMEOUT }, async () => {
    const saml = nodeSp();
    const hit = await samlLogin(saml, 'Confirm');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: hit.fields.SAMLResponse! });
    assert.ok(profile);
    assert.equal(profile.nameID, await maxenceOidcSub(), 'NameID: the same subject as the OIDC sub');
    assert.equal(profile.nameIDFormat, 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified');
    assert.equal(profile.nameQualifier, 'itsme');
    assertMaxence(profile, ITSME_ATTRIBUTES);

    const xml = decode(hit.fields.SAMLResponse!);
    assert.match(xml, /<saml2:AuthnContextClassRef>high<\/saml2:AuthnContextClassRef>/);
    assert.match(xml, new RegExp(`<saml2:AuthenticatingAuthority>${simulator.replace(/[.]/g, '\\.')}</saml2:AuthenticatingAuthority>`));
    for (const name of ITSME_ATTRIBUTES) {
      assert.match(xml, new RegExp(`<saml2:Attribute Name="${name}"[^>]*><saml2:AttributeValue [^>]*xsi:type="xsd:string"[^>]*>`), `${name} is an xsd:string`);
    }
  });

  it('SAML: AttributeConsumingServiceIndex 2 releases only its two attributes; an eIDAS class reference is answered in eIDAS terms', { timeout: TEST_TIMEOUT }, async () => {
    const saml = nodeSp({ attributeConsumingServiceIndex: '2', authnContext: ['http://eidas.europa.eu/LoA/substantial'], racComparison: 'minimum' });
    const hit = await samlLogin(saml, 'Confirm');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: hit.fields.SAMLResponse! });
    assert.equal(profile?.nameID, await maxenceOidcSub());
    assertMaxence(profile, ['firstName', 'dateOfBirth']);
    assert.match(decode(hit.fields.SAMLResponse!), /<saml2:AuthnContextClassRef>http:\/\/eidas\.europa\.eu\/LoA\/high<\/saml2:AuthnContextClassRef>/);
  });

  it('SAML: a request any provider may answer shows the chooser; itsme chosen answers the SP', { timeout: TEST_TIMEOUT }, async () => {
    const saml = nodeSp({ disableRequestedAuthnContext: true });
    const hit = await samlLogin(saml, 'Confirm', chooseItsme);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: hit.fields.SAMLResponse! });
    assert.equal(profile?.nameID, await maxenceOidcSub());
    assert.match(decode(hit.fields.SAMLResponse!), /<saml2:AuthenticatingAuthority>[^<]*\/sandbox\/itsme<\/saml2:AuthenticatingAuthority>/);
  });

  it('SAML: Reject at the simulator is a Responder / AuthnFailed Response to the ACS, which node-saml refuses', { timeout: TEST_TIMEOUT }, async () => {
    const saml = nodeSp();
    const hit = await samlLogin(saml, 'Reject');
    const xml = decode(hit.fields.SAMLResponse!);
    assert.match(xml, /StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Responder"/);
    assert.match(xml, /StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:AuthnFailed"/);
    assert.doesNotMatch(xml, /Assertion/);
    await assert.rejects(saml.validatePostResponseAsync({ SAMLResponse: hit.fields.SAMLResponse! }), /Responder|AuthnFailed/);
  });
});
