/**
 * The Admin API's routes: the clients of each kind (OIDC, API, realm) and their secrets. Every
 * request needs a bearer token of an API client with the permission `admin`; every change is
 * made through the client registry (so it reaches every process) and written as an audit event
 * naming that client as the actor.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ADMIN_SCOPE, newSecretValue, realmClientKey, type ClientRegistry, type ClientSettings, type RegisteredClient } from '../clients/registry.js';
import { badRequest, EidhubError } from '../core/errors.js';
import { authenticateApiClient, type ApiAccess } from '../protocols/api-client-auth.js';
import type { ApiTokenVerifier } from '../protocols/types.js';
import type { AuditStore, StoredClient } from '../store/types.js';
import { registerAuditRoutes } from './audit-routes.js';
import { CLIENT_SCHEMAS, clientIdParam, errorResponses, newSecretBody, realmParam, secretNameParam } from './schemas.js';

export const ADMIN_BASE = '/admin/api';

const ADMIN_ACCESS: ApiAccess = { api: 'Admin API', scopes: [ADMIN_SCOPE], permission: 'admin' };

export interface AdminDeps {
  registry: ClientRegistry;
  apiTokens: ApiTokenVerifier;
  audit: AuditStore;
  /** The configured realms' names: realm clients exist only in them. */
  realms: readonly string[];
  now: () => number;
}

type Kind = StoredClient['kind'];

const RESOURCES: readonly { kind: Kind; path: string; tag: string; noun: string }[] = [
  { kind: 'oidc', path: `${ADMIN_BASE}/oidc-clients`, tag: 'OIDC clients', noun: 'OIDC client' },
  { kind: 'api', path: `${ADMIN_BASE}/api-clients`, tag: 'API clients', noun: 'API client' },
  { kind: 'realm', path: `${ADMIN_BASE}/realms/:realm/clients`, tag: 'Realm clients', noun: 'realm client' },
];

type Params = { realm?: string; clientId?: string; name?: string };
type Req = FastifyRequest<{ Params: Params; Body: Record<string, unknown> }>;

const iso = (ms: number) => new Date(ms).toISOString();

/** A client as the API shows it: its settings, never a secret nor a hash. */
function present(client: RegisteredClient): Record<string, unknown> {
  const settings = client.oidc ?? client.api ?? client.realm?.settings;
  return { ...settings, readOnly: client.readOnly };
}

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  /** The admin client behind each request, set by the onRequest check. */
  const actors = new WeakMap<FastifyRequest, string>();
  const actorOf = (req: FastifyRequest) => actors.get(req)!;
  const onRequest = async (req: FastifyRequest) => {
    actors.set(req, await authenticateApiClient(req, deps, ADMIN_ACCESS));
  };
  const security = [{ bearerAuth: [] }];

  const audit = (req: FastifyRequest, type: string, key: string, data: Record<string, unknown> = {}) =>
    deps.audit.append({ type, at: deps.now(), clientId: key, data: { actor: actorOf(req), ...data } });

  for (const resource of RESOURCES) {
    const { kind, tag, noun } = resource;
    const schemas = CLIENT_SCHEMAS[kind];
    const item = `${resource.path}/:clientId`;
    const listParams = kind === 'realm' ? { type: 'object', required: ['realm'], properties: { realm: realmParam } } : undefined;
    const itemParams = { type: 'object', required: ['clientId', ...(kind === 'realm' ? ['realm'] : [])], properties: { clientId: clientIdParam, ...(kind === 'realm' ? { realm: realmParam } : {}) } };
    const secretParams = { ...itemParams, required: [...itemParams.required, 'name'], properties: { ...itemParams.properties, name: secretNameParam } };
    const answer = { $ref: `${schemas.answer.$id as string}#` };
    const body = { $ref: `${schemas.body.$id as string}#` };
    const createBody = { $ref: `${('create' in schemas ? schemas.create : schemas.body).$id as string}#` };

    /** 404 for a realm the path names that is not configured. */
    const checkRealm = (params: Params): void => {
      if (kind === 'realm' && !deps.realms.includes(params.realm!)) throw new EidhubError(404, 'realm_not_found', `there is no realm ${params.realm}`);
    };
    /** The registry's key of the client the path names (checkRealm first). */
    const keyOf = (params: Params, clientId = params.clientId!): string => {
      checkRealm(params);
      return kind === 'realm' ? realmClientKey(params.realm!, clientId) : clientId;
    };
    /** The client the path names, of this kind; 404 when there is none. */
    const clientOf = async (params: Params): Promise<RegisteredClient> => {
      checkRealm(params);
      const client = kind === 'realm' ? await deps.registry.findRealm(params.realm!, params.clientId!) : await deps.registry.find(params.clientId!);
      if (client?.kind !== kind) throw new EidhubError(404, 'client_not_found', `there is no ${noun} ${params.clientId}`);
      return client;
    };
    /** The body as the registry takes a client of this kind. */
    const settingsOf = (params: Params, body: Record<string, unknown>): ClientSettings =>
      (kind === 'realm' ? { kind, realm: params.realm!, settings: body } : { kind, settings: body }) as ClientSettings;

    app.get<{ Params: Params }>(
      resource.path,
      {
        onRequest,
        schema: { summary: `List the ${noun}s, the config file's (read-only) first`, tags: [tag], security, ...(listParams ? { params: listParams } : {}), response: { 200: { description: `The ${noun}s.`, type: 'array', items: answer }, ...errorResponses } },
      },
      async (req) => {
        checkRealm(req.params);
        return deps.registry.list().filter((c) => c.kind === kind && (kind !== 'realm' || c.realm?.name === req.params.realm)).map(present);
      },
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
        const clientId = String(settings.clientId);
        const key = keyOf(req.params, clientId);
        const value = kind !== 'oidc' || confidential === true ? newSecretValue() : undefined;
        const client = await deps.registry.add({ ...settingsOf(req.params, settings), secrets: value === undefined ? [] : [value] } as Parameters<ClientRegistry['add']>[0], { onlyNew: true });
        await audit(req, 'admin.client.created', key, { kind });
        const secrets = value === undefined ? [] : ((await deps.registry.secretsOf(key, kind)) ?? []);
        const first = secrets[0];
        return reply.code(201).send({ ...present(client), ...(first && value ? { secret: { name: first.name, createdAt: iso(first.createdAt ?? deps.now()), value } } : {}) });
      },
    );

    app.get<{ Params: Params }>(
      item,
      { onRequest, schema: { summary: `Get an ${noun}`, tags: [tag], security, params: itemParams, response: { 200: { description: `The ${noun}.`, ...answer }, ...errorResponses } } },
      async (req) => present(await clientOf(req.params)),
    );

    app.put<{ Params: Params; Body: Record<string, unknown> }>(
      item,
      {
        onRequest,
        schema: { summary: `Replace an ${noun}'s settings (its secrets stay)`, tags: [tag], security, params: itemParams, body, response: { 200: { description: `The ${noun}.`, ...answer }, ...errorResponses } },
      },
      async (req: Req) => {
        if (req.body.clientId !== req.params.clientId) throw badRequest('invalid_request', 'clientId must be the client_id of the path', 'clientId');
        const key = keyOf(req.params);
        const client = await deps.registry.update(settingsOf(req.params, req.body));
        await audit(req, 'admin.client.updated', key, { kind });
        return present(client);
      },
    );

    app.delete<{ Params: Params }>(
      item,
      { onRequest, schema: { summary: `Delete an ${noun}`, tags: [tag], security, params: itemParams, response: { 204: { description: 'Deleted.', type: 'null' }, ...errorResponses } } },
      async (req, reply) => {
        await clientOf(req.params);
        const key = keyOf(req.params);
        if (!(await deps.registry.remove(req.params.clientId!, kind === 'realm' ? req.params.realm : undefined))) {
          throw new EidhubError(404, 'client_not_found', `there is no ${noun} ${req.params.clientId}`);
        }
        await audit(req, 'admin.client.deleted', key, { kind });
        return reply.code(204).send();
      },
    );

    app.get<{ Params: Params }>(
      `${item}/secrets`,
      {
        onRequest,
        schema: { summary: `List an ${noun}'s secrets (names and dates, never values)`, tags: [tag], security, params: itemParams, response: { 200: { description: 'The secrets.', type: 'array', items: { $ref: 'Secret#' } }, ...errorResponses } },
      },
      async (req) => {
        const secrets = await deps.registry.secretsOf(keyOf(req.params), kind);
        if (!secrets) throw new EidhubError(404, 'client_not_found', `there is no ${noun} ${req.params.clientId}`);
        return secrets.map((s) => ({ name: s.name, ...(s.createdAt === undefined ? {} : { createdAt: iso(s.createdAt) }) }));
      },
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
      async (req, reply) => {
        const key = keyOf(req.params);
        const secret = await deps.registry.addSecret(key, kind, req.body.name);
        await audit(req, 'admin.client.secret.created', key, { kind, secret: secret.name });
        return reply.code(201).send({ ...secret, createdAt: iso(secret.createdAt) });
      },
    );

    app.delete<{ Params: Params }>(
      `${item}/secrets/:name`,
      { onRequest, schema: { summary: `Revoke an ${noun}'s secret: it fails at once`, tags: [tag], security, params: secretParams, response: { 204: { description: 'Revoked.', type: 'null' }, ...errorResponses } } },
      async (req, reply) => {
        const key = keyOf(req.params);
        if (!(await deps.registry.revokeSecret(key, kind, req.params.name!))) throw new EidhubError(404, 'secret_not_found', `the ${noun} has no secret named ${req.params.name}`);
        await audit(req, 'admin.client.secret.revoked', key, { kind, secret: req.params.name });
        return reply.code(204).send();
      },
    );
  }

  registerAuditRoutes(app, ADMIN_BASE, { audit: deps.audit, onRequest, now: deps.now });
}
