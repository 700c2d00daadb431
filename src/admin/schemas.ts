/**
 * The Admin API's JSON Schemas. A client's body and answer are made from the config file's own
 * zod schemas (src/config/schema.ts) without `secrets`, so the Admin API, the config file and the
 * client registry agree on every field; the routes validate with these objects and the OpenAPI
 * document (/admin/api/openapi.json) is produced from them. What JSON Schema cannot say (redirect
 * URIs: https, or http on loopback) the registry checks with the zod schema, naming the field.
 */
import { z } from 'zod';
import { problemSchema as restProblemSchema } from '../protocols/rest/schemas.js';
import { apiClientSchema, CLIENT_ID_PATTERN, oidcClientSchema, REALM_NAME_PATTERN, realmClientSchema } from '../config/schema.js';

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

/** A client schema of the config file as JSON Schema, without its secrets, named `$id`. */
function clientJsonSchema(schema: z.ZodType, io: 'input' | 'output', $id: string, description: string, extra: Record<string, unknown> = {}): JsonSchema {
  const { $schema: _draft, properties = {}, required = [], ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  const { secrets: _secrets, ...settings } = properties;
  return {
    ...rest,
    $id,
    description,
    properties: { ...settings, ...extra },
    required: [...required.filter((r) => r !== 'secrets'), ...(io === 'output' ? Object.keys(extra) : [])],
  };
}

const readOnly = { readOnly: { type: 'boolean', description: 'A client of the config file: shown, never changed over the API.' } };

/** The client's answer; the answer to its creation carries its first secret too (API and realm clients). */
function withFirstSecret(schema: JsonSchema): JsonSchema {
  return { ...schema, properties: { ...schema.properties, secret: { $ref: 'NewSecret#', description: 'Only in the answer to POST of a client created with a secret: that secret, shown this once.' } } };
}

/** Each kind of client: its body and answer schemas, and what a new one gets. */
export const CLIENT_SCHEMAS = {
  oidc: {
    body: clientJsonSchema(oidcClientSchema, 'input', 'OidcClientRequest', 'An OIDC client of /auth/open (its secrets stay as they are).'),
    create: clientJsonSchema(oidcClientSchema, 'input', 'NewOidcClientRequest', 'A new OIDC client of /auth/open.', {
      confidential: {
        type: 'boolean',
        default: false,
        description: '`true`: created with one secret, returned once in the answer. `false`: a public client (PKCE always) until a secret is added.',
      },
    }),
    answer: withFirstSecret(clientJsonSchema(oidcClientSchema, 'output', 'OidcClient', 'An OIDC client of /auth/open.', readOnly)),
  },
  api: {
    body: clientJsonSchema(apiClientSchema, 'input', 'ApiClientRequest', 'An API client. Created with one secret, returned once in the answer.'),
    answer: withFirstSecret(clientJsonSchema(apiClientSchema, 'output', 'ApiClient', 'An API client (client_credentials).', readOnly)),
  },
  realm: {
    body: clientJsonSchema(realmClientSchema, 'input', 'RealmClientRequest', 'A client of a CIBA realm. Created with one secret, returned once in the answer.'),
    answer: withFirstSecret(clientJsonSchema(realmClientSchema, 'output', 'RealmClient', 'A client of a CIBA realm.', readOnly)),
  },
} as const;

const isoDate = (description: string) => ({ type: 'string', format: 'date-time', description });

export const secretSchema = {
  $id: 'Secret',
  type: 'object',
  required: ['name'],
  description: 'A client secret: its name, creation date and last-used date, never its value (nor its hash).',
  properties: {
    name: { type: 'string' },
    createdAt: isoDate('When it was created; absent for a config client\'s secrets (named secret-1, secret-2… in the file\'s order).'),
    lastUsedAt: isoDate('When it last authenticated its client (recorded to within a minute); absent if it never did.'),
  },
} as const;

export const newSecretSchema = {
  $id: 'NewSecret',
  type: 'object',
  required: ['name', 'createdAt', 'value'],
  description: 'A secret just created. Its value is shown this once and kept only as a hash.',
  properties: { name: { type: 'string' }, createdAt: isoDate('When it was created.'), value: { type: 'string', description: 'The secret; send it as client_secret (HTTP Basic).' } },
} as const;

export const SECRET_NAME_PATTERN = '^[A-Za-z0-9._-]{1,64}$';

export const newSecretBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', pattern: SECRET_NAME_PATTERN, description: 'A label that tells the client\'s secrets apart (e.g. `2026-12`).' } },
} as const;

/** The REST API's problem details, under a name of this document. */
export const problemSchema = { ...restProblemSchema, $id: 'AdminProblem' } as const;

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'AdminProblem#' } } } });

export const errorResponses = {
  400: problem('The request is malformed; `field` names the part at fault. Nothing was changed.'),
  401: problem('No valid access token.'),
  403: problem('The token lacks the scope eidhub-admin, or its client the permission admin.'),
  404: problem('No such client, realm, secret or SAML service provider.'),
  409: problem('A config client or SP (read-only), an id, entityID or secret name in use.'),
} as const;

export const clientIdParam = { type: 'string', pattern: CLIENT_ID_PATTERN.source, description: 'The client_id.' } as const;
export const realmParam = { type: 'string', pattern: REALM_NAME_PATTERN.source, description: 'The realm\'s name.' } as const;
export const secretNameParam = { type: 'string', pattern: SECRET_NAME_PATTERN, description: 'The secret\'s name.' } as const;
