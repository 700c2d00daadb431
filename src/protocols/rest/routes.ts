/**
 * The Authentication REST API as a protocol adapter: a session is a transaction whose id is the
 * session id; the REST-only options (flow, callback URLs, return URL, parent domains…) are kept
 * as protocol state beside it. The hosted pages run the login; this adapter only creates the
 * transaction, reports it, and says where the browser goes at the end.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator, HeadlessStep } from '../../authenticators/types.js';
import { API_SCOPES, type ClientRegistry } from '../../clients/registry.js';
import { authenticateApiClient, type ApiAccess } from '../api-client-auth.js';
import { isAllowedRedirectUri } from '../../config/schema.js';
import { badRequest, EidhubError } from '../../core/errors.js';
import { timeOrderedUuid } from '../../core/ids.js';
import { meetsLoa } from '../../core/loa.js';
import { FINAL_STATUSES, type LevelOfAssurance, type Transaction } from '../../core/transaction.js';
import type { TransactionService } from '../../core/transactions.js';
import type { Store } from '../../store/types.js';
import { LANGUAGES } from '../../ui/languages.js';
import { routeRateLimit, type WindowLimit } from '../../http/rate-limit.js';
import type { ApiTokenVerifier, FinishAnswer, PagePolicy, ProtocolAdapter } from '../types.js';
import {
  createSessionBody,
  DEFAULT_SESSION_LIFETIME,
  errorResponses,
  getSessionQuery,
  headlessErrorResponses,
  problemSchema,
  sessionIdParams,
  sessionSchema,
} from './schemas.js';

export const REST_BASE = '/auth/rest';

const REST_ACCESS: ApiAccess = { api: 'Authentication REST API', scopes: API_SCOPES, permission: 'authentication-rest-api' };

type Flow = 'redirect' | 'embedded' | 'iframe' | 'headless';

interface CreateSessionBody {
  allowedProviders?: string[];
  flow: Flow;
  language?: string;
  requestedAttributes?: string[];
  callbackUrls?: { success?: string; abort?: string; error?: string };
  returnUrl?: string;
  embeddedParentDomains?: string[];
  additionalParameters?: Record<string, string>;
  prefilledInput?: Record<string, string>;
  externalReference?: string;
  requestedLoa?: LevelOfAssurance;
  sessionLifetime?: number;
  themeId?: string;
  tags?: string[];
}

/** What the REST adapter keeps beside the transaction: the request as the integrator sent it. */
type RestState = Omit<CreateSessionBody, 'allowedProviders' | 'requestedAttributes' | 'requestedLoa' | 'language'> & {
  sessionLifetime: number;
};

export interface RestDeps {
  apiTokens: ApiTokenVerifier;
  registry: ClientRegistry;
  transactions: TransactionService;
  authenticators: ReadonlyMap<string, Authenticator>;
  store: Store;
  accountId: string;
  publicUrl: string;
  hostedPageUrl: (tx: Pick<Transaction, 'id'>) => string;
  defaultLanguage: string;
  logger: Logger;
}

/** A host (optionally `*.`-prefixed and with a port) as CSP host-source syntax allows it. */
const HOST_SOURCE = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/i;

/** Checks one embeddedParentDomains entry; returns the CSP source and the postMessage origins it allows. */
function parentSource(entry: string, eidhubScheme: string): { source: string; origins: string[] } | null {
  if (/^https?:\/\//i.test(entry)) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return null;
    }
    if (url.pathname !== '/' || url.search || url.hash || url.username) return null;
    if (url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return null;
    return { source: url.origin, origins: [url.origin] };
  }
  if (!HOST_SOURCE.test(entry)) return null;
  // A scheme-less source matches the page's own scheme (and https); a wildcard has no single origin.
  const origins = entry.startsWith('*.') ? [] : [...new Set([`${eidhubScheme}//${entry.toLowerCase()}`, `https://${entry.toLowerCase()}`])];
  return { source: entry.toLowerCase(), origins };
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

function appendQuery(url: string, params: Record<string, string | undefined>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.href;
}

export class RestProtocol implements ProtocolAdapter {
  readonly protocol = 'rest' as const;
  private readonly scheme: string;

  constructor(private readonly deps: RestDeps) {
    this.scheme = new URL(deps.publicUrl).protocol;
  }

  private async state(tx: Transaction): Promise<RestState> {
    const record = await this.deps.store.protocolState.get('rest', tx.protocolRef);
    if (!record) throw new EidhubError(500, 'internal', 'the REST session has no stored options');
    return record.state as RestState;
  }

  /**
   * A new sessionNonce for the session: random, stored as its SHA-256 (replacing an earlier one),
   * good for one read (get). The page that shows the end again issues a new one.
   */
  private async issueSessionNonce(tx: Transaction): Promise<string> {
    const nonce = randomBytes(32).toString('base64url');
    await this.deps.store.sessionNonces.issue(tx.id, sha256(nonce), Date.now());
    return nonce;
  }

  private isEmbedded(state: RestState): boolean {
    return state.flow === 'embedded' || state.flow === 'iframe';
  }

  private parents(state: RestState): { sources: string[]; origins: string[] } {
    if (!state.embeddedParentDomains) return { sources: ['*'], origins: [] };
    const parsed = state.embeddedParentDomains.map((d) => parentSource(d, this.scheme)).filter((p) => p !== null);
    return { sources: parsed.map((p) => p.source), origins: parsed.flatMap((p) => p.origins) };
  }

  /** REST keeps no per-browser state: the answer is the callback (or, framed, the return) URL. */
  async finish(tx: Transaction): Promise<FinishAnswer> {
    const state = await this.state(tx);
    if (this.isEmbedded(state)) return { kind: 'redirect', url: appendQuery(state.returnUrl!, { sessionNonce: await this.issueSessionNonce(tx) }) };
    const urls = state.callbackUrls ?? {};
    const target = tx.status === 'SUCCESS' ? urls.success : tx.status === 'ERROR' ? urls.error : urls.abort;
    return { kind: 'redirect', url: appendQuery(target!, { sessionId: tx.id, externalReference: state.externalReference }) };
  }

  async completionNotice(tx: Transaction): Promise<{ targetOrigins: string[]; message: Record<string, string> } | undefined> {
    const state = await this.state(tx);
    if (!this.isEmbedded(state)) return undefined;
    return { targetOrigins: this.parents(state).origins, message: { type: 'eidhub:session', sessionId: tx.id, status: tx.status } };
  }

  async pagePolicy(tx: Transaction): Promise<PagePolicy> {
    const state = await this.state(tx);
    if (this.isEmbedded(state)) {
      return {
        hosted: true,
        frameAncestors: this.parents(state).sources,
        formActionOrigins: [new URL(state.returnUrl!).origin],
        embedded: true,
        clientName: undefined,
        backUrl: undefined,
      };
    }
    const urls = Object.values(state.callbackUrls ?? {}).filter((u): u is string => typeof u === 'string');
    return {
      hosted: state.flow !== 'headless',
      frameAncestors: ["'none'"],
      formActionOrigins: [...new Set(urls.map((u) => new URL(u).origin))],
      embedded: false,
      clientName: undefined,
      backUrl: undefined,
    };
  }

  /** The API client behind the bearer token, after checking the token, its scope and the permission. */
  authenticate(req: FastifyRequest): Promise<string> {
    return authenticateApiClient(req, { apiTokens: this.deps.apiTokens, registry: this.deps.registry }, REST_ACCESS);
  }

  /** Checks what JSON Schema cannot: URLs, providers, attributes, language, parameters. */
  private validate(body: CreateSessionBody, allowedOrigins: readonly string[] | undefined) {
    const urlError = (field: string, value: string) => {
      if (!isAllowedRedirectUri(value)) return badRequest('invalid_url', `${field} must be an absolute https URL (http only on localhost or 127.0.0.1)`, field);
      const url = new URL(value);
      // user:pw@ reads as a host to a person (https://bank.example@evil.example/) and puts a secret in a URL.
      if (url.username || url.password) return badRequest('invalid_url', `${field} must not carry user information (user:password@)`, field);
      if (allowedOrigins && !allowedOrigins.includes(url.origin)) {
        return badRequest('origin_not_allowed', `${field} has the origin ${url.origin}, which is not in this API client's allowedOrigins`, field);
      }
      return undefined;
    };
    if (body.language !== undefined && !(LANGUAGES as readonly string[]).includes(body.language.toLowerCase().split('-')[0]!)) {
      throw badRequest('unsupported_language', `language must be one of ${LANGUAGES.join(', ')}`, 'language');
    }
    const embedded = body.flow === 'embedded' || body.flow === 'iframe';
    // The embedded flow runs in the integrator's frame: a provider that cannot (framable false) is
    // left out of the default and refused when named.
    const framable = (id: string) => this.deps.authenticators.get(id)?.framable !== false;
    const providers = body.allowedProviders ?? [...this.deps.authenticators.keys()].filter((id) => !embedded || framable(id));
    for (const [i, p] of providers.entries()) {
      if (!this.deps.authenticators.has(p)) {
        throw badRequest('unknown_provider', `unknown provider "${p}"; available: ${[...this.deps.authenticators.keys()].join(', ')}`, `allowedProviders[${i}]`);
      }
      if (embedded && !framable(p)) {
        throw badRequest('provider_not_embeddable', `provider "${p}" cannot run inside a frame (its login page refuses to be framed); use the redirect flow for it`, `allowedProviders[${i}]`);
      }
    }
    if (providers.length === 0) throw badRequest('unknown_provider', 'no enabled provider can run this flow', 'allowedProviders');
    const authenticators = providers.map((p) => this.deps.authenticators.get(p)!);
    const available = new Set(authenticators.flatMap((a) => a.attributes));
    for (const [i, a] of (body.requestedAttributes ?? []).entries()) {
      if (!available.has(a)) throw badRequest('unknown_attribute', `attribute "${a}" is not available; available: ${[...available].join(', ')}`, `requestedAttributes[${i}]`);
    }
    if (body.requestedLoa && !authenticators.some((a) => meetsLoa(a.loa, body.requestedLoa))) {
      throw badRequest('loa_not_available', `no allowed provider reaches loa ${body.requestedLoa}`, 'requestedLoa');
    }
    if (embedded) {
      if (!body.returnUrl) throw badRequest('missing_field', 'returnUrl is required for the embedded flow', 'returnUrl');
      const e = urlError('returnUrl', body.returnUrl);
      if (e) throw e;
      for (const [i, domain] of (body.embeddedParentDomains ?? []).entries()) {
        if (!parentSource(domain, this.scheme)) {
          throw badRequest('invalid_parent_domain', 'embeddedParentDomains entries are hosts like app.example.com (optionally :port or *.-prefixed) or https origins', `embeddedParentDomains[${i}]`);
        }
      }
    } else if (body.embeddedParentDomains) {
      throw badRequest('invalid_field', 'embeddedParentDomains applies only to the embedded flow', 'embeddedParentDomains');
    }
    if (body.flow === 'redirect') {
      for (const name of ['success', 'abort', 'error'] as const) {
        const value = body.callbackUrls?.[name];
        if (!value) throw badRequest('missing_field', `callbackUrls.${name} is required for the redirect flow`, `callbackUrls.${name}`);
        const e = urlError(`callbackUrls.${name}`, value);
        if (e) throw e;
      }
    }
    if (body.flow === 'headless' && (authenticators.length !== 1 || !authenticators[0]!.headless)) {
      const able = [...this.deps.authenticators.values()].filter((a) => a.headless !== undefined).map((a) => a.id);
      throw badRequest('headless_not_supported', `the headless flow needs exactly one provider that supports it (${able.join(', ')}) in allowedProviders`, 'allowedProviders');
    }
    return { providers, authenticators, available };
  }

  async create(req: FastifyRequest<{ Body: CreateSessionBody }>, reply: FastifyReply) {
    const clientId = await this.authenticate(req);
    const body = req.body;
    const client = await this.deps.registry.find(clientId);
    const { providers, authenticators, available } = this.validate(body, client?.api?.allowedOrigins);
    let providerParams = body.additionalParameters ?? {};
    let prefilledInput = body.prefilledInput ?? {};
    if (authenticators.length === 1) {
      const prepared = authenticators[0]!.prepare({ clientId, providerParams, prefilledInput });
      if (!prepared.ok) {
        const p = prepared.problems[0]!;
        const field = p.param in prefilledInput ? `prefilledInput.${p.param}` : `additionalParameters.${p.param}`;
        throw badRequest('invalid_parameter', `${field}: ${p.message}`, field);
      }
      providerParams = prepared.providerParams;
      prefilledInput = prepared.prefilledInput;
    }
    if ((body.flow === 'embedded' || body.flow === 'iframe') && !body.embeddedParentDomains) {
      this.deps.logger.warn({ clientId }, 'rest: embedded session without embeddedParentDomains: its pages may be framed by any site (frame-ancestors *)');
    }
    const lifetime = body.sessionLifetime ?? DEFAULT_SESSION_LIFETIME;
    const id = timeOrderedUuid();
    const { allowedProviders: _a, requestedAttributes: _r, requestedLoa: _l, language: _g, ...rest } = body;
    const state: RestState = { ...rest, sessionLifetime: lifetime };
    // The session's options are written with its transaction: a session never exists without them.
    const tx = await this.deps.transactions.create({
      id,
      accountId: this.deps.accountId,
      protocol: 'rest',
      protocolRef: id,
      clientId,
      allowedProviders: providers,
      language: body.language ?? null,
      prefilledInput,
      providerParams,
      requestedAttributes: body.requestedAttributes ?? [...available],
      requestedLoa: body.requestedLoa ?? null,
      lifetimeMs: lifetime * 1000,
      protocolState: state,
    });
    reply.header('location', `${REST_BASE}/sessions/${id}`);
    return reply.code(201).send(this.present(tx, state));
  }

  private async load(req: FastifyRequest<{ Params: { id: string } }>, clientId: string) {
    const tx = await this.deps.transactions.get(req.params.id);
    // Another client's session is reported exactly like a missing one.
    if (!tx || tx.protocol !== 'rest' || tx.clientId !== clientId) throw new EidhubError(404, 'session_not_found', 'no such session');
    return { tx, state: await this.state(tx) };
  }

  async get(req: FastifyRequest<{ Params: { id: string }; Querystring: { sessionNonce?: string } }>, reply: FastifyReply) {
    const clientId = await this.authenticate(req);
    const { tx, state } = await this.load(req, clientId);
    if (this.isEmbedded(state)) {
      const given = req.query.sessionNonce;
      if (!given) throw badRequest('session_nonce_required', 'an embedded session is read with the sessionNonce the frame received on the returnUrl', 'sessionNonce');
      // Consumed by a compare-and-set in the store: of two reads with one nonce, in any processes, one wins.
      if (!(await this.deps.store.sessionNonces.consume(tx.id, sha256(given), Date.now()))) {
        throw new EidhubError(403, 'session_nonce_mismatch', 'the sessionNonce does not belong to this session or was used already', { field: 'sessionNonce' });
      }
    }
    return reply.send(this.present(tx, state));
  }

  async cancel(req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
    const clientId = await this.authenticate(req);
    const { tx, state } = await this.load(req, clientId);
    if (FINAL_STATUSES.has(tx.status)) throw new EidhubError(409, 'session_finished', `the session is already ${tx.status}`);
    const cancelled = await this.deps.transactions.cancel(tx);
    return reply.send(this.present(cancelled, state));
  }

  /**
   * Headless flow: the integrator's own screens collect what the authenticator needs, and its
   * headless steps run here, with the same rules (limits, attempts, expiry) as the pages.
   */
  async headless(
    req: FastifyRequest<{ Params: { id: string }; Body: Record<string, unknown> }>,
    reply: FastifyReply,
    authenticator: Authenticator,
    step: HeadlessStep,
  ) {
    const clientId = await this.authenticate(req);
    const loaded = await this.load(req, clientId);
    const { state } = loaded;
    let { tx } = loaded;
    if (state.flow !== 'headless') throw new EidhubError(409, 'not_headless', 'this endpoint is for sessions created with flow "headless"');
    if (FINAL_STATUSES.has(tx.status)) throw new EidhubError(409, 'session_finished', `the session is already ${tx.status}`);
    if (tx.provider !== authenticator.id) {
      throw new EidhubError(409, 'not_headless', `this session runs ${tx.provider ?? 'no provider'}, not ${authenticator.id}`);
    }
    // No browser ever holds this key: the hosted pages refuse a headless session.
    if (tx.status === 'CREATED') tx = await this.deps.transactions.claim(tx, randomUUID());
    const result = await step.run(tx, req.body, { lang: this.language(tx), clientIp: req.ip });
    if (result.kind === 'finished') return reply.send(this.present(result.tx, state));
    if (result.kind === 'redirect') throw new EidhubError(409, 'not_headless', `${authenticator.id} needs a browser for this step`);
    const headless = authenticator.headless!;
    if (result.view.error) throw headless.refusal(result.view, step);
    const current = (await this.deps.transactions.get(tx.id)) ?? tx;
    const out = this.present(current, state);
    const status = headless.status?.of(result.view);
    if (status) out[headless.status!.name] = status;
    return reply.send(out);
  }

  private language(tx: Transaction): string {
    const primary = tx.language?.toLowerCase().split('-')[0];
    return primary && (LANGUAGES as readonly string[]).includes(primary) ? primary : this.deps.defaultLanguage;
  }

  /** The session as the API reports it. */
  private present(tx: Transaction, state: RestState) {
    const out: Record<string, unknown> = {
      id: tx.id,
      accountId: tx.accountId,
      ...(state.flow === 'headless' ? {} : { authenticationUrl: `${this.deps.publicUrl}${this.deps.hostedPageUrl(tx)}` }),
      status: tx.status,
      flow: state.flow,
      allowedProviders: tx.allowedProviders,
      requestedAttributes: tx.requestedAttributes,
      sessionLifetime: state.sessionLifetime,
      expiresAt: new Date(tx.expiresAt).toISOString(),
    };
    if (tx.language) out.language = tx.language;
    for (const key of ['callbackUrls', 'returnUrl', 'embeddedParentDomains', 'additionalParameters', 'prefilledInput', 'externalReference', 'themeId', 'tags'] as const) {
      if (state[key] !== undefined) out[key] = state[key];
    }
    if (tx.requestedLoa) out.requestedLoa = tx.requestedLoa;
    if (tx.status === 'SUCCESS' && tx.subject) {
      out.provider = tx.provider;
      out.loa = tx.loa;
      const wanted = new Set(tx.requestedAttributes);
      const authenticator = tx.provider ? this.deps.authenticators.get(tx.provider) : undefined;
      const attributes = authenticator ? authenticator.claims.rest(tx.subject) : {};
      out.subject = { id: tx.subject.id, ...Object.fromEntries(Object.entries(attributes).filter(([k]) => wanted.has(k))) };
    }
    if (tx.status === 'ERROR' && tx.error) out.error = tx.error;
    return out;
  }
}

async function requireJson(req: FastifyRequest) {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new EidhubError(415, 'unsupported_media_type', 'send the body as application/json', { field: 'content-type' });
  }
}

export async function registerRestRoutes(app: FastifyInstance, rest: RestProtocol, authenticators: ReadonlyMap<string, Authenticator>, headlessLimit: WindowLimit) {
  app.addSchema(problemSchema);
  app.addSchema(sessionSchema([...authenticators.values()].flatMap((a) => (a.headless?.status ? [a.headless.status] : []))));
  const tags = ['sessions'];
  const security = [{ bearerAuth: [] }];
  app.post<{ Body: CreateSessionBody }>(
    `${REST_BASE}/sessions`,
    {
      preValidation: requireJson,
      schema: {
        summary: 'Create an authentication session',
        tags,
        security,
        body: createSessionBody,
        response: { 201: { description: 'The session; send the person to `authenticationUrl`.', $ref: 'Session#' }, ...errorResponses },
      },
    },
    (req, reply) => rest.create(req, reply),
  );
  app.get<{ Params: { id: string }; Querystring: { sessionNonce?: string } }>(
    `${REST_BASE}/sessions/:id`,
    {
      schema: {
        summary: 'Get the status (and, on SUCCESS, the subject) of a session',
        tags,
        security,
        params: sessionIdParams,
        querystring: getSessionQuery,
        response: { 200: { description: 'The session.', $ref: 'Session#' }, ...errorResponses },
      },
    },
    (req, reply) => rest.get(req, reply),
  );
  // Each authenticator's headless steps, below its own id: /sessions/{id}/<authenticator>/<step>.
  for (const authenticator of authenticators.values()) {
    for (const step of authenticator.headless?.steps ?? []) {
      app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
        `${REST_BASE}/sessions/:id/${authenticator.id}/${step.name}`,
        {
          preValidation: requireJson,
          schema: {
            summary: step.summary,
            tags,
            security,
            params: sessionIdParams,
            body: step.body,
            response: { 200: { description: 'The session (with the step\'s status while it runs).', $ref: 'Session#' }, ...headlessErrorResponses },
          },
          config: routeRateLimit(`headless.${authenticator.id}.${step.name}`, headlessLimit),
        },
        (req, reply) => rest.headless(req, reply, authenticator, step),
      );
    }
  }
  app.post<{ Params: { id: string } }>(
    `${REST_BASE}/sessions/:id/cancel`,
    {
      schema: {
        summary: 'Cancel a session that has not finished',
        tags,
        security,
        params: sessionIdParams,
        response: { 200: { description: 'The cancelled session.', $ref: 'Session#' }, ...errorResponses },
      },
    },
    (req, reply) => rest.cancel(req, reply),
  );
}
