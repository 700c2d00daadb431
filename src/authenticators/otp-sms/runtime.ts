/**
 * What every step of the SMS one-time code authenticator works with: its dependencies, its rules
 * (config `otp`), the keyed hashes of codes and numbers, and the state it keeps on the transaction.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Transaction } from '../../core/transaction.js';
import type { TransactionService } from '../../core/transactions.js';
import type { SmsProvider } from '../../sms/types.js';
import type { Store } from '../../store/types.js';

export const OTP_SMS = 'otp-sms';

export interface OtpSmsOptions {
  codeTtlSeconds: number;
  maxAttempts: number;
  maxSends: number;
  resendAfterSeconds: number;
  maxSendsPerNumberPerHour: number;
  allowedCountries: string[];
  allowedPrefixes: string[];
  prefixDigits: number;
  trustedPrefixes: string[];
  budgets: Config['otp']['budgets'];
  conversionGuard: Config['otp']['conversionGuard'];
  /** The configured sender (`sms.from`): used when a login names none, or one the provider cannot carry. */
  defaultSender: string;
  publicHost: string;
}

/** The authenticator's private state on the transaction (`authState`). */
export interface OtpState {
  /** E.164 number the current code went to; absent on the phone step. */
  phone?: string;
  /** Codes sent in this login. */
  sends?: number;
  lastSentAt?: number;
  /** ISO 3166-1 alpha-2 country of `phone`, when it has one: the success audit event names it. */
  country?: string;
}

export const stateOf = (tx: Transaction): OtpState => tx.authState as OtpState;

export interface OtpSmsRuntime {
  store: Store;
  transactions: TransactionService;
  sms: SmsProvider;
  options: OtpSmsOptions;
  logger: Logger;
  now: () => number;
  /** HMAC of a code under the server's OTP key, bound to its challenge (base64url). */
  hashCode(challengeId: string, code: string): string;
  /** Counter key for a number: keyed, so the counters table never holds the number itself. */
  numberKey(e164: string): string;
  /** Opaque name of a client IP address, keyed as the number's, so the counters table never holds the address itself. */
  addressKey(ip: string): string;
  /** The stable, opaque subject of the person with this number. */
  subjectOf(e164: string): string;
}

export function createRuntime(deps: Omit<OtpSmsRuntime, 'hashCode' | 'numberKey' | 'addressKey'> & { otpKey: Buffer }): OtpSmsRuntime {
  const { otpKey, ...rest } = deps;
  const keyed = (what: string, value: string) => createHmac('sha256', otpKey).update(`${what}:${value}`).digest('base64url').slice(0, 22);
  return {
    ...rest,
    hashCode: (challengeId, code) => createHmac('sha256', otpKey).update(`${challengeId}:${code}`).digest('base64url'),
    numberKey: (e164) => `otp-sms:number:${keyed('number', e164)}`,
    addressKey: (ip) => keyed('address', ip),
  };
}
