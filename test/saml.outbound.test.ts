/**
 * What the SAML identity provider sends, checked by verifiers that share no code with it: xmlsec1
 * (libxmlsec1, C) for every signature and for decryption, @node-saml/node-saml as a real service
 * provider, and the shape of the seed's Response element by element.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { verify as verifySignature } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inflateRawSync } from 'node:zlib';
import { after, before, describe, it, type TestContext } from 'node:test';
import { SAML, SamlStatusError, ValidateInResponseTo } from '@node-saml/node-saml';
import type { Element } from '@xmldom/xmldom';
import xmlenc from 'xml-encryption';
import { AES256_GCM, RSA_OAEP_MGF1P, encryptAssertion } from '../src/protocols/saml/encrypt.js';
import {
  buildLogoutRequest,
  buildLogoutResponse,
  buildStatusResponse,
  buildSuccessResponse,
  newSamlId,
  type AssertionFacts,
} from '../src/protocols/saml/messages.js';
import { BEARER, EXC_C14N, NAMEID_UNSPECIFIED, NS, SHA256, SIG_ALGS, STATUS, type SamlSigningKey } from '../src/protocols/saml/model.js';
import { signElement, signMetadata, signRedirectQuery } from '../src/protocols/saml/sign.js';
import { attr, childElements, isElement, parseXml, samlInstant, textOf } from '../src/protocols/saml/xml.js';
import { makePemPair, makeSamlSigningKey, type PemPair } from './support/saml-certs.js';

const IDP = 'https://eidhub.example/auth/saml';
const SP = 'SAML Example SP';
const ACS = 'https://sp.example/saml/acs';
const PHONE = '+447700900000';
const HOSTILE = `a<b&c"d'e]]>f`;

let idp: SamlSigningKey;
let otherIdp: SamlSigningKey;
let sp: PemPair;
let workDir: string;

before(async () => {
  [idp, otherIdp, sp] = await Promise.all([makeSamlSigningKey(), makeSamlSigningKey('another IdP'), makePemPair('SAML Example SP')]);
  workDir = mkdtempSync(join(tmpdir(), 'eidhub-saml-out-'));
});
after(() => rmSync(workDir, { recursive: true, force: true }));

function facts(overrides: Partial<AssertionFacts> = {}): AssertionFacts {
  const now = Date.now();
  return {
    idpEntityId: IDP,
    spEntityId: SP,
    destination: ACS,
    inResponseTo: 'd2d2ae0656604b739d9bf36edca452a7',
    nameId: 'TOuh-Q-Qx2-EBXT3a3OgaoGXgQSx55ggpIym7PNOg=',
    nameQualifier: 'otp-sms',
    sessionIndex: '4ccb8a1b-6f40-e146-af1b-15f1c6eabb56',
    authnInstant: now - 2_000,
    now,
    lifetimeSeconds: 120,
    attributes: [
      { name: 'idpId', values: [PHONE] },
      { name: 'phoneNumber', values: [PHONE] },
    ],
    authnContextClassRef: 'low',
    authenticatingAuthority: 'otp-sms',
    ...overrides,
  };
}

// ---- xmlsec1 ----------------------------------------------------------------------------------

let xmlsec1Found: Promise<boolean> | undefined;

/** xmlsec1 may still be installing when the suite starts: look for it for up to 20 s. */
function lookForXmlsec1(): Promise<boolean> {
  xmlsec1Found ??= (async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      if (spawnSync('which', ['xmlsec1']).status === 0) return true;
      await sleep(2_000);
    }
    return false;
  })();
  return xmlsec1Found;
}

/** True when xmlsec1 is there. Without it the test fails under CI and is skipped elsewhere. */
async function haveXmlsec1(t: TestContext): Promise<boolean> {
  if (await lookForXmlsec1()) return true;
  if (process.env.CI) assert.fail('xmlsec1 is not installed (apt-get install -y xmlsec1); CI runs every SAML signature check');
  t.skip('xmlsec1 is not installed (apt-get install -y xmlsec1)');
  return false;
}

let fileCount = 0;
function tempFile(name: string, content: string): string {
  const file = join(workDir, `${fileCount++}-${name}`);
  writeFileSync(file, content);
  return file;
}

type Signed = 'Response' | 'Assertion' | 'LogoutRequest' | 'LogoutResponse' | 'EntityDescriptor';
const NS_OF: Record<Signed, string> = {
  Response: NS.protocol,
  Assertion: NS.assertion,
  LogoutRequest: NS.protocol,
  LogoutResponse: NS.protocol,
  EntityDescriptor: NS.metadata,
};

/**
 * `xmlsec1 --verify` of the ds:Signature that is a child of the `element` (the root, or the
 * Assertion inside a Response), trusting only `certificatePem`.
 */
function xmlsecVerify(xml: string, element: Signed, certificatePem: string): { ok: boolean; output: string } {
  const within = element === 'Assertion' ? `//*[local-name()='Assertion' and namespace-uri()='${NS.assertion}']` : '/*';
  const args = [
    '--verify',
    '--pubkey-cert-pem', tempFile('cert.pem', certificatePem),
    `--id-attr:ID`, `${NS_OF[element]}:${element}`,
    '--node-xpath', `${within}/*[local-name()='Signature' and namespace-uri()='${NS.dsig}']`,
    tempFile('message.xml', xml),
  ];
  const run = spawnSync('xmlsec1', args, { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

function assertXmlsecVerifies(xml: string, element: Signed, certificatePem = idp.certificatePem): void {
  const result = xmlsecVerify(xml, element, certificatePem);
  assert.ok(result.ok, `xmlsec1 refused the ${element} signature:\n${result.output}`);
  assert.match(result.output, /SignedInfo References \(ok\/all\): 1\/1/);
}

function assertXmlsecRefuses(xml: string, element: Signed, certificatePem = idp.certificatePem): void {
  assert.equal(xmlsecVerify(xml, element, certificatePem).ok, false, `xmlsec1 accepted a ${element} signature it should not have`);
}

function xmlsecDecrypt(xml: string, privateKeyPem: string): { ok: boolean; output: string } {
  const run = spawnSync('xmlsec1', ['--decrypt', '--privkey-pem', tempFile('sp.key', privateKeyPem), tempFile('encrypted.xml', xml)], { encoding: 'utf8' });
  return { ok: run.status === 0, output: run.status === 0 ? run.stdout : run.stderr };
}

// ---- node-saml as the service provider --------------------------------------------------------

function serviceProvider(options: { wantAuthnResponseSigned: boolean; decryptionPvk?: string; idpCert?: string }): SAML {
  return new SAML({
    idpCert: options.idpCert ?? idp.certificatePem,
    idpIssuer: IDP,
    issuer: SP,
    audience: SP,
    callbackUrl: ACS,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: options.wantAuthnResponseSigned,
    validateInResponseTo: ValidateInResponseTo.never,
    acceptedClockSkewMs: 1_000,
    ...(options.decryptionPvk ? { decryptionPvk: options.decryptionPvk } : {}),
  });
}

async function spProfile(xml: string, provider: SAML): Promise<Record<string, unknown>> {
  const { profile } = await provider.validatePostResponseAsync({ SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') });
  assert.ok(profile, 'node-saml gave no profile');
  return profile as unknown as Record<string, unknown>;
}

function assertSeedProfile(profile: Record<string, unknown>, f: AssertionFacts): void {
  assert.equal(profile.issuer, f.idpEntityId);
  assert.equal(profile.nameID, f.nameId);
  assert.equal(profile.nameIDFormat, NAMEID_UNSPECIFIED);
  assert.equal(profile.nameQualifier, f.nameQualifier);
  assert.equal(profile.sessionIndex, f.sessionIndex);
  assert.equal(profile.idpId, PHONE);
  assert.equal(profile.phoneNumber, PHONE);
}

// ---- DOM helpers for the shape checks -------------------------------------------------------

function kids(el: Element): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (isElement(n)) out.push(n);
  return out;
}

/** The element children as prefix:localName, with each one's namespace checked against its prefix. */
function childNames(el: Element): string[] {
  const byPrefix: Record<string, string> = { saml2p: NS.protocol, saml2: NS.assertion, ds: NS.dsig, xenc: NS.xenc, ec: EXC_C14N };
  return kids(el).map((k) => {
    assert.equal(k.namespaceURI, byPrefix[k.prefix ?? ''], `namespace of ${k.tagName}`);
    return k.tagName;
  });
}

function only(parent: Element, ns: string, name: string): Element {
  const found = childElements(parent, ns, name);
  assert.equal(found.length, 1, `${parent.tagName} should have one ${name}`);
  return found[0]!;
}

/** The attributes of `el` other than namespace declarations, in document order. */
function attributeNames(el: Element): string[] {
  return Array.from({ length: el.attributes.length }, (_, i) => el.attributes.item(i)!.name).filter((n) => n !== 'xmlns' && !n.startsWith('xmlns:'));
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Checks the enveloped signature's SignedInfo and KeyInfo: what the seed shows, over `id`. */
function assertSignatureShape(signature: Element, id: string, prefixList: string | undefined): void {
  assert.deepEqual(childNames(signature), ['ds:SignedInfo', 'ds:SignatureValue', 'ds:KeyInfo']);
  const signedInfo = only(signature, NS.dsig, 'SignedInfo');
  assert.deepEqual(childNames(signedInfo), ['ds:CanonicalizationMethod', 'ds:SignatureMethod', 'ds:Reference']);
  assert.equal(attr(only(signedInfo, NS.dsig, 'CanonicalizationMethod'), 'Algorithm'), EXC_C14N);
  assert.equal(attr(only(signedInfo, NS.dsig, 'SignatureMethod'), 'Algorithm'), SIG_ALGS.rsaSha256);
  const reference = only(signedInfo, NS.dsig, 'Reference');
  assert.equal(attr(reference, 'URI'), `#${id}`);
  const transforms = kids(only(reference, NS.dsig, 'Transforms'));
  assert.deepEqual(
    transforms.map((t) => attr(t, 'Algorithm')),
    ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N],
  );
  assert.deepEqual(kids(transforms[0]!), [], 'the enveloped-signature transform has no parameters');
  const inclusive = kids(transforms[1]!);
  if (prefixList === undefined) assert.deepEqual(inclusive, []);
  else {
    assert.deepEqual(inclusive.map((e) => e.tagName), ['ec:InclusiveNamespaces']);
    assert.equal(attr(inclusive[0]!, 'PrefixList'), prefixList);
  }
  assert.equal(attr(only(reference, NS.dsig, 'DigestMethod'), 'Algorithm'), SHA256);
  assert.match(textOf(only(reference, NS.dsig, 'DigestValue')), /^[A-Za-z0-9+/]{43}=$/);
  const certificate = only(only(only(signature, NS.dsig, 'KeyInfo'), NS.dsig, 'X509Data'), NS.dsig, 'X509Certificate');
  assert.equal(textOf(certificate), idp.certificateBase64);
}

// ---- the tests -------------------------------------------------------------------------------

describe('SAML Response with an assertion', () => {
  it('has the seed\'s shape, element by element', async () => {
    const f = facts();
    const xml = await buildSuccessResponse(f, idp, { signResponse: true });
    const response = parseXml(xml, 'the Response').documentElement!;

    assert.equal(response.tagName, 'saml2p:Response');
    assert.equal(response.namespaceURI, NS.protocol);
    assert.deepEqual(attributeNames(response), ['Destination', 'ID', 'InResponseTo', 'IssueInstant', 'Version']);
    assert.equal(attr(response, 'Destination'), ACS);
    assert.equal(attr(response, 'InResponseTo'), f.inResponseTo);
    assert.equal(attr(response, 'IssueInstant'), samlInstant(f.now));
    assert.match(attr(response, 'IssueInstant')!, INSTANT);
    assert.equal(attr(response, 'Version'), '2.0');
    const responseId = attr(response, 'ID')!;
    assert.match(responseId, /^_[0-9a-f]{32}$/);

    assert.deepEqual(childNames(response), ['saml2:Issuer', 'ds:Signature', 'saml2p:Status', 'saml2:Assertion']);
    assert.equal(textOf(only(response, NS.assertion, 'Issuer')), IDP);
    assertSignatureShape(only(response, NS.dsig, 'Signature'), responseId, 'xsd');
    const status = only(response, NS.protocol, 'Status');
    assert.deepEqual(childNames(status), ['saml2p:StatusCode']);
    assert.equal(attr(only(status, NS.protocol, 'StatusCode'), 'Value'), STATUS.success);

    const assertion = only(response, NS.assertion, 'Assertion');
    assert.equal(assertion.getAttribute('xmlns:xsd'), NS.xsd, 'the xsd prefix is declared on the Assertion');
    assert.deepEqual(attributeNames(assertion), ['ID', 'IssueInstant', 'Version']);
    const assertionId = attr(assertion, 'ID')!;
    assert.match(assertionId, /^_[0-9a-f]{32}$/);
    assert.notEqual(assertionId, responseId);
    assert.equal(attr(assertion, 'IssueInstant'), samlInstant(f.now));
    assert.deepEqual(childNames(assertion), ['saml2:Issuer', 'ds:Signature', 'saml2:Subject', 'saml2:Conditions', 'saml2:AttributeStatement', 'saml2:AuthnStatement']);
    assert.equal(textOf(only(assertion, NS.assertion, 'Issuer')), IDP);
    assertSignatureShape(only(assertion, NS.dsig, 'Signature'), assertionId, 'xsd');

    const notOnOrAfter = samlInstant(f.now + f.lifetimeSeconds * 1000);
    const subject = only(assertion, NS.assertion, 'Subject');
    assert.deepEqual(childNames(subject), ['saml2:NameID', 'saml2:SubjectConfirmation']);
    const nameId = only(subject, NS.assertion, 'NameID');
    assert.deepEqual(attributeNames(nameId), ['Format', 'NameQualifier']);
    assert.equal(attr(nameId, 'Format'), NAMEID_UNSPECIFIED);
    assert.equal(attr(nameId, 'NameQualifier'), 'otp-sms');
    assert.equal(nameId.textContent, f.nameId);
    const confirmation = only(subject, NS.assertion, 'SubjectConfirmation');
    assert.equal(attr(confirmation, 'Method'), BEARER);
    assert.deepEqual(childNames(confirmation), ['saml2:SubjectConfirmationData']);
    const data = only(confirmation, NS.assertion, 'SubjectConfirmationData');
    assert.deepEqual(attributeNames(data), ['InResponseTo', 'NotOnOrAfter', 'Recipient']);
    assert.equal(attr(data, 'InResponseTo'), f.inResponseTo);
    assert.equal(attr(data, 'NotOnOrAfter'), notOnOrAfter);
    assert.equal(attr(data, 'Recipient'), ACS);

    const conditions = only(assertion, NS.assertion, 'Conditions');
    assert.deepEqual(attributeNames(conditions), ['NotBefore', 'NotOnOrAfter']);
    assert.equal(attr(conditions, 'NotBefore'), samlInstant(f.now - 5_000));
    assert.equal(attr(conditions, 'NotOnOrAfter'), notOnOrAfter);
    assert.deepEqual(childNames(conditions), ['saml2:AudienceRestriction']);
    const restriction = only(conditions, NS.assertion, 'AudienceRestriction');
    assert.deepEqual(childNames(restriction), ['saml2:Audience']);
    assert.equal(textOf(only(restriction, NS.assertion, 'Audience')), SP);

    const statement = only(assertion, NS.assertion, 'AttributeStatement');
    assert.deepEqual(childNames(statement), ['saml2:Attribute', 'saml2:Attribute']);
    assert.deepEqual(kids(statement).map((a) => attr(a, 'Name')), ['idpId', 'phoneNumber']);
    for (const attribute of kids(statement)) {
      assert.deepEqual(attributeNames(attribute), ['Name']);
      assert.deepEqual(childNames(attribute), ['saml2:AttributeValue']);
      const value = only(attribute, NS.assertion, 'AttributeValue');
      assert.equal(value.getAttributeNS(NS.xsi, 'type'), 'xsd:string');
      assert.equal(value.lookupNamespaceURI('xsd'), NS.xsd);
      assert.equal(value.textContent, PHONE, 'the value exactly, without the whitespace of the seed\'s pretty-printing');
    }

    const authn = only(assertion, NS.assertion, 'AuthnStatement');
    assert.deepEqual(attributeNames(authn), ['AuthnInstant', 'SessionIndex']);
    assert.equal(attr(authn, 'AuthnInstant'), samlInstant(f.authnInstant));
    assert.equal(attr(authn, 'SessionIndex'), f.sessionIndex);
    assert.deepEqual(childNames(authn), ['saml2:AuthnContext']);
    const context = only(authn, NS.assertion, 'AuthnContext');
    assert.deepEqual(childNames(context), ['saml2:AuthnContextClassRef', 'saml2:AuthenticatingAuthority']);
    assert.equal(textOf(only(context, NS.assertion, 'AuthnContextClassRef')), 'low');
    assert.equal(textOf(only(context, NS.assertion, 'AuthenticatingAuthority')), 'otp-sms');
  });

  it('without a Response signature has the signed assertion only', async () => {
    const xml = await buildSuccessResponse(facts(), idp, { signResponse: false });
    const response = parseXml(xml, 'the Response').documentElement!;
    assert.deepEqual(childNames(response), ['saml2:Issuer', 'saml2p:Status', 'saml2:Assertion']);
    assert.deepEqual(childNames(only(response, NS.assertion, 'Assertion')).slice(0, 2), ['saml2:Issuer', 'ds:Signature']);
  });

  it('gets fresh IDs for every message', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const response = parseXml(await buildSuccessResponse(facts(), idp, { signResponse: true }), 'the Response').documentElement!;
      ids.add(attr(response, 'ID')!);
      ids.add(attr(only(response, NS.assertion, 'Assertion'), 'ID')!);
    }
    assert.equal(ids.size, 6);
    assert.match(newSamlId(), /^_[0-9a-f]{32}$/);
    assert.notEqual(newSamlId(), newSamlId());
  });

  it('refuses a lifetime over 300 s, or none', async () => {
    await assert.rejects(buildSuccessResponse(facts({ lifetimeSeconds: 301 }), idp, { signResponse: true }), RangeError);
    await assert.rejects(buildSuccessResponse(facts({ lifetimeSeconds: 0 }), idp, { signResponse: true }), RangeError);
    await assert.rejects(buildSuccessResponse(facts({ lifetimeSeconds: Number.NaN }), idp, { signResponse: true }), RangeError);
    await buildSuccessResponse(facts({ lifetimeSeconds: 300 }), idp, { signResponse: true });
  });

  it('refuses a value with a character XML cannot carry', async () => {
    await assert.rejects(buildSuccessResponse(facts({ nameId: 'a\u0000b' }), idp, { signResponse: true }), /NameID holds a character XML cannot carry/);
  });

  it('verifies with xmlsec1 and the IdP certificate only: the Response signature and the Assertion signature', async (t) => {
    if (!(await haveXmlsec1(t))) return;
    const xml = await buildSuccessResponse(facts(), idp, { signResponse: true });
    assertXmlsecVerifies(xml, 'Response');
    assertXmlsecVerifies(xml, 'Assertion');
    assertXmlsecRefuses(xml, 'Response', otherIdp.certificatePem);
    assertXmlsecRefuses(xml, 'Assertion', otherIdp.certificatePem);

    const tampered = xml.replace(`<saml2:Attribute Name="phoneNumber"><saml2:AttributeValue xmlns:xsi="${NS.xsi}" xsi:type="xsd:string">${PHONE}<`, `<saml2:Attribute Name="phoneNumber"><saml2:AttributeValue xmlns:xsi="${NS.xsi}" xsi:type="xsd:string">+447700900666<`);
    assert.notEqual(tampered, xml);
    assertXmlsecRefuses(tampered, 'Response');
    assertXmlsecRefuses(tampered, 'Assertion');

    // Outside the assertion only the Response signature is broken: each check looks at its own signature.
    const redirected = xml.replace(`Destination="${ACS}"`, 'Destination="https://evil.example/acs"');
    assert.notEqual(redirected, xml);
    assertXmlsecRefuses(redirected, 'Response');
    assertXmlsecVerifies(redirected, 'Assertion');
  });

  it('verifies with xmlsec1 without a Response signature', async (t) => {
    if (!(await haveXmlsec1(t))) return;
    const xml = await buildSuccessResponse(facts(), idp, { signResponse: false });
    assertXmlsecVerifies(xml, 'Assertion');
    assertXmlsecRefuses(xml, 'Response');
    assertXmlsecRefuses(xml.replace('>otp-sms</saml2:AuthenticatingAuthority>', '>itsme</saml2:AuthenticatingAuthority>'), 'Assertion');
  });

  it('escapes hostile values, and the signatures still verify', async (t) => {
    const f = facts({
      idpEntityId: `https://eidhub.example/auth/saml?x=${HOSTILE}`,
      spEntityId: `SP ${HOSTILE}`,
      destination: `https://sp.example/acs?a=1&b="2"&c=<3>`,
      inResponseTo: `"><saml2:Evil/>${HOSTILE}`,
      nameId: `${HOSTILE} line\r\nbreak\ttab`,
      nameQualifier: `q${HOSTILE}`,
      sessionIndex: `s${HOSTILE}\n`,
      attributes: [{ name: `n${HOSTILE}`, values: [`<script>alert(1)</script>`, `${HOSTILE}\r`] }],
      authnContextClassRef: `low${HOSTILE}`,
      authenticatingAuthority: `otp-sms${HOSTILE}`,
    });
    const xml = await buildSuccessResponse(f, idp, { signResponse: true });
    assert.doesNotMatch(xml, /<script>|<saml2:Evil|]]>/);

    const response = parseXml(xml, 'the Response').documentElement!;
    assert.equal(attr(response, 'Destination'), f.destination);
    assert.equal(attr(response, 'InResponseTo'), f.inResponseTo);
    const assertion = only(response, NS.assertion, 'Assertion');
    assert.deepEqual(childNames(assertion), ['saml2:Issuer', 'ds:Signature', 'saml2:Subject', 'saml2:Conditions', 'saml2:AttributeStatement', 'saml2:AuthnStatement']);
    const subject = only(assertion, NS.assertion, 'Subject');
    const nameId = only(subject, NS.assertion, 'NameID');
    assert.equal(nameId.textContent, f.nameId, 'CR, LF and tab come back as sent');
    assert.equal(attr(nameId, 'NameQualifier'), f.nameQualifier);
    const data = only(only(subject, NS.assertion, 'SubjectConfirmation'), NS.assertion, 'SubjectConfirmationData');
    assert.equal(attr(data, 'Recipient'), f.destination);
    assert.equal(attr(data, 'InResponseTo'), f.inResponseTo);
    const attribute = only(only(assertion, NS.assertion, 'AttributeStatement'), NS.assertion, 'Attribute');
    assert.equal(attr(attribute, 'Name'), f.attributes[0]!.name);
    assert.deepEqual(kids(attribute).map((v) => v.textContent), f.attributes[0]!.values);
    assert.equal(attr(only(assertion, NS.assertion, 'AuthnStatement'), 'SessionIndex'), f.sessionIndex);
    assert.equal(textOf(only(only(only(assertion, NS.assertion, 'Conditions'), NS.assertion, 'AudienceRestriction'), NS.assertion, 'Audience')), f.spEntityId);

    if (!(await haveXmlsec1(t))) return;
    assertXmlsecVerifies(xml, 'Response');
    assertXmlsecVerifies(xml, 'Assertion');
  });

  it('is accepted by node-saml with Response and Assertion signed', async () => {
    const f = facts();
    const xml = await buildSuccessResponse(f, idp, { signResponse: true });
    assertSeedProfile(await spProfile(xml, serviceProvider({ wantAuthnResponseSigned: true })), f);
    await assert.rejects(spProfile(xml, serviceProvider({ wantAuthnResponseSigned: true, idpCert: otherIdp.certificatePem })), /Invalid document signature/);
  });

  it('is accepted by node-saml with only the Assertion signed, and refused where the SP wants the Response signed', async () => {
    const f = facts();
    const xml = await buildSuccessResponse(f, idp, { signResponse: false });
    assertSeedProfile(await spProfile(xml, serviceProvider({ wantAuthnResponseSigned: false })), f);
    await assert.rejects(spProfile(xml, serviceProvider({ wantAuthnResponseSigned: true })), /Invalid document signature/);
    const tampered = xml.replace(`>${f.nameId}<`, '>someone-else<');
    assert.notEqual(tampered, xml);
    await assert.rejects(spProfile(tampered, serviceProvider({ wantAuthnResponseSigned: false })), /Invalid signature/);
  });

  it('with hostile values is accepted by node-saml, values intact', async () => {
    const f = facts({ nameId: `${HOSTILE}\r\n`, inResponseTo: `"${HOSTILE}`, spEntityId: SP, attributes: [{ name: 'idpId', values: [HOSTILE] }] });
    const profile = await spProfile(await buildSuccessResponse(f, idp, { signResponse: true }), serviceProvider({ wantAuthnResponseSigned: true }));
    assert.equal(profile.nameID, f.nameId);
    assert.equal(profile.idpId, HOSTILE);
  });
});

describe('SAML Response with an encrypted assertion', () => {
  it('holds aes256-gcm EncryptedData and an rsa-oaep EncryptedKey, and no clear text', async () => {
    const f = facts();
    const xml = await buildSuccessResponse(f, idp, { signResponse: true, encryptFor: sp.certificatePem });
    assert.doesNotMatch(xml, new RegExp(`${f.nameId}|\\${PHONE}|otp-sms`));
    const response = parseXml(xml, 'the Response').documentElement!;
    assert.deepEqual(childNames(response), ['saml2:Issuer', 'ds:Signature', 'saml2p:Status', 'saml2:EncryptedAssertion']);
    assertSignatureShape(only(response, NS.dsig, 'Signature'), attr(response, 'ID')!, undefined);
    const encrypted = only(response, NS.assertion, 'EncryptedAssertion');
    assert.deepEqual(childNames(encrypted), ['xenc:EncryptedData']);
    const data = only(encrypted, NS.xenc, 'EncryptedData');
    assert.equal(attr(data, 'Type'), 'http://www.w3.org/2001/04/xmlenc#Element');
    assert.equal(attr(only(data, NS.xenc, 'EncryptionMethod'), 'Algorithm'), AES256_GCM);
    const encryptedKey = only(only(data, NS.dsig, 'KeyInfo'), NS.xenc, 'EncryptedKey');
    const keyMethod = only(encryptedKey, NS.xenc, 'EncryptionMethod');
    assert.equal(attr(keyMethod, 'Algorithm'), RSA_OAEP_MGF1P);
    assert.equal(attr(only(keyMethod, NS.dsig, 'DigestMethod'), 'Algorithm'), 'http://www.w3.org/2000/09/xmldsig#sha1');
    const spCertificate = only(only(only(encryptedKey, NS.dsig, 'KeyInfo'), NS.dsig, 'X509Data'), NS.dsig, 'X509Certificate');
    assert.equal(textOf(spCertificate), sp.certificateBase64);
  });

  it('decrypts with the SP key (xml-encryption and xmlsec1) to an assertion whose signature xmlsec1 verifies', async (t) => {
    const xml = await buildSuccessResponse(facts(), idp, { signResponse: true, encryptFor: sp.certificatePem });
    const encrypted = only(parseXml(xml, 'the Response').documentElement!, NS.assertion, 'EncryptedAssertion').toString();
    const decrypted = await new Promise<string>((resolve, reject) => {
      xmlenc.decrypt(encrypted, { key: sp.privateKeyPem }, (err, result) => (err ? reject(err) : resolve(result)));
    });
    const assertion = parseXml(decrypted, 'the decrypted assertion').documentElement!;
    assert.equal(assertion.tagName, 'saml2:Assertion');
    assert.deepEqual(childNames(assertion).slice(0, 2), ['saml2:Issuer', 'ds:Signature']);
    await assert.rejects(
      new Promise((resolve, reject) => xmlenc.decrypt(encrypted, { key: otherIdp.privateKeyPem }, (err, result) => (err ? reject(err) : resolve(result)))),
    );

    if (!(await haveXmlsec1(t))) return;
    assertXmlsecVerifies(decrypted, 'Assertion');
    assertXmlsecVerifies(xml, 'Response');
    const byXmlsec = xmlsecDecrypt(xml, sp.privateKeyPem);
    assert.ok(byXmlsec.ok, `xmlsec1 could not decrypt:\n${byXmlsec.output}`);
    assertXmlsecVerifies(byXmlsec.output, 'Assertion');
    assert.equal(xmlsecDecrypt(xml, otherIdp.privateKeyPem).ok, false);
  });

  it('is accepted by node-saml with and without a Response signature', async () => {
    const f = facts();
    for (const signResponse of [true, false]) {
      const xml = await buildSuccessResponse(f, idp, { signResponse, encryptFor: sp.certificatePem });
      assertSeedProfile(await spProfile(xml, serviceProvider({ wantAuthnResponseSigned: signResponse, decryptionPvk: sp.privateKeyPem })), f);
    }
    const xml = await buildSuccessResponse(f, idp, { signResponse: true, encryptFor: sp.certificatePem });
    await assert.rejects(spProfile(xml, serviceProvider({ wantAuthnResponseSigned: true })), /No decryption key/);
  });

  it('refuses a certificate without an RSA key', async () => {
    const ec = await makePemPair('EC SP', 'ec');
    await assert.rejects(encryptAssertion('<a/>', ec.certificatePem), /its key is ec, and SAML key transport needs RSA/);
  });
});

describe('SAML Response with a status only', () => {
  it('carries Responder/AuthnFailed and the escaped message, signed', async (t) => {
    const now = Date.now();
    const xml = buildStatusResponse(
      { idpEntityId: IDP, destination: ACS, inResponseTo: '_req1', status: STATUS.responder, subStatus: STATUS.authnFailed, message: `The person cancelled ${HOSTILE}`, now },
      idp,
      { signResponse: true },
    );
    const response = parseXml(xml, 'the Response').documentElement!;
    assert.deepEqual(attributeNames(response), ['Destination', 'ID', 'InResponseTo', 'IssueInstant', 'Version']);
    assert.deepEqual(childNames(response), ['saml2:Issuer', 'ds:Signature', 'saml2p:Status']);
    assertSignatureShape(only(response, NS.dsig, 'Signature'), attr(response, 'ID')!, undefined);
    const status = only(response, NS.protocol, 'Status');
    assert.deepEqual(childNames(status), ['saml2p:StatusCode', 'saml2p:StatusMessage']);
    const code = only(status, NS.protocol, 'StatusCode');
    assert.equal(attr(code, 'Value'), STATUS.responder);
    assert.equal(attr(only(code, NS.protocol, 'StatusCode'), 'Value'), STATUS.authnFailed);
    assert.equal(only(status, NS.protocol, 'StatusMessage').textContent, `The person cancelled ${HOSTILE}`);

    if (!(await haveXmlsec1(t))) return;
    assertXmlsecVerifies(xml, 'Response');
    assertXmlsecRefuses(xml.replace('The person cancelled', 'The person accepted'), 'Response');
  });

  it('without InResponseTo or message, unsigned', () => {
    const xml = buildStatusResponse({ idpEntityId: IDP, destination: ACS, inResponseTo: undefined, status: STATUS.requester, subStatus: STATUS.noAuthnContext, now: Date.now() }, idp, { signResponse: false });
    const response = parseXml(xml, 'the Response').documentElement!;
    assert.deepEqual(attributeNames(response), ['Destination', 'ID', 'IssueInstant', 'Version']);
    assert.deepEqual(childNames(response), ['saml2:Issuer', 'saml2p:Status']);
    assert.deepEqual(childNames(only(response, NS.protocol, 'Status')), ['saml2p:StatusCode']);
  });

  it('is refused by node-saml with its status in the error', async () => {
    const input = { idpEntityId: IDP, destination: ACS, inResponseTo: '_req1', status: STATUS.responder, subStatus: STATUS.authnFailed, now: Date.now() };
    const bare = buildStatusResponse(input, idp, { signResponse: true });
    await assert.rejects(spProfile(bare, serviceProvider({ wantAuthnResponseSigned: true })), (err: unknown) => {
      assert.ok(err instanceof SamlStatusError, String(err));
      assert.match(err.message, /Responder error: AuthnFailed/);
      return true;
    });
    const said = buildStatusResponse({ ...input, message: 'The person cancelled' }, idp, { signResponse: true });
    await assert.rejects(spProfile(said, serviceProvider({ wantAuthnResponseSigned: true })), (err: unknown) => {
      assert.ok(err instanceof SamlStatusError, String(err));
      assert.match(err.message, /Responder error: The person cancelled/);
      assert.match(err.xmlStatus, new RegExp(STATUS.authnFailed));
      return true;
    });
  });
});

describe('SAML single logout messages', () => {
  const logoutRequestInput = (now = Date.now()) => ({
    idpEntityId: IDP,
    destination: 'https://sp.example/saml/slo',
    nameId: 'TOuh-Q-Qx2-EBXT3a3OgaoGXgQSx55ggpIym7PNOg=',
    nameQualifier: 'otp-sms',
    sessionIndexes: ['s-1', `s-2${HOSTILE}`],
    now,
    notOnOrAfterSeconds: 60,
  });

  it('LogoutRequest: shape, signed (xmlsec1 and node-saml verify it)', async (t) => {
    const input = logoutRequestInput();
    const { id, xml } = buildLogoutRequest(input, idp, { sign: true });
    const request = parseXml(xml, 'the LogoutRequest').documentElement!;
    assert.equal(request.tagName, 'saml2p:LogoutRequest');
    assert.equal(attr(request, 'ID'), id);
    assert.deepEqual(attributeNames(request), ['Destination', 'ID', 'IssueInstant', 'NotOnOrAfter', 'Version']);
    assert.equal(attr(request, 'NotOnOrAfter'), samlInstant(input.now + 60_000));
    assert.deepEqual(childNames(request), ['saml2:Issuer', 'ds:Signature', 'saml2:NameID', 'saml2p:SessionIndex', 'saml2p:SessionIndex']);
    assertSignatureShape(only(request, NS.dsig, 'Signature'), id, undefined);
    const nameId = only(request, NS.assertion, 'NameID');
    assert.equal(attr(nameId, 'Format'), NAMEID_UNSPECIFIED);
    assert.equal(attr(nameId, 'NameQualifier'), 'otp-sms');
    assert.deepEqual(childElements(request, NS.protocol, 'SessionIndex').map((s) => s.textContent), input.sessionIndexes);

    const { profile } = await serviceProvider({ wantAuthnResponseSigned: true }).validatePostRequestAsync({ SAMLRequest: Buffer.from(xml).toString('base64') });
    assert.equal(profile?.nameID, input.nameId);
    assert.equal(profile?.issuer, IDP);

    if (!(await haveXmlsec1(t))) return;
    assertXmlsecVerifies(xml, 'LogoutRequest');
    assertXmlsecRefuses(xml.replace('>s-1<', '>s-9<'), 'LogoutRequest');
  });

  it('LogoutRequest unsigned has no Signature, and no NotOnOrAfter unless asked', () => {
    const { xml } = buildLogoutRequest({ ...logoutRequestInput(), notOnOrAfterSeconds: undefined, nameQualifier: undefined, sessionIndexes: [] }, idp, { sign: false });
    const request = parseXml(xml, 'the LogoutRequest').documentElement!;
    assert.deepEqual(attributeNames(request), ['Destination', 'ID', 'IssueInstant', 'Version']);
    assert.deepEqual(childNames(request), ['saml2:Issuer', 'saml2:NameID']);
    assert.deepEqual(attributeNames(only(request, NS.assertion, 'NameID')), ['Format']);
    assert.throws(() => buildLogoutRequest({ ...logoutRequestInput(), notOnOrAfterSeconds: 0 }, idp, { sign: false }), RangeError);
  });

  it('LogoutResponse: shape, signed (xmlsec1 and node-saml verify it)', async (t) => {
    const xml = buildLogoutResponse({ idpEntityId: IDP, destination: 'https://sp.example/saml/slo', inResponseTo: `_sp-logout${HOSTILE}`, status: STATUS.success, now: Date.now() }, idp, { sign: true });
    const response = parseXml(xml, 'the LogoutResponse').documentElement!;
    assert.equal(response.tagName, 'saml2p:LogoutResponse');
    assert.deepEqual(attributeNames(response), ['Destination', 'ID', 'InResponseTo', 'IssueInstant', 'Version']);
    assert.equal(attr(response, 'InResponseTo'), `_sp-logout${HOSTILE}`);
    assert.deepEqual(childNames(response), ['saml2:Issuer', 'ds:Signature', 'saml2p:Status']);
    assertSignatureShape(only(response, NS.dsig, 'Signature'), attr(response, 'ID')!, undefined);
    assert.equal(attr(only(only(response, NS.protocol, 'Status'), NS.protocol, 'StatusCode'), 'Value'), STATUS.success);

    const result = await serviceProvider({ wantAuthnResponseSigned: true }).validatePostResponseAsync({ SAMLResponse: Buffer.from(xml).toString('base64') });
    assert.equal(result.loggedOut, true);

    if (!(await haveXmlsec1(t))) return;
    assertXmlsecVerifies(xml, 'LogoutResponse');
    assertXmlsecRefuses(xml.replace(STATUS.success, STATUS.partialLogout), 'LogoutResponse');
  });

  it('LogoutResponse with a sub-status', () => {
    const xml = buildLogoutResponse({ idpEntityId: IDP, destination: 'https://sp.example/saml/slo', inResponseTo: '_x', status: STATUS.success, subStatus: STATUS.partialLogout, now: Date.now() }, idp, { sign: false });
    const code = only(only(parseXml(xml, 'the LogoutResponse').documentElement!, NS.protocol, 'Status'), NS.protocol, 'StatusCode');
    assert.equal(attr(only(code, NS.protocol, 'StatusCode'), 'Value'), STATUS.partialLogout);
  });
});

describe('HTTP-Redirect query signature', () => {
  function split(query: string): { signedPart: string; params: [string, string][] } {
    const at = query.lastIndexOf('&Signature=');
    assert.ok(at > 0, 'the Signature comes last');
    const params = query.split('&').map((p) => {
      const [name, value] = p.split('=') as [string, string];
      return [name, decodeURIComponent(value)] as [string, string];
    });
    return { signedPart: query.slice(0, at), params };
  }

  it('signs the raw octets of SAMLRequest, RelayState and SigAlg (node crypto verifies them)', () => {
    const { xml } = buildLogoutRequest({ idpEntityId: IDP, destination: 'https://sp.example/saml/slo', nameId: 'subject', sessionIndexes: ['s-1'], now: Date.now() }, idp, { sign: false });
    const relayState = `back to /cart?x=1&y="2" (ü)*!'~`;
    const query = signRedirectQuery('SAMLRequest', xml, relayState, idp);
    const { signedPart, params } = split(query);
    assert.deepEqual(params.map(([n]) => n), ['SAMLRequest', 'RelayState', 'SigAlg', 'Signature']);
    assert.match(query, /^[A-Za-z0-9\-_.~%=&]+$/, 'only unreserved characters and percent-escapes');
    const value = (name: string) => params.find(([n]) => n === name)![1];
    assert.equal(inflateRawSync(Buffer.from(value('SAMLRequest'), 'base64')).toString('utf8'), xml);
    assert.equal(value('RelayState'), relayState);
    assert.equal(value('SigAlg'), SIG_ALGS.rsaSha256);
    const signature = Buffer.from(value('Signature'), 'base64');
    assert.ok(verifySignature('RSA-SHA256', Buffer.from(signedPart, 'utf8'), idp.certificatePem, signature));
    assert.equal(verifySignature('RSA-SHA256', Buffer.from(signedPart.replace('RelayState=back', 'RelayState=fore'), 'utf8'), idp.certificatePem, signature), false);
    assert.equal(verifySignature('RSA-SHA256', Buffer.from(signedPart, 'utf8'), otherIdp.certificatePem, signature), false);

    const without = split(signRedirectQuery('SAMLRequest', xml, undefined, idp));
    assert.deepEqual(without.params.map(([n]) => n), ['SAMLRequest', 'SigAlg', 'Signature']);
  });

  it('node-saml, as the SP, takes a LogoutRequest and a LogoutResponse by Redirect', async () => {
    const spSaml = serviceProvider({ wantAuthnResponseSigned: true });
    const asContainer = (query: string) => Object.fromEntries(new URLSearchParams(query));

    const { xml: request } = buildLogoutRequest({ idpEntityId: IDP, destination: 'https://sp.example/saml/slo', nameId: 'subject-1', sessionIndexes: ['s-1'], now: Date.now(), notOnOrAfterSeconds: 60 }, idp, { sign: false });
    const requestQuery = signRedirectQuery('SAMLRequest', request, 'relay-1', idp);
    const fromRequest = await spSaml.validateRedirectAsync(asContainer(requestQuery), requestQuery);
    assert.equal(fromRequest.loggedOut, true);
    assert.equal(fromRequest.profile?.nameID, 'subject-1');
    assert.equal(fromRequest.profile?.sessionIndex, 's-1');
    const forged = requestQuery.replace('RelayState=relay-1', 'RelayState=relay-2');
    await assert.rejects(spSaml.validateRedirectAsync(asContainer(forged), forged), /Invalid query signature/);
    const otherSigner = signRedirectQuery('SAMLRequest', request, 'relay-1', otherIdp);
    await assert.rejects(spSaml.validateRedirectAsync(asContainer(otherSigner), otherSigner), /Invalid query signature/);

    const response = buildLogoutResponse({ idpEntityId: IDP, destination: 'https://sp.example/saml/slo', inResponseTo: '_sp-logout-1', status: STATUS.success, now: Date.now() }, idp, { sign: false });
    const responseQuery = signRedirectQuery('SAMLResponse', response, undefined, idp);
    const fromResponse = await spSaml.validateRedirectAsync(asContainer(responseQuery), responseQuery);
    assert.equal(fromResponse.loggedOut, true);
  });
});

describe('XML signing', () => {
  it('signs metadata with the Signature as the root\'s first child (xmlsec1 verifies it)', async (t) => {
    const metadata =
      `<md:EntityDescriptor xmlns:md="${NS.metadata}" ID="_metadata1" entityID="${IDP}">` +
      `<md:IDPSSODescriptor protocolSupportEnumeration="${NS.protocol}"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${IDP}/login"/></md:IDPSSODescriptor>` +
      `</md:EntityDescriptor>`;
    const signed = signMetadata(metadata, '_metadata1', idp);
    const root = parseXml(signed, 'the metadata').documentElement!;
    assert.deepEqual(kids(root).map((k) => k.tagName), ['ds:Signature', 'md:IDPSSODescriptor']);
    assertSignatureShape(kids(root)[0]!, '_metadata1', undefined);
    assert.throws(() => signMetadata(metadata.replace('<md:IDPSSODescriptor ', '<md:IDPSSODescriptor ID="_inner" '), '_inner', idp), /not its root/);

    if (!(await haveXmlsec1(t))) return;
    assertXmlsecVerifies(signed, 'EntityDescriptor');
    assertXmlsecRefuses(signed.replace(`${IDP}/login`, 'https://evil.example/login'), 'EntityDescriptor');
  });

  it('refuses IDs that are missing, repeated or not XML names', () => {
    const xml = `<saml2p:Response xmlns:saml2p="${NS.protocol}" ID="_r1"><saml2:Issuer xmlns:saml2="${NS.assertion}">x</saml2:Issuer></saml2p:Response>`;
    assert.throws(() => signElement(xml, '_missing', idp), /0 elements have it/);
    assert.throws(() => signElement(xml, `_r1' or '1'='1`, idp), /not an XML name/);
    const twice = xml.replace('</saml2p:Response>', `<saml2p:Extensions ID="_r1"/></saml2p:Response>`);
    assert.throws(() => signElement(twice, '_r1', idp), /2 elements have it/);
    const noIssuer = `<saml2p:Response xmlns:saml2p="${NS.protocol}" ID="_r1"><saml2p:Status/></saml2p:Response>`;
    assert.throws(() => signElement(noIssuer, '_r1', idp), /does not start with a saml:Issuer/);
  });

  it('places the signature after the Issuer of a descendant, with an ancestor\'s prefix pulled in by the prefix list', async (t) => {
    const xml =
      `<root xmlns:xsd="${NS.xsd}"><saml2:Assertion xmlns:saml2="${NS.assertion}" ID="_a1"><saml2:Issuer>x</saml2:Issuer>` +
      `<saml2:AttributeStatement><saml2:Attribute Name="n"><saml2:AttributeValue xmlns:xsi="${NS.xsi}" xsi:type="xsd:string">v</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement>` +
      `</saml2:Assertion></root>`;
    const signed = signElement(xml, '_a1', idp, { inclusiveNamespacesPrefixList: ['xsd'] });
    const assertion = only(parseXml(signed, 'the document').documentElement!, NS.assertion, 'Assertion');
    assert.deepEqual(childNames(assertion), ['saml2:Issuer', 'ds:Signature', 'saml2:AttributeStatement']);
    if (!(await haveXmlsec1(t))) return;
    assertXmlsecVerifies(signed, 'Assertion');
    // Moved out of its ancestor, the assertion's canonical form still declares xsd: the signature holds.
    assertXmlsecVerifies(signed.replace(/^<root[^>]*>/, '').replace(/<\/root>$/, '').replace('<saml2:Assertion ', `<saml2:Assertion xmlns:xsd="${NS.xsd}" `), 'Assertion');
  });
});
