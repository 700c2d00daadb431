/**
 * Clients as oidc-provider knows them. The config file's clients are its static clients
 * (provider.ts); clients added at run time are read through its adapter's `Client` model, so one
 * added or changed in the client registry is used at the next request (oidc-provider re-validates
 * such a client when its metadata changes).
 * Each client's secret here is its internal secret (see client-auth.ts), never a real one.
 */
import type { ClientMetadata } from 'oidc-provider';
import { apiClientScopes, type RegisteredClient } from '../../clients/registry.js';

/** `build` made once per registered client (a changed client is a new object). */
export function memoizedMetadata(build: (client: RegisteredClient) => ClientMetadata | null): (client: RegisteredClient) => ClientMetadata | null {
  const made = new WeakMap<RegisteredClient, ClientMetadata | null>();
  return (client) => {
    let metadata = made.get(client);
    if (metadata === undefined) {
      metadata = build(client);
      made.set(client, metadata);
    }
    return metadata;
  };
}

/**
 * The client's metadata, or null when it is no client of the OpenID Provider: an API client
 * without a permission has nothing to ask a token for, so its token requests fail as
 * invalid_client.
 */
export const clientMetadata = memoizedMetadata(build);

function build(c: RegisteredClient): ClientMetadata | null {
  // A realm's client is a client of that realm's OpenID Provider only (src/protocols/ciba/clients.ts).
  if (c.kind === 'realm') return null;
  if (c.kind === 'api') {
    const scopes = c.api ? apiClientScopes(c.api) : [];
    if (scopes.length === 0) return null;
    return {
      client_id: c.clientId,
      client_secret: c.internalSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: scopes.join(' '),
    };
  }
  const o = c.oidc;
  if (!o) return null;
  const isPublic = c.secretHashes.length === 0;
  return {
    client_id: c.clientId,
    ...(isPublic ? {} : { client_secret: c.internalSecret }),
    ...(o.clientName !== undefined ? { client_name: o.clientName } : {}),
    redirect_uris: o.redirectUris,
    post_logout_redirect_uris: o.postLogoutRedirectUris,
    grant_types: o.grantTypes,
    response_types: ['code'],
    token_endpoint_auth_method: isPublic ? 'none' : 'client_secret_basic',
    id_token_signed_response_alg: o.idTokenSigningAlg,
    scope: o.scopes.join(' '),
  };
}
