/**
 * The development provider: nothing leaves the process. It prints each message to the log (the
 * number masked) and keeps it in the sandbox inbox, so a developer can read the code. That is
 * its whole purpose, and why it must never be used in production: it is the one place where a
 * code reaches a log line. The real providers (twilio, webhook) never log a message text.
 */
import { maskPhoneNumber } from './phone-mask.js';
import type { SandboxInbox } from './sandbox-inbox.js';
import type { SmsProvider } from './types.js';

/** The part of a pino logger the SMS providers use. */
export interface SmsLogger {
  info(obj: object, msg: string): void;
}

export interface ConsoleProviderDeps {
  logger: SmsLogger;
  /** Sandbox only. Without it the text is dropped. */
  inbox?: SandboxInbox | undefined;
}

export function createConsoleProvider({ logger, inbox }: ConsoleProviderDeps): SmsProvider {
  return {
    name: 'console',
    async send(message) {
      const entry = inbox?.add(message);
      logger.info(
        { sms: { provider: 'console', id: entry?.id, to: maskPhoneNumber(message.to), from: message.from, text: message.body } },
        'SMS printed, not sent (console provider, development only)',
      );
      return { providerMessageId: entry?.id };
    },
  };
}
