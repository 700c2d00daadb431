/**
 * OpenID Connect as a protocol adapter, for one issuer: oidc-provider answers everything below
 * the issuer's mount. An authorization request that needs a login becomes a transaction inside
 * oidc-provider's `interactions.url` (interactionUrl), which sends the browser straight to the
 * hosted page; the hosted page hands the final transaction back (finish), and the browser returns
 * to oidc-provider with the result. The one interaction route (start) answers the other prompts
 * and the requests that cannot become a transaction.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors, type Interaction, type InteractionResults } from 'oidc-provider';
import type { Authenticator } from '../../authenticators/types.js';
import type { ClientRegistry, RegisteredClient } from '../../clients/registry.js';
import { EidhubError } from '../../core/errors.js';
import { meetsLoa } from '../../core/loa.js';
import type { Transaction } from '../../core/transaction.js';
import type { NewTransaction, TransactionService } from '../../core/transactions.js';
import type { Store } from '../../store/types.js';
import { rememberSubject } from '../subjects.js';
import type { BrowserExchange, FinishAnswer, PagePolicy, ProtocolAdapter } from '../types.js';
import { parseAcrValues } from './acr-values.js';
import { providersOf } from './allowed-providers.js';
import { saveInteractionResult } from './bypasses/index.js';
import { parseLoginHint } from './login-hint.js';
import { INTERACTION_ROUTE, LOGIN_TRANSACTION } from './provider.js';

export interface OidcDeps {
  /** Where the issuer lives below publicUrl, e.g. `/auth/open`. */
  mount: string;
  /** The current provider; replaced when signing keys change. */
  provider: () => Provider;
  registry: ClientRegistry;
  transactions: TransactionService;
  authenticators: ReadonlyMap<string, Authenticator>;
  store: Store;
  accountId: string;
  loginWindowMs: number;
  subjectRetentionMs: number;
  hostedPageUrl: (tx: Transaction) => string;
  /** The bypasses (bypasses/index.ts): off, the interaction result goes through Provider#interactionResult. */
  fastPaths: boolean;
  now: () => number;
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

export class OidcProtocol implements ProtocolAdapter {
  readonly protocol = 'oidc' as const;
  /** Made once per registered client; a changed client is a new object, so its policy is made anew. */
  private readonly policies = new WeakMap<RegisteredClient, PagePolicy>();
  readonly interactionPath: string;

  /** The provider parameters integrators may pass in acr_values: every authenticator's, fixed at start. */
  private readonly providerParams: ReadonlySet<string>;

  constructor(private readonly deps: OidcDeps) {
    this.providerParams = new Set([...deps.authenticators.values()].flatMap((a) => a.providerParams));
    this.interactionPath = `${deps.mount}${INTERACTION_ROUTE}`;
  }

  /**
   * oidc-provider's `interactions.url`: where the browser goes when the authorization request
   * needs an interaction. A login becomes its transaction here, and the browser goes straight to
   * the hosted page, so oidc-provider scopes its interaction cookie to that page: only the browser
   * that started the login can finish it there (see finish). Other prompts, and requests that
   * cannot become a transaction, go to the start route, which answers oidc-provider.
   */
  async interactionUrl(interaction: Pick<Interaction, 'uid' | 'prompt' | 'params'>): Promise<string> {
    const login = interaction.prompt.name === 'login' ? await this.loginFor(interaction.params) : null;
    if (login === null || login instanceof EidhubError) return `${this.interactionPath}/${encodeURIComponent(interaction.uid)}`;
    // Every interaction uid is new: no transaction can have it yet.
    const tx = await this.deps.transactions.create({ ...login, protocolRef: interaction.uid });
    return this.deps.hostedPageUrl(tx);
  }

  /**
   * The hosted page's final transaction becomes the interaction's result, stored for oidc-provider,
   * which then answers the relying party at the returned URL. The interaction is found through its
   * cookie, so a login finished in another browser (a hosted-page link passed on) ends here.
   */
  async finish(tx: Transaction, browser: BrowserExchange): Promise<FinishAnswer> {
    const provider = this.deps.provider();
    const interaction = await interactionOf(provider, browser.req, browser.res);
    if (interaction.uid !== tx.protocolRef) throw new EidhubError(400, 'login_expired', 'this login was replaced by a newer one in this browser');
    const result = await this.resultOf(tx);
    const url = this.deps.fastPaths
      ? await saveInteractionResult(interaction, result)
      : await provider.interactionResult(browser.req, browser.res, result, { mergeWithLastSubmission: false });
    return { kind: 'redirect', url };
  }

  /** What oidc-provider is told about a final transaction. */
  private async resultOf(tx: Transaction): Promise<InteractionResults> {
    switch (tx.status) {
      case 'SUCCESS': {
        const subject = tx.subject!;
        const authenticator = tx.provider ? this.deps.authenticators.get(tx.provider) : undefined;
        if (!authenticator) throw new EidhubError(500, 'internal', `no authenticator ${tx.provider ?? '(none)'} for a finished login`);
        // Ordered: the authorization code's write, which any use of this record follows, commits it.
        await rememberSubject(this.deps.store, authenticator, subject, { retentionMs: this.deps.subjectRetentionMs, now: this.deps.now(), durability: 'ordered' });
        const acr = tx.loa ? `loa:${tx.loa}` : undefined;
        return { login: { accountId: subject.id, remember: true, ...(acr ? { acr } : {}), amr: [...authenticator.amr], [LOGIN_TRANSACTION]: tx.id } };
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
   * redirects that end the login) to the origins of the client's registered redirect URIs.
   */
  async pagePolicy(tx: Transaction): Promise<PagePolicy> {
    const client = await this.deps.registry.find(tx.clientId);
    let policy = client ? this.policies.get(client) : undefined;
    if (!policy) {
      policy = {
        hosted: true,
        frameAncestors: ["'none'"],
        formActionOrigins: [...new Set((client?.oidc?.redirectUris ?? []).map((u) => new URL(u).origin))],
        embedded: false,
        clientName: client?.name,
        backUrl: undefined,
      };
      if (client) this.policies.set(client, policy);
    }
    return policy;
  }

  /**
   * The transaction an authorization request's login becomes, or why it cannot become one. The
   * providers are the client's (providersOf); `idp:` picks one of them. An `idp:` that names no
   * enabled provider is a malformed request (`invalid_request`); one the client may not use is
   * well-formed but refused by policy, which OAuth 2.0 (RFC 6749 §4.1.2.1) calls `access_denied`
   * ("the authorization server denied the request"); `unauthorized_client` is about the grant.
   */
  private async loginFor(params: Record<string, unknown>): Promise<Omit<NewTransaction, 'protocolRef'> | EidhubError> {
    const { authenticators } = this.deps;
    const acr = parseAcrValues(typeof params.acr_values === 'string' ? params.acr_values : undefined, this.providerParams);
    if (acr.problems.length > 0) return new EidhubError(400, 'invalid_request', acr.problems.join('; '), { field: 'acr_values' });

    const enabled = [...authenticators.keys()];
    if (acr.idp !== undefined && !authenticators.has(acr.idp)) {
      return new EidhubError(400, 'invalid_request', `acr_values: unknown idp "${acr.idp}"; available: ${enabled.join(', ')}`, { field: 'acr_values' });
    }
    const clientId = String(params.client_id);
    const permitted = providersOf((await this.deps.registry.find(clientId))?.oidc, authenticators);
    if (permitted.length === 0) return new EidhubError(403, 'access_denied', `client ${clientId} is allowed no enabled provider`);
    if (acr.idp !== undefined && !permitted.includes(acr.idp)) {
      return new EidhubError(403, 'access_denied', `acr_values: client ${clientId} may not use idp "${acr.idp}"; it may use: ${permitted.join(', ')}`, { field: 'acr_values' });
    }
    const candidates = acr.idp !== undefined ? [acr.idp] : permitted;
    const allowed = candidates.filter((id) => !acr.loa || meetsLoa(authenticators.get(id)!.loa, acr.loa));
    if (allowed.length === 0) {
      const reached = candidates.map((id) => `${id} reaches loa ${authenticators.get(id)!.loa}`).join(', ');
      return new EidhubError(400, 'unmet_authentication_requirements', `${reached}, not the requested ${acr.loa}`);
    }
    const authenticator = allowed.length === 1 ? authenticators.get(allowed[0]!) : undefined;
    const hint = parseLoginHint(params.login_hint);
    const prefilledInput = hint ? { [hint.name]: hint.value } : {};
    const prepared = authenticator
      ? authenticator.prepare({ clientId, providerParams: acr.providerParams, prefilledInput })
      : { ok: true as const, providerParams: acr.providerParams, prefilledInput };
    if (!prepared.ok) {
      // Prefilled input comes from login_hint, parameters from acr_values.
      const where = (p: string) => (p in prefilledInput ? 'login_hint' : `acr_values ${p}`);
      return new EidhubError(400, 'invalid_request', prepared.problems.map((p) => `${where(p.param)}: ${p.message}`).join('; '), {
        field: prepared.problems[0] && prepared.problems[0].param in prefilledInput ? 'login_hint' : 'acr_values',
      });
    }
    return {
      accountId: this.deps.accountId,
      protocol: 'oidc',
      clientId,
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
    const details = await interactionOf(this.deps.provider(), req.raw, reply.raw);
    if (details.uid !== req.params.uid) throw new EidhubError(400, 'login_expired', 'this login was replaced by a newer one in this browser');
    if (details.prompt.name !== 'login') {
      // Every client is first-party: consent is given by loadExistingGrant.
      return this.answer(req, reply, { consent: {} });
    }
    // A login reaches this route only when its request could not become a transaction (see
    // interactionUrl): the relying party is told why.
    const login = await this.loginFor(details.params);
    if (login instanceof EidhubError) return this.answer(req, reply, { error: login.code, error_description: login.message });
    throw new EidhubError(500, 'internal', `interaction ${details.uid}: a valid login reached the start route`);
  }
}
