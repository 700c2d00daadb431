/**
 * The clients of the config file as oidc-provider sees them. eidhub authenticates clients itself
 * (several valid secrets at once, basic or post), then hands oidc-provider a per-client internal
 * secret derived from a server key, which never leaves the server; see client-auth.ts.
 *
 * The clients themselves (secrets as hashes, internal secrets, PKCE) are the client registry's,
 * src/clients/registry.ts, which also holds clients added at run time; this class serves the
 * config's clients through it until the OpenID Provider takes the registry itself.
 */
import type { ClientMetadata } from 'oidc-provider';
import { API_SCOPES, clientNeedsPkce, configClients, verifyClientSecret, type RegisteredClient } from '../../clients/registry.js';
import type { ApiClientConfig, OidcClientConfig } from '../../config/schema.js';

export { API_SCOPES, type RegisteredClient };

export class ClientRegistry {
  private readonly clients: Map<string, RegisteredClient>;

  constructor(oidcClients: OidcClientConfig[], apiClients: ApiClientConfig[], internalSecretKey: Buffer) {
    this.clients = configClients(oidcClients, apiClients, internalSecretKey);
  }

  get(clientId: string): RegisteredClient | undefined {
    return this.clients.get(clientId);
  }

  verifySecret(client: RegisteredClient, presented: string): boolean {
    return verifyClientSecret(client, presented);
  }

  /** Client metadata for oidc-provider. */
  metadata(): ClientMetadata[] {
    // An API client without a permission has nothing to ask a token for, so it is not a client
    // of the OpenID Provider at all: its token requests fail as invalid_client.
    const usable = [...this.clients.values()].filter((c) => c.kind !== 'api' || c.api?.permissions.includes('authentication-rest-api'));
    return usable.map((c) => {
      if (c.kind === 'api') {
        return {
          client_id: c.clientId,
          client_secret: c.internalSecret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
          scope: API_SCOPES.join(' '),
        };
      }
      const o = c.oidc!;
      const isPublic = c.secretHashes.length === 0;
      return {
        client_id: c.clientId,
        ...(isPublic ? {} : { client_secret: c.internalSecret }),
        client_name: o.clientName,
        redirect_uris: o.redirectUris,
        post_logout_redirect_uris: o.postLogoutRedirectUris,
        grant_types: o.grantTypes,
        response_types: ['code'],
        token_endpoint_auth_method: isPublic ? 'none' : 'client_secret_basic',
        id_token_signed_response_alg: o.idTokenSigningAlg,
        scope: o.scopes.join(' '),
      };
    });
  }

  pkceRequired(clientId: string): boolean {
    return clientNeedsPkce(this.clients.get(clientId));
  }
}
