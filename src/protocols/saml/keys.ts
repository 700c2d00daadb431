/**
 * The IdP's SAML signing keys, each with a self-signed certificate: SPs pin the certificate from
 * the IdP metadata, so it carries no trust of its own and needs no CA.
 *
 * They live in the store's key table beside the OIDC keys (alg SAML-RS256; the row's privateJwk
 * column holds `{ pkcs8, certificate }`, both PEM), so every process signs with the same key.
 * Unlike a JWKS, which relying parties re-read whenever they meet an unknown kid, SP metadata is
 * loaded by hand or on a schedule; so a rotation publishes the new certificate first and lets it
 * sign only after a rollover period, while the old key keeps signing.
 *
 * RSA 2048, like the OIDC RS256 key: every SAML stack takes it, and it is NIST-acceptable through
 * 2030. RSA 3072 was measured here at ~0.4 s per key generation (with a long tail), which the
 * first start, held to "ready in under 2 s", cannot spare; rotate before 2031 instead.
 */
import { createHash, generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { rolloverOrder, signsAt } from '../../keys/rollover.js';
import { insertFirstKey } from '../../keys/signing-keys.js';
import type { KeyStore, SecretStore, StoredKey } from '../../store/types.js';
import type { SamlSigningKey } from './model.js';

export const SAML_KEY_ALG = 'SAML-RS256';

const MODULUS_BITS = 2048;
const VALIDITY_YEARS = 10;
/** Dated back so that an SP whose clock is behind does not find the certificate not yet valid. */
const BACKDATE_MS = 60 * 60_000;

/** What the privateJwk column holds for a SAML key. */
interface StoredSamlKey {
  pkcs8: string;
  certificate: string;
}

/** The certificate's subject CN: the IdP's host, from its public URL. */
export function samlCertificateSubject(publicUrl: string): string {
  return new URL(publicUrl).hostname;
}

// A self-signed certificate is one small, fixed DER structure (RFC 5280 §4.1), written here with
// Node's crypto. @peculiar/x509 would need a global Reflect metadata polyfill that eidhub does
// not otherwise load.

/** One DER tag-length-value. */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const length: number[] = [];
  for (let n = body.length; n > 0; n = Math.floor(n / 256)) length.unshift(n % 256);
  const header = body.length < 0x80 ? [tag, body.length] : [tag, 0x80 | length.length, ...length];
  return Buffer.concat([Buffer.from(header), body]);
}
const sequence = (...content: Buffer[]) => der(0x30, ...content);

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let v = arc; groups.length === 0 || v > 0; v = Math.floor(v / 128)) groups.unshift((v % 128) | (groups.length === 0 ? 0 : 0x80));
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(ms: number): Buffer {
  const digits = new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:T]/g, '');
  return Number(digits.slice(0, 4)) < 2050 ? der(0x17, Buffer.from(digits.slice(2))) : der(0x18, Buffer.from(digits));
}

function extension(id: string, value: Buffer): Buffer {
  return sequence(oid(id), der(0x01, Buffer.from([0xff])), der(0x04, value));
}

export interface CertificateOptions {
  /** The subject's (and issuer's) CN; RFC 5280 bounds it to 64 characters, so a longer one is cut. */
  commonName: string;
  notBefore: number;
  notAfter: number;
}

/**
 * A self-signed X.509 v3 certificate (PEM) for an RSA or EC key pair: a random positive 128-bit
 * serial, sha256WithRSAEncryption or ecdsa-with-SHA256, and critical basicConstraints (not a CA)
 * and keyUsage digitalSignature.
 */
export function selfSignedCertificate(keys: { privateKey: KeyObject; publicKey: KeyObject }, options: CertificateOptions): string {
  const rsa = keys.privateKey.asymmetricKeyType === 'rsa';
  const algorithm = rsa ? sequence(oid('1.2.840.113549.1.1.11'), der(0x05)) : sequence(oid('1.2.840.10045.4.3.2'));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, and no leading zero byte to strip
  const name = sequence(der(0x31, sequence(oid('2.5.4.3'), der(0x0c, Buffer.from(options.commonName.slice(0, 64), 'utf8')))));
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, serial),
    algorithm,
    name,
    sequence(time(options.notBefore), time(options.notAfter)),
    name,
    keys.publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, sequence(extension('2.5.29.19', sequence()), extension('2.5.29.15', der(0x03, Buffer.from([0x07, 0x80]))))),
  );
  const signature = sign('sha256', tbs, keys.privateKey);
  const cert = sequence(tbs, algorithm, der(0x03, Buffer.from([0]), signature));
  const lines = cert.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The base64 DER of a PEM certificate, as ds:X509Certificate carries it. */
function certificateBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
}

async function generateSamlKey(now: number, subject: string): Promise<StoredKey> {
  const keys = await promisify(generateKeyPair)('rsa', { modulusLength: MODULUS_BITS });
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
  const stored: StoredSamlKey = {
    pkcs8: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificate: selfSignedCertificate(keys, { commonName: subject, notBefore: now - BACKDATE_MS, notAfter: notAfter.getTime() }),
  };
  // The certificate's SHA-256 thumbprint (what x5t#S256 would carry) names the key.
  const kid = createHash('sha256').update(Buffer.from(certificateBase64(stored.certificate), 'base64')).digest('base64url');
  return { kid, alg: SAML_KEY_ALG, privateJwk: JSON.stringify(stored), createdAt: now, retiredAt: null, removeAfter: null };
}

/**
 * Makes sure a SAML signing key exists. Processes that start together on an empty store agree on
 * the first key (insertFirstKey, as for the OIDC keys).
 */
export async function ensureSamlSigningKey(keys: KeyStore, secrets: SecretStore, now: number, subject: string): Promise<void> {
  if ((await keys.list(now)).some((k) => k.alg === SAML_KEY_ALG && signsAt(k, now))) return;
  await insertFirstKey(keys, secrets, await generateSamlKey(now, subject));
}

/**
 * Adds a new SAML key, published at once, and retires the current one at `now + rolloverMs`: it
 * keeps signing until then, so SPs have the rollover period to load the new certificate. A
 * retired key stays published for `publishForMs` after it stops signing. A key already counting
 * down to its retirement (an earlier rotation) keeps its date.
 */
export async function rotateSamlSigningKey(keys: KeyStore, now: number, rolloverMs: number, publishForMs: number, subject: string): Promise<StoredKey> {
  const key = await generateSamlKey(now, subject);
  await keys.insert(key);
  const retiredAt = now + rolloverMs;
  await keys.retire(SAML_KEY_ALG, key.kid, retiredAt, retiredAt + publishForMs);
  return key;
}

function toSigningKey(stored: StoredKey): SamlSigningKey {
  const { pkcs8, certificate } = JSON.parse(stored.privateJwk) as StoredSamlKey;
  return {
    kid: stored.kid,
    privateKeyPem: pkcs8,
    certificatePem: certificate,
    certificateBase64: certificateBase64(certificate),
    createdAt: stored.createdAt,
    retiredAt: stored.retiredAt,
  };
}

/**
 * The SAML keys at `now`, from the store's key list (other algorithms are ignored). `signing` is
 * the key whose turn it is (see rolloverOrder), so during a rollover the old key signs while the
 * next one is already published. `published` is what the IdP metadata lists: the signer, then
 * the keys that sign after it in turn, then retired keys still published, newest first.
 */
export function samlKeyRing(stored: StoredKey[], now: number): { signing: SamlSigningKey; published: SamlSigningKey[] } {
  const { upcoming, retired } = rolloverOrder(stored, SAML_KEY_ALG, now);
  const [signing] = upcoming;
  if (!signing) throw new Error('no SAML signing key in the store (ensureSamlSigningKey makes one)');
  return { signing: toSigningKey(signing), published: [...upcoming, ...retired].map(toSigningKey) };
}
