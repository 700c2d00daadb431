/**
 * SAML metadata: the product document's SP metadata, verbatim but for its two placeholders, read
 * into the service provider model; every way an SP's metadata can be refused, with a message that
 * says where; and the IdP's metadata, checked by parsing it and by verifying, with
 * @node-saml/node-saml, a signature made by the key whose certificate it publishes.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDomFromString, signXml, validateSignature } from '@node-saml/node-saml/lib/xml.js';
import { ensureSamlSigningKey, rotateSamlSigningKey, samlKeyRing, selfSignedCertificate } from '../src/protocols/saml/keys.js';
import { buildIdpMetadata, parseSpMetadata } from '../src/protocols/saml/metadata.js';
import { BINDINGS, NAMEID_UNSPECIFIED, NS, SamlError, type SamlSigningKey } from '../src/protocols/saml/model.js';
import { attr, childElements, descendants, isElement, parseXml, textOf } from '../src/protocols/saml/xml.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';

const SEED = readFileSync(new URL('./fixtures/saml/product-document.txt', import.meta.url), 'utf8');
const CERT_PLACEHOLDER = '<SP_PUBLIC_SIGNING_CERTIFICATE_USED_FOR_SIGNING_REQUESTS>';
const DEFAULTS = { requireSignedRequests: false, signResponse: true };

/** The seed's SP metadata exactly as the page prints it. */
const SEED_METADATA = (() => {
  const start = SEED.indexOf('<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor');
  const end = SEED.indexOf('</md:EntityDescriptor>', start) + '</md:EntityDescriptor>'.length;
  assert.ok(start >= 0 && end > start, 'the seed holds the SP metadata example');
  return SEED.slice(start, end);
})();

function certificate(kind: 'rsa' | 'ec', commonName = 'sp.example.com'): { pem: string; base64: string } {
  const keys = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = selfSignedCertificate(keys, { commonName, notBefore: Date.now(), notAfter: Date.now() + 86_400_000 });
  return { pem, base64: new X509Certificate(pem).raw.toString('base64') };
}
const spCert = certificate('rsa');

/** The seed's metadata with its placeholders filled: the certificate, and the ACS host. */
function seedMetadata(certificateText = spCert.base64, host = 'sp.example.com'): string {
  return SEED_METADATA.replace(CERT_PLACEHOLDER, certificateText).replace('*SP_APP_DOMAIN*', host);
}

/** A small SP metadata document around `inner` (the SPSSODescriptor's content). */
function metadata(inner: string, sso = `protocolSupportEnumeration="${NS.protocol}"`): string {
  return `<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" entityID="https://sp.example.com"><md:SPSSODescriptor ${sso}>${inner}</md:SPSSODescriptor></md:EntityDescriptor>`;
}
const ACS = `<md:AssertionConsumerService Binding="${BINDINGS.post}" Location="https://sp.example.com/acs" index="0"/>`;
const keyDescriptor = (base64: string, use?: string) =>
  `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${base64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;

function refusal(xml: string, options: Parameters<typeof parseSpMetadata>[1] = DEFAULTS): SamlError {
  try {
    parseSpMetadata(xml, options);
  } catch (err) {
    assert.ok(err instanceof SamlError, String(err));
    return err;
  }
  assert.fail('the metadata was accepted');
}

describe('SP metadata', () => {
  it("reads the product document's example into the model", () => {
    const sp = parseSpMetadata(seedMetadata(), DEFAULTS);
    assert.deepEqual(
      { ...sp, signingCertificates: sp.signingCertificates.map((p) => new X509Certificate(p).raw.toString('base64')) },
      {
        entityId: 'SAML Example SP',
        assertionConsumerServices: [{ binding: BINDINGS.redirect, location: 'https://sp.example.com/saml/acs', index: 1, isDefault: false }],
        singleLogoutServices: [],
        signingCertificates: [spCert.base64],
        encryptionCertificates: [],
        attributeConsumingServices: [
          {
            index: 1,
            isDefault: false,
            attributes: [
              { name: 'idpId', nameFormat: undefined, isRequired: false },
              { name: 'phoneNumber', nameFormat: undefined, isRequired: false },
            ],
          },
        ],
        authnRequestsSigned: false,
        wantAssertionsSigned: false,
        nameIdFormats: [],
        requireSignedRequests: false,
        signResponse: true,
        encryptAssertions: false,
      },
    );
    assert.match(sp.signingCertificates[0]!, /^-----BEGIN CERTIFICATE-----\n/);
  });

  it('takes a certificate wrapped over lines and indented, and http on loopback', () => {
    const wrapped = `\n        ${spCert.base64.match(/.{1,64}/g)!.join('\n        ')}\n      `;
    const sp = parseSpMetadata(seedMetadata(wrapped, '127.0.0.1:8443'), DEFAULTS);
    assert.equal(new X509Certificate(sp.signingCertificates[0]!).raw.toString('base64'), spCert.base64);
    const loopback = parseSpMetadata(seedMetadata().replace('https://sp.example.com', 'http://localhost:3001'), DEFAULTS);
    assert.equal(loopback.assertionConsumerServices[0]!.location, 'http://localhost:3001/saml/acs');
  });

  it('reads endpoints, key uses, attribute sets, flags and name id formats', () => {
    const enc = certificate('rsa', 'enc.sp.example.com');
    const ec = certificate('ec');
    const sp = parseSpMetadata(
      metadata(
        [
          keyDescriptor(spCert.base64, 'signing'),
          keyDescriptor(enc.base64, 'encryption'),
          keyDescriptor(ec.base64), // no use: both, but an EC key only signs
          `<md:SingleLogoutService Binding="${BINDINGS.redirect}" Location="https://sp.example.com/slo" ResponseLocation="https://sp.example.com/slo/done"/>`,
          `<md:NameIDFormat>${NAMEID_UNSPECIFIED}</md:NameIDFormat>`,
          `<md:AssertionConsumerService Binding="${BINDINGS.post}" Location="https://sp.example.com/acs" index="0"/>`,
          `<md:AssertionConsumerService Binding="${BINDINGS.post}" Location="https://sp.example.com/acs2" index="7" isDefault="1"/>`,
          `<md:AttributeConsumingService index="2" isDefault="true"><md:ServiceName xml:lang="en">x</md:ServiceName>`,
          `<md:RequestedAttribute Name="phoneNumber" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" isRequired="true"/></md:AttributeConsumingService>`,
        ].join(''),
        `AuthnRequestsSigned="true" WantAssertionsSigned="1" protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol ${NS.protocol}"`,
      ),
      { requireSignedRequests: true, signResponse: false },
    );
    const b64 = (pems: string[]) => pems.map((p) => new X509Certificate(p).raw.toString('base64'));
    assert.deepEqual(b64(sp.signingCertificates), [spCert.base64, ec.base64]);
    assert.deepEqual(b64(sp.encryptionCertificates), [enc.base64]);
    assert.equal(sp.encryptAssertions, true, 'an encryption certificate turns encryption on by default');
    assert.equal(parseSpMetadata(metadata(ACS + keyDescriptor(enc.base64, 'encryption')), { ...DEFAULTS, encryptAssertions: false }).encryptAssertions, false);
    assert.deepEqual(sp.singleLogoutServices, [{ binding: BINDINGS.redirect, location: 'https://sp.example.com/slo', responseLocation: 'https://sp.example.com/slo/done' }]);
    assert.deepEqual(
      sp.assertionConsumerServices.map((e) => [e.index, e.isDefault]),
      [
        [0, undefined],
        [7, true],
      ],
    );
    assert.deepEqual(sp.attributeConsumingServices, [
      { index: 2, isDefault: true, attributes: [{ name: 'phoneNumber', nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic', isRequired: true }] },
    ]);
    assert.deepEqual([sp.authnRequestsSigned, sp.wantAssertionsSigned, sp.requireSignedRequests, sp.signResponse], [true, true, true, false]);
    assert.deepEqual(sp.nameIdFormats, [NAMEID_UNSPECIFIED]);
  });

  it('takes an EntitiesDescriptor that holds exactly one EntityDescriptor', () => {
    const one = metadata(ACS);
    const wrap = (inner: string) => `<md:EntitiesDescriptor xmlns:md="${NS.metadata}">${inner}</md:EntitiesDescriptor>`;
    assert.equal(parseSpMetadata(wrap(one), DEFAULTS).entityId, 'https://sp.example.com');
    assert.match(refusal(wrap(one + one)).message, /holds 2 EntityDescriptors/);
  });

  it('says when the placeholder certificate was left in', () => {
    const err = refusal(SEED_METADATA.replace('*SP_APP_DOMAIN*', 'sp.example.com'));
    assert.equal(err.code, 'malformed');
    assert.match(err.message, /not well-formed XML/);
    assert.match(err.message, /still holds the placeholder <SP_PUBLIC_SIGNING_CERTIFICATE_USED_FOR_SIGNING_REQUESTS>/);
  });

  it('refuses an ACS host placeholder left in', () => {
    assert.match(refusal(SEED_METADATA.replace(CERT_PLACEHOLDER, spCert.base64)).message, /AssertionConsumerService #1: Location "https:\/\/\*SP_APP_DOMAIN\*\/saml\/acs" has no valid host name/);
  });

  const refusals: [string, string, RegExp, Parameters<typeof parseSpMetadata>[1]?][] = [
    ['metadata without an ACS', metadata(keyDescriptor(spCert.base64, 'signing')), /^no AssertionConsumerService in the SPSSODescriptor/],
    [
      'an ACS on plain http',
      metadata(`<md:AssertionConsumerService Binding="${BINDINGS.post}" Location="http://sp.example.com/acs" index="0"/>`),
      /^AssertionConsumerService #1: Location "http:\/\/sp\.example\.com\/acs" must be an absolute https URL/,
    ],
    ['a relative ACS URL', metadata(`<md:AssertionConsumerService Binding="${BINDINGS.post}" Location="/acs" index="0"/>`), /Location "\/acs" must be an absolute https URL/],
    ['an ACS without index', metadata(`<md:AssertionConsumerService Binding="${BINDINGS.post}" Location="https://sp.example.com/acs"/>`), /^AssertionConsumerService #1 has no index$/],
    [
      'two ACS with one index',
      metadata(`${ACS}<md:AssertionConsumerService Binding="${BINDINGS.redirect}" Location="https://sp.example.com/acs2" index="0"/>`),
      /^AssertionConsumerService #2: index="0" is also the index of AssertionConsumerService #1$/,
    ],
    ['a certificate that is not base64', metadata(ACS + keyDescriptor('not base64!', 'signing')), /^KeyDescriptor #1 \(use="signing"\): the X509Certificate is not base64$/],
    [
      'a certificate that is no certificate',
      metadata(ACS + keyDescriptor(spCert.base64, 'signing') + keyDescriptor(Buffer.from('not a certificate at all').toString('base64'))),
      /^KeyDescriptor #2: the X509Certificate is not an X\.509 certificate/,
    ],
    ['an empty certificate', metadata(ACS + keyDescriptor('  ', 'signing')), /^KeyDescriptor #1 \(use="signing"\): the X509Certificate is empty$/],
    ['a KeyDescriptor without a certificate', metadata(`${ACS}<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:KeyName>k</ds:KeyName></ds:KeyInfo></md:KeyDescriptor>`), /^KeyDescriptor #1 \(use="signing"\) has no ds:KeyInfo/],
    ['an unknown key use', metadata(ACS + keyDescriptor(spCert.base64, 'sign')), /^KeyDescriptor #1 \(use="sign"\): use must be/],
    ['an EC encryption certificate', metadata(ACS + keyDescriptor(certificate('ec').base64, 'encryption')), /only to RSA keys/],
    ['a root that is not metadata', `<samlp:AuthnRequest xmlns:samlp="${NS.protocol}" ID="x"/>`, /^the root element is AuthnRequest in namespace "urn:oasis:names:tc:SAML:2\.0:protocol", not md:EntityDescriptor/],
    ['an IdP descriptor instead of an SP one', metadata(ACS).replace(/SPSSODescriptor/g, 'IDPSSODescriptor'), /exactly one SPSSODescriptor, not 0/],
    ['SAML 1.1 only', metadata(ACS, 'protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol"'), /does not include SAML 2\.0/],
    ['no entityID', metadata(ACS).replace(' entityID="https://sp.example.com"', ''), /^the EntityDescriptor has no entityID$/],
    ['a non-boolean isDefault', metadata(ACS.replace('index="0"', 'index="0" isDefault="yes"')), /isDefault="yes" is not a boolean/],
    ['encryptAssertions without an encryption certificate', metadata(ACS + keyDescriptor(spCert.base64, 'signing')), /^encryptAssertions is true, but no KeyDescriptor holds an RSA encryption certificate/, { ...DEFAULTS, encryptAssertions: true }],
    ['requireSignedRequests without a signing certificate', metadata(ACS), /^requireSignedRequests is true, but no KeyDescriptor holds a signing certificate/, { ...DEFAULTS, requireSignedRequests: true }],
  ];
  for (const [what, xml, message, options] of refusals) {
    it(`refuses ${what}`, () => {
      const err = refusal(xml, options);
      assert.equal(err.code, 'malformed');
      assert.match(err.message, message);
    });
  }

  it('refuses a DOCTYPE before parsing', () => {
    const err = refusal(seedMetadata().replace('<md:EntityDescriptor', '<!DOCTYPE md:EntityDescriptor [<!ENTITY x "y">]><md:EntityDescriptor'));
    assert.equal(err.code, 'doctype');
  });
});

describe('IdP metadata', () => {
  let store: Store;
  let keys: SamlSigningKey[];
  const t0 = Date.UTC(2026, 0, 1);

  before(async () => {
    store = await openStore({ driver: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'eidhub-saml-md-')), 'e.db') });
    await ensureSamlSigningKey(store.keys, store.secrets, t0, 'idp.example.com');
    await rotateSamlSigningKey(store.keys, t0 + 1000, 86_400_000, 3_600_000, 'idp.example.com');
    keys = samlKeyRing(await store.keys.list(t0 + 2000), t0 + 2000).published;
    assert.equal(keys.length, 2);
  });
  after(() => store?.close());

  const input = () => ({
    entityId: 'https://idp.example.com/auth/saml?a=1&b="2"',
    ssoUrl: 'https://idp.example.com/auth/saml/login',
    sloUrl: 'https://idp.example.com/auth/saml/logout',
    keys,
    attributes: ['idpId', 'phoneNumber'],
    validUntil: t0 + 86_400_000,
  });

  it('lists every published key, both bindings, the name id format and the attributes', () => {
    const xml = buildIdpMetadata(input());
    const root = parseXml(xml, 'the IdP metadata').documentElement!;
    assert.equal(root.namespaceURI, NS.metadata);
    assert.equal(root.localName, 'EntityDescriptor');
    assert.equal(attr(root, 'entityID'), 'https://idp.example.com/auth/saml?a=1&b="2"', 'escaped, and read back intact');
    assert.match(attr(root, 'ID') ?? '', /^_[0-9a-f]{40}$/);
    assert.equal(attr(root, 'validUntil'), new Date(t0 + 86_400_000).toISOString());
    const [idp, ...others] = childElements(root, NS.metadata, 'IDPSSODescriptor');
    assert.ok(idp && others.length === 0);
    assert.equal(attr(idp, 'protocolSupportEnumeration'), NS.protocol);
    assert.equal(attr(idp, 'WantAuthnRequestsSigned'), 'false');
    const descriptors = childElements(idp, NS.metadata, 'KeyDescriptor');
    assert.deepEqual(
      descriptors.map((d) => attr(d, 'use')),
      ['signing', 'signing'],
    );
    assert.deepEqual(
      descriptors.map((d) => textOf(descendants(d, NS.dsig, 'X509Certificate')[0]!)),
      keys.map((k) => k.certificateBase64),
      'each published certificate, the signer first',
    );
    const endpoints = (name: string) => childElements(idp, NS.metadata, name).map((e) => [attr(e, 'Binding'), attr(e, 'Location')]);
    assert.deepEqual(endpoints('SingleSignOnService'), [
      [BINDINGS.redirect, 'https://idp.example.com/auth/saml/login'],
      [BINDINGS.post, 'https://idp.example.com/auth/saml/login'],
    ]);
    assert.deepEqual(endpoints('SingleLogoutService'), [
      [BINDINGS.redirect, 'https://idp.example.com/auth/saml/logout'],
      [BINDINGS.post, 'https://idp.example.com/auth/saml/logout'],
    ]);
    assert.deepEqual(childElements(idp, NS.metadata, 'NameIDFormat').map(textOf), [NAMEID_UNSPECIFIED]);
    assert.deepEqual(
      childElements(idp, NS.assertion, 'Attribute').map((a) => attr(a, 'Name')),
      ['idpId', 'phoneNumber'],
    );
    // The schema's order: KeyDescriptor, SingleLogoutService, NameIDFormat, SingleSignOnService, Attribute.
    const runs: string[] = [];
    for (let n = idp.firstChild; n; n = n.nextSibling) if (isElement(n) && runs.at(-1) !== n.localName) runs.push(n.localName ?? '');
    assert.deepEqual(runs, ['KeyDescriptor', 'SingleLogoutService', 'NameIDFormat', 'SingleSignOnService', 'Attribute']);
  });

  it('gives the same document, ID included, for the same input, and another for other keys', () => {
    assert.equal(buildIdpMetadata(input()), buildIdpMetadata(input()));
    const one = buildIdpMetadata({ ...input(), keys: keys.slice(0, 1) });
    assert.notEqual(/ ID="([^"]+)"/.exec(one)?.[1], /ID="([^"]+)"/.exec(buildIdpMetadata(input()))?.[1]);
  });

  it('publishes certificates that verify what their keys sign (checked by node-saml)', async () => {
    const xml = buildIdpMetadata(input());
    const published = descendants(parseXml(xml, 'the IdP metadata'), NS.dsig, 'X509Certificate').map((c) => new X509Certificate(Buffer.from(textOf(c), 'base64')).toString());
    const message = `<samlp:Response xmlns:samlp="${NS.protocol}" ID="_r1" Version="2.0" IssueInstant="${new Date(t0).toISOString()}"><saml:Issuer xmlns:saml="${NS.assertion}">https://idp.example.com/auth/saml</saml:Issuer></samlp:Response>`;
    for (const [i, key] of keys.entries()) {
      const signed = signXml(message, "//*[local-name(.)='Response']", { reference: "//*[local-name(.)='Issuer']", action: 'after' }, { privateKey: key.privateKeyPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
      const root = (await parseDomFromString(signed)).documentElement!;
      assert.equal(validateSignature(signed, root, [published[i]!]), true, `key ${i} verifies with certificate ${i} of the metadata`);
      assert.equal(validateSignature(signed, root, [published[1 - i]!]), false, 'and not with the other one');
    }
  });

  it('needs a key', () => {
    assert.throws(() => buildIdpMetadata({ ...input(), keys: [] }), /at least one signing key/);
  });
});
