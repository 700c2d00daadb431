/**
 * The OpenAPI document of the REST API and a readable reference page made from it
 * (/auth/rest/openapi.json and /auth/rest/docs). Both come from the route schemas.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { newNonce, setPageHeaders } from '../../http/security.js';
import { REST_BASE } from './routes.js';

interface SchemaNode {
  type?: string | string[];
  description?: string;
  enum?: readonly unknown[];
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  $ref?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
}

interface Operation {
  summary?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: SchemaNode }[];
  requestBody?: { content: Record<string, { schema: SchemaNode }> };
  responses?: Record<string, { description?: string }>;
}

interface OpenApiDoc {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, SchemaNode> };
}

/** Problem codes the API answers with, for the `type` links of problem details. */
export const PROBLEM_CODES: Record<string, string> = {
  invalid_request: 'The request does not match the schema; `field` names the part at fault.',
  invalid_json: 'The body is not valid JSON.',
  unsupported_media_type: 'The body must be application/json.',
  missing_field: 'A field the chosen flow needs is missing.',
  invalid_url: 'A URL is not an absolute https URL (http is allowed only on localhost and 127.0.0.1), or it carries user information (`user:password@`).',
  origin_not_allowed: 'A callbackUrls or returnUrl URL has an origin that is not in the API client\'s allowedOrigins; `field` names it.',
  invalid_parent_domain: 'An embeddedParentDomains entry is not a host or origin.',
  invalid_field: 'A field does not apply to the chosen flow.',
  unsupported_language: 'The language is not one the pages speak.',
  unknown_provider: 'allowedProviders names a provider that is not enabled.',
  provider_not_embeddable: 'allowedProviders names a provider whose login cannot run inside a frame (itsme®) for the embedded flow; use the redirect flow for it.',
  unknown_attribute: 'requestedAttributes names an attribute no allowed provider gives.',
  loa_not_available: 'No allowed provider reaches the requested level of assurance.',
  invalid_parameter: 'A provider parameter or prefilled value is invalid; `field` names it.',
  invalid_token: 'The access token is missing, invalid or expired.',
  insufficient_scope: 'The access token lacks the scope auth-rest-api (or signicat-api).',
  insufficient_permission: 'The client lacks the authentication-rest-api permission.',
  session_not_found: 'No session with this id belongs to this client.',
  session_nonce_required: 'Embedded sessions are read with their sessionNonce.',
  session_nonce_mismatch: 'The sessionNonce does not belong to this session, or it was used already (each is good for one read).',
  session_finished: 'The session already finished and cannot be cancelled.',
  not_headless: 'A headless step was called for a session of another flow, or of another provider.',
  not_found: 'No such endpoint.',
  rate_limited: 'Too many calls of this endpoint from this address (`rateLimits` in the configuration); `Retry-After` says when to try again.',
};

export async function registerOpenApi(app: FastifyInstance, publicUrl: string) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'eidhub Authentication REST API',
        version: '1',
        description: 'Create authentication sessions, send the person to authenticationUrl (redirect or iframe), read the result.',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'An access token from POST /auth/open/connect/token (grant_type=client_credentials, HTTP Basic, scope auth-rest-api or signicat-api).',
          },
        },
      },
    },
    hideUntagged: true,
    // Other APIs (the Admin API) publish their own documents.
    transform: ({ schema, url }) => ({ schema: url.startsWith(REST_BASE) ? schema : { ...schema, hide: true }, url }),
    // Components are named after the schemas' $id (Session, Problem, …).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Descriptions use `code` spans only. */
const prose = (s: string | undefined) => esc(s ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');

function typeLabel(s: SchemaNode): string {
  if (s.$ref) return s.$ref.split('/').pop() ?? 'object';
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.type === 'array') return `array of ${s.items ? typeLabel(s.items) : 'any'}`;
  const range = s.minimum !== undefined ? ` (${s.minimum}–${s.maximum ?? ''})` : s.maxLength !== undefined ? ` (≤ ${s.maxLength} chars)` : '';
  return `${Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'object')}${range}`;
}

function propertyRows(schema: SchemaNode, prefix = ''): string {
  return Object.entries(schema.properties ?? {})
    .map(([name, p]) => {
      const row = `<tr><td><code>${esc(prefix + name)}</code>${schema.required?.includes(name) ? ' <span class="req">required</span>' : ''}</td><td>${esc(typeLabel(p))}</td><td>${prose(p.description)}</td></tr>`;
      return p.properties ? row + propertyRows(p, `${prefix}${name}.`) : row;
    })
    .join('');
}

/** `problemCodes`: PROBLEM_CODES and the codes of the providers' headless steps. */
export function renderDocs(doc: OpenApiDoc, problemCodes: Readonly<Record<string, string>>): string {
  const schemas = doc.components?.schemas ?? {};
  const resolve = (s: SchemaNode): SchemaNode => (s.$ref ? (schemas[s.$ref.split('/').pop() ?? ''] ?? s) : s);
  const ops = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = (op.parameters ?? [])
        .map((p) => `<tr><td><code>${esc(p.name)}</code> (${esc(p.in)})${p.required ? ' <span class="req">required</span>' : ''}</td><td>${esc(p.schema ? typeLabel(p.schema) : '')}</td><td>${prose(p.description ?? p.schema?.description)}</td></tr>`)
        .join('');
      const body = op.requestBody?.content['application/json']?.schema;
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><code>${esc(code)}</code> ${prose(r.description)}</li>`)
        .join('');
      return `<section><h2><span class="method">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h2><p>${prose(op.summary)}</p>
${params ? `<h3>Parameters</h3><table><tr><th>name</th><th>type</th><th>meaning</th></tr>${params}</table>` : ''}
${body ? `<h3>Request body (application/json)</h3><table><tr><th>field</th><th>type</th><th>meaning</th></tr>${propertyRows(resolve(body))}</table>` : ''}
<h3>Responses</h3><ul>${responses}</ul></section>`;
    }),
  );
  const session = schemas.Session;
  const problems = Object.entries(problemCodes)
    .map(([code, text]) => `<tr id="problem-${code}"><td><code>${code}</code></td><td>${prose(text)}</td></tr>`)
    .join('');
  return `<h1>eidhub Authentication REST API</h1>
<p>Machine-readable: <a href="${REST_BASE}/openapi.json">${REST_BASE}/openapi.json</a> (OpenAPI 3.1). Authenticate with a bearer token from
<code>POST /auth/open/connect/token</code> (<code>grant_type=client_credentials</code>, HTTP Basic, scope <code>auth-rest-api</code> or <code>signicat-api</code>).</p>
<p>Embedded flow: put <code>authenticationUrl</code> in an iframe. Set <code>embeddedParentDomains</code>: without it any site may frame the pages (<code>frame-ancestors *</code>).
At the end the frame navigates to <code>returnUrl?sessionNonce=…</code> and posts <code>{type: "eidhub:session", sessionId, status}</code> to the parent origins listed; read the result with <code>GET /sessions/{id}?sessionNonce=…</code>.
The sessionNonce is random, kept only as a hash, and good for <strong>one</strong> read: a second read with it is refused (403 <code>session_nonce_mismatch</code>), so read once and keep the answer.</p>
<p>URLs: <code>callbackUrls</code> and <code>returnUrl</code> never carry user information (<code>user:password@</code>); if the API client lists <code>allowedOrigins</code> in eidhub's configuration, their origins must be among them (400 <code>origin_not_allowed</code>, with the <code>field</code>).</p>
${ops.join('\n')}
${session ? `<section><h2>The session object</h2><table><tr><th>field</th><th>type</th><th>meaning</th></tr>${propertyRows(session)}</table></section>` : ''}
<section><h2>Problems</h2><p>Errors are <code>application/problem+json</code> (RFC 9457) with a stable <code>code</code> and, for bad input, the <code>field</code> at fault.
Every answer is <code>Cache-Control: no-store</code>; every 429 carries <code>Retry-After</code> (seconds). After too many wrong client secrets the token endpoint answers
429 <code>{"error": "slow_down"}</code> with <code>Retry-After</code>, to the address that sent them and, once the client's own budget is spent, to any address that sent a wrong one.</p>
<table><tr><th>code</th><th>meaning</th></tr>${problems}</table></section>`;
}

export function registerDocsRoutes(app: FastifyInstance, problemCodes: Readonly<Record<string, string>>) {
  app.get(`${REST_BASE}/openapi.json`, async () => app.swagger());
  let html: string | undefined;
  app.get(`${REST_BASE}/docs`, async (_req, reply) => {
    html ??= renderDocs(app.swagger() as OpenApiDoc, problemCodes);
    const nonce = newNonce();
    setPageHeaders(reply, { nonce, frameAncestors: ["'none'"], formActionOrigins: [] });
    return reply.send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>REST API reference · eidhub</title><style nonce="${nonce}">
body{font:16px/1.55 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1b1f24}
code{font:14px ui-monospace,monospace;background:#f3f4f6;border-radius:4px;padding:0 .2em}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}td,th{border-bottom:1px solid #e5e7eb;padding:.4rem;text-align:left;vertical-align:top}
section{border-top:2px solid #e5e7eb;margin-top:2rem}.method{background:#1849a9;color:#fff;border-radius:4px;padding:0 .4em;font-size:.8em}
.req{color:#b42318;font-size:.8em}:target{background:#fff7d6}
@media (prefers-color-scheme:dark){body{background:#0f1115;color:#e5e7eb}code{background:#1f2330}td,th,section{border-color:#2a2f3a}:target{background:#3a3214}}
</style></head><body>${html}</body></html>`);
  });
}
