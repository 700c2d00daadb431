/**
 * SAML metadata: reading a service provider's (what eidhub trusts about it: ACS URLs, bindings,
 * certificates, requested attributes) and writing the IdP's own.
 *
 * An SP's metadata is configuration, read once at start, so it is checked strictly: anything
 * eidhub would later trip over (a broken certificate, an ACS URL it must never post to, two ACS
 * with one index) is refused here, with a message that says what and where.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { isAllowedRedirectUri } from '../../config/schema.js';
import { BINDINGS, NAMEID_UNSPECIFIED, NS, SamlError, type AttributeConsumingService, type SamlSigningKey, type ServiceProvider, type SpEndpoint } from './model.js';
import { attr, childElements, escapeXmlAttr, escapeXmlText, parseXml, samlInstant, textOf } from './xml.js';

/** SP metadata is read from the config, not from the network; a few certificates make it a few kB. */
const METADATA_MAX_BYTES = 1024 * 1024;
/** SAML core §8.3.6: an entityID has at most 1024 characters. */
const ENTITY_ID_MAX = 1024;

export interface SpOptions {
  requireSignedRequests: boolean;
  signResponse: boolean;
  /** Undefined: encrypt when the metadata has an encryption certificate. */
  encryptAssertions?: boolean | undefined;
}

/** An upper-case tag such as `<SP_PUBLIC_SIGNING_CERTIFICATE>`: a template's placeholder left in. */
const PLACEHOLDER_TAG = /<([A-Z][A-Z0-9_]{2,})>/;

function malformed(message: string): SamlError {
  return new SamlError('malformed', message);
}

/** xs:boolean; undefined when absent. */
function booleanAttr(el: Element, name: string, where: string): boolean | undefined {
  const value = attr(el, name);
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw malformed(`${where}: ${name}="${value}" is not a boolean (true, false, 1 or 0)`);
}

/** xs:unsignedShort, required: the index of an indexed endpoint or AttributeConsumingService. */
function indexAttr(el: Element, where: string): number {
  const value = attr(el, 'index');
  if (value === undefined) throw malformed(`${where} has no index`);
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw malformed(`${where}: index="${value}" is not a whole number from 0 to 65535`);
  return Number(value);
}

function requiredAttr(el: Element, name: string, where: string): string {
  const value = attr(el, name)?.trim();
  if (!value) throw malformed(`${where} has no ${name}`);
  return value;
}

/** Where eidhub may send a browser with a SAML message: the rule for OIDC redirect URIs, and a real host name. */
function endpointUrl(el: Element, name: string, where: string): string {
  const value = requiredAttr(el, name, where);
  const quoted = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  if (!isAllowedRedirectUri(value)) {
    throw malformed(`${where}: ${name} "${quoted}" must be an absolute https URL without a fragment (http only on localhost, 127.0.0.1 or [::1])`);
  }
  const host = new URL(value).hostname;
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?)$/.test(host)) {
    throw malformed(`${where}: ${name} "${quoted}" has no valid host name ("${host}"; a placeholder left in?)`);
  }
  return value;
}

/** The md elements of this name that carry an index (xs:unsignedShort), which must be unique among them. */
function indexedChildren(parent: Element, localName: string): { el: Element; where: string; index: number }[] {
  const byIndex = new Map<number, number>();
  return childElements(parent, NS.metadata, localName).map((el, i) => {
    const where = `${localName} #${i + 1}`;
    const index = indexAttr(el, where);
    const prior = byIndex.get(index);
    if (prior !== undefined) throw malformed(`${where}: index="${index}" is also the index of ${localName} #${prior}`);
    byIndex.set(index, i + 1);
    return { el, where, index };
  });
}

function acsEndpoints(sso: Element): SpEndpoint[] {
  const found = indexedChildren(sso, 'AssertionConsumerService');
  if (found.length === 0) throw malformed('no AssertionConsumerService in the SPSSODescriptor: eidhub would not know where to send the answer');
  return found.map(({ el, where, index }) => ({
    binding: requiredAttr(el, 'Binding', where),
    location: endpointUrl(el, 'Location', where),
    index,
    isDefault: booleanAttr(el, 'isDefault', where),
  }));
}

function sloEndpoints(sso: Element): SpEndpoint[] {
  return childElements(sso, NS.metadata, 'SingleLogoutService').map((el, i) => {
    const where = `SingleLogoutService #${i + 1}`;
    return {
      binding: requiredAttr(el, 'Binding', where),
      location: endpointUrl(el, 'Location', where),
      responseLocation: attr(el, 'ResponseLocation') === undefined ? undefined : endpointUrl(el, 'ResponseLocation', where),
    };
  });
}

/** The base64 of an X509Certificate element as PEM, once it proved to be a certificate with an RSA or EC key. */
function certificatePem(el: Element, where: string): { pem: string; keyType: string } {
  const base64 = textOf(el).replace(/\s+/g, '');
  if (!base64) throw malformed(`${where}: the X509Certificate is empty`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) throw malformed(`${where}: the X509Certificate is not base64`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(base64, 'base64'));
  } catch (err) {
    throw new SamlError('malformed', `${where}: the X509Certificate is not an X.509 certificate (${(err as Error).message})`, { cause: err });
  }
  const keyType = cert.publicKey.asymmetricKeyType ?? 'unknown';
  if (keyType !== 'rsa' && keyType !== 'ec') throw malformed(`${where}: the certificate holds a ${keyType} key; eidhub takes RSA and EC keys`);
  return { pem: cert.toString(), keyType };
}

function keyDescriptors(sso: Element): { signing: string[]; encryption: string[] } {
  const signing: string[] = [];
  const encryption: string[] = [];
  childElements(sso, NS.metadata, 'KeyDescriptor').forEach((el, i) => {
    const use = attr(el, 'use');
    const where = `KeyDescriptor #${i + 1}${use === undefined ? '' : ` (use="${use}")`}`;
    if (use !== undefined && use !== 'signing' && use !== 'encryption') throw malformed(`${where}: use must be "signing" or "encryption", or absent for both`);
    const certificates = childElements(el, NS.dsig, 'KeyInfo')
      .flatMap((info) => childElements(info, NS.dsig, 'X509Data'))
      .flatMap((data) => childElements(data, NS.dsig, 'X509Certificate'));
    if (certificates.length === 0) throw malformed(`${where} has no ds:KeyInfo/ds:X509Data/ds:X509Certificate; eidhub trusts SP keys only as certificates`);
    for (const found of certificates) {
      const { pem, keyType } = certificatePem(found, where);
      if (use !== 'encryption') signing.push(pem);
      // Assertions are encrypted with RSA-OAEP key transport, so only an RSA key can receive them;
      // an EC certificate without `use` is taken for signing only.
      if (use === 'encryption' && keyType !== 'rsa') throw malformed(`${where}: the certificate holds an EC key; eidhub encrypts assertions only to RSA keys`);
      if (use !== 'signing' && keyType === 'rsa') encryption.push(pem);
    }
  });
  return { signing, encryption };
}

function attributeConsumingServices(sso: Element): AttributeConsumingService[] {
  return indexedChildren(sso, 'AttributeConsumingService').map(({ el, where, index }) => ({
    index,
    isDefault: booleanAttr(el, 'isDefault', where) ?? false,
    attributes: childElements(el, NS.metadata, 'RequestedAttribute').map((ra, j) => {
      const raWhere = `${where}: RequestedAttribute #${j + 1}`;
      return { name: requiredAttr(ra, 'Name', raWhere), nameFormat: attr(ra, 'NameFormat'), isRequired: booleanAttr(ra, 'isRequired', raWhere) ?? false };
    }),
  }));
}

/** Parses the XML; when it is not well-formed because a template's placeholder was left in, says so. */
function readDocument(xml: string): Document {
  try {
    return parseXml(xml.replace(/^\uFEFF/, ''), 'the document', METADATA_MAX_BYTES);
  } catch (err) {
    const placeholder = PLACEHOLDER_TAG.exec(xml)?.[0];
    if (!(err instanceof SamlError) || err.code !== 'malformed' || !placeholder) throw err;
    throw new SamlError('malformed', `${err.message}; it still holds the placeholder ${placeholder}: put the real value there (for a certificate, its base64 without the BEGIN/END lines)`, { cause: err });
  }
}

/** The EntityDescriptor: the root, or the one EntityDescriptor of an EntitiesDescriptor root. */
function entityDescriptor(root: Element): Element {
  if (root.namespaceURI === NS.metadata && root.localName === 'EntityDescriptor') return root;
  if (root.namespaceURI === NS.metadata && root.localName === 'EntitiesDescriptor') {
    const entities = childElements(root, NS.metadata, 'EntityDescriptor');
    if (entities.length !== 1) throw malformed(`the EntitiesDescriptor holds ${entities.length} EntityDescriptors; configure each SP with its own`);
    return entities[0]!;
  }
  throw malformed(`the root element is ${root.localName} in namespace "${root.namespaceURI ?? ''}", not md:EntityDescriptor (${NS.metadata})`);
}

/**
 * Reads a service provider's metadata: an md:EntityDescriptor, or an md:EntitiesDescriptor holding
 * exactly one, with one SPSSODescriptor that supports SAML 2.0. Messages say what is wrong and
 * where in the document; the caller names the document (which SP, which file).
 */
export function parseSpMetadata(xml: string, options: SpOptions): ServiceProvider {
  const entity = entityDescriptor(readDocument(xml).documentElement!);
  const entityId = requiredAttr(entity, 'entityID', 'the EntityDescriptor');
  if (entityId.length > ENTITY_ID_MAX) throw malformed(`the entityID is longer than ${ENTITY_ID_MAX} characters`);

  const descriptors = childElements(entity, NS.metadata, 'SPSSODescriptor');
  if (descriptors.length !== 1) throw malformed(`the EntityDescriptor must hold exactly one SPSSODescriptor, not ${descriptors.length}`);
  const sso = descriptors[0]!;
  const protocols = (attr(sso, 'protocolSupportEnumeration') ?? '').split(/\s+/);
  if (!protocols.includes(NS.protocol)) throw malformed(`the SPSSODescriptor's protocolSupportEnumeration does not include SAML 2.0 (${NS.protocol})`);

  const assertionConsumerServices = acsEndpoints(sso);
  const keys = keyDescriptors(sso);
  const encryptAssertions = options.encryptAssertions ?? keys.encryption.length > 0;
  if (encryptAssertions && keys.encryption.length === 0) {
    throw malformed('encryptAssertions is true, but no KeyDescriptor holds an RSA encryption certificate (use="encryption" or no use)');
  }
  if (options.requireSignedRequests && keys.signing.length === 0) {
    throw malformed('requireSignedRequests is true, but no KeyDescriptor holds a signing certificate (use="signing" or no use)');
  }
  return {
    entityId,
    assertionConsumerServices,
    singleLogoutServices: sloEndpoints(sso),
    signingCertificates: keys.signing,
    encryptionCertificates: keys.encryption,
    attributeConsumingServices: attributeConsumingServices(sso),
    authnRequestsSigned: booleanAttr(sso, 'AuthnRequestsSigned', 'the SPSSODescriptor') ?? false,
    wantAssertionsSigned: booleanAttr(sso, 'WantAssertionsSigned', 'the SPSSODescriptor') ?? false,
    nameIdFormats: childElements(sso, NS.metadata, 'NameIDFormat').map(textOf).filter((f) => f !== ''),
    requireSignedRequests: options.requireSignedRequests,
    signResponse: options.signResponse,
    encryptAssertions,
  };
}

export interface IdpMetadataInput {
  entityId: string;
  ssoUrl: string;
  sloUrl: string;
  /** Published keys, the current signer first (see samlKeyRing). */
  keys: SamlSigningKey[];
  /** Names of the attributes the IdP can release. */
  attributes: string[];
  validUntil?: number;
}

/**
 * The IdP's metadata, unsigned. Its ID is a hash of the rest of the document, so the same keys
 * and endpoints give the same bytes (a metadata URL can be cached and compared).
 */
export function buildIdpMetadata(input: IdpMetadataInput): string {
  if (input.keys.length === 0) throw new Error('IdP metadata needs at least one signing key');
  const a = escapeXmlAttr;
  const endpoints = (element: string, location: string) =>
    [BINDINGS.redirect, BINDINGS.post].map((binding) => `<md:${element} Binding="${a(binding)}" Location="${a(location)}"/>`);
  const body = [
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${a(NS.protocol)}">`,
    ...input.keys.map(
      (k) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${escapeXmlText(k.certificateBase64)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    ),
    ...endpoints('SingleLogoutService', input.sloUrl),
    `<md:NameIDFormat>${escapeXmlText(NAMEID_UNSPECIFIED)}</md:NameIDFormat>`,
    ...endpoints('SingleSignOnService', input.ssoUrl),
    ...input.attributes.map((name) => `<saml:Attribute Name="${a(name)}"/>`),
    '</md:IDPSSODescriptor>',
  ].join('\n');
  const validUntil = input.validUntil === undefined ? '' : ` validUntil="${samlInstant(input.validUntil)}"`;
  const id = `_${createHash('sha256').update(`${input.entityId}\n${validUntil}\n${body}`).digest('hex').slice(0, 40)}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" xmlns:saml="${NS.assertion}" ID="${id}" entityID="${a(input.entityId)}"${validUntil}>`,
    body,
    '</md:EntityDescriptor>',
    '',
  ].join('\n');
}
