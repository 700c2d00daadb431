/**
 * OpenID Connect as a protocol adapter: oidc-provider answers everything under /auth/open. An
 * authorization request that needs a login becomes a transaction inside oidc-provider's
 * `interactions.url` (interactionUrl), which sends the browser straight to the hosted page; the
 * hosted page hands the final transaction back (finish), and the browser returns to oidc-provider
 * with the result. The one interaction route (start) answers the other prompts and the requests
 * that cannot become a transaction.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors, type Interaction, type InteractionResults } from 'oidc-provider';
import type { Authenticator } from '../../authenticators/types.js';
import { EidhubError } from '../../core/errors.js';
import type { Transaction } from '../../core/transaction.js';
import type { NewTransaction, TransactionService } from '../../core/transactions.js';
import { addRawRoute, sendJson } from '../../http/server.js';
import type { Store } from '../../store/types.js';
import type { BrowserExchange, PagePolicy, ProtocolAdapter } from '../types.js';
import { parseAcrValues } from './acr-values.js';
import { answerClientCredentials, mayBeClientCredentials } from './client-credentials.js';
import { CLIENT_AUTH_PATHS, encodeForm, hasBasicAuth, parseForm, replayRequest, restateBasicHeader, restateClientAuth } from './client-auth.js';
import type { ClientRegistry } from './clients.js';
import { INTERACTION_PATH, OIDC_MOUNT, OIDC_ROUTES } from './provider.js';

/** Room in a request body: oidc-provider's own limit is 56 KiB. */
const BODY_LIMIT = 56 * 1024;

export interface OidcDeps {
  /** The current provider; replaced when signing keys change. */
  provider: () => Provider;
  registry: ClientRegistry;
  transactions: TransactionService;
  authenticators: Map<string, Authenticator>;
  store: Store;
  accountId: string;
  loginWindowMs: number;
  subjectRetentionMs: number;
  hostedPageUrl: (tx: Transaction) => string;
  now?: () => number;
}

/**
 * The interaction the browser's interaction cookie names. oidc-provider throws SessionNotFound
 * when there is no cookie, no such interaction (expired: the store no longer finds it) or its
 * browser session has gone or changed principal: the person must start again. Any other failure
 * (the store unreachable, a bug) is not the person's doing and propagates as such.
 */
async function interactionOf(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<Interaction> {
  try {
    return await provider.interactionDetails(req, res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      throw new EidhubError(400, 'login_expired', 'this login has expired or was started in another browser; start again from the service you came from');
    }
    throw err;
  }
}

function loginHintNumber(hint: unknown): string | undefined {
  if (typeof hint !== 'string') return undefined;
  return hint.startsWith('mobile:') ? hint.slice('mobile:'.length) : undefined;
}

export class OidcProtocol implements ProtocolAdapter {
  readonly protocol = 'oidc' as const;
  private readonly policies = new Map<string, PagePolicy>();
  constructor(private readonly deps: OidcDeps) {}

  /**
   * oidc-provider's `interactions.url`: where the browser goes when the authorization request
   * needs an interaction. A login becomes its transaction here, and the browser goes straight to
   * the hosted page, so oidc-provider scopes its interaction cookie to that page: only the browser
   * that started the login can finish it there (see finish). Other prompts, and requests that
   * cannot become a transaction, go to the start route, which answers oidc-provider.
   */
  async interactionUrl(interaction: Pick<Interaction, 'uid' | 'prompt' | 'params'>): Promise<string> {
    const login = interaction.prompt.name === 'login' ? this.loginFor(interaction.params) : null;
    if (login === null || login instanceof EidhubError) return `${INTERACTION_PATH}/${encodeURIComponent(interaction.uid)}`;
    // Every interaction uid is new: no transaction can have it yet.
    const tx = await this.deps.transactions.create({ ...login, protocolRef: interaction.uid });
    return this.deps.hostedPageUrl(tx);
  }

  /**
   * The hosted page's final transaction becomes the interaction's result, stored for oidc-provider,
   * which then answers the relying party at the returned URL. The interaction is found through its
   * cookie, so a login finished in another browser (a hosted-page link passed on) ends here.
   */
  async finish(tx: Transaction, browser: BrowserExchange): Promise<string> {
    const interaction = await interactionOf(this.deps.provider(), browser.req, browser.res);
    if (interaction.uid !== tx.protocolRef) throw new EidhubError(400, 'login_expired', 'this login was replaced by a newer one in this browser');
    // What oidc-provider's Provider#interactionResult(req, res, result, { mergeWithLastSubmission:
    // false }) does, done here on the interaction already read for the uid check, so the
    // Interaction is not read (and its session looked up) a second time: set the result and save
    // it for the rest of the interaction's lifetime, on the clock that set its expiry.
    interaction.result = await this.resultOf(tx);
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
    return interaction.returnTo;
  }

  /** What oidc-provider is told about a final transaction. */
  private async resultOf(tx: Transaction): Promise<InteractionResults> {
    switch (tx.status) {
      case 'SUCCESS': {
        const subject = tx.subject!;
        const now = (this.deps.now ?? Date.now)();
        // Ordered: the authorization code's write, which any use of this record follows, commits it.
        await this.deps.store.subjects.put(
          {
            sub: subject.id,
            provider: tx.provider ?? 'unknown',
            attributes: subject.attributes,
            updatedAt: now,
            expiresAt: now + this.deps.subjectRetentionMs,
          },
          'ordered',
        );
        const acr = tx.loa ? `loa:${tx.loa}` : undefined;
        return { login: { accountId: subject.id, remember: true, ...(acr ? { acr } : {}), amr: tx.provider === 'otp-sms' ? ['sms', 'otp'] : [] } };
      }
      case 'ABORT':
      case 'CANCELLED':
        return { error: 'access_denied', error_description: 'the person cancelled the login' };
      case 'ERROR':
        return { error: 'access_denied', error_description: tx.error?.message ?? 'the login failed' };
      default:
        throw new EidhubError(409, 'transaction_changed', `this login is not finished (${tx.status})`);
    }
  }

  /**
   * The hosted page's policy depends on the client alone: its forms may lead (through the
   * redirects that end the login) to the origins of the client's registered redirect URIs. The
   * clients are fixed at start, so each policy is made once.
   */
  async pagePolicy(tx: Transaction): Promise<PagePolicy> {
    let policy = this.policies.get(tx.clientId);
    if (!policy) {
      const client = this.deps.registry.get(tx.clientId);
      policy = {
        hosted: true,
        frameAncestors: ["'none'"],
        formActionOrigins: [...new Set((client?.oidc?.redirectUris ?? []).map((u) => new URL(u).origin))],
        embedded: false,
        clientName: client?.name,
        backUrl: undefined,
      };
      this.policies.set(tx.clientId, policy);
    }
    return policy;
  }

  /** The transaction an authorization request's login becomes, or why it cannot become one. */
  private loginFor(params: Record<string, unknown>): Omit<NewTransaction, 'protocolRef'> | EidhubError {
    const acr = parseAcrValues(typeof params.acr_values === 'string' ? params.acr_values : undefined);
    if (acr.problems.length > 0) return new EidhubError(400, 'invalid_request', acr.problems.join('; '), { field: 'acr_values' });

    const enabled = [...this.deps.authenticators.keys()];
    if (acr.idp !== undefined && !this.deps.authenticators.has(acr.idp)) {
      return new EidhubError(400, 'invalid_request', `acr_values: unknown idp "${acr.idp}"; available: ${enabled.join(', ')}`, { field: 'acr_values' });
    }
    const allowed = acr.idp !== undefined ? [acr.idp] : enabled;
    const authenticator = allowed.length === 1 ? this.deps.authenticators.get(allowed[0]!) : undefined;
    const rank = { low: 1, substantial: 2, high: 3 } as const;
    if (acr.loa && authenticator && rank[authenticator.loa] < rank[acr.loa]) {
      return new EidhubError(400, 'unmet_authentication_requirements', `${authenticator.id} reaches loa ${authenticator.loa}, not the requested ${acr.loa}`);
    }
    const mobile = loginHintNumber(params.login_hint);
    const prepared = authenticator
      ? authenticator.prepare({ providerParams: acr.providerParams, prefilledInput: mobile !== undefined ? { mobile } : {} })
      : { ok: true as const, providerParams: acr.providerParams, prefilledInput: mobile !== undefined ? { mobile } : {} };
    if (!prepared.ok) {
      const where = (p: string) => (p === 'mobile' ? 'login_hint' : `acr_values ${p}`);
      return new EidhubError(400, 'invalid_request', prepared.problems.map((p) => `${where(p.param)}: ${p.message}`).join('; '), {
        field: prepared.problems[0]?.param === 'mobile' ? 'login_hint' : 'acr_values',
      });
    }
    return {
      accountId: this.deps.accountId,
      protocol: 'oidc',
      clientId: String(params.client_id),
      allowedProviders: allowed,
      language: typeof params.ui_locales === 'string' ? params.ui_locales : null,
      prefilledInput: prepared.prefilledInput,
      providerParams: prepared.providerParams,
      requestedAttributes: [],
      requestedLoa: acr.loa ?? null,
      lifetimeMs: this.deps.loginWindowMs,
    };
  }

  /** Sends the browser back to oidc-provider with a result; oidc-provider then answers the RP. */
  private async answer(req: FastifyRequest, reply: FastifyReply, result: InteractionResults) {
    const url = await this.deps.provider().interactionResult(req.raw, reply.raw, result, { mergeWithLastSubmission: false });
    return reply.redirect(url, 303);
  }

  async start(req: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply) {
    const details = await this.interaction(req, reply);
    if (details.prompt.name !== 'login') {
      // Every client is first-party: consent is given by loadExistingGrant.
      return this.answer(req, reply, { consent: {} });
    }
    // A login reaches this route only when its request could not become a transaction (see
    // interactionUrl): the relying party is told why.
    const login = this.loginFor(details.params);
    if (login instanceof EidhubError) return this.answer(req, reply, { error: login.code, error_description: login.message });
    throw new EidhubError(500, 'internal', `interaction ${details.uid}: a valid login reached the start route`);
  }

  private async interaction(req: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply) {
    const details = await interactionOf(this.deps.provider(), req.raw, reply.raw);
    if (details.uid !== req.params.uid) throw new EidhubError(400, 'login_expired', 'this login was replaced by a newer one in this browser');
    return details;
  }
}

/**
 * For a POST to an endpoint where clients authenticate: that endpoint's path below the OIDC
 * mount; else null. oidc-provider's router matches paths without regard to case or a trailing
 * slash, so the check does too.
 */
function authenticatesClient(raw: IncomingMessage): string | null {
  if (raw.method !== 'POST') return null;
  const path = ((raw.url ?? '').slice(OIDC_MOUNT.length).split('?')[0] ?? '').toLowerCase().replace(/\/+$/, '');
  return CLIENT_AUTH_PATHS.has(path) ? path : null;
}

/**
 * The body, read up to BODY_LIMIT; over it, the request is answered 413 (the rest is not read)
 * and the result is null.
 */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        req.off('data', onData);
        req.resume();
        sendJson(res, 413, { error: 'invalid_request', error_description: `request body too large (at most ${BODY_LIMIT} bytes)` }, { connection: 'close' });
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

const MOUNT_PREFIX = `${OIDC_MOUNT}/`;
const INTERACTION_PREFIX = `${INTERACTION_PATH}/`;

/**
 * Registers the OIDC routes: the interaction start route in Fastify, and everything else below
 * the mount handed to oidc-provider straight from the HTTP server (a RawRoute: oidc-provider's Koa
 * app parses, answers and reports errors itself).
 */
export async function registerOidcRoutes(app: FastifyInstance, oidc: OidcProtocol, deps: Pick<OidcDeps, 'provider' | 'registry'>) {
  app.get<{ Params: { uid: string } }>(`${INTERACTION_PATH}/:uid`, (req, reply) => oidc.start(req, reply));

  // Koa composes its middleware in callback(); do it once per provider instance.
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();
  await addRawRoute(app, {
    matches: (url) => url.startsWith(MOUNT_PREFIX) && !url.startsWith(INTERACTION_PREFIX),
    fastifyPath: `${OIDC_MOUNT}/*`,
    async handle(raw, res) {
      let req = raw;
      const provider = deps.provider();
      const path = authenticatesClient(raw);
      if (path !== null) {
        if (hasBasicAuth(raw.headers)) {
          // client_secret_basic: only the header changes; the body stays unread, except for an
          // API client's token request, which eidhub may answer itself (client-credentials.ts).
          const credentials = restateBasicHeader(raw.headers.authorization, deps.registry);
          if (credentials !== null) raw.headers.authorization = credentials.authorization;
          if (path === OIDC_ROUTES.token && mayBeClientCredentials(raw, credentials)) {
            const body = await readBody(raw, res);
            if (body === null) return;
            if (await answerClientCredentials(provider, credentials, body, res)) return;
            req = replayRequest(raw, raw.headers, body);
          }
        } else if (/^application\/x-www-form-urlencoded/i.test(raw.headers['content-type'] ?? '')) {
          // client_secret_post: the body is read, so it is replayed, with the secret moved to the header.
          const body = await readBody(raw, res);
          if (body === null) return;
          const restated = restateClientAuth(raw.headers, parseForm(body), deps.registry);
          req = restated ? replayRequest(raw, restated.headers, encodeForm(restated.body)) : replayRequest(raw, raw.headers, body);
        }
      }
      const originalUrl = req.url ?? '/';
      Object.assign(req, { originalUrl, url: originalUrl.slice(OIDC_MOUNT.length) || '/' });
      let callback = callbacks.get(provider);
      if (!callback) {
        callback = provider.callback();
        callbacks.set(provider, callback);
      }
      await callback(req, res);
    },
  });
}
