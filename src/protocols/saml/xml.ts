/**
 * Parsing SAML's XML safely, and the few DOM helpers the SAML code needs. Every message and
 * metadata document eidhub reads goes through parseXml: it refuses any DOCTYPE or entity
 * declaration before the parser sees the text (no XXE, no entity expansion), caps the size, and
 * turns every parser complaint, warnings included, into a SamlError that says where.
 */
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';
import { MAX_MESSAGE_BYTES, SamlError } from './model.js';

export { MAX_MESSAGE_BYTES };

const DECLARATION = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;

/**
 * Parses `xml` into a document. `what` names the document in errors ("the AuthnRequest",
 * "the metadata of SP …"). `maxBytes` defaults to MAX_MESSAGE_BYTES.
 */
export function parseXml(xml: string, what: string, maxBytes = MAX_MESSAGE_BYTES): Document {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) {
    throw new SamlError('too_large', `${what} is larger than ${Math.round(maxBytes / 1024)} kB`);
  }
  if (DECLARATION.test(xml)) {
    throw new SamlError('doctype', `${what} contains a DOCTYPE or entity declaration, which SAML messages never need; it is refused before parsing`);
  }
  let problem: string | undefined;
  const parser = new DOMParser({
    onError: (level, message) => {
      problem ??= `${level}: ${String(message).split('\n')[0]}`;
      throw new Error(problem);
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(xml, 'application/xml');
  } catch (err) {
    throw new SamlError('malformed', `${what} is not well-formed XML (${problem ?? (err as Error).message})`);
  }
  if (problem || !doc.documentElement) {
    throw new SamlError('malformed', `${what} is not well-formed XML${problem ? ` (${problem})` : ''}`);
  }
  for (let n: Node | null = doc.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 10 /* DOCUMENT_TYPE_NODE */) throw new SamlError('doctype', `${what} contains a DOCTYPE`);
  }
  return doc;
}

export function isElement(node: Node | null | undefined): node is Element {
  return !!node && node.nodeType === 1;
}

/** The element children of `parent` with this namespace and local name, in document order. */
export function childElements(parent: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let n: Node | null = parent.firstChild; n; n = n.nextSibling) {
    if (isElement(n) && n.namespaceURI === ns && n.localName === localName) out.push(n);
  }
  return out;
}

/** The only such child, or undefined; more than one is `malformed` (naming `where`). */
export function onlyChild(parent: Element, ns: string, localName: string, where: string): Element | undefined {
  const found = childElements(parent, ns, localName);
  if (found.length > 1) throw new SamlError('malformed', `${where} has more than one ${localName}`);
  return found[0];
}

/** Every descendant element with this namespace and local name (document order). */
export function descendants(root: Element | Document, ns: string, localName: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, localName) as unknown as ArrayLike<Element>);
}

/** The element's text content, trimmed. */
export function textOf(el: Element): string {
  return (el.textContent ?? '').trim();
}

/** An attribute, or undefined when absent (xmldom gives '' for absent ones). */
export function attr(el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name) ?? undefined : undefined;
}

export function escapeXmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeXmlAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

/** xs:dateTime in UTC with milliseconds, as SAML messages carry it. */
export function samlInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses an xs:dateTime; undefined when it is not one. */
export function parseInstant(value: string | undefined): number | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
