/**
 * Makes the SMS provider the config names. A new provider is a config shape in smsSchema, a file
 * here, and one line in `factories`.
 */
import type { SmsConfig } from '../config/schema.js';
import { createConsoleProvider, type SmsLogger } from './console.js';
import type { SandboxInbox } from './sandbox-inbox.js';
import { createTwilioProvider } from './twilio.js';
import type { SmsProvider } from './types.js';
import { createWebhookProvider } from './webhook.js';

export interface SmsProviderDeps {
  logger: SmsLogger;
  /** The sandbox inbox; given in sandbox mode only. */
  inbox?: SandboxInbox | undefined;
}

type ConfigOf = { [C in SmsConfig as C['provider']]: C };
type ProviderName = keyof ConfigOf;
type Factories = { [P in ProviderName]: (config: ConfigOf[P], deps: SmsProviderDeps) => SmsProvider };

const factories: Factories = {
  console: (_config, deps) => createConsoleProvider(deps),
  twilio: (config) => createTwilioProvider(config),
  webhook: (config) => createWebhookProvider(config),
};

export function createSmsProvider(config: SmsConfig, deps: SmsProviderDeps): SmsProvider {
  return build(config.provider, config, deps);
}

// Typed through P so that TypeScript sees each factory gets its own config shape (a correlated union).
function build<P extends ProviderName>(provider: P, config: ConfigOf[P], deps: SmsProviderDeps): SmsProvider {
  return factories[provider](config, deps);
}
