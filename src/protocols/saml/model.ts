/**
 * The SAML 2.0 identity provider's shared vocabulary: namespaces, bindings, the service provider
 * as its metadata describes it, the IdP's signing key, and the one error type the SAML code throws
 * for anything it refuses. Everything else in this folder builds on these.
 */

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  xenc11: 'http://www.w3.org/2009/xmlenc11#',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  reqAttr: 'urn:oasis:names:tc:SAML:protocol:ext:req-attr',
} as const;

export const BINDINGS = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;
export type BindingName = keyof typeof BINDINGS;

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  versionMismatch: 'urn:oasis:names:tc:SAML:2.0:status:VersionMismatch',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  unsupportedBinding: 'urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding',
  invalidNameIdPolicy: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
  partialLogout: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
  unknownPrincipal: 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal',
} as const;

/** The largest SAML message eidhub reads (bytes of XML, after base64 and inflating). */
export const MAX_MESSAGE_BYTES = 100 * 1024;

export const NAMEID_UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** Signature algorithms eidhub accepts on requests (no SHA-1) and the one it signs with. */
export const SIG_ALGS = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  ecdsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  ecdsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384',
  ecdsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512',
} as const;
export const ACCEPTED_SIG_ALGS: ReadonlySet<string> = new Set(Object.values(SIG_ALGS));
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

/** An endpoint of the SP's metadata (AssertionConsumerService, SingleLogoutService). */
export interface SpEndpoint {
  /** The binding URI, as the metadata says (any binding, also ones eidhub does not speak). */
  binding: string;
  location: string;
  /** SingleLogoutService only: where LogoutResponses go, when it differs from `location`. */
  responseLocation?: string | undefined;
  /** AssertionConsumerService only. */
  index?: number | undefined;
  isDefault?: boolean | undefined;
}

export interface RequestedSpAttribute {
  name: string;
  nameFormat?: string | undefined;
  isRequired: boolean;
}

export interface AttributeConsumingService {
  index: number;
  isDefault: boolean;
  attributes: RequestedSpAttribute[];
}

/** What eidhub knows about a service provider: its metadata, and its options in the config. */
export interface ServiceProvider {
  entityId: string;
  /** In metadata order. */
  assertionConsumerServices: SpEndpoint[];
  singleLogoutServices: SpEndpoint[];
  /** PEM certificates of KeyDescriptors with use="signing" or no use: the only keys its requests may be signed with. */
  signingCertificates: string[];
  /** PEM certificates of KeyDescriptors with use="encryption" or no use. */
  encryptionCertificates: string[];
  attributeConsumingServices: AttributeConsumingService[];
  /** The metadata's AuthnRequestsSigned / WantAssertionsSigned (informative: eidhub always signs assertions). */
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
  nameIdFormats: string[];
  /** Config: refuse AuthnRequests without a valid signature (default false; a request that carries a signature must verify either way). */
  requireSignedRequests: boolean;
  /** Config: sign the Response as well as the Assertion (default true). */
  signResponse: boolean;
  /** Config: encrypt assertions (default: when the metadata has an encryption certificate). */
  encryptAssertions: boolean;
}

/** One IdP signing key with its self-signed certificate. */
export interface SamlSigningKey {
  kid: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** The certificate, PEM. */
  certificatePem: string;
  /** The certificate's DER, base64 (what goes into ds:X509Certificate). */
  certificateBase64: string;
  createdAt: number;
  /** When it stops signing (null while nothing replaces it). */
  retiredAt: number | null;
}

/**
 * Why a SAML message was refused. `code` is stable and machine-readable; `message` says what is
 * wrong and where, and is safe to show and log (it never quotes a certificate, a key, a code or a
 * phone number, and quotes message content only as far as needed to locate the fault).
 */
export type SamlErrorCode =
  | 'malformed' // not base64, not well-formed XML, not the expected element, a required attribute missing
  | 'doctype' // a DOCTYPE or entity declaration
  | 'too_large' // over the size cap, before or after inflating
  | 'unknown_sp' // the Issuer is not a configured SP
  | 'bad_destination' // Destination is not this endpoint
  | 'bad_acs' // the ACS URL is not in the SP's metadata
  | 'signature_required' // unsigned where a signature is required
  | 'bad_signature' // a signature that does not verify with the SP's metadata certificates, or does not cover the message
  | 'unsupported_sig_alg' // SHA-1 or an unknown algorithm
  | 'expired' // IssueInstant outside the accepted window (clock skew included)
  | 'replay' // a request ID already answered
  | 'unsupported' // a version, binding or feature eidhub does not do
  | 'relay_state'; // RelayState over 80 bytes

export class SamlError extends Error {
  override name = 'SamlError';
  constructor(
    readonly code: SamlErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}
