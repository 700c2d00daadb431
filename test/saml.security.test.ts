/**
 * The SAML endpoints against hostile and broken requests, over HTTP against a running eidhub:
 * each is refused with an error page that says why (never a redirect, never a post to an SP),
 * nothing is half-written, and nothing secret reaches the log. The message-level defences
 * (signature wrapping, DOCTYPE, inflate cap) are tested one by one in saml.inbound.test.ts; here
 * they are proven wired into the endpoints.
 */
import assert from 'node:assert/strict';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { SAML } from '@node-saml/node-saml';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { Browserless, CapturingSms, csrfOf } from './support/http-login.js';
import { rotateSamlSigningKey } from '../src/protocols/saml/keys.js';
import { makePemPair, type PemPair } from './support/saml-certs.js';

const SP = 'https://sp.example.test/secure';
const OPEN_SP = 'https://sp.example.test/open';
const ACS = 'https://sp.example.test/acs';
const PHONE = '+447700900321';

function metadata(entityId: string, cert: string, opts: { slo?: boolean } = {}): string {
  return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
${opts.slo ? `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.example.test/slo"/>` : ''}
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${ACS}" index="0" isDefault="true"/>
</md:SPSSODescriptor></md:EntityDescriptor>`;
}

function authnRequest(opts: { issuer?: string; id?: string; instant?: number; destination?: string; acs?: string; extra?: string; before?: string } = {}): string {
  return `${opts.before ?? ''}<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${opts.id ?? `_r${Math.random().toString(16).slice(2)}`}" Version="2.0" IssueInstant="${new Date(opts.instant ?? clock()).toISOString()}"${opts.destination ? ` Destination="${opts.destination}"` : ''}${opts.acs ? ` AssertionConsumerServiceURL="${opts.acs}"` : ''}><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${opts.issuer ?? OPEN_SP}</saml:Issuer>${opts.extra ?? ''}</samlp:AuthnRequest>`;
}

let clockOffset = 0;
const clock = () => Date.now() + clockOffset;

describe('SAML endpoints refuse hostile and broken requests', () => {
  let eidhub: RunningEidhub;
  let spKeys: PemPair;
  let otherKeys: PemPair;
  const sms = new CapturingSms();

  before(async () => {
    [spKeys, otherKeys] = await Promise.all([makePemPair('secure sp'), makePemPair('attacker')]);
    eidhub = await startEidhub({
      hostname: 'localhost',
      smsProvider: sms,
      now: clock,
      samlServiceProviders: [
        { entityId: SP, metadata: metadata(SP, spKeys.certificateBase64, { slo: true }), requireSignedRequests: true },
        { entityId: OPEN_SP, metadata: metadata(OPEN_SP, spKeys.certificateBase64) },
      ],
    });
  });
  after(async () => eidhub?.close());

  const sso = () => `${eidhub.url}/auth/saml/login`;

  async function post(fields: Record<string, string>, path = '/auth/saml/login') {
    const res = await fetch(`${eidhub.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    return { status: res.status, location: res.headers.get('location'), body: await res.text() };
  }
  async function get(query: string, path = '/auth/saml/login') {
    const res = await fetch(`${eidhub.url}${path}?${query}`, { redirect: 'manual' });
    return { status: res.status, location: res.headers.get('location'), body: await res.text() };
  }
  const b64 = (xml: string) => Buffer.from(xml).toString('base64');
  const redirectQuery = (xml: string, extra = '') => `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}${extra}`;

  /** An error page: HTML, no redirect, no form posting anywhere, the reason shown. */
  function assertErrorPage(r: { status: number; location: string | null; body: string }, status: number, reason: RegExp) {
    assert.equal(r.status, status, r.body.slice(0, 300));
    assert.equal(r.location, null);
    assert.doesNotMatch(r.body, /name="SAMLResponse"/);
    assert.match(r.body, reason);
  }

  const signedSp = (extra: Partial<ConstructorParameters<typeof SAML>[0]> = {}) =>
    new SAML({
      entryPoint: sso(),
      issuer: SP,
      callbackUrl: ACS,
      idpCert: spKeys.certificatePem,
      privateKey: spKeys.privateKeyPem,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      ...extra,
    });

  it('a well-formed unsigned request from a known SP starts a login (the baseline the refusals differ from)', async () => {
    const r = await post({ SAMLRequest: b64(authnRequest({ destination: sso() })) });
    assert.equal(r.status, 303);
    assert.match(r.location ?? '', /^\/login\/[0-9a-f-]{36}$/);
  });

  it('an unknown SP: error page', async () => {
    assertErrorPage(await post({ SAMLRequest: b64(authnRequest({ issuer: 'https://nobody.example.test' })) }), 400, /unknown_sp/);
  });

  it('an ACS URL not in the metadata never receives anything: error page', async () => {
    assertErrorPage(await post({ SAMLRequest: b64(authnRequest({ acs: 'https://evil.example.test/acs' })) }), 400, /bad_acs/);
  });

  it('a replayed request ID: error page', async () => {
    const xml = authnRequest({ id: '_replayed-once' });
    assert.equal((await post({ SAMLRequest: b64(xml) })).status, 303);
    assertErrorPage(await post({ SAMLRequest: b64(xml) }), 400, /replay/);
    assertErrorPage(await get(redirectQuery(xml)), 400, /replay/);
  });

  it('any DOCTYPE (XXE, entity expansion) is refused before parsing, on both bindings', async () => {
    const xxe = authnRequest({ before: '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>', extra: '<samlp:Extensions>&x;</samlp:Extensions>' });
    const posted = await post({ SAMLRequest: b64(xxe) });
    assertErrorPage(posted, 400, /doctype/);
    assert.doesNotMatch(posted.body, /root:/);
    assertErrorPage(await get(redirectQuery(xxe)), 400, /doctype/);
  });

  it('a DEFLATE bomb is capped (inflate limit) and refused', async () => {
    const bomb = deflateRawSync(Buffer.from(authnRequest({ extra: `<!--${' '.repeat(8 * 1024 * 1024)}-->` })), { level: 9 });
    assert.ok(bomb.length < 12_000, `the bomb fits in a URL (${bomb.length} bytes)`);
    assertErrorPage(await get(`SAMLRequest=${encodeURIComponent(bomb.toString('base64'))}`), 413, /too_large/);
  });

  it('an oversized POST is refused', async () => {
    const big = await post({ SAMLRequest: b64(authnRequest({ extra: `<!--${'x'.repeat(120 * 1024)}-->` })) });
    assert.ok(big.status === 413, `status ${big.status}`);
    assert.equal(big.location, null);
  });

  it('a signed HTTP-Redirect request verifies over the raw query; tampering or a foreign key is refused', async () => {
    const url = new URL(await signedSp().getAuthorizeUrlAsync('rs', undefined, {}));
    const ok = await get(url.search.slice(1));
    assert.equal(ok.status, 303, ok.body.slice(0, 300));
    const fresh = new URL(await signedSp().getAuthorizeUrlAsync('rs', undefined, {}));
    assertErrorPage(await get(fresh.search.slice(1).replace('RelayState=rs', 'RelayState=rt')), 400, /bad_signature/);
    const foreign = new URL(await signedSp({ privateKey: otherKeys.privateKeyPem }).getAuthorizeUrlAsync('rs', undefined, {}));
    assertErrorPage(await get(foreign.search.slice(1)), 400, /bad_signature/);
  });

  it('SHA-1 signatures are refused', async () => {
    const url = new URL(await signedSp({ signatureAlgorithm: 'sha1' }).getAuthorizeUrlAsync('rs', undefined, {}));
    assertErrorPage(await get(url.search.slice(1)), 400, /unsupported_sig_alg/);
  });

  it('an SP that requires signed requests: an unsigned one is refused', async () => {
    assertErrorPage(await post({ SAMLRequest: b64(authnRequest({ issuer: SP })) }), 400, /signature_required/);
  });

  it('a signed HTTP-POST request verifies; one signed with a key only in its KeyInfo is refused', async () => {
    const form = await signedSp({ authnRequestBinding: 'HTTP-POST' }).getAuthorizeFormAsync('rs');
    const field = /name="SAMLRequest" value="([^"]+)"/.exec(form)?.[1];
    assert.ok(field);
    const accepted = await post({ SAMLRequest: field, RelayState: "rs" });
    assert.equal(accepted.status, 303, /class="technical">([^<]*)/.exec(accepted.body)?.[1]);
    const foreign = await signedSp({ authnRequestBinding: 'HTTP-POST', privateKey: otherKeys.privateKeyPem, publicCert: otherKeys.certificatePem }).getAuthorizeFormAsync('rs');
    const foreignField = /name="SAMLRequest" value="([^"]+)"/.exec(foreign)?.[1]!;
    // node-saml deflates its HTTP-POST requests (eidhub inflates them, capped).
    assert.match(inflateRawSync(Buffer.from(foreignField, 'base64')).toString(), /<X509Certificate>/, 'the foreign request carries its certificate in KeyInfo');
    assertErrorPage(await post({ SAMLRequest: foreignField }), 400, /bad_signature/);
  });

  it('3 minutes of clock skew at most; too old is refused', async () => {
    assert.equal((await post({ SAMLRequest: b64(authnRequest({ instant: Date.now() + 150_000 })) })).status, 303);
    assertErrorPage(await post({ SAMLRequest: b64(authnRequest({ instant: Date.now() + 200_000 })) }), 400, /expired/);
    assertErrorPage(await post({ SAMLRequest: b64(authnRequest({ instant: Date.now() - 10 * 60_000 })) }), 400, /expired/);
  });

  it('a wrong Destination is refused', async () => {
    assertErrorPage(await post({ SAMLRequest: b64(authnRequest({ destination: 'https://elsewhere.example.test/auth/saml/login' })) }), 400, /bad_destination/);
  });

  it('RelayState over 80 bytes is refused', async () => {
    assertErrorPage(await post({ SAMLRequest: b64(authnRequest()), RelayState: 'x'.repeat(81) }), 400, /relay_state/);
  });

  it('garbage: not base64, not XML, not an AuthnRequest', async () => {
    assertErrorPage(await post({ SAMLRequest: '%%%not base64%%%' }), 400, /malformed/);
    assertErrorPage(await post({ SAMLRequest: b64('<<<') }), 400, /malformed/);
    assertErrorPage(await get('nothing=here'), 400, /malformed/);
  });

  it('a login through to the end: the phone number and code never reach the log', async () => {
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(`/auth/saml/login?${redirectQuery(authnRequest())}`);
    const afterPhone = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone: PHONE });
    const code = sms.lastCodeFor(PHONE);
    const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(afterPhone.body), code });
    assert.match(done.body, new RegExp(`action="${ACS}"`));
    assert.match(done.body, /name="SAMLResponse"/);
    const log = eidhub.logText();
    assert.ok(!log.includes('447700900321'), 'the phone number is in the log');
    assert.ok(!log.includes(code), 'the code is in the log');
  });

  /** The certificates the IdP metadata lists, in order, and the one a Response's signatures carry. */
  async function metadataCertificates(): Promise<string[]> {
    const xml = await (await fetch(`${eidhub.url}/auth/saml/metadata`)).text();
    return [...xml.matchAll(/<md:KeyDescriptor use="signing">[\s\S]*?<ds:X509Certificate>([^<]+)</g)].map((m) => m[1]!.replace(/\s+/g, ''));
  }
  async function responseCertificate(): Promise<string> {
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(`/auth/saml/login?${redirectQuery(authnRequest())}`);
    const afterPhone = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone: PHONE });
    const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(afterPhone.body), code: sms.lastCodeFor(PHONE) });
    const response = Buffer.from(/name="SAMLResponse" value="([^"]+)"/.exec(done.body)![1]!, 'base64').toString();
    const certs = [...response.matchAll(/<ds:X509Certificate>([^<]+)</g)].map((m) => m[1]!.replace(/\s+/g, ''));
    assert.equal(new Set(certs).size, 1, 'the Response and the Assertion are signed with one key');
    return certs[0]!;
  }

  it('key rollover: the next certificate is in the metadata before it signs, and signs once the rollover is over', async () => {
    const before = await metadataCertificates();
    assert.equal(before.length, 1);
    assert.equal(await responseCertificate(), before[0]);
    const hour = 3600_000;
    await rotateSamlSigningKey(eidhub.store.keys, clock(), hour, 2 * hour, 'localhost');
    assert.equal(await eidhub.reloadKeys(), true);
    let during: string[] = [];
    for (let i = 0; i < 50 && during.length < 2; i++) {
      during = await metadataCertificates();
      if (during.length < 2) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(during.length, 2, 'the metadata lists the next certificate at once');
    assert.equal(during[0], before[0], 'the current certificate comes first');
    assert.equal(await responseCertificate(), before[0], 'the old key still signs during the rollover');
    clockOffset = hour + 60_000;
    const after = await metadataCertificates();
    assert.equal(after[0], during[1], 'after the rollover the new certificate comes first');
    assert.equal(await responseCertificate(), during[1], 'and signs');
    clockOffset = 0;
  });
});
