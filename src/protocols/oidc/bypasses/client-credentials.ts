/**
 * Bypass (bench/FINDINGS.md, "Fix 12"): the API clients' token request, answered without
 * oidc-provider's request pipeline. Off with `oidcFastPaths: false`.
 *
 * An API client asks for a token with one request shape: HTTP Basic, `grant_type=client_credentials`
 * and an optional `scope` among the client's registered scopes. For exactly that request, with a
 * valid secret, this issues the token oidc-provider would: its ClientCredentials model (same opaque
 * format, same TTL, saved through our adapter, so introspection, revocation and the REST API find
 * it as before) and the same JSON response. Any other request (another parameter, a duplicate,
 * DPoP, a resource indicator, a cross-origin call, a wrong secret, a scope the client may not
 * have) is left to oidc-provider, which answers it, errors included, as it always did.
 *
 * Why: oidc-provider's token endpoint runs some twenty Koa middlewares per request (body parsing,
 * parameter assembly, client authentication again, duplicate checks, resource and RAR checks),
 * which cost more than the token itself. eidhub has checked the client already (client-auth.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { sendJson } from '../../../http/server.js';
import { parseForm, type CheckedCredentials } from '../client-auth.js';

const GRANT = 'client_credentials';

/**
 * Whether the request may be a plain client_credentials request of an API client, worth reading
 * the body for (any other request keeps its body unread for oidc-provider).
 */
export function mayBeClientCredentials(req: IncomingMessage, credentials: CheckedCredentials | null): credentials is CheckedCredentials {
  const h = req.headers;
  return (
    credentials !== null &&
    credentials.valid &&
    credentials.client.kind === 'api' &&
    h.dpop === undefined &&
    h.origin === undefined &&
    /^application\/x-www-form-urlencoded\s*(;|$)/i.test(h['content-type'] ?? '')
  );
}

/** The scope asked for, deduplicated in order, or null when the request is not the plain shape. */
function requestedScopes(body: Buffer): string[] | null {
  const { grant_type: grantType, scope, ...others } = parseForm(body);
  if (grantType !== GRANT || Object.keys(others).length > 0) return null;
  if (scope === undefined) return [];
  if (typeof scope !== 'string') return null;
  return [...new Set(scope.split(' '))];
}

/**
 * Issues the token and answers, if `body` is the plain client_credentials request; returns false
 * (having written nothing) when oidc-provider must answer the request instead.
 */
export async function answerClientCredentials(provider: Provider, credentials: CheckedCredentials, body: Buffer, res: ServerResponse): Promise<boolean> {
  const scopes = requestedScopes(body);
  if (scopes === null) return false;
  const client = await provider.Client.find(credentials.client.clientId);
  if (!client || !client.grantTypeAllowed(GRANT)) return false;
  // Only scopes the client is registered with, the list oidc-provider checks them against; any
  // other (or a client registered without a scope list) is left to oidc-provider to answer.
  const registered = client.scope?.split(' ');
  if (registered === undefined || !scopes.every((s) => registered.includes(s))) return false;
  const token = new provider.ClientCredentials({ client, scope: scopes.join(' ') || undefined });
  const accessToken = await token.save();
  // oidc-provider's token response, member for member (its buildTokenResponse drops undefined members).
  sendJson(res, 200, { access_token: accessToken, expires_in: token.expiration, scope: token.scope || undefined, token_type: token.tokenType }, {
    // oidc-provider's token endpoint answers every client this way (requests with an Origin are left to it).
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'WWW-Authenticate',
    vary: 'Origin',
  });
  return true;
}
