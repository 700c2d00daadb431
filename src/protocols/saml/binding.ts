/**
 * Receiving SAML messages: the HTTP-Redirect and HTTP-POST bindings (SAML 2.0 bindings §3.4 and
 * §3.5) turned back into XML text. Each size is capped before the work it would cost, and what a
 * signature check needs later is kept exactly as it was sent. Nothing here parses XML or checks a
 * signature: verify.ts does both.
 */
import { inflateRawSync } from 'node:zlib';
import { SamlError } from './model.js';
import { MAX_MESSAGE_BYTES } from './xml.js';

/** The largest Redirect query string read, in bytes as received (a deflated 100 kB message fits). */
export const MAX_REDIRECT_QUERY_BYTES = 64 * 1024;
/** SAML bindings §3.4.3 and §3.5.3: RelayState MUST NOT exceed 80 bytes. */
export const MAX_RELAY_STATE_BYTES = 80;

const DEFLATE_ENCODING = 'urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE';
const MESSAGE_PARAMETERS = ['SAMLRequest', 'SAMLResponse'] as const;
type MessageParameter = (typeof MESSAGE_PARAMETERS)[number];
/** The query parameters the Redirect binding gives a meaning to; any other is passed over. */
const REDIRECT_PARAMETERS: ReadonlySet<string> = new Set([...MESSAGE_PARAMETERS, 'RelayState', 'SigAlg', 'Signature', 'SAMLEncoding']);

export interface InboundMessage {
  binding: 'redirect' | 'post';
  /** The parameter it came in. */
  parameter: 'SAMLRequest' | 'SAMLResponse';
  /** The decoded XML text (not yet parsed). */
  xml: string;
  /** As sent; an empty RelayState counts as none. */
  relayState: string | undefined;
  /** Redirect binding only, when the query carries Signature (SigAlg then required). */
  detachedSignature?: { sigAlg: string; signature: Buffer; signedOctets: Buffer } | undefined;
}

/**
 * The Redirect binding. rawQuery: the query string exactly as received, after '?', NOT decoded.
 * The signed octets are cut from it as sent (bindings §3.4.4.1): re-encoding the decoded values
 * would not give back what the SP signed whenever its percent-encoding differs from ours.
 */
export function decodeRedirectQuery(rawQuery: string): InboundMessage {
  if (Buffer.byteLength(rawQuery, 'utf8') > MAX_REDIRECT_QUERY_BYTES) {
    throw new SamlError('too_large', `the HTTP-Redirect query string is larger than ${MAX_REDIRECT_QUERY_BYTES / 1024} kB`);
  }
  /** name → its `name=value` piece of the query, still URL-encoded. */
  const pieces = new Map<string, string>();
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const name = formDecode(rawName(piece), 'a query parameter name');
    if (!REDIRECT_PARAMETERS.has(name)) continue;
    if (pieces.has(name)) throw new SamlError('malformed', `the HTTP-Redirect query carries ${name} more than once`);
    pieces.set(name, piece);
  }
  const parameter = theMessageParameter((name) => pieces.has(name), 'HTTP-Redirect query');
  const messagePiece = pieces.get(parameter) ?? '';
  const where = `the ${parameter} query parameter`;

  const encoding = pieces.get('SAMLEncoding');
  if (encoding !== undefined && formDecode(rawValue(encoding), 'the SAMLEncoding query parameter') !== DEFLATE_ENCODING) {
    throw new SamlError('unsupported', `the SAMLEncoding query parameter is not DEFLATE, the only HTTP-Redirect encoding eidhub reads`);
  }
  const xml = utf8(inflate(decodeBase64(percentDecode(rawValue(messagePiece), where), where), where), where);

  const relayPiece = pieces.get('RelayState');
  const relayState = checkedRelayState(relayPiece === undefined ? undefined : formDecode(rawValue(relayPiece), 'the RelayState query parameter'), 'query parameter');

  const sigAlgPiece = pieces.get('SigAlg');
  const signaturePiece = pieces.get('Signature');
  if (sigAlgPiece === undefined && signaturePiece === undefined) {
    return { binding: 'redirect', parameter, xml, relayState };
  }
  if (sigAlgPiece === undefined || signaturePiece === undefined) {
    const [present, missing] = sigAlgPiece === undefined ? ['Signature', 'SigAlg'] : ['SigAlg', 'Signature'];
    throw new SamlError('malformed', `the HTTP-Redirect query carries ${present} without ${missing}; a signed query needs both`);
  }
  const signatureWhere = 'the Signature query parameter';
  return {
    binding: 'redirect',
    parameter,
    xml,
    relayState,
    detachedSignature: {
      sigAlg: formDecode(rawValue(sigAlgPiece), 'the SigAlg query parameter'),
      signature: decodeBase64(percentDecode(rawValue(signaturePiece), signatureWhere), signatureWhere),
      signedOctets: Buffer.from([messagePiece, relayPiece, sigAlgPiece].filter((p) => p !== undefined).join('&'), 'utf8'),
    },
  };
}

/**
 * The POST binding. body: the parsed application/x-www-form-urlencoded form (a field sent twice
 * arrives as an array, and is refused). The message is base64 without compression; line breaks
 * in it are allowed. Signature and SigAlg fields mean nothing in this binding and are passed over.
 */
export function decodePostForm(body: Record<string, unknown>): InboundMessage {
  const parameter = theMessageParameter((name) => formField(body, name) !== undefined, 'HTTP-POST form');
  const where = `the ${parameter} form field`;
  const encoded = formField(body, parameter) ?? '';
  // Whitespace aside, base64 of MAX_MESSAGE_BYTES is 4/3 as long; twice that leaves room for line breaks.
  if (encoded.length > 2 * base64Length(MAX_MESSAGE_BYTES)) throw tooLarge(where, 'once base64-decoded');
  const compact = encoded.replace(/[\t\n\r ]+/g, '');
  if (decodedLength(compact) > MAX_MESSAGE_BYTES) throw tooLarge(where, 'once base64-decoded');
  const bytes = decodeBase64(compact, where);
  // The HTTP-POST binding is not compressed, but widespread SP libraries (node-saml and
  // passport-saml by default) deflate it anyway: bytes that cannot begin XML are inflated, capped
  // like the Redirect binding's.
  const xml = utf8(looksLikeXml(bytes) ? bytes : inflate(bytes, where), where);
  return { binding: 'post', parameter, xml, relayState: checkedRelayState(formField(body, 'RelayState'), 'form field') };
}

function theMessageParameter(present: (name: MessageParameter) => boolean, where: string): MessageParameter {
  const found = MESSAGE_PARAMETERS.filter(present);
  if (found.length === 0) throw new SamlError('malformed', `the ${where} carries neither SAMLRequest nor SAMLResponse`);
  if (found.length > 1) throw new SamlError('malformed', `the ${where} carries both SAMLRequest and SAMLResponse; a SAML message comes alone`);
  return found[0] as MessageParameter;
}

function formField(body: Record<string, unknown>, name: string): string | undefined {
  if (!Object.hasOwn(body, name)) return undefined;
  const value = body[name];
  if (value === undefined || typeof value === 'string') return value;
  if (Array.isArray(value)) throw new SamlError('malformed', `the HTTP-POST form carries ${name} more than once`);
  throw new SamlError('malformed', `the ${name} form field is not text`);
}

function checkedRelayState(value: string | undefined, kind: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_RELAY_STATE_BYTES) {
    throw new SamlError('relay_state', `the RelayState ${kind} is ${bytes} bytes long; SAML allows at most ${MAX_RELAY_STATE_BYTES}`);
  }
  return value;
}

function rawName(piece: string): string {
  const eq = piece.indexOf('=');
  return eq < 0 ? piece : piece.slice(0, eq);
}

function rawValue(piece: string): string {
  const eq = piece.indexOf('=');
  return eq < 0 ? '' : piece.slice(eq + 1);
}

/** application/x-www-form-urlencoded: '+' is a space, then percent-escapes (either case) are UTF-8. */
function formDecode(raw: string, where: string): string {
  return percentDecode(raw.replace(/\+/g, ' '), where);
}

/**
 * Percent-escapes only. For base64 values: base64 has no spaces, so a '+' an SP left unescaped
 * can only be base64's own '+'.
 */
function percentDecode(raw: string, where: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new SamlError('malformed', `${where} is not correctly URL-encoded (a '%' not followed by two hex digits, or escapes that are not UTF-8)`);
  }
}

/** Standard base64 alphabet, '=' padding only at the end (or none). Anything else is refused. */
function decodeBase64(text: string, where: string): Buffer {
  if (text === '') throw new SamlError('malformed', `${where} is empty`);
  const bad = text.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) throw new SamlError('malformed', `${where} is not base64: a character outside the standard base64 alphabet at position ${bad + 1}`);
  const padding = /=*$/.exec(text)?.[0].length ?? 0;
  const body = text.length - padding;
  const firstPad = text.indexOf('=');
  if ((firstPad >= 0 && firstPad < body) || padding > 2 || (padding > 0 ? text.length % 4 !== 0 : body % 4 === 1)) {
    throw new SamlError('malformed', `${where} is not base64: its length or '=' padding is wrong`);
  }
  return Buffer.from(text, 'base64');
}

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The byte count a compact base64 text decodes to (its characters assumed valid). */
function decodedLength(compact: string): number {
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  return Math.floor(((compact.length - padding) * 3) / 4);
}

/** Raw DEFLATE (RFC 1951), stopped as soon as the output would pass MAX_MESSAGE_BYTES. */
function inflate(deflated: Buffer, where: string): Buffer {
  try {
    return inflateRawSync(deflated, { maxOutputLength: MAX_MESSAGE_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(where, 'once inflated', err);
    throw new SamlError('malformed', `${where} is not DEFLATE-compressed data (${(err as Error).message})`, { cause: err });
  }
}

/** Whether decoded bytes can be the start of an XML document (a BOM, whitespace, then `<`). */
function looksLikeXml(bytes: Buffer): boolean {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return i >= bytes.length || bytes[i] === 0x3c;
}

function utf8(bytes: Buffer, where: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new SamlError('malformed', `${where} does not decode to UTF-8 text`, { cause: err });
  }
}

function tooLarge(where: string, when: string, cause?: unknown): SamlError {
  return new SamlError('too_large', `${where} is larger than ${MAX_MESSAGE_BYTES / 1024} kB ${when}`, { cause });
}
