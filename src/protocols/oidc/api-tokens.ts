/**
 * API clients' access tokens (client_credentials), checked for the REST API. They are
 * oidc-provider's `ClientCredentials` model, opaque: the token is the id of its row in the
 * store, which holds the client, the scope and the expiry. Read straight from the store, so a
 * token issued or revoked by any process is seen at once.
 */
import type { OidcModelStore } from '../../store/types.js';
import type { ApiToken, ApiTokenVerifier } from '../types.js';

const MODEL = 'ClientCredentials';

export function createApiTokenVerifier(store: OidcModelStore, now: () => number): ApiTokenVerifier {
  return {
    async verify(token: string): Promise<ApiToken | null> {
      const t = now();
      const payload = await store.find(MODEL, token, t);
      // The row's own expiry is checked by find; `exp` (epoch seconds) is oidc-provider's.
      if (!payload || payload.kind !== MODEL || payload.jti !== token) return null;
      if (typeof payload.exp !== 'number' || payload.exp * 1000 <= t) return null;
      if (typeof payload.clientId !== 'string') return null;
      return { clientId: payload.clientId, scopes: new Set(String(payload.scope ?? '').split(' ').filter(Boolean)) };
    },
  };
}
