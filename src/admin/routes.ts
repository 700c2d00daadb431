/**
 * The Admin API's routes: the clients of each kind (OIDC, API, realm) and their secrets. Every
 * request needs a bearer token of an API client with the permission `admin`, or the admin
 * console's session (a change then needs its CSRF token too); the changes are
 * made by the AdminService (service.ts), which the console uses too, naming that client as the
 * actor of each audit event.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ADMIN_SCOPE, type ClientRegistry, type RegisteredClient } from '../clients/registry.js';
import { badRequest } from '../core/errors.js';
import { authenticateApiClient, type ApiAccess } from '../protocols/api-client-auth.js';
import type { ApiTokenVerifier } from '../protocols/types.js';
import type { AuditStore } from '../store/types.js';
import { registerAuditRoutes } from './audit-routes.js';
import { CLIENT_SCHEMAS, clientIdParam, errorResponses, newSecretBody, realmParam, secretNameParam } from './schemas.js';
import { AdminService, clientSettings, CLIENT_NOUNS, type ClientKind, type ClientRef, type NewSecret } from './service.js';

export const ADMIN_BASE = '/admin/api';

const ADMIN_ACCESS: ApiAccess = { api: 'Admin API', scopes: [ADMIN_SCOPE], permission: 'admin' };

export interface AdminDeps {
  service: AdminService;
  registry: ClientRegistry;
  apiTokens: ApiTokenVerifier;
  audit: AuditStore;
  /** Who a request with the console's session (and no bearer token) is: its actor, or undefined. */
  consoleAuth?: ((req: FastifyRequest) => Promise<string | undefined>) | undefined;
  now: () => number;
}

/** The bearer check of the Admin API's routes (their onRequest), and the admin client it found for a request. */
export function adminAccessCheck(deps: Pick<AdminDeps, 'apiTokens' | 'registry' | 'consoleAuth'>): { onRequest: (req: FastifyRequest) => Promise<void>; actorOf: (req: FastifyRequest) => string } {
  const actors = new WeakMap<FastifyRequest, string>();
  return {
    onRequest: async (req) => {
      // A request with no bearer token may be the console's, by its session cookie (console/index.ts).
      const consoleActor = req.headers.authorization === undefined ? await deps.consoleAuth?.(req) : undefined;
      actors.set(req, consoleActor ?? (await authenticateApiClient(req, deps, ADMIN_ACCESS)));
    },
    actorOf: (req) => actors.get(req)!,
  };
}

const RESOURCES: readonly { kind: ClientKind; path: string; tag: string }[] = [
  { kind: 'oidc', path: `${ADMIN_BASE}/oidc-clients`, tag: 'OIDC clients' },
  { kind: 'api', path: `${ADMIN_BASE}/api-clients`, tag: 'API clients' },
  { kind: 'realm', path: `${ADMIN_BASE}/realms/:realm/clients`, tag: 'Realm clients' },
];

type Params = { realm?: string; clientId?: string; name?: string };
type Req = FastifyRequest<{ Params: Params; Body: Record<string, unknown> }>;

const iso = (ms: number) => new Date(ms).toISOString();
/** The dates that are known, as ISO date-times; an unknown one is left out rather than null. */
const isoDates = (dates: Record<string, number | undefined>) => Object.fromEntries(Object.entries(dates).flatMap(([name, ms]) => (ms === undefined ? [] : [[name, iso(ms)]])));

/** A client as the API shows it: its settings, never a secret nor a hash. */
const present = (client: RegisteredClient): Record<string, unknown> => ({ ...clientSettings(client), readOnly: client.readOnly });
const presentSecret = (secret: NewSecret) => ({ ...secret, createdAt: iso(secret.createdAt) });

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { service } = deps;
  const { onRequest, actorOf } = adminAccessCheck(deps);
  const security = [{ bearerAuth: [] }];

  for (const resource of RESOURCES) {
    const { kind, tag } = resource;
    const noun = CLIENT_NOUNS[kind];
    const schemas = CLIENT_SCHEMAS[kind];
    const item = `${resource.path}/:clientId`;
    const listParams = kind === 'realm' ? { type: 'object', required: ['realm'], properties: { realm: realmParam } } : undefined;
    const itemParams = { type: 'object', required: ['clientId', ...(kind === 'realm' ? ['realm'] : [])], properties: { clientId: clientIdParam, ...(kind === 'realm' ? { realm: realmParam } : {}) } };
    const secretParams = { ...itemParams, required: [...itemParams.required, 'name'], properties: { ...itemParams.properties, name: secretNameParam } };
    const answer = { $ref: `${schemas.answer.$id as string}#` };
    const body = { $ref: `${schemas.body.$id as string}#` };
    const createBody = { $ref: `${('create' in schemas ? schemas.create : schemas.body).$id as string}#` };
    const refOf = (params: Params): ClientRef => ({ kind, clientId: params.clientId!, realm: params.realm });

    app.get<{ Params: Params }>(
      resource.path,
      {
        onRequest,
        schema: { summary: `List the ${noun}s, the config file's (read-only) first`, tags: [tag], security, ...(listParams ? { params: listParams } : {}), response: { 200: { description: `The ${noun}s.`, type: 'array', items: answer }, ...errorResponses } },
      },
      async (req) => service.list(kind, req.params.realm).map(present),
    );

    app.post<{ Params: Params; Body: Record<string, unknown> }>(
      resource.path,
      {
        onRequest,
        schema: {
          summary: kind === 'oidc' ? `Create an ${noun}: confidential with one secret, shown once, or public` : `Create an ${noun} with one secret, shown once`,
          tags: [tag],
          security,
          ...(listParams ? { params: listParams } : {}),
          body: createBody,
          response: { 201: { description: `The ${noun} and, if it has one, its first secret.`, ...answer }, ...errorResponses },
        },
      },
      async (req: Req, reply) => {
        const { confidential, ...settings } = req.body;
        const { client, secret } = await service.create(kind, req.params.realm, settings, { withSecret: confidential === true }, actorOf(req));
        return reply.code(201).send({ ...present(client), ...(secret ? { secret: presentSecret(secret) } : {}) });
      },
    );

    app.get<{ Params: Params }>(
      item,
      { onRequest, schema: { summary: `Get an ${noun}`, tags: [tag], security, params: itemParams, response: { 200: { description: `The ${noun}.`, ...answer }, ...errorResponses } } },
      async (req) => present(await service.get(refOf(req.params))),
    );

    app.put<{ Params: Params; Body: Record<string, unknown> }>(
      item,
      {
        onRequest,
        schema: { summary: `Replace an ${noun}'s settings (its secrets stay)`, tags: [tag], security, params: itemParams, body, response: { 200: { description: `The ${noun}.`, ...answer }, ...errorResponses } },
      },
      async (req: Req) => {
        if (req.body.clientId !== req.params.clientId) throw badRequest('invalid_request', 'clientId must be the client_id of the path', 'clientId');
        return present(await service.update(kind, req.params.realm, req.body, actorOf(req)));
      },
    );

    app.delete<{ Params: Params }>(
      item,
      { onRequest, schema: { summary: `Delete an ${noun}`, tags: [tag], security, params: itemParams, response: { 204: { description: 'Deleted.', type: 'null' }, ...errorResponses } } },
      async (req, reply) => {
        await service.remove(refOf(req.params), actorOf(req));
        return reply.code(204).send();
      },
    );

    app.get<{ Params: Params }>(
      `${item}/secrets`,
      {
        onRequest,
        schema: { summary: `List an ${noun}'s secrets (names and dates, never values)`, tags: [tag], security, params: itemParams, response: { 200: { description: 'The secrets.', type: 'array', items: { $ref: 'Secret#' } }, ...errorResponses } },
      },
      async (req) => (await service.secrets(refOf(req.params))).map((s) => ({ name: s.name, ...isoDates({ createdAt: s.createdAt, lastUsedAt: s.lastUsedAt }) })),
    );

    app.post<{ Params: Params; Body: { name: string } }>(
      `${item}/secrets`,
      {
        onRequest,
        schema: {
          summary: `Add a secret to an ${noun}; its value is shown this once`,
          tags: [tag],
          security,
          params: itemParams,
          body: newSecretBody,
          response: { 201: { description: 'The new secret, with its value.', $ref: 'NewSecret#' }, ...errorResponses },
        },
      },
      async (req, reply) => reply.code(201).send(presentSecret(await service.addSecret(refOf(req.params), req.body.name, actorOf(req)))),
    );

    app.delete<{ Params: Params }>(
      `${item}/secrets/:name`,
      { onRequest, schema: { summary: `Revoke an ${noun}'s secret: it fails at once`, tags: [tag], security, params: secretParams, response: { 204: { description: 'Revoked.', type: 'null' }, ...errorResponses } } },
      async (req, reply) => {
        await service.revokeSecret(refOf(req.params), req.params.name!, actorOf(req));
        return reply.code(204).send();
      },
    );
  }

  registerAuditRoutes(app, ADMIN_BASE, { audit: deps.audit, onRequest, now: deps.now });
}
