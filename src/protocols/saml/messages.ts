/**
 * The SAML messages eidhub sends: the Response to an AuthnRequest (with its signed, and perhaps
 * encrypted, assertion, or with a status only), and the single-logout LogoutRequest and
 * LogoutResponse. Shapes, prefixes and element order follow the seed's Response (saml2p/saml2,
 * the xsd prefix declared on the Assertion and kept by the signature's InclusiveNamespaces,
 * attribute values typed xsd:string). Every value is escaped here; IDs are fresh per message.
 */
import { randomBytes } from 'node:crypto';
import { encryptAssertion } from './encrypt.js';
import { BEARER, NAMEID_UNSPECIFIED, NS, STATUS, type SamlSigningKey } from './model.js';
import { signElement } from './sign.js';
import { escapeXmlAttr, escapeXmlText, samlInstant } from './xml.js';

/** An ID for a message or assertion: '_' and 128 random bits in hex (an XML name, as ID needs). */
export function newSamlId(): string {
  return `_${randomBytes(16).toString('hex')}`;
}

/** The longest an assertion may be used for, from its IssueInstant. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Conditions NotBefore lies this far before IssueInstant (as the seed's), for SPs whose clocks run behind. */
const NOT_BEFORE_SKEW_MS = 5_000;

export interface AssertionFacts {
  /** {publicUrl}/auth/saml */
  idpEntityId: string;
  /** The Audience. */
  spEntityId: string;
  /** The ACS URL: the Response's Destination and SubjectConfirmationData's Recipient. */
  destination: string;
  /** The AuthnRequest's ID. */
  inResponseTo: string;
  /** The NameID's value: the person's stable subject. */
  nameId: string;
  /** The NameID's NameQualifier: the provider that authenticated the person, e.g. 'otp-sms'. */
  nameQualifier: string;
  /** The NameID Format (default unspecified, as the seed). */
  nameIdFormat?: string | undefined;
  sessionIndex: string;
  /** Epoch ms when the person authenticated. */
  authnInstant: number;
  /** Epoch ms: the IssueInstant of the Response and the Assertion. */
  now: number;
  /** At most MAX_ASSERTION_LIFETIME_SECONDS: SubjectConfirmationData's and Conditions' NotOnOrAfter are now + this. */
  lifetimeSeconds: number;
  /** Each value goes out as an xsd:string. */
  attributes: { name: string; values: string[] }[];
  /** The level of assurance, e.g. 'low'. */
  authnContextClassRef: string;
  /** e.g. 'otp-sms'. */
  authenticatingAuthority: string;
}

/** Characters XML 1.0 cannot carry, not even escaped. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function checked(value: string, what: string): string {
  if (NOT_XML_CHAR.test(value)) throw new TypeError(`${what} holds a character XML cannot carry`);
  return value;
}
/** Escaped element content. A CR is written as a reference, or the receiving parser would turn it into LF. */
function text(value: string, what: string): string {
  return escapeXmlText(checked(value, what)).replace(/\r/g, '&#13;');
}
function attr(value: string, what: string): string {
  return escapeXmlAttr(checked(value, what));
}

const issuer = (idpEntityId: string) => `<saml2:Issuer xmlns:saml2="${NS.assertion}">${text(idpEntityId, 'the IdP entity ID')}</saml2:Issuer>`;

function status(code: string, subStatus?: string, message?: string): string {
  const sub = subStatus ? `<saml2p:StatusCode Value="${attr(subStatus, 'the sub-status')}"/>` : '';
  const top = sub ? `<saml2p:StatusCode Value="${attr(code, 'the status')}">${sub}</saml2p:StatusCode>` : `<saml2p:StatusCode Value="${attr(code, 'the status')}"/>`;
  const said = message ? `<saml2p:StatusMessage>${text(message, 'the status message')}</saml2p:StatusMessage>` : '';
  return `<saml2p:Status>${top}${said}</saml2p:Status>`;
}

/** The start tag's attributes common to every protocol message, in the seed's (alphabetical) order. */
function messageAttributes(m: { destination: string; id: string; inResponseTo?: string | undefined; now: number; notOnOrAfter?: number | undefined }): string {
  return (
    `Destination="${attr(m.destination, 'the destination')}" ID="${m.id}"` +
    (m.inResponseTo === undefined ? '' : ` InResponseTo="${attr(m.inResponseTo, 'InResponseTo')}"`) +
    ` IssueInstant="${samlInstant(m.now)}"` +
    (m.notOnOrAfter === undefined ? '' : ` NotOnOrAfter="${samlInstant(m.notOnOrAfter)}"`) +
    ` Version="2.0"`
  );
}

/** A message of SAML's StatusResponseType (Response, LogoutResponse): Issuer, Status, then `content`; signed when `sign`. */
function statusResponse(
  element: 'Response' | 'LogoutResponse',
  m: { idpEntityId: string; destination: string; inResponseTo: string | undefined; now: number },
  statusXml: string,
  content: string,
  key: SamlSigningKey,
  options: { sign: boolean; prefixList: string[] },
): string {
  const id = newSamlId();
  const xml =
    `<saml2p:${element} xmlns:saml2p="${NS.protocol}" ${messageAttributes({ destination: m.destination, id, inResponseTo: m.inResponseTo, now: m.now })}>` +
    issuer(m.idpEntityId) +
    statusXml +
    content +
    `</saml2p:${element}>`;
  return options.sign ? signElement(xml, id, key, { inclusiveNamespacesPrefixList: options.prefixList }) : xml;
}

function assertionXml(facts: AssertionFacts, id: string): string {
  const notOnOrAfter = samlInstant(facts.now + facts.lifetimeSeconds * 1000);
  const attributes = facts.attributes
    .map(
      (a) =>
        `<saml2:Attribute Name="${attr(a.name, 'an attribute name')}">` +
        a.values.map((v) => `<saml2:AttributeValue xmlns:xsi="${NS.xsi}" xsi:type="xsd:string">${text(v, `attribute ${a.name}`)}</saml2:AttributeValue>`).join('') +
        `</saml2:Attribute>`,
    )
    .join('');
  return (
    `<saml2:Assertion xmlns:saml2="${NS.assertion}" xmlns:xsd="${NS.xsd}" ID="${id}" IssueInstant="${samlInstant(facts.now)}" Version="2.0">` +
    `<saml2:Issuer>${text(facts.idpEntityId, 'the IdP entity ID')}</saml2:Issuer>` +
    `<saml2:Subject>` +
    `<saml2:NameID Format="${attr(facts.nameIdFormat ?? NAMEID_UNSPECIFIED, 'the NameID Format')}" NameQualifier="${attr(facts.nameQualifier, 'the NameQualifier')}">${text(facts.nameId, 'the NameID')}</saml2:NameID>` +
    `<saml2:SubjectConfirmation Method="${BEARER}">` +
    `<saml2:SubjectConfirmationData InResponseTo="${attr(facts.inResponseTo, 'InResponseTo')}" NotOnOrAfter="${notOnOrAfter}" Recipient="${attr(facts.destination, 'the destination')}"/>` +
    `</saml2:SubjectConfirmation>` +
    `</saml2:Subject>` +
    `<saml2:Conditions NotBefore="${samlInstant(facts.now - NOT_BEFORE_SKEW_MS)}" NotOnOrAfter="${notOnOrAfter}">` +
    `<saml2:AudienceRestriction><saml2:Audience>${text(facts.spEntityId, 'the SP entity ID')}</saml2:Audience></saml2:AudienceRestriction>` +
    `</saml2:Conditions>` +
    // The schema wants at least one Attribute in an AttributeStatement.
    (attributes ? `<saml2:AttributeStatement>${attributes}</saml2:AttributeStatement>` : '') +
    `<saml2:AuthnStatement AuthnInstant="${samlInstant(facts.authnInstant)}" SessionIndex="${attr(facts.sessionIndex, 'the SessionIndex')}">` +
    `<saml2:AuthnContext>` +
    `<saml2:AuthnContextClassRef>${text(facts.authnContextClassRef, 'the AuthnContextClassRef')}</saml2:AuthnContextClassRef>` +
    `<saml2:AuthenticatingAuthority>${text(facts.authenticatingAuthority, 'the AuthenticatingAuthority')}</saml2:AuthenticatingAuthority>` +
    `</saml2:AuthnContext>` +
    `</saml2:AuthnStatement>` +
    `</saml2:Assertion>`
  );
}

/**
 * The whole Response to an AuthnRequest. The assertion is always signed; when `encryptFor` (the
 * SP's encryption certificate, PEM) is given, the signed assertion is encrypted; then, when
 * `signResponse`, the Response is signed over it.
 */
export async function buildSuccessResponse(facts: AssertionFacts, key: SamlSigningKey, options: { signResponse: boolean; encryptFor?: string | undefined }): Promise<string> {
  if (!(facts.lifetimeSeconds > 0 && facts.lifetimeSeconds <= MAX_ASSERTION_LIFETIME_SECONDS)) {
    throw new RangeError(`an assertion's lifetime must be more than 0 and at most ${MAX_ASSERTION_LIFETIME_SECONDS} s, not ${facts.lifetimeSeconds}`);
  }
  const assertionId = newSamlId();
  const signedAssertion = signElement(assertionXml(facts, assertionId), assertionId, key, { inclusiveNamespacesPrefixList: ['xsd'] });
  const assertion = options.encryptFor ? await encryptAssertion(signedAssertion, options.encryptFor) : signedAssertion;
  // Over a clear assertion, the Response's signature keeps xsd too, so that its canonical form still declares what the xsi:type values name.
  const prefixList = options.encryptFor ? [] : ['xsd'];
  return statusResponse('Response', facts, status(STATUS.success), assertion, key, { sign: options.signResponse, prefixList });
}

/** A Response without an assertion (Responder/AuthnFailed, Responder/NoPassive, Requester/NoAuthnContext…), signed when `signResponse`. */
export function buildStatusResponse(
  input: { idpEntityId: string; destination: string; inResponseTo: string | undefined; status: string; subStatus?: string | undefined; message?: string | undefined; now: number },
  key: SamlSigningKey,
  options: { signResponse: boolean },
): string {
  return statusResponse('Response', input, status(input.status, input.subStatus, input.message), '', key, { sign: options.signResponse, prefixList: [] });
}

/**
 * The IdP's LogoutRequest to an SP, for the NameID (Format unspecified, as in the assertion) and
 * the session indexes the SP was given. Signed enveloped when `sign` (the POST binding); for the
 * Redirect binding the caller signs the query with signRedirectQuery instead.
 */
export function buildLogoutRequest(
  input: { idpEntityId: string; destination: string; nameId: string; nameIdFormat?: string | undefined; nameQualifier?: string | undefined; sessionIndexes: string[]; now: number; notOnOrAfterSeconds?: number },
  key: SamlSigningKey,
  options: { sign: boolean },
): { id: string; xml: string } {
  if (input.notOnOrAfterSeconds !== undefined && !(input.notOnOrAfterSeconds > 0)) {
    throw new RangeError(`a LogoutRequest's NotOnOrAfter must lie after its IssueInstant, not ${input.notOnOrAfterSeconds} s from it`);
  }
  const id = newSamlId();
  const notOnOrAfter = input.notOnOrAfterSeconds === undefined ? undefined : input.now + input.notOnOrAfterSeconds * 1000;
  const qualifier = input.nameQualifier === undefined ? '' : ` NameQualifier="${attr(input.nameQualifier, 'the NameQualifier')}"`;
  const xml =
    `<saml2p:LogoutRequest xmlns:saml2p="${NS.protocol}" ${messageAttributes({ destination: input.destination, id, now: input.now, notOnOrAfter })}>` +
    issuer(input.idpEntityId) +
    `<saml2:NameID xmlns:saml2="${NS.assertion}" Format="${attr(input.nameIdFormat ?? NAMEID_UNSPECIFIED, 'the NameID Format')}"${qualifier}>${text(input.nameId, 'the NameID')}</saml2:NameID>` +
    input.sessionIndexes.map((s) => `<saml2p:SessionIndex>${text(s, 'a SessionIndex')}</saml2p:SessionIndex>`).join('') +
    `</saml2p:LogoutRequest>`;
  return { id, xml: options.sign ? signElement(xml, id, key) : xml };
}

/** The IdP's LogoutResponse to an SP's LogoutRequest; signed enveloped when `sign`. */
export function buildLogoutResponse(
  input: { idpEntityId: string; destination: string; inResponseTo: string; status: string; subStatus?: string; now: number },
  key: SamlSigningKey,
  options: { sign: boolean },
): string {
  return statusResponse('LogoutResponse', input, status(input.status, input.subStatus), '', key, { sign: options.sign, prefixList: [] });
}
