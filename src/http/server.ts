/**
 * The Fastify server: logging without secrets, body parsing, cookies, rate limits, security
 * headers, and the one error handler that turns every error into an answer (an HTML page for
 * people, problem+json for APIs).
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import { createServer as createHttpServer, type IncomingMessage, type ServerOptions as HttpServerOptions, type ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { EidhubError } from '../core/errors.js';
import type { Store } from '../store/types.js';
import { BASE_HEADERS, setBaseHeaders } from './security.js';
import { LazyChildLogger } from './logger.js';
import { redactUrl } from './redact-url.js';

export interface ServerOptions {
  logger: Logger;
  trustProxy: boolean;
  store: Store;
  /** Renders an error as a page for people (hosted pages, interactions, sandbox). */
  renderHtmlError: (req: FastifyRequest, reply: FastifyReply, err: EidhubError) => FastifyReply | Promise<FastifyReply>;
}

function wantsProblemJson(req: FastifyRequest): boolean {
  return req.url.startsWith('/auth/rest') || req.url.startsWith('/admin/api') || req.url.startsWith('/healthz') || req.url.startsWith('/readyz');
}

/** A dotted path (`callbackUrls.success`, `allowedProviders[0]`) from a JSON Schema validation error. */
function fieldOf(err: FastifyError): string | undefined {
  const first = err.validation?.[0];
  if (!first) return undefined;
  const path = first.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
  const params = first.params as { missingProperty?: string; additionalProperty?: string };
  const leaf = params.missingProperty ?? params.additionalProperty;
  const full = leaf ? (path ? `${path}.${leaf}` : leaf) : path;
  return full || (err.validationContext ?? undefined);
}

function validationMessage(err: FastifyError, field: string | undefined): string {
  const first = err.validation?.[0];
  const params = first?.params as { additionalProperty?: string; missingProperty?: string } | undefined;
  if (params?.additionalProperty) return `${field}: unknown field`;
  if (params?.missingProperty) return `${field}: is required`;
  return `${field ?? err.validationContext ?? 'request'}: ${first?.message ?? 'is invalid'}`;
}

/** Any error a route threw, as the EidhubError it is answered with (a scope with answers of its own uses it too). */
export function toEidhubError(err: FastifyError | Error): EidhubError {
  if (err instanceof EidhubError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const field = fieldOf(fe);
    return new EidhubError(400, 'invalid_request', validationMessage(fe, field), { field });
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err instanceof SyntaxError && fe.statusCode === 400)) {
    return new EidhubError(400, 'invalid_json', 'the body is not valid JSON', { field: 'body' });
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new EidhubError(415, 'unsupported_media_type', 'send the body as application/json', { field: 'content-type' });
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new EidhubError(400, 'invalid_json', 'the JSON body is empty', { field: 'body' });
  const status = fe.statusCode;
  if (status === 429) return new EidhubError(429, 'rate_limited', 'too many requests; wait a minute and try again');
  if (status && status >= 400 && status < 500) {
    return new EidhubError(status, (err as FastifyError).code?.toLowerCase() ?? 'invalid_request', err.message);
  }
  return new EidhubError(500, 'internal', 'something went wrong on our side; try again', { cause: err });
}

/**
 * RFC 9457 problem details; `type` points at the code's entry in the REST API's reference, and is
 * `about:blank` for the Admin API's (its codes are in its OpenAPI document, which has no anchors).
 */
export function problem(e: EidhubError, url = ''): Record<string, unknown> {
  return {
    type: url.startsWith('/admin/api') ? 'about:blank' : `/auth/rest/docs#problem-${e.code}`,
    title: e.code.replace(/_/g, ' '),
    status: e.status,
    detail: e.message,
    code: e.code,
    ...(e.field ? { field: e.field } : {}),
  };
}

/**
 * A route served straight from Node's request handler, before Fastify routes anything. For
 * endpoints that another framework answers whole (oidc-provider's Koa app): they need none of
 * Fastify's parsing, hooks or error pages, and skip their cost on every request. The server still
 * sets the base security headers, logs completed requests at `info` with redacted URLs, answers
 * 503 while closing, and turns an escaped error into a 500 without details. Measured in
 * bench/FINDINGS.md, "Fix 11"; a route may be kept in Fastify instead (addRawRoute's
 * `beforeFastify`), which is how `oidcFastPaths: false` serves oidc-provider.
 */
export interface RawRoute {
  matches(url: string): boolean;
  /** The same paths as a Fastify route pattern, for requests that reach Fastify directly (see addRawRoute). */
  fastifyPath: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

interface RawRoutes {
  /** Looked at, in order, for every request the HTTP server receives. */
  readonly routes: RawRoute[];
  serve(route: RawRoute, req: IncomingMessage, res: ServerResponse): void;
}

/**
 * The options Fastify hands its `serverFactory` (typed there as a plain record): the instance's
 * options, with Fastify's defaults for these already filled in (fastify.js, before the server is
 * made).
 */
type FactoryOptions = {
  http?: HttpServerOptions | null;
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
  maxRequestsPerSocket: number;
};

const rawRoutes = new WeakMap<FastifyInstance, RawRoutes>();

/**
 * Serves `route` before Fastify's routing (see RawRoute). Requests that reach Fastify without
 * the HTTP server (`app.inject`, which the sandbox uses to call the token endpoint) take the same
 * route through a Fastify route at `fastifyPath`, whose bodies Fastify leaves unread; with
 * `beforeFastify: false` every request takes that Fastify route (the plain path a bypass replaces).
 */
export async function addRawRoute(app: FastifyInstance, route: RawRoute, options: { beforeFastify: boolean } = { beforeFastify: true }): Promise<void> {
  const raw = rawRoutes.get(app);
  if (!raw) throw new Error('addRawRoute: this Fastify instance was not made by createServer');
  if (options.beforeFastify) raw.routes.push(route);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    scope.all(route.fastifyPath, (req, reply) => {
      reply.hijack();
      raw.serve(route, req.raw, reply.raw);
    });
  });
}

/** A JSON answer, never cached, straight on a Node.js response (the raw routes). */
export function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function serveRaw(route: RawRoute, req: IncomingMessage, res: ServerResponse, logger: Logger, closing: () => boolean): void {
  if (closing()) {
    sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'the server is shutting down; try again' }, { connection: 'close' });
    return;
  }
  for (const [name, value] of Object.entries(BASE_HEADERS)) res.setHeader(name, value);
  if (logger.isLevelEnabled('info')) {
    const started = performance.now();
    // Taken now: the route may rewrite req.url (the serializer redacts it).
    const logged = { method: req.method, url: req.url };
    res.once('finish', () => {
      logger.info({ req: logged, res: { statusCode: res.statusCode }, responseTime: Math.round((performance.now() - started) * 100) / 100 }, 'request completed');
    });
  }
  route.handle(req, res).catch((err: unknown) => {
    // A client that hung up (while its body was read) is not a failure of ours.
    const gone = req.destroyed || res.destroyed || (err as NodeJS.ErrnoException).code === 'ECONNRESET';
    if (gone) logger.info({ url: redactUrl(req.url ?? '') }, 'request aborted by the client');
    else logger.error({ err, url: redactUrl(req.url ?? '') }, 'request failed');
    if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'server_error', error_description: 'something went wrong on our side; try again' });
    else res.destroy();
  });
}

export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  let closing = false;
  const raw: RawRoutes = { routes: [], serve: (route, req, res) => serveRaw(route, req, res, opts.logger, () => closing) };
  const app = Fastify({
    // A path parameter may be a SAML entityID (Admin API): a URI of up to 1024 characters, each up
    // to 3 once URL-encoded. Fastify's default, 100, would answer 404 for most of them.
    routerOptions: { maxParamLength: 3 * 1024 },
    // The HTTP server Fastify would make (fastify/lib/server.js, getServerInstance), with the raw
    // routes looked at before Fastify's handler. A factory rather than a dispatcher put on the
    // server Fastify makes: listening on 'localhost', Fastify would bind further servers of its
    // own (one per address) with its bare handler; with a factory it binds only this one.
    serverFactory: (handler, fastifyOptions) => {
      const options = fastifyOptions as FactoryOptions;
      const server = createHttpServer(options.http ?? {}, (req, res) => {
        const url = req.url ?? '/';
        const route = raw.routes.find((r) => r.matches(url));
        if (route) raw.serve(route, req, res);
        else handler(req, res);
      });
      server.keepAliveTimeout = options.keepAliveTimeout;
      server.requestTimeout = options.requestTimeout;
      server.setTimeout(options.connectionTimeout);
      // Fastify's 0 means Node's default (no limit).
      if (options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
      return server;
    },
    loggerInstance: opts.logger as FastifyBaseLogger,
    childLoggerFactory: (logger, bindings, options) =>
      new LazyChildLogger(logger as unknown as Logger, bindings, options) as unknown as FastifyBaseLogger,
    trustProxy: opts.trustProxy,
    bodyLimit: 64 * 1024,
    // The id of a request in logs and error pages; never derived from request content.
    requestIdHeader: false,
    return503OnClosing: true,
    // Validation must refuse what it does not know, not quietly drop or convert it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  rawRoutes.set(app, raw);
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', async (_req, reply) => {
    setBaseHeaders(reply);
  });

  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  await app.register(rateLimit, { global: false });

  app.setErrorHandler(async (err, req, reply) => {
    const e = toEidhubError(err instanceof Error ? err : new Error(String(err)));
    if (e.status >= 500) req.log.error({ err: e.cause ?? e, url: redactUrl(req.url) }, 'request failed');
    else req.log.info({ code: e.code, status: e.status, url: redactUrl(req.url) }, 'request refused');
    if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.retryAfterSeconds));
    if (wantsProblemJson(req)) {
      if (e.status === 401) reply.header('www-authenticate', `Bearer realm="eidhub", error="${e.code}"`);
      return reply.code(e.status).type('application/problem+json').send(problem(e, req.url));
    }
    return opts.renderHtmlError(req, reply, e);
  });
  app.setNotFoundHandler(async (req, reply) => {
    const e = new EidhubError(404, 'not_found', `no such page: ${req.method} ${redactUrl(req.url).split('?')[0]}`);
    if (wantsProblemJson(req)) {
      return reply.code(404).type('application/problem+json').send(problem(e, req.url));
    }
    return opts.renderHtmlError(req, reply, e);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await opts.store.ping();
      return { status: 'ok', store: opts.store.driver };
    } catch {
      return reply.code(503).type('application/problem+json').send(problem(new EidhubError(503, 'store_unreachable', 'the store cannot be reached')));
    }
  });
  return app;
}
