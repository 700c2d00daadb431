/**
 * Checking the signatures of SAML messages eidhub receives, with only the certificates of the
 * SP's metadata (a certificate in KeyInfo is never trusted by itself).
 *
 * - HTTP-Redirect: the detached Signature over the query's octets as sent (bindings §3.4.4.1).
 * - Embedded (HTTP-POST, or any XML message): an enveloped XML-DSig signature. Against XML
 *   Signature Wrapping (Somorovsky et al., "On Breaking SAML", 2012) the signature must be the one
 *   ds:Signature of the document, a direct child of the root, with one Reference to the root's ID,
 *   IDs unique in the whole document, and only the algorithms and transforms SAML needs. What the
 *   caller gets back is the document re-parsed from the canonical bytes that were digested, so the
 *   element that was verified is the one that is used.
 */
import { createHash, verify as cryptoVerify, KeyObject, X509Certificate, type KeyLike } from 'node:crypto';
import type { Document, Element, Node } from '@xmldom/xmldom';
import {
  C14nCanonicalization,
  C14nCanonicalizationWithComments,
  createOptionalCallbackFunction,
  SignedXml,
  type CanonicalizationOrTransformationAlgorithm,
  type HashAlgorithm,
  type SignatureAlgorithm,
} from 'xml-crypto';
import type { InboundMessage } from './binding.js';
import { ACCEPTED_SIG_ALGS, EXC_C14N, NS, SamlError, SHA256, SIG_ALGS } from './model.js';
import { attr, isElement, MAX_MESSAGE_BYTES, parseXml } from './xml.js';

export interface VerifiedXml {
  signed: boolean;
  document: Document;
  root: Element;
}

interface SignatureCheck {
  hash: 'sha256' | 'sha384' | 'sha512';
  keyType: 'rsa' | 'ec';
}

/** How each accepted signature algorithm is checked with Node's crypto. */
const SIGNATURE_CHECKS: ReadonlyMap<string, SignatureCheck> = new Map(
  Object.entries({
    [SIG_ALGS.rsaSha256]: { hash: 'sha256', keyType: 'rsa' },
    [SIG_ALGS.rsaSha384]: { hash: 'sha384', keyType: 'rsa' },
    [SIG_ALGS.rsaSha512]: { hash: 'sha512', keyType: 'rsa' },
    [SIG_ALGS.ecdsaSha256]: { hash: 'sha256', keyType: 'ec' },
    [SIG_ALGS.ecdsaSha384]: { hash: 'sha384', keyType: 'ec' },
    [SIG_ALGS.ecdsaSha512]: { hash: 'sha512', keyType: 'ec' },
  } satisfies Record<(typeof SIG_ALGS)[keyof typeof SIG_ALGS], SignatureCheck>),
);

const DIGESTS: ReadonlyMap<string, SignatureCheck['hash']> = new Map([
  [SHA256, 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#sha384', 'sha384'],
  ['http://www.w3.org/2001/04/xmlenc#sha512', 'sha512'],
] as const);

const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EXC_C14N_COMMENTS = `${EXC_C14N}WithComments`;
const C14N_10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const C14N_11 = 'http://www.w3.org/2006/12/xml-c14n11';

/** The canonicalizations a SignedInfo may use. */
const CANONICALIZATIONS: ReadonlySet<string> = new Set([EXC_C14N, EXC_C14N_COMMENTS, C14N_10, `${C14N_10}#WithComments`, C14N_11, `${C14N_11}#WithComments`]);
/**
 * xml-crypto has no C14N 1.1. 1.1 differs from 1.0 only in how xml:id and xml:base are inherited
 * from outside the canonicalized subtree, which xml-crypto's 1.0 does not do either, so 1.0 stands
 * in. A difference could only make a signature fail, never pass: the bytes are still checked
 * against the key.
 */
const C14N_11_AS_10: Record<string, new () => CanonicalizationOrTransformationAlgorithm> = {
  [C14N_11]: C14nCanonicalization,
  [`${C14N_11}#WithComments`]: C14nCanonicalizationWithComments,
};
/** The transforms a Reference may list (once each): what SAML signatures use, nothing that selects. */
const TRANSFORMS: ReadonlySet<string> = new Set([ENVELOPED, EXC_C14N, EXC_C14N_COMMENTS]);
/** ID attribute names, as xml-crypto looks them up (by local name, in any namespace). */
const ID_NAMES: ReadonlySet<string> = new Set(['ID', 'Id', 'id']);
/** Canonical XML can be longer than its source (an `<a/>` becomes `<a></a>`, namespaces are repeated). */
const MAX_SIGNED_BYTES = 4 * MAX_MESSAGE_BYTES;

/**
 * Redirect binding: verifies Signature over signedOctets with one of the SP's metadata
 * certificates (PEM). Only the query is checked; whether the XML carries a signature of its own
 * is the caller's business.
 */
export function verifyDetachedSignature(message: InboundMessage, certificatesPem: string[]): void {
  const where = `the HTTP-Redirect ${message.parameter}`;
  const detached = message.detachedSignature;
  if (!detached) throw new SamlError('signature_required', `${where} carries no Signature query parameter`);
  const check = signatureCheck(detached.sigAlg, 'the SigAlg query parameter');
  const { keys, unreadable } = publicKeysOf(certificatesPem, where);
  if (keys.some((key) => verifies(check, key, detached.signedOctets, detached.signature))) return;
  throw new SamlError(
    'bad_signature',
    `the Signature of ${where} does not verify with ${certificatesNoun(certificatesPem.length)} of the SP's metadata${unreadable}: the query was changed after it was signed, or signed with another key`,
  );
}

/**
 * POST binding (or any XML message): parses `xml` with parseXml; the root must be {ns, localName}.
 * No ds:Signature anywhere → { signed: false, document, root } (the caller decides if that is allowed).
 * Otherwise verifies, and returns the document re-parsed from the bytes that were signed.
 */
export function verifyEmbeddedSignature(
  xml: string,
  certificatesPem: string[],
  expectedRoot: { ns: string; localName: string; what: string },
): VerifiedXml {
  const { what } = expectedRoot;
  // An XML processor normalizes line ends (XML 1.0 §2.11); both parsers below must see the same text.
  const text = xml.replace(/\r\n?/g, '\n');
  const document = parseXml(text, what);
  const root = document.documentElement as Element;
  if (root.namespaceURI !== expectedRoot.ns || root.localName !== expectedRoot.localName) {
    throw new SamlError('malformed', `${what} has the root element ${describe(root)} where ${expectedRoot.localName} in ${expectedRoot.ns} was expected`);
  }
  const signatures = elementsNamed(document, 'Signature').filter((el) => el.namespaceURI === NS.dsig);
  if (signatures.length === 0) return { signed: false, document, root };

  const { keys, unreadable } = publicKeysOf(certificatesPem, what);
  const signature = theRootSignature(signatures, root, what);
  const rootId = attr(root, 'ID');
  if (!rootId) throw new SamlError('bad_signature', `${what} is signed, but its root ${root.localName} has no ID attribute for the signature to reference`);
  refuseDuplicateIds(document, what);
  checkSignatureShape(signature, root, rootId, what);

  const signedXml = signedContent(text, signature, keys, what, `${certificatesNoun(certificatesPem.length)} of the SP's metadata${unreadable}`);
  const signedWhat = `the signed part of ${what}`;
  const signedDocument = parseXml(signedXml, signedWhat, MAX_SIGNED_BYTES);
  const signedRoot = signedDocument.documentElement as Element;
  if (signedRoot.namespaceURI !== expectedRoot.ns || signedRoot.localName !== expectedRoot.localName || attr(signedRoot, 'ID') !== rootId) {
    throw new SamlError('bad_signature', `${signedWhat} is not its root ${root.localName} with ID ${quoted(rootId)}`);
  }
  return { signed: true, document: signedDocument, root: signedRoot };
}

/** The accepted algorithm's check, or unsupported_sig_alg naming why. */
function signatureCheck(algorithm: string | undefined, where: string): SignatureCheck {
  const check = algorithm !== undefined && ACCEPTED_SIG_ALGS.has(algorithm) ? SIGNATURE_CHECKS.get(algorithm) : undefined;
  if (check) return check;
  throw new SamlError('unsupported_sig_alg', refusedAlgorithm(algorithm, where, 'RSA or ECDSA with SHA-256, SHA-384 or SHA-512'));
}

function refusedAlgorithm(algorithm: string | undefined, where: string, accepted: string): string {
  if (algorithm === undefined) return `${where} names no algorithm; accepted: ${accepted}`;
  if (/[#-]sha1$/i.test(algorithm)) return `${where} is ${quoted(algorithm)}: SHA-1 is refused; accepted: ${accepted}`;
  return `${where} is ${quoted(algorithm)}, which eidhub does not accept; accepted: ${accepted}`;
}

function publicKeysOf(certificatesPem: string[], what: string): { keys: KeyObject[]; unreadable: string } {
  if (certificatesPem.length === 0) {
    throw new SamlError('bad_signature', `${what} is signed, but the SP's metadata has no signing certificate to verify it with`);
  }
  const keys: KeyObject[] = [];
  for (const pem of certificatesPem) {
    try {
      keys.push(new X509Certificate(pem).publicKey);
    } catch {
      // Counted below: a certificate that cannot be read verifies nothing.
    }
  }
  const failed = certificatesPem.length - keys.length;
  return { keys, unreadable: failed === 0 ? '' : ` (${failed} of them could not be read as an X.509 certificate)` };
}

function certificatesNoun(count: number): string {
  return count === 1 ? 'the signing certificate' : `any of the ${count} signing certificates`;
}

/** ECDSA signatures in XML-DSig (and SAML's query signatures) are r||s, not DER. */
function verifies(check: SignatureCheck, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  if (key.asymmetricKeyType !== check.keyType) return false;
  try {
    return cryptoVerify(check.hash, data, check.keyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
  } catch {
    return false;
  }
}

/** The one ds:Signature, which must sit directly under the root: one anywhere else signs something else. */
function theRootSignature(signatures: Element[], root: Element, what: string): Element {
  const [signature] = signatures;
  if (signatures.length > 1 || !signature) {
    throw new SamlError('bad_signature', `${what} carries ${signatures.length} ds:Signature elements (${signatures.map(pathOf).join(', ')}); only one, directly under the root, is accepted`);
  }
  if (signature.parentNode !== root) {
    throw new SamlError('bad_signature', `${what}'s ds:Signature is at ${pathOf(signature)}, not directly under the root ${root.localName}, so it does not sign the message`);
  }
  return signature;
}

/** Any ID value on two elements makes a reference to it ambiguous, whichever one is referenced. */
function refuseDuplicateIds(document: Document, what: string): void {
  const seen = new Map<string, Element>();
  for (const el of elementsNamed(document)) {
    for (let i = 0; i < el.attributes.length; i++) {
      const id = el.attributes.item(i);
      if (!id || !ID_NAMES.has(id.localName ?? id.name)) continue;
      const first = seen.get(id.value);
      if (first && first !== el) {
        throw new SamlError('bad_signature', `${what} has the ID ${quoted(id.value)} on two elements (${pathOf(first)} and ${pathOf(el)}); IDs must be unique for a signature to say what it signs`);
      }
      seen.set(id.value, el);
    }
  }
}

/**
 * The signature's structure, element by element. Each is looked up by local name in any
 * namespace, as xml-crypto does, so that a look-alike in another namespace cannot make xml-crypto
 * read something this check did not see.
 */
function checkSignatureShape(signature: Element, root: Element, rootId: string, what: string): void {
  const only = (localName: string, parent: Element, optional = false): Element | undefined => {
    const found = elementsNamed(signature, localName);
    const [el] = found;
    const misplaced = found.length > 1 || (el !== undefined && (el.parentNode !== parent || el.namespaceURI !== NS.dsig));
    if (misplaced || (el === undefined && !optional)) {
      throw new SamlError('bad_signature', `${what}'s ds:Signature must have ${optional ? 'at most' : 'exactly'} one ds:${localName}, in ${describe(parent)}; found ${found.length === 0 ? 'none' : found.map(pathOf).join(', ')}`);
    }
    return el;
  };
  const signedInfo = only('SignedInfo', signature) as Element;
  only('SignatureValue', signature);
  only('KeyInfo', signature, true);

  const c14n = attr(only('CanonicalizationMethod', signedInfo) as Element, 'Algorithm');
  if (c14n === undefined || !CANONICALIZATIONS.has(c14n)) {
    throw new SamlError('unsupported_sig_alg', refusedAlgorithm(c14n, `the CanonicalizationMethod of ${what}'s signature`, 'exclusive C14N, C14N 1.0 or 1.1'));
  }
  signatureCheck(attr(only('SignatureMethod', signedInfo) as Element, 'Algorithm'), `the SignatureMethod of ${what}'s signature`);

  const reference = only('Reference', signedInfo) as Element;
  const uri = attr(reference, 'URI');
  if (uri !== `#${rootId}`) {
    const target = uri === undefined ? 'no URI' : uri === '' ? 'the whole document (an empty URI)' : quoted(uri);
    throw new SamlError('bad_signature', `${what}'s signature references ${target}, not its root ${root.localName} (ID ${quoted(rootId)})`);
  }
  const digest = attr(only('DigestMethod', reference) as Element, 'Algorithm');
  if (digest === undefined || !DIGESTS.has(digest)) {
    throw new SamlError('unsupported_sig_alg', refusedAlgorithm(digest, `the DigestMethod of ${what}'s signature`, 'SHA-256, SHA-384 or SHA-512'));
  }
  only('DigestValue', reference);

  const transforms = only('Transforms', reference, true);
  const listed = new Set<string>();
  for (const transform of elementsNamed(signature, 'Transform')) {
    const algorithm = attr(transform, 'Algorithm');
    if (transform.parentNode !== transforms || transform.namespaceURI !== NS.dsig) {
      throw new SamlError('bad_signature', `${what}'s ds:Signature has a Transform at ${pathOf(transform)}, outside the Reference's ds:Transforms`);
    }
    if (algorithm === undefined || !TRANSFORMS.has(algorithm) || listed.has(algorithm)) {
      const problem = algorithm !== undefined && listed.has(algorithm) ? `lists ${quoted(algorithm)} twice` : `has the transform ${algorithm === undefined ? 'without an Algorithm' : quoted(algorithm)}`;
      throw new SamlError('unsupported_sig_alg', `${what}'s signature ${problem}; only enveloped-signature and exclusive C14N are accepted, once each`);
    }
    listed.add(algorithm);
  }
}

/**
 * xml-crypto's check, once per certificate of the metadata, with its signature and digest tables
 * cut down to the accepted algorithms (its canonicalizations are all acceptable ones, and the
 * shape check has already refused the rest). Returns the canonical XML that was digested.
 */
function signedContent(text: string, signature: Element, keys: KeyObject[], what: string, checkedWith: string): string {
  for (const key of keys) {
    const verifier = new SignedXml({ publicCert: key, idAttribute: 'ID', getCertFromKeyInfo: () => null });
    // The constructor puts idAttribute in front of its defaults ['Id', 'ID', 'id'], so 'ID' would be
    // looked up twice and every element found twice, failing every signature: use 'ID' alone.
    verifier.idAttributes = ['ID'];
    verifier.SignatureAlgorithms = XML_CRYPTO_SIGNATURE_ALGORITHMS;
    verifier.HashAlgorithms = XML_CRYPTO_HASH_ALGORITHMS;
    verifier.CanonicalizationAlgorithms = { ...verifier.CanonicalizationAlgorithms, ...C14N_11_AS_10 };
    let digestsMatch: boolean;
    try {
      // xml-crypto reads the signature with XPath, which walks any DOM; its own types name the DOM lib's Node.
      verifier.loadSignature(signature as unknown as globalThis.Node);
      digestsMatch = verifier.checkSignature(text);
    } catch (err) {
      // xml-crypto throws this when the SignatureValue does not verify with this key: try the next one.
      if (/^invalid signature: the signature value/.test((err as Error).message)) continue;
      throw new SamlError('bad_signature', `${what}'s signature could not be checked (the XML-DSig library refused its structure)`, { cause: err });
    }
    // false: the digest does not match, whatever the key.
    if (!digestsMatch) throw new SamlError('bad_signature', `${what} was changed after it was signed: its digest does not match the signature's`);
    const signed = verifier.getSignedReferences();
    if (signed.length !== 1 || signed[0] === undefined) {
      throw new SamlError('bad_signature', `${what}'s signature verified ${signed.length} references where exactly one was expected`);
    }
    return signed[0];
  }
  throw new SamlError('bad_signature', `${what}'s signature does not verify with ${checkedWith}; a certificate in KeyInfo is never trusted by itself`);
}

/** A signature algorithm for xml-crypto that only verifies, with the checks above. */
function xmlCryptoSignatureAlgorithm(uri: string, check: SignatureCheck): new () => SignatureAlgorithm {
  return class implements SignatureAlgorithm {
    getAlgorithmName = () => uri;
    getSignature = createOptionalCallbackFunction((): string => {
      throw new Error('eidhub uses this algorithm only to verify');
    });
    verifySignature = createOptionalCallbackFunction((material: string, key: KeyLike, signatureValue: string): boolean =>
      key instanceof KeyObject && verifies(check, key, Buffer.from(material, 'utf8'), Buffer.from(signatureValue, 'base64')),
    );
  };
}

function xmlCryptoHashAlgorithm(uri: string, hash: SignatureCheck['hash']): new () => HashAlgorithm {
  return class implements HashAlgorithm {
    getAlgorithmName = () => uri;
    getHash = (xml: string) => createHash(hash).update(xml, 'utf8').digest('base64');
  };
}

const XML_CRYPTO_SIGNATURE_ALGORITHMS = Object.fromEntries([...SIGNATURE_CHECKS].map(([uri, check]) => [uri, xmlCryptoSignatureAlgorithm(uri, check)]));
const XML_CRYPTO_HASH_ALGORITHMS = Object.fromEntries([...DIGESTS].map(([uri, hash]) => [uri, xmlCryptoHashAlgorithm(uri, hash)]));

/** Element descendants of `within` (any namespace), optionally only those with this local name. */
function elementsNamed(within: Document | Element, localName?: string): Element[] {
  const all = Array.from(within.getElementsByTagName('*') as unknown as ArrayLike<Element>);
  return localName === undefined ? all : all.filter((el) => el.localName === localName);
}

function pathOf(el: Element): string {
  const names: string[] = [];
  for (let n: Node | null = el; isElement(n); n = n.parentNode) names.unshift(n.localName ?? n.nodeName);
  return names.join('/');
}

function describe(el: Element): string {
  return `${el.localName}${el.namespaceURI ? ` (in ${el.namespaceURI})` : ''}`;
}

/** A value from the message, quoted and cut short, to locate a fault without repeating the message. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}
