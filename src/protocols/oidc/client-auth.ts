/**
 * Client authentication in front of oidc-provider. eidhub accepts `client_secret_basic` and
 * `client_secret_post` from every confidential client, with any of its configured secrets.
 * oidc-provider knows one internal secret per client, registered for `client_secret_basic`, so
 * this step checks the presented secret (constant time, against hashes) and, when it is valid,
 * restates the request as HTTP Basic with the internal secret. A wrong secret is restated as
 * Basic with the wrong secret, so oidc-provider gives its usual `invalid_client`.
 */
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { parse as parseQuery, stringify as stringifyQuery, type ParsedUrlQuery } from 'node:querystring';
import type { ClientRegistry, RegisteredClient } from '../../clients/registry.js';
import { OIDC_ROUTES } from './provider.js';

/** Endpoints (below the issuer) where clients authenticate. */
export const CLIENT_AUTH_PATHS: ReadonlySet<string> = new Set([
  OIDC_ROUTES.token,
  OIDC_ROUTES.introspection,
  OIDC_ROUTES.revocation,
  OIDC_ROUTES.pushed_authorization_request,
]);

/** Where client credentials are checked: the client registry, or a realm's own clients (src/protocols/ciba/). */
export type ClientLookup = Pick<ClientRegistry, 'find' | 'verifySecret'>;

const formEncode = (value: string) => encodeURIComponent(value);

function decodeBasic(header: string): { id: string; secret: string } | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  try {
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
    return { id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
  } catch {
    return null;
  }
}

/** Credentials a confidential client presented, checked, and restated for oidc-provider. */
export interface CheckedCredentials {
  client: RegisteredClient;
  /** The presented secret is one of the client's secrets. */
  valid: boolean;
  /**
   * The Basic Authorization header to forward: with the internal secret when the presented one
   * is valid, with the presented (wrong) one otherwise, so that oidc-provider answers
   * `invalid_client` itself.
   */
  authorization: string;
}

/**
 * Null when `id` is not a confidential client (public clients and unknown ids go to oidc-provider
 * untouched). The registry finds a client another process added just now (ClientRegistry.find).
 */
async function checkCredentials(registry: ClientLookup, id: string, secret: string): Promise<CheckedCredentials | null> {
  const client = await registry.find(id);
  if (!client || client.secretHashes.length === 0) return null;
  const valid = registry.verifySecret(client, secret);
  const forwarded = valid ? client.internalSecret : secret;
  return { client, valid, authorization: `Basic ${Buffer.from(`${formEncode(client.clientId)}:${formEncode(forwarded)}`).toString('base64')}` };
}

/** True when the request carries an HTTP Basic Authorization header. */
export function hasBasicAuth(headers: IncomingMessage['headers']): boolean {
  return typeof headers.authorization === 'string' && /^\s*Basic /i.test(headers.authorization);
}

/**
 * client_secret_basic: the checked credentials with the Authorization header to forward, or null
 * when the header holds no Basic credentials of a confidential client. The body is not needed: a
 * request that also posts `client_secret` uses two methods at once, and oidc-provider refuses that
 * whatever the header says.
 */
export async function restateBasicHeader(header: string | undefined, registry: ClientLookup): Promise<CheckedCredentials | null> {
  const basic = typeof header === 'string' ? decodeBasic(header) : null;
  return basic ? checkCredentials(registry, basic.id, basic.secret) : null;
}

/**
 * client_secret_post (the request has no Basic header): the headers and form body to forward,
 * with the secret moved to a Basic header; null when the body carries no secret to restate
 * (public clients, assertions, malformed input: those go to oidc-provider untouched so that it
 * answers with its own precise error).
 */
export async function restateClientAuth(
  headers: IncomingMessage['headers'],
  body: ParsedUrlQuery,
  registry: ClientLookup,
): Promise<{ headers: IncomingMessage['headers']; body: ParsedUrlQuery; checked: CheckedCredentials } | null> {
  const { client_secret: secret, ...rest } = body;
  if (typeof body.client_id !== 'string' || typeof secret !== 'string') return null;
  const checked = await checkCredentials(registry, body.client_id, secret);
  return checked === null ? null : { headers: { ...headers, authorization: checked.authorization }, body: rest, checked };
}

/**
 * A request object that reads `body` instead of the original (already read) stream, for
 * handing a restated request to oidc-provider's Koa app.
 */
export function replayRequest(original: IncomingMessage, headers: IncomingMessage['headers'], body: Buffer): IncomingMessage {
  const stream = new PassThrough();
  stream.end(body);
  const { 'transfer-encoding': _te, ...rest } = headers;
  return Object.assign(stream, {
    headers: { ...rest, 'content-length': String(body.length) },
    rawHeaders: original.rawHeaders,
    method: original.method,
    url: original.url,
    httpVersion: original.httpVersion,
    httpVersionMajor: original.httpVersionMajor,
    httpVersionMinor: original.httpVersionMinor,
    socket: original.socket,
    connection: original.socket,
    complete: true,
    aborted: false,
    trailers: {},
    rawTrailers: [],
  }) as unknown as IncomingMessage;
}

export function encodeForm(body: ParsedUrlQuery): Buffer {
  return Buffer.from(stringifyQuery(body), 'utf8');
}

export function parseForm(raw: Buffer): ParsedUrlQuery {
  return parseQuery(raw.toString('utf8'));
}
