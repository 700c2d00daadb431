/**
 * A realm's clients: the client registry's (src/clients/registry.ts) for one realm, those of the
 * config file (`realms[].clients`) and those added at run time, as the realm's OpenID Provider
 * knows them. Their secrets are checked in front of it as the registry's are (client-auth.ts:
 * several hashed secrets, `client_secret_post` or Basic, restated for oidc-provider with an
 * internal secret). The config file's are its static clients; the others are read through its
 * adapter's Client model, so one added, changed or removed is used at the next request.
 */
import type { ClientMetadata } from 'oidc-provider';
import type { ClientRegistry, RegisteredClient } from '../../clients/registry.js';
import type { ClientLookup } from '../oidc/client-auth.js';
import { memoizedMetadata } from '../oidc/client-metadata.js';

export const CIBA_GRANT_TYPE = 'urn:openid:params:grant-type:ciba';

/**
 * How oidc-provider is told of a notification endpoint. It takes only https URLs there, so an
 * http one (allowed on loopback hosts, for development) is registered with https in its place;
 * the realm's fetch (notify.ts) sends to the configured URL.
 */
export function registeredNotificationEndpoint(configured: string): string {
  const url = new URL(configured);
  url.protocol = 'https:';
  return url.href;
}

/** A realm client's metadata for oidc-provider; null for any other client. */
const clientMetadata = memoizedMetadata((client: RegisteredClient): ClientMetadata | null => {
  const settings = client.realm?.settings;
  if (!settings) return null;
  return {
    client_id: client.clientId,
    client_secret: client.internalSecret,
    ...(settings.clientName !== undefined ? { client_name: settings.clientName } : {}),
    grant_types: [CIBA_GRANT_TYPE],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    scope: settings.scopes.join(' '),
    backchannel_token_delivery_mode: settings.deliveryMode,
    ...(settings.notificationEndpoint !== undefined ? { backchannel_client_notification_endpoint: registeredNotificationEndpoint(settings.notificationEndpoint) } : {}),
  };
});

export class RealmClients implements ClientLookup {
  constructor(
    private readonly registry: ClientRegistry,
    readonly realm: string,
  ) {}

  find(clientId: string): Promise<RegisteredClient | undefined> {
    return this.registry.findRealm(this.realm, clientId);
  }

  /** The registry's check, which also records the secret's use. */
  verifySecret(client: RegisteredClient, presented: string): boolean {
    return this.registry.verifySecret(client, presented);
  }

  /** oidc-provider's static clients: the config file's, which never change while eidhub runs. */
  staticMetadata(): ClientMetadata[] {
    return this.all()
      .filter((c) => c.readOnly)
      .flatMap((c) => clientMetadata(c) ?? []);
  }

  /** A client's metadata for the realm's adapter, read from the registry (the store when the snapshot lacks it). */
  async metadata(clientId: string): Promise<ClientMetadata | undefined> {
    const client = await this.find(clientId);
    return (client && clientMetadata(client)) ?? undefined;
  }

  /**
   * Where a notification oidc-provider sends to `registered` goes: the endpoint a client of the
   * realm configured that is registered so, preferring one configured exactly so (https); none
   * when no client has it (any more).
   */
  notificationTarget(registered: string): string | undefined {
    const endpoints = this.all().flatMap((c) => c.realm?.settings.notificationEndpoint ?? []);
    if (endpoints.includes(registered)) return registered;
    return endpoints.find((configured) => registeredNotificationEndpoint(configured) === registered);
  }

  private all(): RegisteredClient[] {
    return this.registry.list().filter((c) => c.kind === 'realm' && c.realm?.name === this.realm);
  }
}
