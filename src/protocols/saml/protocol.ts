/**
 * SAML 2.0 Web Browser SSO as a protocol adapter (CONTRACT §6). An AuthnRequest (HTTP-Redirect or
 * HTTP-POST) from a configured service provider becomes a transaction; the hosted pages run the
 * authenticator; the final transaction becomes a signed Response posted to the ACS the SP's
 * metadata lists. Every AuthnRequest that names a known SP and a valid ACS becomes a transaction
 * (also those answered at once from a session, or refused with a SAML status), so a request ID is
 * answered once: the (protocol, protocolRef) key of the transactions refuses the second.
 *
 * What never reaches an SP: a message that fails before the SP and its ACS are known (an unknown
 * SP, an ACS not in its metadata, a bad signature, a DOCTYPE, a replay) gets an error page.
 */
import { createHash } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../../authenticators/types.js';
import type { Transaction } from '../../core/transaction.js';
import type { TransactionService } from '../../core/transactions.js';
import { StoreConflictError, type Store } from '../../store/types.js';
import type { BrowserExchange, FinishAnswer, PagePolicy, ProtocolAdapter } from '../types.js';
import { classRefOf, decideAuthnContext, satisfies, type Vocabulary } from './authn-context.js';
import { decodePostForm, decodeRedirectQuery, type InboundMessage } from './binding.js';
import { buildLogoutRequest, buildLogoutResponse, buildStatusResponse, buildSuccessResponse, newSamlId } from './messages.js';
import { BINDINGS, NAMEID_UNSPECIFIED, NS, SamlError, STATUS, type SamlSigningKey, type ServiceProvider, type SpEndpoint } from './model.js';
import { readAuthnRequest, readLogoutRequest, readLogoutResponse, type AuthnRequestInfo } from './request.js';
import { SAML_MOUNT } from './paths.js';
import type { SamlServiceProviderRegistry } from './service-providers.js';
import { SessionStore, withParticipant, type SamlSession } from './session.js';
import { signRedirectQuery } from './sign.js';
import { verifyDetachedSignature, verifyEmbeddedSignature } from './verify.js';
import { onlyChild, parseXml, textOf } from './xml.js';


const NAMEID_FORMATS = {
  unspecified: NAMEID_UNSPECIFIED,
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
} as const;

/** What a SAML transaction keeps besides the transaction itself (its ProtocolStateRecord). */
export interface SamlRequestState {
  sp: string;
  requestId: string;
  acsUrl: string;
  relayState: string | undefined;
  attributeConsumingServiceIndex: number | undefined;
  nameIdFormat: string;
  vocabulary: Vocabulary;
}

export interface SamlSettings {
  assertionLifetimeSeconds: number;
  clockSkewSeconds: number;
  requestMaxAgeSeconds: number;
  sessionTtlSeconds: number;
}

export interface PostAnswer {
  url: string;
  fields: Record<string, string>;
}

export interface SamlDeps {
  publicUrl: string;
  accountId: string;
  /** The SPs (service-providers.ts): those of the config file and those added at run time, which may change at any moment. */
  serviceProviders: Pick<SamlServiceProviderRegistry, 'find'>;
  transactions: TransactionService;
  authenticators: ReadonlyMap<string, Authenticator>;
  store: Store;
  /** The key that signs now. */
  signingKey: () => SamlSigningKey;
  settings: SamlSettings;
  loginWindowMs: number;
  hostedPageUrl: (tx: Pick<Transaction, 'id'>) => string;
  /** An error page for a refused message (the reason is shown as a technical line). */
  errorPage: (req: FastifyRequest, reply: FastifyReply, status: number, reason: string) => FastifyReply;
  /** A page that posts `fields` to `url` (a form that submits itself, and a button without JavaScript). */
  postPage: (req: FastifyRequest, reply: FastifyReply, answer: PostAnswer, outcome: 'success' | 'error' | 'abort') => FastifyReply;
  /** Cookies may be Secure (https, or a loopback host). */
  secureCookies: boolean;
  logger: Logger;
  now: () => number;
}

/** Request states kept per process (oldest dropped first): a few minutes of logins at a high rate. */
const STATE_CACHE_SIZE = 10_000;

const sha = (value: string) => createHash('sha256').update(value).digest('base64url');
const SESSION_COOKIE = 'eidhub-saml';


/** The query string exactly as received (the Redirect binding's signature covers its raw octets). */
function rawQuery(req: FastifyRequest): string {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  return q >= 0 ? url.slice(q + 1) : '';
}

/** A refusal that goes to the SP as a SAML status, once the SP and its ACS are known. */
class StatusRefusal extends Error {
  constructor(
    readonly status: string,
    readonly subStatus: string | undefined,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class SamlProtocol implements ProtocolAdapter {
  readonly protocol = 'saml' as const;
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly sloUrl: string;
  private readonly sessions: SessionStore;
  private readonly providerParams: ReadonlySet<string>;
  private readonly cookieName: string;
  private readonly states = new Map<string, SamlRequestState>();

  constructor(private readonly deps: SamlDeps) {
    this.entityId = `${deps.publicUrl}${SAML_MOUNT}`;
    this.ssoUrl = `${this.entityId}/login`;
    this.sloUrl = `${this.entityId}/logout`;
    this.sessions = new SessionStore(deps.store.oidc);
    this.providerParams = new Set([...deps.authenticators.values()].flatMap((a) => a.providerParams));
    this.cookieName = `${deps.secureCookies ? '__Host-' : ''}${SESSION_COOKIE}`;
  }

  // ---------------------------------------------------------------- single sign-on

  async loginRedirect(req: FastifyRequest, reply: FastifyReply) {
    return this.login(req, reply, () => decodeRedirectQuery(rawQuery(req)));
  }

  async loginPost(req: FastifyRequest<{ Body: Record<string, unknown> }>, reply: FastifyReply) {
    return this.login(req, reply, () => decodePostForm(req.body ?? {}));
  }

  private async login(req: FastifyRequest, reply: FastifyReply, decode: () => InboundMessage) {
    let sp: ServiceProvider | undefined;
    let request: AuthnRequestInfo;
    let acsUrl: string;
    let message: InboundMessage;
    try {
      message = decode();
      if (message.parameter !== 'SAMLRequest') throw new SamlError('malformed', 'the single sign-on endpoint takes a SAMLRequest');
      sp = await this.serviceProviderOf(message, 'the AuthnRequest');
      const root = this.verified(message, sp, 'AuthnRequest', sp.requireSignedRequests);
      request = readAuthnRequest(root.element);
      this.checkHeader(request, sp, this.ssoUrl, root.signed);
      acsUrl = this.acsFor(sp, request);
    } catch (err) {
      return this.refused(req, reply, err, sp);
    }
    const state: SamlRequestState = {
      sp: sp.entityId,
      requestId: request.id,
      acsUrl,
      relayState: message.relayState,
      attributeConsumingServiceIndex: request.attributeConsumingServiceIndex,
      nameIdFormat: NAMEID_UNSPECIFIED,
      vocabulary: 'plain',
    };
    const base = {
      accountId: this.deps.accountId,
      protocol: 'saml' as const,
      protocolRef: `${sha(sp.entityId).slice(0, 22)}:${request.id}`,
      clientId: sp.entityId,
      lifetimeMs: this.deps.loginWindowMs,
    };
    try {
      let refusal: StatusRefusal | undefined;
      let plan: ReturnType<SamlProtocol['plan']> | undefined;
      try {
        plan = this.plan(sp, request);
        state.nameIdFormat = plan.nameIdFormat;
        state.vocabulary = plan.vocabulary;
      } catch (err) {
        if (!(err instanceof StatusRefusal)) throw err;
        refusal = err;
      }
      const session = plan && !request.forceAuthn ? await this.sessions.get(req.cookies[this.cookieName], this.deps.now()) : undefined;
      const reusable = session && plan && plan.allowed.includes(session.provider) && plan.satisfied(session);
      if (!refusal && !reusable && request.isPassive) {
        refusal = new StatusRefusal(STATUS.responder, STATUS.noPassive, 'IsPassive was requested and the person has no session here', 'no_passive');
      }
      const tx = await this.createTransaction({
        ...base,
        allowedProviders: plan?.allowed ?? [],
        language: plan?.language ?? null,
        prefilledInput: plan?.prefilledInput ?? {},
        providerParams: plan?.providerParams ?? {},
        requestedAttributes: plan?.requestedAttributes ?? [],
        requestedLoa: plan?.minimumLoa ?? null,
        protocolState: state as unknown as Record<string, unknown>,
      });
      if (refusal) {
        const failed = await this.deps.transactions.fail(tx, { code: refusal.code, message: refusal.message });
        this.deps.logger.info({ sp: sp.entityId, tx: failed.id, status: refusal.subStatus ?? refusal.status }, 'saml: request refused with a status');
        return this.deps.postPage(req, reply, this.statusAnswer(state, refusal.status, refusal.subStatus, refusal.message), 'error');
      }
      if (reusable && session) {
        // Single sign-on: the person logged in here before; the transaction records this login too.
        const waiting = await this.deps.transactions.transition(tx, 'WAITING_FOR_USER', { provider: session.provider });
        const done = await this.deps.transactions.transition(waiting, 'SUCCESS', { subject: session.subject, loa: session.loa, provider: session.provider });
        const answer = await this.successAnswer(done, sp, state, { req: req.raw, res: reply.raw }, session);
        this.deps.logger.info({ sp: sp.entityId, tx: done.id }, 'saml: answered from the single sign-on session');
        return this.deps.postPage(req, reply, answer, 'success');
      }
      this.remember(tx.id, state);
      return reply.redirect(this.deps.hostedPageUrl(tx), 303);
    } catch (err) {
      return this.refused(req, reply, err, sp);
    }
  }

  /** What a request asks for, checked against what eidhub can do: refusals are StatusRefusals. */
  private plan(sp: ServiceProvider, request: AuthnRequestInfo) {
    const decision = decideAuthnContext(request.requestedAuthnContext);
    if (!decision.ok) throw new StatusRefusal(STATUS.requester, STATUS.noAuthnContext, decision.reason, 'no_authn_context');
    const able = [...this.deps.authenticators.values()];
    const allowed = able.filter((a) => satisfies(decision, a.loa)).map((a) => a.id);
    if (allowed.length === 0) {
      const reached = able.map((a) => `${a.id} reaches ${a.loa}`).join(', ');
      throw new StatusRefusal(STATUS.requester, STATUS.noAuthnContext, `the requested authentication context cannot be met (${reached})`, 'no_authn_context');
    }
    const nameIdFormat = this.nameIdFormatFor(request.nameIdPolicyFormat);
    if (request.attributeConsumingServiceIndex !== undefined && !sp.attributeConsumingServices.some((s) => s.index === request.attributeConsumingServiceIndex)) {
      throw new StatusRefusal(
        STATUS.requester,
        undefined,
        `AttributeConsumingServiceIndex ${request.attributeConsumingServiceIndex} is not in the service provider's metadata`,
        'bad_attribute_service',
      );
    }
    const { language, ...rest } = request.params;
    const unknown = Object.keys(rest).filter((p) => !this.providerParams.has(p));
    if (unknown.length > 0) {
      const known = ['language', ...this.providerParams].map((p) => `signicat:param:${p}`).join(', ');
      throw new StatusRefusal(STATUS.requester, undefined, `unknown Extensions parameter ${unknown.map((p) => `signicat:param:${p}`).join(', ')}; known: ${known}`, 'invalid_request');
    }
    let providerParams = rest;
    let prefilledInput: Record<string, string> = {};
    if (allowed.length === 1) {
      const authenticator = this.deps.authenticators.get(allowed[0]!)!;
      const prepared = authenticator.prepare({ clientId: sp.entityId, providerParams: rest, prefilledInput: {} });
      if (!prepared.ok) {
        throw new StatusRefusal(STATUS.requester, undefined, prepared.problems.map((p) => `signicat:param:${p.param}: ${p.message}`).join('; '), 'invalid_request');
      }
      providerParams = prepared.providerParams;
      prefilledInput = prepared.prefilledInput;
    }
    return {
      allowed,
      minimumLoa: decision.minimum,
      vocabulary: decision.vocabulary,
      nameIdFormat,
      language: language || null,
      providerParams,
      prefilledInput,
      requestedAttributes: this.attributeNames(sp, request.attributeConsumingServiceIndex) ?? [],
      satisfied: (session: SamlSession) => satisfies(decision, session.loa),
    };
  }

  private nameIdFormatFor(requested: string | undefined): string {
    if (requested === undefined || requested === NAMEID_FORMATS.unspecified) return NAMEID_UNSPECIFIED;
    if (requested === NAMEID_FORMATS.persistent || requested === NAMEID_FORMATS.transient) return requested;
    throw new StatusRefusal(
      STATUS.requester,
      STATUS.invalidNameIdPolicy,
      `NameIDPolicy Format ${requested.slice(0, 100)} is not one eidhub issues (unspecified, persistent, transient)`,
      'invalid_name_id_policy',
    );
  }

  private async createTransaction(input: Parameters<TransactionService['create']>[0]): Promise<Transaction> {
    try {
      return await this.deps.transactions.create(input);
    } catch (err) {
      if (err instanceof StoreConflictError) throw new SamlError('replay', 'this request ID was answered already; the service provider must send a new request');
      throw err;
    }
  }

  // ---------------------------------------------------------------- the hosted pages' side

  /**
   * A login's request state. It never changes once written, so each process keeps the latest
   * ones it read (the hosted pages ask for the page policy on every request of the login).
   */
  private async stateOf(tx: Transaction): Promise<SamlRequestState> {
    const known = this.states.get(tx.id);
    if (known) return known;
    const record = await this.deps.store.protocolState.get('saml', tx.protocolRef);
    if (!record || record.transactionId !== tx.id) throw new SamlError('malformed', 'the SAML request of this login is gone');
    const state = record.state as unknown as SamlRequestState;
    this.remember(tx.id, state);
    return state;
  }

  private remember(txId: string, state: SamlRequestState) {
    if (this.states.size >= STATE_CACHE_SIZE) this.states.delete(this.states.keys().next().value!);
    this.states.set(txId, state);
  }

  async pagePolicy(tx: Transaction): Promise<PagePolicy> {
    const state = await this.stateOf(tx);
    return {
      hosted: true,
      frameAncestors: ["'none'"],
      formActionOrigins: [new URL(state.acsUrl).origin],
      embedded: false,
      clientName: undefined,
      backUrl: undefined,
    };
  }

  async finish(tx: Transaction, browser: BrowserExchange): Promise<FinishAnswer> {
    const state = await this.stateOf(tx);
    const sp = (await this.deps.serviceProviders.find(state.sp))?.sp;
    if (!sp) throw new SamlError('unknown_sp', 'the service provider of this login is no longer configured');
    if (tx.status === 'SUCCESS') return { kind: 'form', ...(await this.successAnswer(tx, sp, state, browser, undefined)) };
    const message = tx.status === 'ERROR' ? (tx.error?.message ?? 'the login failed') : 'the person cancelled the login';
    return { kind: 'form', ...this.statusAnswer(state, STATUS.responder, STATUS.authnFailed, message) };
  }

  /**
   * The Response of a successful login, and the session it joins: the browser's own when it is the
   * same person's, else a new one (its cookie set on the browser's response).
   */
  private async successAnswer(tx: Transaction, sp: ServiceProvider, state: SamlRequestState, browser: BrowserExchange, reused: SamlSession | undefined): Promise<PostAnswer> {
    const authenticator = tx.provider ? this.deps.authenticators.get(tx.provider) : undefined;
    const subject = tx.subject;
    if (!authenticator || !subject) throw new Error(`a successful SAML login without ${authenticator ? 'subject' : 'authenticator'}`);
    const now = this.deps.now();
    const cookie = fastifyCookie.parse(browser.req.headers.cookie ?? '')[this.cookieName];
    let session = reused ?? (await this.sessions.get(cookie, now));
    let key = cookie;
    if (!session || session.subject.id !== subject.id || session.provider !== authenticator.id) {
      const authnInstant = tx.finishedAt ?? now;
      session = {
        subject,
        provider: authenticator.id,
        loa: tx.loa ?? authenticator.loa,
        authnInstant,
        sessionIndex: newSamlId(),
        participants: [],
        expiresAt: authnInstant + this.deps.settings.sessionTtlSeconds * 1000,
      };
      key = this.sessions.newKey();
      this.setSessionCookie(browser, key, session.expiresAt - now);
    }
    const nameId = state.nameIdFormat === NAMEID_FORMATS.transient ? newSamlId() : subject.id;
    session = withParticipant(session, { sp: sp.entityId, nameId, nameIdFormat: state.nameIdFormat, nameQualifier: authenticator.id });
    await this.sessions.put(key!, session);
    const xml = await buildSuccessResponse(
      {
        idpEntityId: this.entityId,
        spEntityId: sp.entityId,
        destination: state.acsUrl,
        inResponseTo: state.requestId,
        nameId,
        nameIdFormat: state.nameIdFormat,
        nameQualifier: authenticator.id,
        sessionIndex: session.sessionIndex,
        authnInstant: session.authnInstant,
        now,
        lifetimeSeconds: this.deps.settings.assertionLifetimeSeconds,
        attributes: this.releasedAttributes(sp, state, authenticator.claims.saml(subject)),
        authnContextClassRef: classRefOf(tx.loa ?? authenticator.loa, state.vocabulary),
        authenticatingAuthority: authenticator.issuer,
      },
      this.deps.signingKey(),
      { signResponse: sp.signResponse, encryptFor: sp.encryptAssertions ? sp.encryptionCertificates[0] : undefined },
    );
    return this.postAnswer(state.acsUrl, 'SAMLResponse', xml, state.relayState);
  }

  /** A Response with a status and no assertion; signed whatever the SP's signResponse says, as it has nothing else to sign. */
  private statusAnswer(state: SamlRequestState, status: string, subStatus: string | undefined, message: string): PostAnswer {
    const xml = buildStatusResponse(
      { idpEntityId: this.entityId, destination: state.acsUrl, inResponseTo: state.requestId, status, subStatus, message, now: this.deps.now() },
      this.deps.signingKey(),
      { signResponse: true },
    );
    return this.postAnswer(state.acsUrl, 'SAMLResponse', xml, state.relayState);
  }

  private postAnswer(url: string, parameter: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState: string | undefined): PostAnswer {
    return { url, fields: { [parameter]: Buffer.from(xml, 'utf8').toString('base64'), ...(relayState !== undefined ? { RelayState: relayState } : {}) } };
  }

  /** The names of the attributes the SP's AttributeConsumingService asks for, or undefined for all. */
  private attributeNames(sp: ServiceProvider, index: number | undefined): string[] | undefined {
    const services = sp.attributeConsumingServices;
    const service =
      index !== undefined ? services.find((s) => s.index === index) : (services.find((s) => s.isDefault) ?? (services.length === 1 ? services[0] : undefined));
    return service?.attributes.map((a) => a.name);
  }

  private releasedAttributes(sp: ServiceProvider, state: SamlRequestState, all: Record<string, string>): { name: string; values: string[] }[] {
    const names = this.attributeNames(sp, state.attributeConsumingServiceIndex);
    return Object.entries(all)
      .filter(([name, value]) => value !== '' && (names === undefined || names.includes(name)))
      .map(([name, value]) => ({ name, values: [value] }));
  }

  /** The session cookie's attributes: it must reach eidhub on the SP's cross-site POST (HTTP-POST binding), so SameSite=None, which needs Secure. */
  private sessionCookie(value: string, maxAgeSeconds: number): string {
    const secure = this.deps.secureCookies;
    return fastifyCookie.serialize(this.cookieName, value, { path: '/', httpOnly: true, maxAge: maxAgeSeconds, secure, sameSite: secure ? 'none' : 'lax' });
  }

  private setSessionCookie(browser: BrowserExchange, key: string, maxAgeMs: number) {
    browser.res.appendHeader('set-cookie', this.sessionCookie(key, Math.max(1, Math.floor(maxAgeMs / 1000))));
  }

  private clearSessionCookie(reply: FastifyReply) {
    reply.raw.appendHeader('set-cookie', this.sessionCookie('', 0));
  }

  // ---------------------------------------------------------------- single logout

  async logoutRedirect(req: FastifyRequest, reply: FastifyReply) {
    return this.logout(req, reply, () => decodeRedirectQuery(rawQuery(req)));
  }

  async logoutPost(req: FastifyRequest<{ Body: Record<string, unknown> }>, reply: FastifyReply) {
    return this.logout(req, reply, () => decodePostForm(req.body ?? {}));
  }

  private async logout(req: FastifyRequest, reply: FastifyReply, decode: () => InboundMessage) {
    let sp: ServiceProvider | undefined;
    try {
      const message = decode();
      const what = message.parameter === 'SAMLRequest' ? 'the LogoutRequest' : 'the LogoutResponse';
      sp = await this.serviceProviderOf(message, what);
      if (!this.sloEndpoint(sp)) throw new SamlError('unsupported', `the metadata of ${sp.entityId} lists no SingleLogoutService eidhub can answer (HTTP-Redirect or HTTP-POST)`);
      // Logout messages must be authenticated: signed, whenever the SP's metadata has a signing key.
      const mustSign = sp.requireSignedRequests || sp.signingCertificates.length > 0;
      const cookie: string | undefined = req.cookies[this.cookieName];
      const now = this.deps.now();
      if (message.parameter === 'SAMLRequest') {
        const root = this.verified(message, sp, 'LogoutRequest', mustSign);
        const request = readLogoutRequest(root.element);
        this.checkHeader(request, sp, this.sloUrl, root.signed);
        const session = await this.sessions.get(cookie, now);
        if (request.notOnOrAfter !== undefined && request.notOnOrAfter <= now - this.deps.settings.clockSkewSeconds * 1000) {
          return this.answerInitiator(req, reply, sp, request.id, message.relayState, STATUS.requester, STATUS.requestDenied);
        }
        if (!session) return this.answerInitiator(req, reply, sp, request.id, message.relayState, STATUS.success, undefined);
        const participant = session.participants.find((p) => p.sp === sp!.entityId);
        const indexOk = request.sessionIndexes.length === 0 || request.sessionIndexes.includes(session.sessionIndex);
        if (!participant || participant.nameId !== request.nameId || !indexOk) {
          return this.answerInitiator(req, reply, sp, request.id, message.relayState, STATUS.requester, STATUS.unknownPrincipal);
        }
        const others: string[] = [];
        for (const p of session.participants) if (p.sp !== sp.entityId && (await this.sloEndpointOf(p.sp))) others.push(p.sp);
        const next: SamlSession = {
          ...session,
          logout: { initiator: { sp: sp.entityId, requestId: request.id, relayState: message.relayState }, pending: others, awaiting: undefined, partial: false },
        };
        return await this.continueLogout(req, reply, cookie!, next);
      }
      // A participant's LogoutResponse, in a logout eidhub propagates.
      const root = this.verified(message, sp, 'LogoutResponse', mustSign);
      const response = readLogoutResponse(root.element);
      this.checkHeader(response, sp, this.sloUrl, root.signed);
      const session = await this.sessions.get(cookie, now);
      const awaiting = session?.logout?.awaiting;
      if (!session || !awaiting || awaiting.sp !== sp.entityId || awaiting.requestId !== response.inResponseTo) {
        throw new SamlError('malformed', 'this LogoutResponse answers no logout in progress in this browser');
      }
      const partial = session.logout!.partial || response.status !== STATUS.success;
      return await this.continueLogout(req, reply, cookie!, { ...session, logout: { ...session.logout!, awaiting: undefined, partial } });
    } catch (err) {
      return this.refused(req, reply, err, sp);
    }
  }

  /** Tells the next participant, or, when none is left, ends the session and answers the initiator. */
  private async continueLogout(req: FastifyRequest, reply: FastifyReply, cookie: string, session: SamlSession) {
    let logout = session.logout!;
    for (;;) {
      const [nextSp, ...rest] = logout.pending;
      if (nextSp === undefined) break;
      const endpoint = await this.sloEndpointOf(nextSp);
      // An SP removed since the logout began is told nothing, and the logout is then partial.
      if (!endpoint) {
        logout = { ...logout, pending: rest, partial: true };
        continue;
      }
      const participant = session.participants.find((p) => p.sp === nextSp)!;
      const sign = endpoint.binding === BINDINGS.post;
      const { id, xml } = buildLogoutRequest(
        {
          idpEntityId: this.entityId,
          destination: endpoint.location,
          nameId: participant.nameId,
          nameIdFormat: participant.nameIdFormat,
          nameQualifier: participant.nameQualifier,
          sessionIndexes: [session.sessionIndex],
          now: this.deps.now(),
        },
        this.deps.signingKey(),
        { sign },
      );
      await this.sessions.put(cookie, { ...session, logout: { ...logout, pending: rest, awaiting: { sp: nextSp, requestId: id } } });
      return this.send(req, reply, endpoint.location, endpoint.binding, 'SAMLRequest', xml, undefined, 'success');
    }
    await this.sessions.remove(cookie);
    this.clearSessionCookie(reply);
    this.deps.logger.info({ participants: session.participants.length, partial: logout.partial }, 'saml: single logout ended a session');
    const initiator = logout.initiator;
    const sp = (await this.deps.serviceProviders.find(initiator.sp))?.sp;
    if (!sp) throw new SamlError('unknown_sp', 'the service provider that asked for this logout is no longer configured');
    return this.answerInitiator(req, reply, sp, initiator.requestId, initiator.relayState, STATUS.success, logout.partial ? STATUS.partialLogout : undefined);
  }

  private answerInitiator(
    req: FastifyRequest,
    reply: FastifyReply,
    sp: ServiceProvider,
    inResponseTo: string,
    relayState: string | undefined,
    status: string,
    subStatus: string | undefined,
  ) {
    const endpoint = this.sloEndpoint(sp)!;
    const destination = endpoint.responseLocation ?? endpoint.location;
    const xml = buildLogoutResponse(
      { idpEntityId: this.entityId, destination, inResponseTo, status, ...(subStatus ? { subStatus } : {}), now: this.deps.now() },
      this.deps.signingKey(),
      { sign: endpoint.binding === BINDINGS.post },
    );
    return this.send(req, reply, destination, endpoint.binding, 'SAMLResponse', xml, relayState, status === STATUS.success ? 'success' : 'error');
  }

  /** A message to an SP: a signed HTTP-Redirect, or a self-submitting form for HTTP-POST. */
  private send(
    req: FastifyRequest,
    reply: FastifyReply,
    url: string,
    binding: string,
    parameter: 'SAMLRequest' | 'SAMLResponse',
    xml: string,
    relayState: string | undefined,
    outcome: 'success' | 'error',
  ) {
    if (binding === BINDINGS.redirect) {
      const query = signRedirectQuery(parameter, xml, relayState, this.deps.signingKey());
      return reply.redirect(`${url}${url.includes('?') ? '&' : '?'}${query}`, 303);
    }
    return this.deps.postPage(req, reply, this.postAnswer(url, parameter, xml, relayState), outcome);
  }

  private sloEndpoint(sp: ServiceProvider): SpEndpoint | undefined {
    return sp.singleLogoutServices.find((e) => e.binding === BINDINGS.redirect || e.binding === BINDINGS.post);
  }

  private async sloEndpointOf(entityId: string): Promise<SpEndpoint | undefined> {
    const sp = (await this.deps.serviceProviders.find(entityId))?.sp;
    return sp ? this.sloEndpoint(sp) : undefined;
  }

  // ---------------------------------------------------------------- shared checks

  /** The configured SP that the message's Issuer names (read before the signature is checked, to know whose keys check it). */
  private async serviceProviderOf(message: InboundMessage, what: string): Promise<ServiceProvider> {
    const root = parseXml(message.xml, what).documentElement!;
    const issuerEl = onlyChild(root as unknown as Element, NS.assertion, 'Issuer', what);
    const issuer = issuerEl ? textOf(issuerEl) : '';
    if (!issuer) throw new SamlError('malformed', `${what}: Issuer is missing (it names the service provider)`);
    const sp = (await this.deps.serviceProviders.find(issuer))?.sp;
    if (!sp) throw new SamlError('unknown_sp', `${what} comes from "${issuer.slice(0, 200)}", which is not a configured service provider`);
    return sp;
  }

  /**
   * The message's root element as it was signed (or as sent, when unsigned and that is allowed):
   * only what a signature covers is read from here on.
   */
  private verified(message: InboundMessage, sp: ServiceProvider, localName: string, requireSignature: boolean): { element: Element; signed: boolean } {
    const what = `the ${localName}`;
    let signed = false;
    if (message.detachedSignature) {
      verifyDetachedSignature(message, sp.signingCertificates);
      signed = true;
    }
    const result = verifyEmbeddedSignature(message.xml, sp.signingCertificates, { ns: NS.protocol, localName, what });
    signed ||= result.signed;
    if (!signed && requireSignature) throw new SamlError('signature_required', `${what} from ${sp.entityId} must be signed`);
    return { element: result.root, signed };
  }

  private checkHeader(header: { issuer: string; issueInstant: number; destination: string | undefined }, sp: ServiceProvider, endpoint: string, signed: boolean) {
    if (header.issuer !== sp.entityId) throw new SamlError('bad_signature', 'the signed Issuer is not the one the message was read with');
    if (header.destination === undefined ? signed : header.destination !== endpoint) {
      throw new SamlError('bad_destination', `Destination must be ${endpoint}${header.destination === undefined ? ' (a signed message must name it)' : ''}`);
    }
    const now = this.deps.now();
    const skew = this.deps.settings.clockSkewSeconds * 1000;
    if (header.issueInstant > now + skew) throw new SamlError('expired', 'IssueInstant is in the future (more than the allowed clock skew); check the service provider\'s clock');
    if (header.issueInstant < now - this.deps.settings.requestMaxAgeSeconds * 1000 - skew) {
      throw new SamlError('expired', `the message was issued more than ${this.deps.settings.requestMaxAgeSeconds} s ago; the service provider must send a new one`);
    }
  }

  /**
   * The ACS the Response goes to: the request's AssertionConsumerServiceURL if the metadata lists
   * it, else the indexed one, else the metadata's default (isDefault, else the first). Whatever
   * the binding the metadata declares for it, the Response goes by HTTP-POST (CONTRACT §6).
   */
  private acsFor(sp: ServiceProvider, request: AuthnRequestInfo): string {
    const endpoints = sp.assertionConsumerServices;
    if (request.acsUrl !== undefined) {
      if (!endpoints.some((e) => e.location === request.acsUrl)) {
        throw new SamlError('bad_acs', `AssertionConsumerServiceURL is not one of the service provider's metadata; eidhub sends nothing there`);
      }
      return request.acsUrl;
    }
    if (request.acsIndex !== undefined) {
      const indexed = endpoints.find((e) => e.index === request.acsIndex);
      if (!indexed) throw new SamlError('bad_acs', `AssertionConsumerServiceIndex ${request.acsIndex} is not in the service provider's metadata`);
      return indexed.location;
    }
    const chosen = endpoints.find((e) => e.isDefault === true) ?? endpoints.find((e) => e.isDefault !== false) ?? endpoints[0];
    if (!chosen) throw new SamlError('bad_acs', 'the service provider\'s metadata lists no AssertionConsumerService');
    return chosen.location;
  }

  /** A refused message: an error page, never a redirect; the reason is logged and shown, never the message itself. */
  private refused(req: FastifyRequest, reply: FastifyReply, err: unknown, sp: ServiceProvider | undefined) {
    if (err instanceof SamlError) {
      this.deps.logger.info({ code: err.code, sp: sp?.entityId, reason: err.message }, 'saml: message refused');
      const status = err.code === 'too_large' ? 413 : 400;
      return this.deps.errorPage(req, reply, status, `${err.code}: ${err.message}`);
    }
    throw err;
  }
}
