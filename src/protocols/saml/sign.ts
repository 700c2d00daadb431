/**
 * Signing what eidhub sends: enveloped XML signatures over a message, its assertion or the IdP
 * metadata (rsa-sha256, sha256 digest, exclusive c14n, the certificate in KeyInfo), and the query
 * signature of the HTTP-Redirect binding.
 *
 * The enveloped signature is put together here, with xml-crypto's exclusive canonicalisation,
 * rather than by xml-crypto's SignedXml: SignedXml writes an InclusiveNamespaces element into
 * every Transform of a reference (the enveloped-signature one too, in a namespace named after
 * that transform), where SAML signers such as the seed's put one `ec:InclusiveNamespaces` in the
 * exclusive c14n Transform only. The signed XML is returned as serialised here and must not be
 * reformatted afterwards.
 */
import { createHash, createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { XMLSerializer, type Document, type Element, type Node } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, findAncestorNs, type NamespacePrefix } from 'xml-crypto';
import { EXC_C14N, NS, SHA256, SIG_ALGS, type SamlSigningKey } from './model.js';
import { childElements, escapeXmlAttr, isElement, parseXml } from './xml.js';

/**
 * The signing key as a KeyObject, decoded once per key: OpenSSL decodes a PEM on every sign()
 * otherwise, which costs about 1 ms per signature (bench/FINDINGS.md).
 */
const keyObjects = new WeakMap<SamlSigningKey, KeyObject>();
function privateKeyOf(key: SamlSigningKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = createPrivateKey(key.privateKeyPem);
    keyObjects.set(key, object);
  }
  return object;
}

const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

/** The IDs eidhub signs are its own (newSamlId) or its metadata's: XML names, nothing to escape. */
const SIGNABLE_ID = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** xml-crypto types its DOM arguments with the DOM lib's interfaces; xmldom's nodes are those at run time. */
type DomElement = globalThis.Element;
type DomDocument = globalThis.Document;

/**
 * `ancestorNamespaces`: the bindings in scope from above the element, which the prefix list may
 * pull in. xml-crypto declares those on the element it is given, so it is given a copy.
 */
function exclusiveC14n(element: Element, prefixList: string[], ancestorNamespaces: NamespacePrefix[]): string {
  const copy = element.cloneNode(true) as unknown as DomElement;
  return new ExclusiveCanonicalization().process(copy, { inclusiveNamespacesPrefixList: prefixList, ancestorNamespaces });
}

/** The one element whose ID attribute is `id`; more than one would make the reference ambiguous. */
function elementWithId(doc: Document, id: string): Element {
  if (!SIGNABLE_ID.test(id)) throw new TypeError(`cannot sign the element with ID "${id}": not an XML name`);
  const found = Array.from(doc.getElementsByTagName('*') as unknown as ArrayLike<Element>).filter((el) => el.getAttribute('ID') === id);
  if (found.length !== 1) throw new TypeError(`cannot sign the element with ID "${id}": ${found.length} elements have it`);
  return found[0]!;
}

/**
 * Signs `element` (enveloped) and inserts the ds:Signature before `before` (null: as its last
 * child). Returns the whole document, serialised.
 */
function insertSignature(doc: Document, element: Element, before: Node | null, key: SamlSigningKey, prefixList: string[]): string {
  const id = element.getAttribute('ID')!;
  // The signature is not in the element yet, so this is what the enveloped-signature transform leaves.
  const ancestors = prefixList.length ? findAncestorNs(doc as unknown as DomDocument, `//*[@ID='${id}']`) : [];
  const digest = createHash('sha256').update(exclusiveC14n(element, prefixList, ancestors), 'utf8').digest('base64');
  const inclusive = prefixList.length ? `<ec:InclusiveNamespaces xmlns:ec="${EXC_C14N}" PrefixList="${escapeXmlAttr(prefixList.join(' '))}"/>` : '';
  const signedInfo =
    `<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/><ds:SignatureMethod Algorithm="${SIG_ALGS.rsaSha256}"/>` +
    `<ds:Reference URI="#${id}"><ds:Transforms><ds:Transform Algorithm="${ENVELOPED_SIGNATURE}"/><ds:Transform Algorithm="${EXC_C14N}">${inclusive}</ds:Transform></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="${SHA256}"/><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>`;
  // SignedInfo's exclusive canonical form does not depend on where the Signature stands, so it can be taken from the Signature alone.
  const draft = parseXml(`<ds:Signature xmlns:ds="${NS.dsig}">${signedInfo}</ds:Signature>`, 'the SignedInfo');
  const signedInfoElement = childElements(draft.documentElement!, NS.dsig, 'SignedInfo')[0]!;
  const signatureValue = createSign('RSA-SHA256').update(exclusiveC14n(signedInfoElement, [], []), 'utf8').sign(privateKeyOf(key), 'base64');
  const signature = parseXml(
    `<ds:Signature xmlns:ds="${NS.dsig}">${signedInfo}<ds:SignatureValue>${signatureValue}</ds:SignatureValue>` +
      `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${key.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>`,
    'the Signature',
  ).documentElement!;
  element.insertBefore(doc.importNode(signature, true), before);
  return serialize(doc);
}

/**
 * xmldom writes a carriage return in text as it is, and the verifier's parser would read it back
 * as a line feed, which the signature does not cover. A raw CR in the output can only come from
 * such a character (the parser turned every CR of the input markup into LF, and there is no CDATA
 * or comment in what eidhub signs), so each one becomes a character reference.
 */
function serialize(doc: Document): string {
  return new XMLSerializer().serializeToString(doc).replace(/\r/g, '&#13;');
}

/**
 * Enveloped signature over the element whose ID is `id` (the root or a descendant), placed right
 * after that element's saml:Issuer child, where the SAML schema wants it.
 */
export function signElement(xml: string, id: string, key: SamlSigningKey, options: { inclusiveNamespacesPrefixList?: string[] } = {}): string {
  const doc = parseXml(xml, 'the message to sign');
  const element = elementWithId(doc, id);
  let first = element.firstChild;
  while (first && !isElement(first)) first = first.nextSibling;
  const issuer = childElements(element, NS.assertion, 'Issuer')[0];
  if (!issuer || first !== issuer) throw new TypeError(`cannot sign the element with ID "${id}": it does not start with a saml:Issuer`);
  return insertSignature(doc, element, issuer.nextSibling, key, options.inclusiveNamespacesPrefixList ?? []);
}

/** Enveloped signature over the metadata's root element (whose ID is `id`), as its first child. */
export function signMetadata(xml: string, id: string, key: SamlSigningKey): string {
  const doc = parseXml(xml, 'the metadata to sign');
  const element = elementWithId(doc, id);
  if (element !== doc.documentElement) throw new TypeError(`cannot sign the metadata: the element with ID "${id}" is not its root`);
  return insertSignature(doc, element, element.firstChild, key, []);
}

/**
 * Percent-encodes all but RFC 3986's unreserved characters. The signature covers the octets as
 * sent; a verifier that re-encodes the decoded values with an RFC 3986 encoder (rather than keep
 * the octets, as the binding asks) then still gets the same ones.
 */
function encodeStrict(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The HTTP-Redirect binding's query (without '?'): the message deflated, base64 and URL-encoded,
 * RelayState when there is one, SigAlg, and the rsa-sha256 Signature over the three as they stand.
 */
export function signRedirectQuery(parameter: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState: string | undefined, key: SamlSigningKey): string {
  const message = deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64');
  let signed = `${parameter}=${encodeStrict(message)}`;
  if (relayState) signed += `&RelayState=${encodeStrict(relayState)}`;
  signed += `&SigAlg=${encodeStrict(SIG_ALGS.rsaSha256)}`;
  const signature = createSign('RSA-SHA256').update(signed, 'utf8').sign(privateKeyOf(key), 'base64');
  return `${signed}&Signature=${encodeStrict(signature)}`;
}
