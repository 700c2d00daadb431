/**
 * The authentication transaction: the one model every protocol and authenticator shares.
 * A protocol adapter creates it, an authenticator moves it from WAITING_FOR_USER to a final
 * state, and the protocol adapter reads the final state back. It never holds protocol objects:
 * protocol state points at the transaction by id, never the other way round.
 */

export const PROTOCOLS = ['oidc', 'rest', 'saml', 'ciba'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const TRANSACTION_STATUSES = ['CREATED', 'WAITING_FOR_USER', 'SUCCESS', 'ERROR', 'ABORT', 'CANCELLED'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<TransactionStatus> = new Set(['SUCCESS', 'ERROR', 'ABORT', 'CANCELLED']);

export const LEVELS_OF_ASSURANCE = ['low', 'substantial', 'high'] as const;
export type LevelOfAssurance = (typeof LEVELS_OF_ASSURANCE)[number];

/** A machine-readable reason a transaction ended in ERROR (or why a step was refused). */
export interface TransactionError {
  code: string;
  message: string;
}

/** The authenticated person, as the authenticator established them. */
export interface TransactionSubject {
  /** The derived, opaque, stable subject identifier (see core/subject.ts). */
  id: string;
  /** The provider's own identifier of the person, e.g. the E.164 number for otp-sms. */
  idpId: string;
  /**
   * What the authenticator learned about the person, in its own naming; its `claims` mapping turns
   * them into each protocol's (OIDC claims, REST attributes, SAML attributes).
   */
  attributes: Record<string, string>;
}

export interface Transaction {
  id: string;
  accountId: string;
  protocol: Protocol;
  /** The protocol's own handle: OIDC interaction uid, REST session id, SAML request id, CIBA auth_req_id. */
  protocolRef: string;
  clientId: string;
  allowedProviders: string[];
  /** The authenticator that runs (or ran) this transaction. */
  provider: string | null;
  language: string | null;
  /** Values the integrator already knows, e.g. `{ mobile: "+447700900000" }`. */
  prefilledInput: Record<string, string>;
  /** Provider parameters, e.g. `{ otp_sms_sender: "Signicat AS" }`. */
  providerParams: Record<string, string>;
  requestedAttributes: string[];
  requestedLoa: LevelOfAssurance | null;
  status: TransactionStatus;
  subject: TransactionSubject | null;
  loa: LevelOfAssurance | null;
  error: TransactionError | null;
  /** SHA-256 (base64url) of the key that binds the transaction to the browser that opened it. */
  browserBinding: string | null;
  /** Private state of the authenticator (e.g. the phone number a code was sent to). */
  authState: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  finishedAt: number | null;
  /** Incremented on every write; updates are compare-and-set on it. */
  version: number;
}

/** The fields a store update may change. */
export type TransactionPatch = Partial<
  Pick<
    Transaction,
    | 'provider'
    | 'providerParams'
    | 'prefilledInput'
    | 'language'
    | 'status'
    | 'subject'
    | 'loa'
    | 'error'
    | 'browserBinding'
    | 'authState'
    | 'expiresAt'
    | 'finishedAt'
    | 'updatedAt'
  >
>;
