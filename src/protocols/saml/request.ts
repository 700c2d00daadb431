/**
 * Reading an AuthnRequest or a LogoutRequest/LogoutResponse once its signature, if any, has been
 * checked: the fields eidhub acts on, each validated, every refusal a SamlError that names the
 * element or attribute at fault.
 */
import type { Element } from '@xmldom/xmldom';
import { NS, SamlError } from './model.js';
import { attr, childElements, onlyChild, parseInstant, textOf } from './xml.js';

/** xs:ID is an NCName; eidhub also caps its length (it becomes part of a stored key). */
const XS_ID = /^[A-Za-z_][A-Za-z0-9._-]{0,255}$/;

export type AuthnContextComparison = 'exact' | 'minimum' | 'maximum' | 'better';

export interface AuthnRequestInfo {
  id: string;
  issuer: string;
  issueInstant: number;
  destination: string | undefined;
  acsUrl: string | undefined;
  acsIndex: number | undefined;
  protocolBinding: string | undefined;
  attributeConsumingServiceIndex: number | undefined;
  forceAuthn: boolean;
  isPassive: boolean;
  requestedAuthnContext: { comparison: AuthnContextComparison; classRefs: string[] } | undefined;
  nameIdPolicyFormat: string | undefined;
  /** `signicat:param:<name>` Extensions, by name (without the prefix). */
  params: Record<string, string>;
}

export const PARAM_PREFIX = 'signicat:param:';

function boolAttr(el: Element, name: string): boolean {
  const v = attr(el, name);
  if (v === undefined) return false;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new SamlError('malformed', `${el.localName} ${name}="${v.slice(0, 20)}" is not a boolean`);
}

function unsignedShort(el: Element, name: string): number | undefined {
  const v = attr(el, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65_535) throw new SamlError('malformed', `${el.localName} ${name}="${v.slice(0, 20)}" is not an index (0–65535)`);
  return Number(v);
}

/** The common header of SAML protocol messages: Version, ID, IssueInstant, Destination, Issuer. */
export function messageHeader(root: Element, what: string): { id: string; issuer: string; issueInstant: number; destination: string | undefined } {
  const version = attr(root, 'Version');
  if (version !== '2.0') throw new SamlError('unsupported', `${what}: Version must be "2.0"${version === undefined ? ' (it is missing)' : ''}`);
  const id = attr(root, 'ID');
  if (!id || !XS_ID.test(id)) throw new SamlError('malformed', `${what}: ID is missing or not an xs:ID`);
  const issueInstant = parseInstant(attr(root, 'IssueInstant'));
  if (issueInstant === undefined) throw new SamlError('malformed', `${what}: IssueInstant is missing or not an xs:dateTime in UTC`);
  const issuerEl = onlyChild(root, NS.assertion, 'Issuer', what);
  const issuer = issuerEl ? textOf(issuerEl) : '';
  if (!issuer) throw new SamlError('malformed', `${what}: Issuer is missing (it names the service provider)`);
  const format = issuerEl ? attr(issuerEl, 'Format') : undefined;
  if (format !== undefined && format !== 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity') {
    throw new SamlError('malformed', `${what}: Issuer Format must be the entity format when present`);
  }
  return { id, issuer, issueInstant, destination: attr(root, 'Destination') };
}

/** The `signicat:param:*` RequestedAttributes of the Extensions, with their (first) string value. */
function extensionParams(root: Element): Record<string, string> {
  const params: Record<string, string> = {};
  const extensions = onlyChild(root, NS.protocol, 'Extensions', 'the AuthnRequest');
  if (!extensions) return params;
  for (const group of childElements(extensions, NS.reqAttr, 'RequestedAttributes')) {
    for (const requested of childElements(group, NS.metadata, 'RequestedAttribute')) {
      const name = attr(requested, 'Name') ?? '';
      if (!name.startsWith(PARAM_PREFIX)) continue;
      const key = name.slice(PARAM_PREFIX.length);
      if (!/^[a-z][a-z0-9_]{0,63}$/.test(key)) throw new SamlError('malformed', `Extensions: "${name.slice(0, 80)}" is not a parameter name`);
      if (key in params) throw new SamlError('malformed', `Extensions: ${name} is given twice`);
      const values = childElements(requested, NS.assertion, 'AttributeValue');
      if (values.length > 1) throw new SamlError('malformed', `Extensions: ${name} has more than one AttributeValue`);
      const value = values[0] ? textOf(values[0]) : '';
      if (value.length > 256) throw new SamlError('malformed', `Extensions: the value of ${name} is longer than 256 characters`);
      params[key] = value;
    }
  }
  return params;
}

export function readAuthnRequest(root: Element): AuthnRequestInfo {
  const what = 'the AuthnRequest';
  if (root.namespaceURI !== NS.protocol || root.localName !== 'AuthnRequest') {
    throw new SamlError('malformed', `expected a samlp:AuthnRequest, got ${root.localName ?? 'something else'}`);
  }
  const header = messageHeader(root, what);
  const acsUrl = attr(root, 'AssertionConsumerServiceURL');
  const acsIndex = unsignedShort(root, 'AssertionConsumerServiceIndex');
  if (acsUrl !== undefined && acsIndex !== undefined) {
    throw new SamlError('malformed', `${what}: AssertionConsumerServiceURL and AssertionConsumerServiceIndex are mutually exclusive`);
  }
  let requestedAuthnContext: AuthnRequestInfo['requestedAuthnContext'];
  const rac = onlyChild(root, NS.protocol, 'RequestedAuthnContext', what);
  if (rac) {
    const comparison = attr(rac, 'Comparison') ?? 'exact';
    if (!['exact', 'minimum', 'maximum', 'better'].includes(comparison)) {
      throw new SamlError('malformed', `${what}: RequestedAuthnContext Comparison "${comparison.slice(0, 20)}" is not exact, minimum, maximum or better`);
    }
    const classRefs = childElements(rac, NS.assertion, 'AuthnContextClassRef').map(textOf);
    if (classRefs.length === 0) {
      throw new SamlError('unsupported', `${what}: RequestedAuthnContext has no AuthnContextClassRef (eidhub does not use AuthnContextDeclRef)`);
    }
    requestedAuthnContext = { comparison: comparison as AuthnContextComparison, classRefs };
  }
  const policy = onlyChild(root, NS.protocol, 'NameIDPolicy', what);
  return {
    ...header,
    acsUrl,
    acsIndex,
    protocolBinding: attr(root, 'ProtocolBinding'),
    attributeConsumingServiceIndex: unsignedShort(root, 'AttributeConsumingServiceIndex'),
    forceAuthn: boolAttr(root, 'ForceAuthn'),
    isPassive: boolAttr(root, 'IsPassive'),
    requestedAuthnContext,
    nameIdPolicyFormat: policy ? attr(policy, 'Format') : undefined,
    params: extensionParams(root),
  };
}

export interface LogoutRequestInfo {
  id: string;
  issuer: string;
  issueInstant: number;
  destination: string | undefined;
  nameId: string;
  sessionIndexes: string[];
  notOnOrAfter: number | undefined;
}

export function readLogoutRequest(root: Element): LogoutRequestInfo {
  const what = 'the LogoutRequest';
  const header = messageHeader(root, what);
  const nameIdEl = onlyChild(root, NS.assertion, 'NameID', what);
  if (!nameIdEl) {
    const encrypted = onlyChild(root, NS.assertion, 'EncryptedID', what);
    throw new SamlError(encrypted ? 'unsupported' : 'malformed', `${what}: ${encrypted ? 'an EncryptedID is not supported; send the NameID' : 'NameID is missing'}`);
  }
  const notOnOrAfterText = attr(root, 'NotOnOrAfter');
  const notOnOrAfter = notOnOrAfterText === undefined ? undefined : parseInstant(notOnOrAfterText);
  if (notOnOrAfterText !== undefined && notOnOrAfter === undefined) throw new SamlError('malformed', `${what}: NotOnOrAfter is not an xs:dateTime`);
  return {
    ...header,
    nameId: textOf(nameIdEl),
    sessionIndexes: childElements(root, NS.protocol, 'SessionIndex').map(textOf),
    notOnOrAfter,
  };
}

export interface LogoutResponseInfo {
  id: string;
  issuer: string;
  issueInstant: number;
  destination: string | undefined;
  inResponseTo: string | undefined;
  status: string;
}

export function readLogoutResponse(root: Element): LogoutResponseInfo {
  const what = 'the LogoutResponse';
  const header = messageHeader(root, what);
  const status = onlyChild(root, NS.protocol, 'Status', what);
  const code = status ? onlyChild(status, NS.protocol, 'StatusCode', what) : undefined;
  const value = code ? attr(code, 'Value') : undefined;
  if (!value) throw new SamlError('malformed', `${what}: Status/StatusCode Value is missing`);
  return { ...header, inResponseTo: attr(root, 'InResponseTo'), status: value };
}
