/**
 * The SMS provider contract. A provider is made by a factory from its config section
 * (`sms.provider` plus the provider's own keys) and sends one message per `send` call.
 */

export interface SmsMessage {
  /** E.164, e.g. +447700900000. */
  to: string;
  /** Sender: an alphanumeric sender id (at most 11 characters) or a number. */
  from: string;
  body: string;
}

export interface SmsSendResult {
  /** The provider's message id, when it gives one. */
  providerMessageId?: string | undefined;
}

export interface SmsProvider {
  readonly name: string;
  /**
   * Sends one message. Resolves once the provider accepted it. Rejects with SmsSendError when it
   * did not; a provider retries at most once, and only where the first try certainly or possibly
   * did not reach the provider (network error) or the provider answered 5xx.
   */
  send(message: SmsMessage): Promise<SmsSendResult>;
}

/** A send that failed. The message never contains the code or the full number. */
export class SmsSendError extends Error {
  override name = 'SmsSendError';
  constructor(
    message: string,
    readonly provider: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
