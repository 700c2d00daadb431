/**
 * Signing keys with self-signed certificates for the inbound SAML tests, made by the openssl CLI
 * when the tests run (no private key is committed): an SP's metadata certificate, an attacker's,
 * an ECDSA one. (@peculiar/x509 would need a Reflect polyfill that is not installed.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestSigningKey {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** The self-signed certificate, PEM. */
  certificatePem: string;
  /** Its DER, base64, as ds:X509Certificate carries it. */
  certificateBase64: string;
}

const NEW_KEY = {
  rsa: ['-newkey', 'rsa:2048'],
  ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
} as const;

export function makeSigningKey(kind: keyof typeof NEW_KEY, commonName: string): TestSigningKey {
  const dir = mkdtempSync(join(tmpdir(), 'saml-inbound-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', ...NEW_KEY[kind], '-sha256', '-nodes', '-days', '2', '-subj', `/CN=${commonName}`, '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' });
    const certificatePem = readFileSync(certFile, 'utf8');
    return {
      privateKeyPem: readFileSync(keyFile, 'utf8'),
      certificatePem,
      certificateBase64: certificatePem.replace(/-----[A-Z ]+-----|\s/g, ''),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
