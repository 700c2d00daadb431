/**
 * Encrypting a signed assertion for a service provider: an EncryptedAssertion holding the
 * assertion under a fresh AES-256-GCM key, that key wrapped with RSA-OAEP for the certificate the
 * SP's metadata gives for encryption.
 *
 * The OAEP digest stays SHA-1, the default of rsa-oaep-mgf1p, although xml-encryption can write
 * SHA-256 in its DigestMethod: service providers do not read that. xmlsec1 1.2 refuses it
 * ("digest algorithm sha256 is not supported for rsa/oaep"), and the xml-encryption 3 that
 * node-saml 5 decrypts with takes SHA-256 for the mask function as well, which rsa-oaep-mgf1p
 * fixes to SHA-1, and fails. SHA-1's weakness, collisions, does not touch OAEP.
 */
import { X509Certificate } from 'node:crypto';
import xmlenc, { type EncryptOptions } from 'xml-encryption';
import { NS } from './model.js';

export const AES256_GCM = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';
export const RSA_OAEP_MGF1P = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

/** The signed assertion (XML text) for the SP's certificate (PEM) as a saml2:EncryptedAssertion. */
export async function encryptAssertion(signedAssertionXml: string, certificatePem: string): Promise<string> {
  const certificate = new X509Certificate(certificatePem);
  if (certificate.publicKey.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`cannot encrypt for this certificate: its key is ${certificate.publicKey.asymmetricKeyType ?? 'unknown'}, and SAML key transport needs RSA`);
  }
  // xml-encryption's types predate keyEncryptionDigest; see above for why it is SHA-1.
  const options: EncryptOptions & { keyEncryptionDigest: 'sha1' } = {
    rsa_pub: certificate.publicKey.export({ type: 'spki', format: 'pem' }),
    pem: certificate.toString(),
    encryptionAlgorithm: AES256_GCM,
    keyEncryptionAlgorithm: RSA_OAEP_MGF1P,
    keyEncryptionDigest: 'sha1',
    disallowEncryptionWithInsecureAlgorithm: true,
  };
  const encryptedData = await new Promise<string>((resolve, reject) => {
    xmlenc.encrypt(signedAssertionXml, options, (err, result) => (err ? reject(err) : resolve(result)));
  });
  return `<saml2:EncryptedAssertion xmlns:saml2="${NS.assertion}">${encryptedData.trim()}</saml2:EncryptedAssertion>`;
}
