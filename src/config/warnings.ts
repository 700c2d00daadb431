/**
 * What a valid config may still get wrong: settings that run, but that an operator most likely
 * did not mean in production. They are warnings, not errors, so that a config that started
 * before keeps starting; eidhub logs each at start and `eidhub config check` prints them.
 */
import { isLoopbackHost, type Config } from './schema.js';

/** The SMS providers that send real messages. */
const REAL_SMS = new Set<Config['sms']['provider']>(['twilio', 'webhook']);

/** One line per warning, each beginning with the path of the option it is about. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const url = new URL(config.publicUrl);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    warnings.push(
      `publicUrl: http on ${url.host}, which is not loopback, so browsers and relying parties will send codes, cookies and tokens in clear over the network; use an https:// URL (TLS at eidhub or at the proxy in front of it)`,
    );
  }
  if (config.sandbox && REAL_SMS.has(config.sms.provider)) {
    warnings.push(
      `sandbox: sandbox mode sends real SMS through sms.provider "${config.sms.provider}": its demo clients and pages send a code to whatever number is typed in (the documents' example numbers too), and whoever reaches this eidhub can make it text, and bill, real numbers; use sms.provider "console" with sandbox mode, or set "sandbox": false`,
    );
  }
  config.oidcClients.forEach((client, i) => {
    if (client.secrets.length > 0 || client.public === true) return;
    warnings.push(
      `oidcClients[${i}] (${client.clientId}): no secrets, so it is a public client (PKCE required, no client authentication); for a single-page or native app say so with "public": true, for a server-side app give it a secret in "secrets"`,
    );
  });
  return warnings;
}
