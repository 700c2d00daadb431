/**
 * A realm's clients, from the config file (`realms[].clients`). They are the static clients of the
 * realm's OpenID Provider; their secrets are checked in front of it as the client registry's are
 * (client-auth.ts: several hashed secrets, `client_secret_post` or Basic, restated for
 * oidc-provider with an internal secret).
 *
 * Follow-up: the client registry (src/clients/registry.ts) holds only the `/auth/open` issuer's
 * clients; once it holds realm clients too, the admin API can manage them and this file becomes a
 * view of the registry for one realm (its `find` reading the registry, its metadata read through
 * the adapter's Client model as client-metadata.ts does).
 */
import type { ClientMetadata } from 'oidc-provider';
import { realmClient, verifyClientSecret, type RegisteredClient } from '../../clients/registry.js';
import type { RealmClientConfig, RealmConfig } from '../../config/schema.js';
import type { ClientLookup } from '../oidc/client-auth.js';

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

function metadataOf(config: RealmClientConfig, registered: RegisteredClient): ClientMetadata {
  return {
    client_id: config.clientId,
    client_secret: registered.internalSecret,
    ...(config.clientName !== undefined ? { client_name: config.clientName } : {}),
    grant_types: [CIBA_GRANT_TYPE],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    scope: config.scopes.join(' '),
    backchannel_token_delivery_mode: config.deliveryMode,
    ...(config.notificationEndpoint !== undefined ? { backchannel_client_notification_endpoint: registeredNotificationEndpoint(config.notificationEndpoint) } : {}),
  };
}

export class RealmClients implements ClientLookup {
  private readonly clients: ReadonlyMap<string, { config: RealmClientConfig; registered: RegisteredClient }>;

  constructor(realm: RealmConfig, internalSecretKey: Buffer) {
    this.clients = new Map(
      realm.clients.map((c) => [c.clientId, { config: c, registered: realmClient(realm.name, c.clientId, c.clientName, c.secrets, internalSecretKey) }]),
    );
  }

  async find(clientId: string): Promise<RegisteredClient | undefined> {
    return this.clients.get(clientId)?.registered;
  }

  verifySecret(client: RegisteredClient, presented: string): boolean {
    return verifyClientSecret(client, presented);
  }

  /** oidc-provider's static clients. */
  metadata(): ClientMetadata[] {
    return [...this.clients.values()].map((c) => metadataOf(c.config, c.registered));
  }

  /** Each notification endpoint as oidc-provider knows it, to the URL the client configured. */
  notificationEndpoints(): ReadonlyMap<string, string> {
    return new Map(
      [...this.clients.values()].flatMap(({ config }) =>
        config.notificationEndpoint === undefined ? [] : [[registeredNotificationEndpoint(config.notificationEndpoint), config.notificationEndpoint] as const],
      ),
    );
  }
}
