/**
 * Receiving SAML messages: the HTTP-Redirect and HTTP-POST bindings, detached and embedded
 * signatures checked with only the SP's metadata certificates, XML Signature Wrapping (the
 * variants of Somorovsky et al., "On Breaking SAML", 2012, on an AuthnRequest), comment injection
 * (CVE-2017-11428), DOCTYPE/XXE, entity expansion and DEFLATE bombs. Real signed requests come from
 * @node-saml/node-saml acting as the SP; the hostile ones are built from them.
 */
import assert from 'node:assert/strict';
import { createHash, sign as cryptoSign, type BinaryLike, type KeyLike } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { SAML } from '@node-saml/node-saml';
import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { createOptionalCallbackFunction, SignedXml, type HashAlgorithm, type SignatureAlgorithm } from 'xml-crypto';
import { decodePostForm, decodeRedirectQuery, MAX_REDIRECT_QUERY_BYTES } from '../src/protocols/saml/binding.js';
import { EXC_C14N, NS, SamlError, SHA256, SIG_ALGS, type SamlErrorCode } from '../src/protocols/saml/model.js';
import { verifyDetachedSignature, verifyEmbeddedSignature } from '../src/protocols/saml/verify.js';
import { makeSigningKey, type TestSigningKey } from './support/saml-inbound-certs.js';

const IDP_LOGIN = 'https://idp.example.test/auth/saml/login';
const SP_ENTITY_ID = 'https://sp.example.test/metadata';
const AUTHN_REQUEST = { ns: NS.protocol, localName: 'AuthnRequest', what: 'the AuthnRequest' };
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#sha384';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';

/** The seed's AuthnRequest, verbatim but for its Destination. */
const SEED_ID = 'd2d2ae0656604b739d9bf36edca452a7';
const SEED_REQUEST = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
AttributeConsumingServiceIndex="1"
Destination="${IDP_LOGIN}"
ID="${SEED_ID}"
IssueInstant="2024-08-12T07:20:50.265Z"
ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
Version="2.0"
>
<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">ENTITY_ID</saml:Issuer>
</samlp:AuthnRequest>`;

let sp: TestSigningKey;
let attacker: TestSigningKey;
let ecSp: TestSigningKey;

before(() => {
  sp = makeSigningKey('rsa', 'SAML Example SP');
  attacker = makeSigningKey('rsa', 'Attacker');
  ecSp = makeSigningKey('ec', 'EC SP');
});

/** Runs `fn`, which must throw a SamlError with this code and a message matching `message`. */
function refused(fn: () => unknown, code: SamlErrorCode, message: RegExp): SamlError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SamlError, `expected a SamlError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  // Says what and where, never repeats certificates, keys or the message.
  assert.ok(caught.message.length < 400, `message too long: ${caught.message}`);
  assert.doesNotMatch(caught.message, /BEGIN|MII[A-Za-z0-9+/]{20}/);
  return caught;
}

type Sha = 'sha1' | 'sha256';

function nodeSamlSp(key: TestSigningKey, { signatureAlgorithm = 'sha256', digestAlgorithm = 'sha256', post = false }: { signatureAlgorithm?: Sha; digestAlgorithm?: Sha; post?: boolean } = {}): SAML {
  return new SAML({
    entryPoint: IDP_LOGIN,
    issuer: SP_ENTITY_ID,
    callbackUrl: 'https://sp.example.test/saml/acs',
    idpCert: sp.certificatePem,
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    signatureAlgorithm,
    digestAlgorithm,
    // The POST binding carries the message uncompressed (bindings §3.5.4); node-saml deflates by default.
    skipRequestCompression: post,
  });
}

/** node-saml's signed Redirect URL, as the raw query the IdP receives. */
async function nodeSamlRedirectQuery(key: TestSigningKey, relayState = 'relay-123', signatureAlgorithm: Sha = 'sha256'): Promise<string> {
  const url = await nodeSamlSp(key, { signatureAlgorithm }).getAuthorizeUrlAsync(relayState, undefined, {});
  return url.slice(url.indexOf('?') + 1);
}

/** node-saml's signed POST form's SAMLRequest, decoded. */
async function nodeSamlPostXml(key: TestSigningKey, algorithms: { signatureAlgorithm?: Sha; digestAlgorithm?: Sha } = {}): Promise<string> {
  return decodePostForm({ SAMLRequest: await nodeSamlPostField(key, algorithms) }).xml;
}

/** The SAMLRequest field of node-saml's self-submitting POST form. */
async function nodeSamlPostField(key: TestSigningKey, algorithms: { signatureAlgorithm?: Sha; digestAlgorithm?: Sha } = {}): Promise<string> {
  const html = await nodeSamlSp(key, { ...algorithms, post: true }).getAuthorizeFormAsync('relay-123');
  const field = /name="SAMLRequest" value="([^"]*)"/.exec(html)?.[1];
  assert.ok(field, 'node-saml form has a SAMLRequest field');
  return field;
}

function deflated(xml: string): string {
  return deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64');
}

function redirectQuery(xml: string, relayState?: string): string {
  const params = new URLSearchParams({ SAMLRequest: deflated(xml) });
  if (relayState !== undefined) params.set('RelayState', relayState);
  return params.toString();
}

/** Appends SigAlg and Signature to raw query octets, signing them exactly as given. */
function signQuery(rawOctets: string, key: TestSigningKey, sigAlg: string = SIG_ALGS.rsaSha256, hash = 'sha256', ec = false): string {
  const signed = `${rawOctets}&SigAlg=${encodeURIComponent(sigAlg)}`;
  const signature = cryptoSign(hash, Buffer.from(signed), ec ? { key: key.privateKeyPem, dsaEncoding: 'ieee-p1363' } : key.privateKeyPem);
  return `${signed}&Signature=${encodeURIComponent(signature.toString('base64'))}`;
}

function base64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

function parse(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'application/xml');
}

function serialize(node: Document | Element): string {
  return new XMLSerializer().serializeToString(node);
}

/** Edits a signed message with DOM operations, as an attacker holding one would. */
function mutate(xml: string, edit: (doc: Document, root: Element, signature: Element) => void): string {
  const doc = parse(xml);
  const root = doc.documentElement as Element;
  const signature = doc.getElementsByTagNameNS(NS.dsig, 'Signature')[0] as Element;
  edit(doc, root, signature);
  return serialize(doc);
}

function child(parent: Element, ns: string, localName: string): Element {
  const found = Array.from(parent.childNodes as unknown as ArrayLike<Element>).find((n) => n.nodeType === 1 && n.namespaceURI === ns && n.localName === localName);
  assert.ok(found, `${localName} under ${parent.localName}`);
  return found;
}

const DS = `xmlns:ds="${NS.dsig}"`;

/** Inserts `text` after (or before) the first match of `at`, which must be found. */
function inserted(xml: string, at: RegExp, text: string, where: 'after' | 'before' = 'after'): string {
  const out = xml.replace(at, (tag) => (where === 'after' ? `${tag}${text}` : `${text}${tag}`));
  assert.notEqual(out, xml, `${at} is in the message`);
  return out;
}

function issuerOf(root: Element): Element {
  return child(root, NS.assertion, 'Issuer');
}

/** ECDSA-SHA256 for xml-crypto's signer (it has none), r||s as XML-DSig wants. */
class EcdsaSha256 implements SignatureAlgorithm {
  getAlgorithmName = () => SIG_ALGS.ecdsaSha256;
  getSignature = createOptionalCallbackFunction((signedInfo: BinaryLike, privateKey: KeyLike): string =>
    cryptoSign('sha256', Buffer.from(signedInfo as string), { key: privateKey as string, dsaEncoding: 'ieee-p1363' }).toString('base64'),
  );
  // Only signs here; verifying is what verify.ts is tested for.
  verifySignature = createOptionalCallbackFunction((): boolean => false);
}

/** SHA-384 digests for xml-crypto's signer (it has none). */
class Sha384 implements HashAlgorithm {
  getAlgorithmName = () => SHA384;
  getHash = (xml: string) => createHash('sha384').update(xml, 'utf8').digest('base64');
}

interface SignOptions {
  /** XPath of the element to sign (default: the root). */
  reference?: string;
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  transforms?: string[];
  isEmptyUri?: boolean;
}

/** An enveloped signature made with xml-crypto, placed after the root's Issuer as SAML wants. */
function signEnveloped(xml: string, key: TestSigningKey, options: SignOptions = {}): string {
  const signer = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    signatureAlgorithm: options.signatureAlgorithm ?? SIG_ALGS.rsaSha256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  signer.SignatureAlgorithms[SIG_ALGS.ecdsaSha256] = EcdsaSha256;
  signer.HashAlgorithms[SHA384] = Sha384;
  signer.addReference({
    xpath: options.reference ?? '/*',
    transforms: options.transforms ?? [ENVELOPED, EXC_C14N],
    digestAlgorithm: options.digestAlgorithm ?? SHA256,
    isEmptyUri: options.isEmptyUri ?? false,
  });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
  return signer.getSignedXml();
}

describe('SAML HTTP-Redirect binding', () => {
  it('decodes and verifies an AuthnRequest that node-saml signed (rsa-sha256), with the certificate among others', async () => {
    const message = decodeRedirectQuery(await nodeSamlRedirectQuery(sp));
    assert.equal(message.binding, 'redirect');
    assert.equal(message.parameter, 'SAMLRequest');
    assert.equal(message.relayState, 'relay-123');
    assert.equal(message.detachedSignature?.sigAlg, SIG_ALGS.rsaSha256);
    verifyDetachedSignature(message, [sp.certificatePem]);
    verifyDetachedSignature(message, [attacker.certificatePem, sp.certificatePem]);
    // The query's signature covers the XML; the XML itself carries none.
    const verified = verifyEmbeddedSignature(message.xml, [sp.certificatePem], AUTHN_REQUEST);
    assert.equal(verified.signed, false);
    assert.equal(verified.root.localName, 'AuthnRequest');
    assert.equal(issuerOf(verified.root).textContent, SP_ENTITY_ID);
  });

  it("decodes the seed's unsigned AuthnRequest", () => {
    const message = decodeRedirectQuery(redirectQuery(SEED_REQUEST));
    assert.equal(message.detachedSignature, undefined);
    assert.equal(message.relayState, undefined);
    assert.equal(message.xml, SEED_REQUEST);
    const verified = verifyEmbeddedSignature(message.xml, [sp.certificatePem], AUTHN_REQUEST);
    assert.equal(verified.signed, false);
    assert.equal(verified.root.getAttribute('ID'), SEED_ID);
    assert.equal(issuerOf(verified.root).textContent, 'ENTITY_ID');
    refused(() => verifyDetachedSignature(message, [sp.certificatePem]), 'signature_required', /carries no Signature/);
  });

  it('takes a RelayState of 80 bytes and refuses 81 (counted in UTF-8 bytes, not characters)', () => {
    assert.equal(decodeRedirectQuery(redirectQuery(SEED_REQUEST, 'r'.repeat(80))).relayState, 'r'.repeat(80));
    refused(() => decodeRedirectQuery(redirectQuery(SEED_REQUEST, 'r'.repeat(81))), 'relay_state', /RelayState query parameter is 81 bytes long.*at most 80/);
    refused(() => decodeRedirectQuery(redirectQuery(SEED_REQUEST, 'é'.repeat(41))), 'relay_state', /82 bytes/);
  });

  it('refuses a signed query whose SAMLRequest, RelayState or SigAlg was changed after signing, or RelayState dropped', async () => {
    const raw = await nodeSamlRedirectQuery(sp);
    const other = new URLSearchParams({ SAMLRequest: deflated(SEED_REQUEST) }).toString().slice('SAMLRequest='.length);
    const variants = {
      SAMLRequest: raw.replace(/SAMLRequest=[^&]*/, `SAMLRequest=${other}`),
      RelayState: raw.replace('RelayState=relay-123', 'RelayState=relay-124'),
      SigAlg: raw.replace(encodeURIComponent(SIG_ALGS.rsaSha256), encodeURIComponent(SIG_ALGS.rsaSha512)),
      'no RelayState': raw.replace('&RelayState=relay-123', ''),
    };
    for (const [what, query] of Object.entries(variants)) {
      assert.notEqual(query, raw, what);
      const message = decodeRedirectQuery(query);
      refused(() => verifyDetachedSignature(message, [sp.certificatePem]), 'bad_signature', /Signature of the HTTP-Redirect SAMLRequest does not verify with the signing certificate.*changed after it was signed/);
    }
  });

  it("refuses a query signed by a key that is not in the SP's metadata", async () => {
    const message = decodeRedirectQuery(await nodeSamlRedirectQuery(attacker));
    refused(() => verifyDetachedSignature(message, [sp.certificatePem]), 'bad_signature', /does not verify/);
    // The same query verifies with the attacker's certificate: what failed is the trust, not the format.
    verifyDetachedSignature(message, [attacker.certificatePem]);
  });

  it('refuses rsa-sha1, saying SHA-1 is refused, and algorithms it does not know', async () => {
    const message = decodeRedirectQuery(await nodeSamlRedirectQuery(sp, 'relay-123', 'sha1'));
    assert.equal(message.detachedSignature?.sigAlg, RSA_SHA1);
    refused(() => verifyDetachedSignature(message, [sp.certificatePem]), 'unsupported_sig_alg', /SigAlg query parameter is "http:\/\/www\.w3\.org\/2000\/09\/xmldsig#rsa-sha1": SHA-1 is refused/);
    const dsa = decodeRedirectQuery(signQuery(redirectQuery(SEED_REQUEST), sp, 'http://www.w3.org/2000/09/xmldsig#dsa-sha1', 'sha1'));
    refused(() => verifyDetachedSignature(dsa, [sp.certificatePem]), 'unsupported_sig_alg', /SHA-1 is refused/);
    const unknown = decodeRedirectQuery(signQuery(redirectQuery(SEED_REQUEST), sp, 'urn:example:none'));
    refused(() => verifyDetachedSignature(unknown, [sp.certificatePem]), 'unsupported_sig_alg', /"urn:example:none", which eidhub does not accept/);
  });

  it('verifies over the octets as sent: lower- and upper-case percent-escapes, and + for a space', () => {
    const b64 = deflated(SEED_REQUEST);
    const lower = `SAMLRequest=${encodeURIComponent(b64).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())}&RelayState=a+b%2fc`;
    assert.match(lower, /%2[bf]|%3d/, 'the fixture has lower-case escapes to preserve');
    const upper = `SAMLRequest=${encodeURIComponent(b64)}&RelayState=a%20b%2Fc`;
    for (const raw of [lower, upper]) {
      const message = decodeRedirectQuery(signQuery(raw, sp));
      assert.equal(message.xml, SEED_REQUEST);
      assert.equal(message.relayState, 'a b/c');
      assert.ok(message.detachedSignature?.signedOctets.toString().startsWith(`${raw}&SigAlg=`));
      verifyDetachedSignature(message, [sp.certificatePem]);
    }
  });

  it('verifies ECDSA (P-256, r||s) query signatures, and an RSA SigAlg does not pass with an EC key', () => {
    const message = decodeRedirectQuery(signQuery(redirectQuery(SEED_REQUEST, 'ec'), ecSp, SIG_ALGS.ecdsaSha256, 'sha256', true));
    verifyDetachedSignature(message, [sp.certificatePem, ecSp.certificatePem]);
    const mislabelled = decodeRedirectQuery(signQuery(redirectQuery(SEED_REQUEST, 'ec'), ecSp, SIG_ALGS.rsaSha256, 'sha256', true));
    refused(() => verifyDetachedSignature(mislabelled, [ecSp.certificatePem]), 'bad_signature', /does not verify/);
  });

  it('refuses Signature without SigAlg and SigAlg without Signature', () => {
    const signed = signQuery(redirectQuery(SEED_REQUEST), sp);
    refused(() => decodeRedirectQuery(signed.replace(/&SigAlg=[^&]*/, '')), 'malformed', /carries Signature without SigAlg/);
    refused(() => decodeRedirectQuery(signed.replace(/&Signature=[^&]*/, '')), 'malformed', /carries SigAlg without Signature/);
  });

  it("says there is no certificate when the SP's metadata has none and the query is signed", () => {
    const message = decodeRedirectQuery(signQuery(redirectQuery(SEED_REQUEST), sp));
    refused(() => verifyDetachedSignature(message, []), 'bad_signature', /SP's metadata has no signing certificate/);
  });

  it('refuses SAML parameters given twice, both or neither message, and what is not base64 or DEFLATE', () => {
    const query = redirectQuery(SEED_REQUEST, 'x');
    refused(() => decodeRedirectQuery(`${query}&${query.split('&')[0]}`), 'malformed', /carries SAMLRequest more than once/);
    refused(() => decodeRedirectQuery(`${query}&RelayState=y`), 'malformed', /carries RelayState more than once/);
    refused(() => decodeRedirectQuery(`${query}&SAMLResponse=${encodeURIComponent(deflated(SEED_REQUEST))}`), 'malformed', /both SAMLRequest and SAMLResponse/);
    refused(() => decodeRedirectQuery('RelayState=x&other=1'), 'malformed', /neither SAMLRequest nor SAMLResponse/);
    refused(() => decodeRedirectQuery('SAMLRequest=abc$def'), 'malformed', /SAMLRequest query parameter is not base64: a character outside the standard base64 alphabet at position 4/);
    refused(() => decodeRedirectQuery('SAMLRequest=ab-_cd'), 'malformed', /not base64/);
    refused(() => decodeRedirectQuery('SAMLRequest=a%ZZ'), 'malformed', /not correctly URL-encoded/);
    refused(() => decodeRedirectQuery('SAMLRequest=ab=c'), 'malformed', /padding is wrong/);
    refused(() => decodeRedirectQuery(`SAMLRequest=${encodeURIComponent(base64(SEED_REQUEST))}`), 'malformed', /not DEFLATE-compressed/);
    refused(() => decodeRedirectQuery(`SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from([0xff, 0xfe, 0x41])).toString('base64'))}`), 'malformed', /not decode to UTF-8/);
    refused(() => decodeRedirectQuery(`${query}&SAMLEncoding=urn%3Aexample%3Aplain`), 'unsupported', /SAMLEncoding/);
    // Other parameters are passed over; a SAMLResponse is read the same way.
    const response = decodeRedirectQuery(`foo=1&SAMLResponse=${encodeURIComponent(deflated(SEED_REQUEST))}&foo=2`);
    assert.equal(response.parameter, 'SAMLResponse');
  });

  it('refuses a query over the size cap before decoding it', () => {
    refused(() => decodeRedirectQuery(`SAMLRequest=${'A'.repeat(MAX_REDIRECT_QUERY_BYTES)}`), 'too_large', /query string is larger than 64 kB/);
  });
});

describe('SAML HTTP-POST binding', () => {
  it('verifies an AuthnRequest that node-saml signed, and returns the signed element', async () => {
    const message = decodePostForm({ SAMLRequest: await nodeSamlPostField(sp), RelayState: 'relay-123' });
    const id = parse(message.xml).documentElement?.getAttribute('ID');
    assert.ok(id);
    assert.equal(message.binding, 'post');
    assert.equal(message.relayState, 'relay-123');
    assert.equal(message.detachedSignature, undefined);

    const verified = verifyEmbeddedSignature(message.xml, [attacker.certificatePem, sp.certificatePem], AUTHN_REQUEST);
    assert.equal(verified.signed, true);
    assert.equal(verified.root, verified.document.documentElement);
    assert.equal(verified.root.namespaceURI, NS.protocol);
    assert.equal(verified.root.localName, 'AuthnRequest');
    assert.equal(verified.root.getAttribute('ID'), id);
    assert.equal(issuerOf(verified.root).textContent, SP_ENTITY_ID);
    // The returned document is the canonical signed content: the enveloped signature is gone.
    assert.equal(verified.document.getElementsByTagNameNS(NS.dsig, 'Signature').length, 0);
  });

  it('verifies ECDSA (P-256) signatures and SHA-384 digests', () => {
    const ec = signEnveloped(SEED_REQUEST, ecSp, { signatureAlgorithm: SIG_ALGS.ecdsaSha256 });
    assert.equal(verifyEmbeddedSignature(ec, [sp.certificatePem, ecSp.certificatePem], AUTHN_REQUEST).signed, true);
    const sha384 = signEnveloped(SEED_REQUEST, sp, { digestAlgorithm: SHA384 });
    assert.equal(verifyEmbeddedSignature(sha384, [sp.certificatePem], AUTHN_REQUEST).root.getAttribute('ID'), SEED_ID);
  });

  it("decodes the seed's unsigned AuthnRequest, with base64 line breaks, and returns signed: false", () => {
    const wrapped = base64(SEED_REQUEST).replace(/.{76}/g, '$&\r\n');
    const message = decodePostForm({ SAMLRequest: wrapped, RelayState: '' });
    assert.equal(message.xml, SEED_REQUEST);
    assert.equal(message.relayState, undefined);
    const verified = verifyEmbeddedSignature(message.xml, [], AUTHN_REQUEST);
    assert.equal(verified.signed, false);
    assert.equal(verified.root.getAttribute('ID'), SEED_ID);
  });

  it('takes a RelayState of 80 bytes and refuses 81', () => {
    assert.equal(decodePostForm({ SAMLRequest: base64(SEED_REQUEST), RelayState: 'r'.repeat(80) }).relayState, 'r'.repeat(80));
    refused(() => decodePostForm({ SAMLRequest: base64(SEED_REQUEST), RelayState: 'r'.repeat(81) }), 'relay_state', /RelayState form field is 81 bytes long/);
  });

  it('refuses fields sent twice or not text, garbage base64, and passes over Signature and SigAlg fields', () => {
    refused(() => decodePostForm({ SAMLRequest: [base64(SEED_REQUEST), base64(SEED_REQUEST)] }), 'malformed', /carries SAMLRequest more than once/);
    refused(() => decodePostForm({ SAMLRequest: base64(SEED_REQUEST), RelayState: ['a', 'b'] }), 'malformed', /carries RelayState more than once/);
    refused(() => decodePostForm({ SAMLRequest: { a: 1 } }), 'malformed', /SAMLRequest form field is not text/);
    refused(() => decodePostForm({ SAMLRequest: base64(SEED_REQUEST), SAMLResponse: base64(SEED_REQUEST) }), 'malformed', /both SAMLRequest and SAMLResponse/);
    refused(() => decodePostForm({}), 'malformed', /neither/);
    refused(() => decodePostForm({ SAMLRequest: `${base64(SEED_REQUEST)}!` }), 'malformed', /SAMLRequest form field is not base64/);
    const message = decodePostForm({ SAMLRequest: base64(SEED_REQUEST), Signature: 'abc', SigAlg: RSA_SHA1 });
    assert.equal(message.detachedSignature, undefined);
    assert.equal(message.xml, SEED_REQUEST);
  });

  it('refuses an oversized base64 message before decoding it', () => {
    const big = base64(`<a>${'x'.repeat(100 * 1024)}</a>`);
    refused(() => decodePostForm({ SAMLRequest: big }), 'too_large', /SAMLRequest form field is larger than 100 kB once base64-decoded/);
    refused(() => decodePostForm({ SAMLResponse: 'A'.repeat(10 * 1024 * 1024) }), 'too_large', /SAMLResponse form field is larger than 100 kB/);
  });

  it('refuses a message changed after signing', async () => {
    const xml = await nodeSamlPostXml(sp);
    const changed = mutate(xml, (_doc, root) => root.setAttribute('ForceAuthn', 'true'));
    refused(() => verifyEmbeddedSignature(changed, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /AuthnRequest was changed after it was signed: its digest does not match/);
  });

  it('never trusts a certificate that only KeyInfo carries', async () => {
    const xml = await nodeSamlPostXml(attacker);
    assert.ok(xml.includes(attacker.certificateBase64), 'the KeyInfo carries the signing certificate');
    refused(() => verifyEmbeddedSignature(xml, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /does not verify with the signing certificate of the SP's metadata; a certificate in KeyInfo is never trusted by itself/);
    assert.equal(verifyEmbeddedSignature(xml, [attacker.certificatePem], AUTHN_REQUEST).signed, true);
  });

  it('refuses SHA-1, as digest or as signature method', async () => {
    refused(() => verifyEmbeddedSignature(signEnveloped(SEED_REQUEST, sp, { digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' }), [sp.certificatePem], AUTHN_REQUEST), 'unsupported_sig_alg', /DigestMethod of the AuthnRequest's signature is "http:\/\/www\.w3\.org\/2000\/09\/xmldsig#sha1": SHA-1 is refused/);
    const rsaSha1 = await nodeSamlPostXml(sp, { signatureAlgorithm: 'sha1' });
    refused(() => verifyEmbeddedSignature(rsaSha1, [sp.certificatePem], AUTHN_REQUEST), 'unsupported_sig_alg', /SignatureMethod of the AuthnRequest's signature is .*rsa-sha1": SHA-1 is refused/);
  });

  it("says there is no certificate when the SP's metadata has none and the message is signed", async () => {
    refused(() => verifyEmbeddedSignature(signEnveloped(SEED_REQUEST, sp), [], AUTHN_REQUEST), 'bad_signature', /AuthnRequest is signed, but the SP's metadata has no signing certificate/);
  });

  it('refuses a root other than the expected one, and a signed root without ID', () => {
    const response = SEED_REQUEST.replace(/AuthnRequest/g, 'Response');
    refused(() => verifyEmbeddedSignature(response, [sp.certificatePem], AUTHN_REQUEST), 'malformed', /has the root element Response .* where AuthnRequest in urn:oasis:names:tc:SAML:2\.0:protocol was expected/);
    const noId = mutate(signEnveloped(SEED_REQUEST, sp), (_doc, root) => root.removeAttribute('ID'));
    refused(() => verifyEmbeddedSignature(noId, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /root AuthnRequest has no ID attribute/);
  });
});

describe('XML Signature Wrapping on a POSTed AuthnRequest', () => {
  let signed: string;
  let signedId: string;

  before(async () => {
    signed = await nodeSamlPostXml(sp);
    signedId = parse(signed).documentElement?.getAttribute('ID') ?? '';
    assert.equal(verifyEmbeddedSignature(signed, [sp.certificatePem], AUTHN_REQUEST).signed, true, 'the untouched message verifies');
  });

  /** An unsigned evil request (ID _evil, Issuer the attacker's) in the document of `doc`. */
  function evilCopy(doc: Document, root: Element, id = '_evil'): Element {
    const evil = root.cloneNode(true) as Element;
    const copiedSignature = evil.getElementsByTagNameNS(NS.dsig, 'Signature')[0];
    if (copiedSignature) evil.removeChild(copiedSignature);
    evil.setAttribute('ID', id);
    evil.setAttribute('AssertionConsumerServiceURL', 'https://evil.example/acs');
    issuerOf(evil).textContent = 'https://evil.example';
    doc.replaceChild(evil, root);
    return evil;
  }

  function extensionsOf(doc: Document, parent: Element): Element {
    const extensions = doc.createElementNS(NS.protocol, 'samlp:Extensions');
    parent.insertBefore(extensions, issuerOf(parent).nextSibling);
    return extensions;
  }

  it('XSW1: evil root carrying the original signature, the signed original moved into ds:Object', () => {
    const xml = mutate(signed, (doc, root, signature) => {
      const evil = evilCopy(doc, root);
      root.removeChild(signature);
      evil.insertBefore(signature, issuerOf(evil).nextSibling);
      const object = doc.createElementNS(NS.dsig, 'ds:Object');
      object.appendChild(root);
      signature.appendChild(object);
    });
    refused(() => verifyEmbeddedSignature(xml, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', new RegExp(`signature references "#${signedId}", not its root AuthnRequest \\(ID "_evil"\\)`));
  });

  it('XSW2: evil root, the signed original (with its signature) inside samlp:Extensions', () => {
    const xml = mutate(signed, (doc, root) => {
      const evil = evilCopy(doc, root);
      extensionsOf(doc, evil).appendChild(root);
    });
    refused(() => verifyEmbeddedSignature(xml, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /ds:Signature is at AuthnRequest\/Extensions\/AuthnRequest\/Signature, not directly under the root AuthnRequest/);
  });

  it('XSW3: evil root with the same ID as the signed original (duplicate IDs)', () => {
    const xml = mutate(signed, (doc, root, signature) => {
      const evil = evilCopy(doc, root, signedId);
      root.removeChild(signature);
      evil.insertBefore(signature, issuerOf(evil).nextSibling);
      extensionsOf(doc, evil).appendChild(root);
    });
    refused(() => verifyEmbeddedSignature(xml, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', new RegExp(`has the ID "${signedId}" on two elements \\(AuthnRequest and AuthnRequest/Extensions/AuthnRequest\\)`));
  });

  it("XSW3b: duplicate IDs under other ID attribute names (Id, id) count too", () => {
    for (const name of ['Id', 'id']) {
      const xml = mutate(signed, (doc, root) => {
        const decoy = doc.createElementNS('urn:example:evil', 'e:Decoy');
        decoy.setAttribute(name, signedId);
        extensionsOf(doc, root).appendChild(decoy);
      });
      refused(() => verifyEmbeddedSignature(xml, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /on two elements \(AuthnRequest and AuthnRequest\/Extensions\/Decoy\)/);
    }
  });

  it('XSW4: the signed original wrapped as a child of an evil copy, first or last', () => {
    for (const place of ['first', 'last'] as const) {
      const xml = mutate(signed, (doc, root) => {
        const evil = evilCopy(doc, root);
        if (place === 'first') evil.insertBefore(root, evil.firstChild);
        else evil.appendChild(root);
      });
      refused(() => verifyEmbeddedSignature(xml, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /ds:Signature is at AuthnRequest\/AuthnRequest\/Signature, not directly under the root/);
    }
  });

  it('XSW5: the signature moved into a descendant of the signed message', () => {
    const xml = mutate(signed, (doc, root, signature) => {
      root.removeChild(signature);
      extensionsOf(doc, root).appendChild(signature);
    });
    refused(() => verifyEmbeddedSignature(xml, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /ds:Signature is at AuthnRequest\/Extensions\/Signature, not directly under the root/);
  });

  it('XSW6: a second ds:Signature, beside the first or inside it', () => {
    const beside = mutate(signed, (_doc, root, signature) => root.appendChild(signature.cloneNode(true)));
    refused(() => verifyEmbeddedSignature(beside, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /carries 2 ds:Signature elements \(AuthnRequest\/Signature, AuthnRequest\/Signature\); only one/);
    const inside = mutate(signed, (doc, _root, signature) => {
      const object = doc.createElementNS(NS.dsig, 'ds:Object');
      object.appendChild(signature.cloneNode(true));
      signature.appendChild(object);
    });
    refused(() => verifyEmbeddedSignature(inside, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /carries 2 ds:Signature elements/);
  });

  it('XSW7: a valid signature whose Reference is another element, or the whole document', () => {
    const withExtension = SEED_REQUEST.replace(
      '</saml:Issuer>',
      '</saml:Issuer><samlp:Extensions><e:Blob xmlns:e="urn:example:ext" ID="_other">signed by the SP for something else</e:Blob></samlp:Extensions>',
    );
    const other = signEnveloped(withExtension, sp, { reference: "//*[@ID='_other']", transforms: [EXC_C14N] });
    assert.match(other, /URI="#_other"/);
    refused(() => verifyEmbeddedSignature(other, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', new RegExp(`signature references "#_other", not its root AuthnRequest \\(ID "${SEED_ID}"\\)`));
    const whole = signEnveloped(SEED_REQUEST, sp, { isEmptyUri: true });
    assert.match(whole, /URI=""/);
    refused(() => verifyEmbeddedSignature(whole, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /references the whole document \(an empty URI\)/);
  });

  it('XSW8: XPath and XSLT transforms, C14N 1.0 as a transform, and a transform listed twice are refused', () => {
    const transforms = {
      xpath: `<ds:Transform ${DS} Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>`,
      xslt: `<ds:Transform ${DS} Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>`,
      'xpath-filter2': `<ds:Transform ${DS} Algorithm="http://www.w3.org/2002/06/xmldsig-filter2"/>`,
      'inclusive C14N': `<ds:Transform ${DS} Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>`,
    };
    for (const [name, transform] of Object.entries(transforms)) {
      const xml = inserted(signed, /<(ds:)?Transforms>/, transform);
      const error = refused(() => verifyEmbeddedSignature(xml, [sp.certificatePem], AUTHN_REQUEST), 'unsupported_sig_alg', /has the transform ".*"; only enveloped-signature and exclusive C14N are accepted/);
      assert.ok(error.message.includes(/Algorithm="([^"]*)"/.exec(transform)?.[1] ?? '?'), name);
    }
    const twice = inserted(signed, /<(ds:)?Transforms>/, `<ds:Transform ${DS} Algorithm="${ENVELOPED}"/>`);
    refused(() => verifyEmbeddedSignature(twice, [sp.certificatePem], AUTHN_REQUEST), 'unsupported_sig_alg', /lists ".*enveloped-signature" twice/);
  });

  it('XSW9: look-alike signature parts in another namespace, a second Reference, a stray Transform', () => {
    const foreignReference = inserted(signed, /<\/(ds:)?SignedInfo>/, '<x:Reference xmlns:x="urn:example:evil" URI="#_evil"/>', 'before');
    refused(() => verifyEmbeddedSignature(foreignReference, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /exactly one ds:Reference, in SignedInfo .*; found AuthnRequest\/Signature\/SignedInfo\/Reference, AuthnRequest\/Signature\/SignedInfo\/Reference/);
    const onlyForeignReference = mutate(signed, (doc, _root, signature) => {
      const signedInfo = child(signature, NS.dsig, 'SignedInfo');
      const reference = child(signedInfo, NS.dsig, 'Reference');
      const lookalike = doc.createElementNS('urn:example:evil', 'x:Reference');
      lookalike.setAttribute('URI', reference.getAttribute('URI') ?? '');
      while (reference.firstChild) lookalike.appendChild(reference.firstChild);
      signedInfo.replaceChild(lookalike, reference);
    });
    refused(() => verifyEmbeddedSignature(onlyForeignReference, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /exactly one ds:Reference, in SignedInfo .*; found AuthnRequest\/Signature\/SignedInfo\/Reference$/);
    const secondReference = mutate(signed, (_doc, _root, signature) => {
      const signedInfo = child(signature, NS.dsig, 'SignedInfo');
      signedInfo.appendChild(child(signedInfo, NS.dsig, 'Reference').cloneNode(true));
    });
    refused(() => verifyEmbeddedSignature(secondReference, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /exactly one ds:Reference/);
    const foreignTransform = inserted(signed, /<(ds:)?Transforms>/, '<x:Transform xmlns:x="urn:example:evil" Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/>');
    refused(() => verifyEmbeddedSignature(foreignTransform, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /has a Transform at .*Transforms\/Transform, outside the Reference's ds:Transforms/);
    const strayCanonicalization = inserted(signed, /<\/(ds:)?Signature>/, `<ds:Object ${DS}><ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/></ds:Object>`, 'before');
    refused(() => verifyEmbeddedSignature(strayCanonicalization, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /exactly one ds:CanonicalizationMethod/);
  });

  it('comment injection (CVE-2017-11428): the Issuer read is the signed text, whole; changing the text still fails', () => {
    const clean = verifyEmbeddedSignature(signed, [sp.certificatePem], AUTHN_REQUEST);
    const injected = inserted(signed, /https:\/\/sp\.example\.test(?=\/metadata<)/, '<!-- injected -->');
    // What a naive reader of the message as received would take for the Issuer:
    assert.equal(issuerOf(parse(injected).documentElement as Element).firstChild?.nodeValue, 'https://sp.example.test');
    const verified = verifyEmbeddedSignature(injected, [sp.certificatePem], AUTHN_REQUEST);
    assert.equal(verified.signed, true);
    const issuer = issuerOf(verified.root);
    assert.equal(issuer.childNodes.length, 1);
    assert.equal(issuer.firstChild?.nodeValue, SP_ENTITY_ID);
    assert.equal(serialize(verified.document), serialize(clean.document), 'the injected comment changes nothing in what is returned');

    const extended = inserted(signed, /\/metadata(?=<\/saml:Issuer>)/, '<!---->.evil.example');
    refused(() => verifyEmbeddedSignature(extended, [sp.certificatePem], AUTHN_REQUEST), 'bad_signature', /changed after it was signed/);
  });
});

describe('DOCTYPE, entities and bombs in SAML messages', () => {
  const XXE = `<?xml version="1.0"?>
<!DOCTYPE samlp:AuthnRequest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
${SEED_REQUEST.replace('>ENTITY_ID<', '>&xxe;<')}`;
  const LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
<!ENTITY lol "lol">
${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('\n')}
]>
${SEED_REQUEST.replace('>ENTITY_ID<', '>&lol9;<')}`;

  function assertNothingRead(error: SamlError): void {
    assert.doesNotMatch(error.message, /root:|nologin|\/bin\//);
    assert.doesNotMatch(error.message, /lollol/);
  }

  it('refuses an XXE DOCTYPE in a POSTed message, before parsing', () => {
    const message = decodePostForm({ SAMLRequest: base64(XXE) });
    assert.equal(message.xml, XXE);
    assertNothingRead(refused(() => verifyEmbeddedSignature(message.xml, [sp.certificatePem], AUTHN_REQUEST), 'doctype', /AuthnRequest contains a DOCTYPE or entity declaration.*refused before parsing/));
  });

  it('refuses an XXE DOCTYPE in a Redirect message, signed query or not', () => {
    for (const query of [redirectQuery(XXE, 'x'), signQuery(redirectQuery(XXE, 'x'), sp)]) {
      const message = decodeRedirectQuery(query);
      assertNothingRead(refused(() => verifyEmbeddedSignature(message.xml, [sp.certificatePem], AUTHN_REQUEST), 'doctype', /DOCTYPE/));
    }
  });

  it('refuses a billion-laughs entity expansion', () => {
    assert.ok(LAUGHS.includes('<!ENTITY lol9'));
    const message = decodePostForm({ SAMLRequest: base64(LAUGHS) });
    assertNothingRead(refused(() => verifyEmbeddedSignature(message.xml, [sp.certificatePem], AUTHN_REQUEST), 'doctype', /DOCTYPE or entity declaration/));
  });

  it('stops a DEFLATE bomb at 100 kB of output, promptly and without growing memory', () => {
    // 40 MB of spaces deflate to about 40 kB, whose base64 still fits in the query cap.
    const query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.alloc(40 * 1024 * 1024, 0x20), { level: 9 }).toString('base64'))}`;
    assert.ok(query.length < MAX_REDIRECT_QUERY_BYTES, `bomb query is ${query.length} bytes`);
    const buffersBefore = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    refused(() => decodeRedirectQuery(query), 'too_large', /SAMLRequest query parameter is larger than 100 kB once inflated/);
    const elapsed = performance.now() - started;
    const grown = process.memoryUsage().arrayBuffers - buffersBefore;
    assert.ok(elapsed < 2000, `took ${Math.round(elapsed)} ms`);
    assert.ok(grown < 16 * 1024 * 1024, `buffers grew by ${Math.round(grown / 1024 / 1024)} MB`);
    // 50 MB no longer fits the query at all.
    const bigger = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.alloc(50 * 1024 * 1024, 0x20), { level: 9 }).toString('base64'))}`;
    refused(() => decodeRedirectQuery(bigger), 'too_large', /larger than/);
  });
});

describe('HTTP-POST messages that SP libraries deflate anyway', () => {
  it('are inflated, with the same cap as the Redirect binding', () => {
    const request = '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_d" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"/>';
    const message = decodePostForm({ SAMLRequest: deflateRawSync(Buffer.from(request)).toString('base64') });
    assert.equal(message.xml, request);
    const bomb = deflateRawSync(Buffer.from(`<a>${' '.repeat(20 * 1024 * 1024)}</a>`), { level: 9 }).toString('base64');
    assert.throws(() => decodePostForm({ SAMLRequest: bomb }), (err: unknown) => err instanceof SamlError && err.code === 'too_large');
  });
});
