/**
 * Keys with self-signed certificates for SAML tests: the IdP's signing key as eidhub keeps it
 * (a SamlSigningKey), and a service provider's key pair as PEM (its metadata certificate and the
 * private key it decrypts with).
 */
import { randomUUID } from 'node:crypto';
import type { SamlSigningKey } from '../../src/protocols/saml/model.js';

// @peculiar/x509's dependency tsyringe needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
// Node's Web Crypto, typed as the DOM's.
const webcrypto = globalThis.crypto;
x509.cryptoProvider.set(webcrypto);

const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const ECDSA_SHA256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;

export interface PemPair {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  certificatePem: string;
  /** The certificate's DER, base64. */
  certificateBase64: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A fresh key (2048-bit RSA, or P-256) and a self-signed certificate for `commonName`, valid from yesterday for a year. */
export async function makePemPair(commonName: string, kind: 'rsa' | 'ec' = 'rsa'): Promise<PemPair> {
  const algorithm = kind === 'rsa' ? RSA_SHA256 : ECDSA_SHA256;
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: algorithm,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
  });
  return {
    privateKeyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    certificatePem: certificate.toString('pem'),
    certificateBase64: Buffer.from(certificate.rawData).toString('base64'),
  };
}

/** An IdP signing key as eidhub keeps it. */
export async function makeSamlSigningKey(commonName = 'eidhub test IdP'): Promise<SamlSigningKey> {
  const pair = await makePemPair(commonName);
  return { kid: randomUUID(), ...pair, createdAt: Date.now(), retiredAt: null };
}
