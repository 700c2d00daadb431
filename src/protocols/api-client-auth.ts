/**
 * The bearer-token check of the APIs API clients call (the REST API, the Admin API): the token
 * from the `/auth/open` client_credentials grant, one of the API's scopes, and the client's
 * permission. One check, so the APIs answer missing, invalid and insufficient tokens alike.
 */
import type { FastifyRequest } from 'fastify';
import type { ClientRegistry } from '../clients/registry.js';
import type { ApiPermission } from '../config/schema.js';
import { EidhubError } from '../core/errors.js';
import type { ApiTokenVerifier } from './types.js';

export interface ApiAccess {
  /** How the API is named in messages. */
  api: string;
  /** The token needs one of these scopes. */
  scopes: readonly string[];
  /** The client needs this permission. */
  permission: ApiPermission;
}

/** The id of the API client behind the request's bearer token; EidhubError 401 without a valid token, 403 without the scope or permission. */
export async function authenticateApiClient(req: FastifyRequest, deps: { apiTokens: ApiTokenVerifier; registry: ClientRegistry }, access: ApiAccess): Promise<string> {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? '');
  if (!match) throw new EidhubError(401, 'invalid_token', 'send an access token: Authorization: Bearer <token> (from POST /auth/open/connect/token, grant_type=client_credentials)');
  const token = await deps.apiTokens.verify(match[1]!);
  if (!token) throw new EidhubError(401, 'invalid_token', 'the access token is invalid or has expired');
  const client = await deps.registry.find(token.clientId);
  if (!client || client.kind !== 'api') throw new EidhubError(403, 'insufficient_permission', `this client may not use the ${access.api}`);
  if (!access.scopes.some((s) => token.scopes.has(s))) {
    throw new EidhubError(403, 'insufficient_scope', `the access token needs the scope ${access.scopes.join(' or ')}`);
  }
  if (!client.api?.permissions.includes(access.permission)) {
    throw new EidhubError(403, 'insufficient_permission', `this client lacks the ${access.permission} permission`);
  }
  return client.clientId;
}
