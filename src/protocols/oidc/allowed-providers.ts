/**
 * The providers an OpenID Connect client may use: its `allowedProviders`, or every enabled
 * authenticator when it names none (CONTRACT §8). The config schema cannot know which providers
 * are enabled, so the config file's clients are checked here, at start; a client added at run
 * time (the registry checks it with the same schema) that names a provider no longer enabled
 * simply cannot use it.
 */
import type { Authenticator } from '../../authenticators/types.js';
import type { OidcClientSettings } from '../../config/schema.js';
import { ConfigError } from '../../config/load.js';

/** Refuses to start when a config client names a provider that is not enabled, naming where. */
export function checkAllowedProviders(clients: readonly Pick<OidcClientSettings, 'allowedProviders'>[], authenticators: ReadonlyMap<string, Authenticator>): void {
  const enabled = [...authenticators.keys()].join(', ');
  const problems = clients.flatMap((client, i) =>
    (client.allowedProviders ?? []).flatMap((id, j) =>
      authenticators.has(id) ? [] : [`oidcClients[${i}].allowedProviders[${j}]: unknown provider "${id}"; enabled: ${enabled}`],
    ),
  );
  if (problems.length > 0) throw new ConfigError('the enabled providers', problems);
}

/** The enabled providers a client may use, in the order it lists them. */
export function providersOf(client: Pick<OidcClientSettings, 'allowedProviders'> | undefined, authenticators: ReadonlyMap<string, Authenticator>): string[] {
  const listed = client?.allowedProviders;
  if (!listed) return [...authenticators.keys()];
  return [...new Set(listed)].filter((id) => authenticators.has(id));
}
