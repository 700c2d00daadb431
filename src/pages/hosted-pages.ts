/**
 * The hosted pages: `/login/{transactionId}`. They show the authenticator's current step and pass
 * each form (and an upstream's return, `/login/{id}/callback`) to it; they know nothing of the
 * authenticator beyond its contract, nor of the protocol beyond its ProtocolAdapter. A login that
 * several providers may run first shows the chooser, whose form (`/login/{id}/choose`) records
 * the provider the person picked.
 *
 * Browser binding and CSRF: opening a page (GET or HEAD) changes nothing, so a link scanner, a
 * prefetch or an integrator's server checking the URL cannot lock the person out (CONTRACT §4).
 * A browser that opens a CREATED transaction gets a random key, set as a cookie (partitioned and
 * SameSite=None for embedded flows; kept if it has one already, so two tabs agree) and carried in
 * every form as `csrf`. The first form post claims the transaction for that key; the transaction
 * stores only its SHA-256. A form must carry the key, and if the cookie is present it must agree,
 * so a cross-site form cannot act and the flow still works where the browser refuses the cookie
 * (the state is carried in the page). On top of that, a form post must come from eidhub's own
 * origin (isSameOriginPost): the embedded flow posts from inside its frame, which is eidhub's.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ActionResult, Authenticator, StepView } from '../authenticators/types.js';
import { EidhubError } from '../core/errors.js';
import { FINAL_STATUSES, type Transaction } from '../core/transaction.js';
import type { TransactionService } from '../core/transactions.js';
import { contentSecurityPolicy, cookiesCanBeSecure, isSameOriginPost, newNonce, setPageHeaders } from '../http/security.js';
import type { PagePolicy, ProtocolAdapter } from '../protocols/types.js';
import { negotiateLanguage, translator, type Locales } from '../ui/i18n.js';
import type { Language } from '../ui/languages.js';
import { routeRateLimit, type WindowLimit } from '../http/rate-limit.js';
import { renderPage } from '../ui/templates.js';
import type { Outcome, PageMessageKey, PageModel, PageStep } from '../ui/view.js';

export const HOSTED_PAGE_BASE = '/login';
export const hostedPageUrl = (tx: Pick<Transaction, 'id'>) => `${HOSTED_PAGE_BASE}/${tx.id}`;

/** The form action every step offers, whatever the authenticator. */
const CANCEL = 'cancel';
/** The provider chooser's form action (a login several providers may run); the form names it as `provider`. */
const CHOOSE = 'choose';
/** Where an authenticator that sent the browser elsewhere gets it back. */
const CALLBACK = 'callback';
const TX_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface HostedPagesDeps {
  transactions: TransactionService;
  authenticators: ReadonlyMap<string, Authenticator>;
  protocols: ReadonlyMap<Transaction['protocol'], ProtocolAdapter>;
  /** The pages' catalogues merged with every authenticator's (mergeCatalogs). */
  locales: Locales;
  publicUrl: string;
  defaultLanguage: Language;
  logger: Logger;
}

const ERROR_MESSAGES: Record<string, PageMessageKey> = {
  login_expired: 'error.expired',
  expired: 'error.expired',
  not_found: 'error.notFound',
  other_browser: 'error.otherBrowser',
  csrf: 'error.csrf',
  cross_origin: 'error.csrf',
  transaction_final: 'error.finished',
  transaction_changed: 'error.invalidRequest',
  rate_limited: 'error.tooManyRequests',
};

export function messageForError(err: EidhubError): PageMessageKey {
  return ERROR_MESSAGES[err.code] ?? (err.status >= 500 ? 'error.internal' : err.status === 429 ? 'error.tooManyRequests' : 'error.invalidRequest');
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

export class HostedPages {
  private readonly publicHost: string;
  private readonly publicOrigin: string;
  private readonly secureCookies: boolean;
  private readonly policies = new WeakMap<FastifyRequest, PagePolicy>();

  constructor(private readonly deps: HostedPagesDeps) {
    const url = new URL(deps.publicUrl);
    this.publicHost = url.host;
    this.publicOrigin = url.origin;
    this.secureCookies = cookiesCanBeSecure(deps.publicUrl);
  }

  language(req: FastifyRequest, requested: string | null | undefined): Language {
    return negotiateLanguage({ requested, acceptLanguage: req.headers['accept-language'], fallback: this.deps.defaultLanguage });
  }

  private cookieName(tx: Transaction): string {
    return `${this.secureCookies ? '__Host-' : ''}eidhub-${tx.id}`;
  }

  private setBindingCookie(reply: FastifyReply, tx: Transaction, key: string, policy: PagePolicy) {
    reply.setCookie(this.cookieName(tx), key, {
      path: '/',
      httpOnly: true,
      secure: this.secureCookies,
      sameSite: policy.embedded ? 'none' : 'lax',
      partitioned: policy.embedded && this.secureCookies,
      maxAge: Math.max(1, Math.ceil((tx.expiresAt - Date.now()) / 1000)),
    });
  }

  private keyMatches(tx: Transaction, key: string | undefined): boolean {
    if (!key || !tx.browserBinding) return false;
    const expected = Buffer.from(tx.browserBinding, 'base64url');
    const actual = sha256(key);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  private protocol(tx: Transaction): ProtocolAdapter {
    const p = this.deps.protocols.get(tx.protocol);
    if (!p) throw new EidhubError(500, 'internal', `no adapter for protocol ${tx.protocol}`);
    return p;
  }

  private authenticator(tx: Transaction): Authenticator {
    const a = tx.provider ? this.deps.authenticators.get(tx.provider) : undefined;
    if (!a) throw new EidhubError(500, 'internal', `no authenticator for ${tx.provider ?? '(none)'}`);
    return a;
  }

  /** An authenticator's step as the page shows it: rendered by the authenticator. */
  private stepOf(authenticator: Authenticator, view: StepView): PageStep {
    return { kind: 'step', render: (kit) => authenticator.render(view, kit) };
  }

  /** The chooser of a login whose provider is not chosen yet: every provider it allows, in its order. */
  private chooser(tx: Transaction): PageStep {
    const providers = tx.allowedProviders.flatMap((id) => {
      const authenticator = this.deps.authenticators.get(id);
      return authenticator ? [{ id, name: authenticator.displayName, text: authenticator.displayText }] : [];
    });
    return { kind: 'choose', providers };
  }

  /**
   * The authenticator the chooser's form names, with the transaction's parameters as it
   * normalises them; checked before anything is written, so a refused choice changes nothing.
   */
  private choiceOf(tx: Transaction, provider: string | undefined) {
    const authenticator = provider !== undefined && tx.allowedProviders.includes(provider) ? this.deps.authenticators.get(provider) : undefined;
    if (!authenticator) throw new EidhubError(400, 'provider_not_allowed', 'choose one of the providers on the page');
    const prepared = authenticator.prepare({ clientId: tx.clientId, providerParams: tx.providerParams, prefilledInput: tx.prefilledInput });
    if (!prepared.ok) {
      throw new EidhubError(400, 'invalid_request', `${authenticator.id}: ${prepared.problems.map((p) => `${p.param} ${p.message}`).join('; ')}`);
    }
    return { authenticator, prepared };
  }

  /**
   * An authenticator's step for a transaction waiting for the user: where its `enter` sends the
   * browser (a login that happens elsewhere), else its view.
   */
  private async enter(req: FastifyRequest, reply: FastifyReply, tx: Transaction, authenticator: Authenticator, key: string | undefined) {
    const entered = await authenticator.enter?.(tx, { lang: this.language(req, tx.language), clientIp: req.ip });
    if (entered) return this.onResult(req, reply, tx, authenticator, entered, key);
    return this.render(req, reply, tx, this.stepOf(authenticator, await authenticator.view(tx)), key);
  }

  async render(req: FastifyRequest, reply: FastifyReply, tx: Transaction | null, step: PageStep, key: string | undefined, status = 200) {
    const policy: PagePolicy = tx
      ? await this.policyFor(req, tx)
      : { hosted: true, frameAncestors: ["'none'"], formActionOrigins: [], embedded: false, clientName: undefined, backUrl: undefined };
    const lang = this.language(req, tx?.language);
    const nonce = newNonce();
    const model: PageModel = {
      lang,
      clientName: policy.clientName,
      step: step.kind === 'error' && policy.backUrl && !step.backUrl ? { ...step, backUrl: policy.backUrl } : step,
      actionBase: tx ? hostedPageUrl(tx) : HOSTED_PAGE_BASE,
      hidden: key ? { csrf: key } : {},
      cspNonce: nonce,
      publicHost: this.publicHost,
      embedded: policy.embedded,
    };
    // A step's form may lead (through the authenticator's redirect) to its upstream as well; the
    // chooser's, to the upstream of any provider it offers.
    const offered = tx && !FINAL_STATUSES.has(tx.status) ? (tx.provider !== null ? [tx.provider] : tx.allowedProviders) : [];
    const upstream = offered.flatMap((id) => this.deps.authenticators.get(id)?.redirectOrigins ?? []);
    const formActionOrigins = upstream.length > 0 ? [...new Set([...policy.formActionOrigins, ...upstream])] : policy.formActionOrigins;
    setPageHeaders(reply, { nonce, frameAncestors: policy.frameAncestors, formActionOrigins });
    return reply.code(status).send(renderPage(model, translator(lang, { locales: this.deps.locales })));
  }

  /**
   * An error page outside Fastify's request cycle (oidc-provider's own errors, e.g. an
   * unregistered redirect_uri): the HTML and the headers to send with it.
   */
  standaloneError(acceptLanguage: string | undefined, requested: string | undefined, message: PageMessageKey): { html: string; headers: Record<string, string> } {
    return this.standalone(acceptLanguage, requested, { kind: 'error', message }, []);
  }

  /**
   * A page outside the hosted pages' routes that carries a protocol's answer on by POST (a SAML
   * Response given from a single sign-on session): a form that submits itself to `url`.
   */
  standalonePost(
    acceptLanguage: string | undefined,
    requested: string | undefined,
    answer: { url: string; fields: Record<string, string> },
    outcome: Outcome,
  ): { html: string; headers: Record<string, string> } {
    return this.standalone(acceptLanguage, requested, { kind: 'continue', method: 'post', url: answer.url, fields: answer.fields, outcome }, [new URL(answer.url).origin]);
  }

  /**
   * RP-initiated logout's confirmation around the OP's own form (`formHtml`, its id `formId`).
   * The form posts to eidhub, whose answer may redirect to the relying party: browsers hold that
   * redirect to form-action too, so `returnOrigins` (the post_logout_redirect_uri's) join 'self'.
   */
  standaloneLogout(
    acceptLanguage: string | undefined,
    requested: string | undefined,
    form: { host: string; formHtml: string; formId: string; returnOrigins: string[] },
  ): { html: string; headers: Record<string, string> } {
    return this.standalone(acceptLanguage, requested, { kind: 'logout', host: form.host, formHtml: form.formHtml, formId: form.formId }, form.returnOrigins);
  }

  /** The page after a logout that returned to no relying party. */
  standaloneLoggedOut(acceptLanguage: string | undefined, clientName: string | undefined): { html: string; headers: Record<string, string> } {
    return this.standalone(acceptLanguage, undefined, { kind: 'loggedOut' }, [], clientName);
  }

  private standalone(
    acceptLanguage: string | undefined,
    requested: string | undefined,
    step: PageStep,
    formActionOrigins: string[],
    clientName?: string,
  ): { html: string; headers: Record<string, string> } {
    const lang = negotiateLanguage({ requested, acceptLanguage, fallback: this.deps.defaultLanguage });
    const nonce = newNonce();
    const html = renderPage(
      { lang, clientName, step, actionBase: HOSTED_PAGE_BASE, hidden: {}, cspNonce: nonce, publicHost: this.publicHost, embedded: false },
      translator(lang, { locales: this.deps.locales }),
    );
    return {
      html,
      headers: {
        'content-security-policy': contentSecurityPolicy({ nonce, frameAncestors: ["'none'"], formActionOrigins }),
        'x-frame-options': 'DENY',
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
      },
    };
  }

  /** The page for an error that happened outside a known transaction (or before it was loaded). */
  renderError(req: FastifyRequest, reply: FastifyReply, err: EidhubError, tx: Transaction | null = null) {
    return this.render(req, reply, tx, { kind: 'error', message: messageForError(err) }, undefined, err.status);
  }

  private async load(req: FastifyRequest, id: string): Promise<Transaction> {
    const tx = TX_ID.test(id) ? await this.deps.transactions.get(id) : null;
    if (!tx || !(await this.policyFor(req, tx)).hosted) throw new EidhubError(404, 'not_found', 'no such login');
    return tx;
  }

  /** A transaction's page policy never changes, so one request asks its protocol once. */
  private async policyFor(req: FastifyRequest, tx: Transaction): Promise<PagePolicy> {
    let policy = this.policies.get(req);
    if (!policy) {
      policy = await this.protocol(tx).pagePolicy(tx);
      this.policies.set(req, policy);
    }
    return policy;
  }

  /** A finished transaction sends the browser that ran it on to the protocol's answer. */
  private async onFinished(req: FastifyRequest, reply: FastifyReply, tx: Transaction, key: string | undefined) {
    if (this.deps.transactions.isExpired(tx) && !tx.browserBinding) {
      return this.render(req, reply, tx, { kind: 'error', message: 'error.expired' }, undefined, 410);
    }
    const protocol = this.protocol(tx);
    const answer = await protocol.finish(tx, { req: req.raw, res: reply.raw });
    const outcome: Outcome = tx.status === 'SUCCESS' ? 'success' : tx.status === 'ERROR' ? 'error' : 'abort';
    if (answer.kind === 'none') return this.render(req, reply, tx, { kind: 'done', outcome }, key);
    const policy = await this.policyFor(req, tx);
    if (answer.kind === 'form') {
      return this.render(req, reply, tx, { kind: 'continue', method: 'post', url: answer.url, fields: answer.fields, outcome }, key);
    }
    if (policy.embedded) {
      // Inside a frame the answer is a page of its own (it tells the parent), not a redirect.
      const notify = await protocol.completionNotice?.(tx);
      return this.render(req, reply, tx, { kind: 'continue', method: 'get', url: answer.url, outcome, notify }, key);
    }
    return reply.redirect(answer.url, 303);
  }

  /** An authenticator's answer to a form, a callback or a first page (enter), as the page shows it. */
  private async onResult(req: FastifyRequest, reply: FastifyReply, tx: Transaction, authenticator: Authenticator, result: ActionResult, key: string | undefined) {
    switch (result.kind) {
      case 'finished':
        return this.onFinished(req, reply, result.tx, key);
      case 'redirect': {
        // The browser leaves, and comes back to the callback on the strength of its binding, which
        // the claim wrote `ordered`: read it back first, which waits for its commit. A first page
        // that went straight on claimed nothing: the callback claims it (see callback).
        if (tx.status !== 'CREATED') {
          const committed = await this.deps.transactions.get(tx.id);
          if (!committed || !this.keyMatches(committed, key)) throw new EidhubError(409, 'transaction_changed', 'reload the page');
        }
        return reply.redirect(result.url, 303);
      }
      case 'view': {
        const { error, retryAfterSeconds } = result.view;
        if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
        const status = error === undefined ? 200 : retryAfterSeconds !== undefined ? 429 : 422;
        return this.render(req, reply, tx, this.stepOf(authenticator, result.view), key, status);
      }
    }
  }

  async show(req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
    const tx = await this.load(req, req.params.id);
    const cookieKey = req.cookies[this.cookieName(tx)];
    if (FINAL_STATUSES.has(tx.status)) {
      if (!this.keyMatches(tx, cookieKey)) {
        const message: PageMessageKey = this.deps.transactions.isExpired(tx) ? 'error.expired' : 'error.finished';
        return this.render(req, reply, tx, { kind: 'error', message }, undefined, 410);
      }
      return this.onFinished(req, reply, tx, cookieKey);
    }
    let key = cookieKey;
    if (tx.status === 'CREATED') {
      // Nothing is written: the first form post binds the login (see claimFor).
      if (!key) {
        key = randomBytes(32).toString('base64url');
        this.setBindingCookie(reply, tx, key, await this.policyFor(req, tx));
      }
    } else if (!this.keyMatches(tx, cookieKey)) {
      throw new EidhubError(403, 'other_browser', 'this login is open in another browser or window');
    }
    if (tx.provider === null) return this.render(req, reply, tx, this.chooser(tx), key);
    return this.enter(req, reply, tx, this.authenticator(tx), key);
  }

  /**
   * The transaction bound to the browser whose key a form carries: a CREATED one is claimed for
   * that key now (compare-and-set, so of two browsers only the first to post wins); one already
   * bound must be bound to that key.
   */
  private async claimFor(tx: Transaction, formKey: string): Promise<Transaction> {
    if (tx.status !== 'CREATED') return tx;
    const binding = sha256(formKey).toString('base64url');
    try {
      return await this.deps.transactions.claim(tx, binding);
    } catch (err) {
      if (!(err instanceof EidhubError && err.code === 'transaction_changed')) throw err;
      // Raced: the same browser's other request (a double submit) may have claimed it for this key.
      const current = await this.deps.transactions.get(tx.id);
      if (current && (this.keyMatches(current, formKey) || (FINAL_STATUSES.has(current.status) && !current.browserBinding))) return current;
      throw new EidhubError(403, 'other_browser', 'this login is open in another browser or window');
    }
  }

  async act(req: FastifyRequest<{ Params: { id: string; action: string }; Body: Record<string, unknown> }>, reply: FastifyReply) {
    const { action } = req.params;
    // Checked before anything is read: a page of another site cannot make the browser act here.
    if (!isSameOriginPost(req, this.publicOrigin)) throw new EidhubError(403, 'cross_origin', 'the form was posted from another site');
    let tx = await this.load(req, req.params.id);
    const open = !FINAL_STATUSES.has(tx.status);
    const authenticator = open && tx.provider !== null ? this.authenticator(tx) : undefined;
    if (open && action !== CANCEL && action !== CHOOSE && !authenticator?.actions.includes(action)) throw new EidhubError(404, 'not_found', 'no such step');
    const form = Object.fromEntries(
      Object.entries(req.body ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '']),
    ) as Record<string, string>;
    const cookieKey = req.cookies[this.cookieName(tx)];
    const formKey = form.csrf;
    if (!formKey || (cookieKey !== undefined && cookieKey !== formKey)) {
      throw new EidhubError(403, 'csrf', 'the form did not come from this login page; reload the page');
    }
    const choice = action === CHOOSE && open ? this.choiceOf(tx, form.provider) : undefined;
    if (tx.status === 'CREATED') {
      tx = await this.claimFor(tx, formKey);
    } else if (FINAL_STATUSES.has(tx.status) && !tx.browserBinding) {
      // It ended (expired, cancelled by the integrator) before any browser posted: the page that
      // was opened still leads to the protocol's answer, as it did before binding moved here.
      return this.onFinished(req, reply, tx, formKey);
    } else if (!this.keyMatches(tx, formKey)) {
      throw new EidhubError(403, 'csrf', 'the form did not come from this login page; reload the page');
    }
    if (FINAL_STATUSES.has(tx.status)) return this.onFinished(req, reply, tx, formKey);
    if (tx.status !== 'WAITING_FOR_USER') throw new EidhubError(409, 'transaction_changed', 'reload the page');

    if (action === CANCEL) return this.onFinished(req, reply, await this.deps.transactions.abort(tx), formKey);
    if (choice) {
      const { authenticator: chosen, prepared } = choice;
      // A second press of the same choice (a double submit, a reload) goes on as the first did.
      if (tx.provider !== chosen.id) tx = await this.deps.transactions.choose(tx, chosen.id, prepared);
      return this.enter(req, reply, tx, chosen, formKey);
    }
    if (!authenticator || tx.provider !== authenticator.id) throw new EidhubError(409, 'transaction_changed', 'reload the page');
    const lang = this.language(req, tx.language);
    const result = await authenticator.act(tx, action, form, { lang, clientIp: req.ip });
    return this.onResult(req, reply, tx, authenticator, result, formKey);
  }

  /** The browser back from where the authenticator sent it (an upstream provider), with its answer in the query. */
  async callback(req: FastifyRequest<{ Params: { id: string }; Querystring: Record<string, unknown> }>, reply: FastifyReply) {
    const opened = await this.load(req, req.params.id);
    const cookieKey = req.cookies[this.cookieName(opened)];
    const authenticator = FINAL_STATUSES.has(opened.status) || opened.provider === null ? undefined : this.authenticator(opened);
    // A first page that sent the browser straight on (enter) bound nothing: the browser that comes
    // back with the key that page gave it claims the login, as its first form would have.
    const tx = opened.status === 'CREATED' && cookieKey && authenticator?.callback ? await this.claimFor(opened, cookieKey) : opened;
    if (!this.keyMatches(tx, cookieKey)) throw new EidhubError(403, 'other_browser', 'this login was started in another browser or window');
    if (FINAL_STATUSES.has(tx.status)) return this.onFinished(req, reply, tx, cookieKey);
    if (!authenticator?.callback || tx.status !== 'WAITING_FOR_USER') throw new EidhubError(404, 'not_found', 'no such step');
    const query = Object.fromEntries(Object.entries(req.query ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const result = await authenticator.callback(tx, query, { lang: this.language(req, tx.language), clientIp: req.ip });
    return this.onResult(req, reply, tx, authenticator, result, cookieKey);
  }
}

/** The hosted pages' routes; `limit`: each of the changing ones (form posts, callbacks) per client address. */
export function registerHostedPages(app: FastifyInstance, pages: HostedPages, limit: WindowLimit) {
  app.get<{ Params: { id: string } }>(`${HOSTED_PAGE_BASE}/:id`, (req, reply) => pages.show(req, reply));
  // A callback changes the login, so it has no HEAD twin (opening a page by HEAD changes nothing).
  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    `${HOSTED_PAGE_BASE}/:id/${CALLBACK}`,
    { exposeHeadRoute: false, config: routeRateLimit('pages.callback', limit) },
    (req, reply) => pages.callback(req, reply),
  );
  app.post<{ Params: { id: string; action: string }; Body: Record<string, unknown> }>(
    `${HOSTED_PAGE_BASE}/:id/:action`,
    { config: routeRateLimit('pages.post', limit) },
    (req, reply) => pages.act(req, reply),
  );
}
