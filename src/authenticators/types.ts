/**
 * The authenticator contract. An authenticator (otp-sms, itsme…) lives in one folder and brings
 * all of itself: its steps (the views it defines and renders with the page kit, in its own
 * message catalogue), the form actions and the callback its steps need, its headless API, its
 * `amr`, its level of assurance, and its mapping from what it learned about the person to OIDC
 * claims, REST `subject` attributes and SAML attributes. It moves a transaction from
 * WAITING_FOR_USER to a final state through the TransactionService and knows nothing of the
 * protocol that started the login, nor of the page around its steps.
 *
 * eidhub builds each authenticator from an `AuthenticatorPlugin` (main.ts); the hosted pages, the
 * protocols and the REST API find everything they need here.
 */
import type { EidhubError } from '../core/errors.js';
import type { LevelOfAssurance, Transaction, TransactionSubject } from '../core/transaction.js';
import type { TransactionService } from '../core/transactions.js';
import type { Config } from '../config/schema.js';
import type { SmsProvider } from '../sms/types.js';
import type { Store } from '../store/types.js';
import type { Locales } from '../ui/i18n.js';
import type { StepContent, StepKit } from '../ui/kit.js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** One step as the authenticator describes it; its own kinds and fields beyond these. */
export interface StepView {
  readonly kind: string;
  /** A message key of the authenticator's catalogue shown as the step's error; the page answers 422. */
  readonly error?: string | undefined;
  /** Set with an error that a limit caused: the page answers 429 with this Retry-After instead. */
  readonly retryAfterSeconds?: number | undefined;
}

export interface ParamProblem {
  /** The parameter at fault, in the authenticator's naming (e.g. `otp_sms_sender`, `mobile`). */
  param: string;
  message: string;
}

export type ActionResult<V extends StepView = StepView> =
  /** Show this step (possibly with an error or notice). */
  | { kind: 'view'; view: V }
  /** The transaction reached a final state; the page moves on to the protocol's answer. */
  | { kind: 'finished'; tx: Transaction }
  /**
   * Send the browser elsewhere (an upstream identity provider); it comes back to the
   * authenticator's callback, `{publicUrl}/login/{transactionId}/callback`.
   */
  | { kind: 'redirect'; url: string };

/** What an action knows of the request besides the form. */
export interface ActContext {
  lang: string;
  clientIp: string;
}

/** A step of the headless API: `POST /auth/rest/sessions/{id}/{authenticator id}/{name}`. */
export interface HeadlessStep {
  /** The path segment after the authenticator's id, e.g. `send`. */
  name: string;
  summary: string;
  /** JSON Schema of the request body (the route validates with it; the OpenAPI document shows it). */
  body: Record<string, unknown>;
  run(tx: Transaction, body: Record<string, unknown>, context: ActContext): Promise<ActionResult>;
}

/**
 * Steps an integrator drives over the REST API from its own screens (`flow: "headless"`), with
 * the same rules as the hosted pages.
 */
export interface HeadlessApi {
  steps: readonly HeadlessStep[];
  /** The error a refused step (a view with an error) becomes: status, stable code, field at fault. */
  refusal(view: StepView, step: HeadlessStep): EidhubError;
  /**
   * What the session object carries while one of this authenticator's steps is shown, under the
   * member `name` (e.g. `otp`), with its JSON Schema for the response and the OpenAPI document.
   */
  status?: { name: string; schema: Record<string, unknown>; of(view: StepView): Record<string, unknown> | undefined };
  /** The problem codes its refusals use, with their meaning, for the API reference. */
  problems: Readonly<Record<string, string>>;
}

/** The person as each protocol names them: built from the subject the authenticator established. */
export interface AttributeMapping {
  /** OIDC claims (UserInfo; the ID token takes the ones a client registered), `sub` excluded. */
  oidc(subject: TransactionSubject): Record<string, unknown>;
  /** REST `subject` attributes, by name (`requestedAttributes` picks among `attributes`). */
  rest(subject: TransactionSubject): Record<string, string>;
  /** SAML attributes, by name (xsd:string values). */
  saml(subject: TransactionSubject): Record<string, string>;
}

/** Why a back-channel step was refused, in words an integrator can act on. */
export interface BackchannelRefusal {
  /**
   * - `input`: the person's input or the message is not acceptable (fix the request);
   * - `limited`: a limit on the number or the login was reached (try later);
   * - `unavailable`: the message could not be delivered (try again).
   */
  kind: 'input' | 'limited' | 'unavailable';
  message: string;
  /** For `limited`, when known: the seconds until the same request may succeed. */
  retryAfterSeconds?: number | undefined;
}

export type BackchannelVerifyResult =
  /** The code was right: the transaction is SUCCESS, with its subject. */
  | { kind: 'verified'; tx: Transaction }
  /** The code was wrong; the attempt counted. */
  | { kind: 'wrong'; attemptsLeft: number; message: string }
  /** Nothing checked (a malformed code): no attempt counted. */
  | { kind: 'refused'; message: string }
  /** The code no longer works (too many wrong tries, expired): the transaction is ERROR and the request void. */
  | { kind: 'void'; tx: Transaction; message: string }
  /** Another request handed in the right code first: the transaction is SUCCESS already. */
  | { kind: 'used'; message: string };

/**
 * Authentication without the hosted pages, started by a relying party's back channel (CIBA): the
 * person is named up front (`login_hint`), receives a message on `channel`, and gives what it
 * carries to the relying party, which hands it in. The same rules as the hosted pages apply
 * (codes, attempts, expiry, limits), through the same store.
 */
export interface BackchannelApi {
  /** The channel that reaches the person, as CIBA requests name it (`channel=sms`). */
  readonly channel: string;
  /**
   * The person a login hint names, before anything is sent: the subject the hosted pages would
   * establish for them (so the request's account is known up front and the same as in every
   * protocol), and the input that starts the authentication.
   */
  accountFor(loginHint: string): { ok: true; subject: string; input: Record<string, string> } | { ok: false; message: string };
  /** Why a message template the relying party sent cannot be used, or undefined when it can. */
  checkMessage(template: string, rules: { allowUrls: boolean; bindingMessage?: string | undefined }): string | undefined;
  /** Sends the message for a transaction WAITING_FOR_USER; the body is exactly `template`, filled in. */
  start(
    tx: Transaction,
    request: { input: Record<string, string>; template: string; bindingMessage?: string | undefined },
  ): Promise<{ ok: true; tx: Transaction } | { ok: false; tx: Transaction; refusal: BackchannelRefusal }>;
  /** Checks what the person gave the relying party (the code). */
  verify(tx: Transaction, code: string): Promise<BackchannelVerifyResult>;
  /**
   * The claims a back-channel relying party gets about a person, from the OIDC claims this
   * authenticator mapped them to (`claims.oidc`, the subject record every protocol shares).
   */
  claims(oidcClaims: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

export interface Authenticator<V extends StepView = StepView> {
  /** The provider name integrators use: `idp:otp-sms`, `allowedProviders: ["otp-sms"]`. */
  readonly id: string;
  /**
   * A message key of its catalogue naming it to people, on the provider chooser of a login that
   * several providers may run (e.g. "SMS code"); without one the chooser shows its id.
   */
  readonly displayName?: string | undefined;
  /**
   * A name that is the same in every language (a brand, such as "itsme®", or an operator's own
   * name for an upstream), shown as is; it wins over displayName.
   */
  readonly displayText?: string | undefined;
  /**
   * False when its login cannot run inside a frame (it sends the browser to an upstream whose
   * pages refuse to be framed, as itsme's do): the REST API's embedded flow leaves it out of its
   * default providers and refuses it when named.
   */
  readonly framable?: boolean | undefined;
  /** The level of assurance a successful login reaches. */
  readonly loa: LevelOfAssurance;
  /** The OIDC `amr` values of a login by this authenticator (RFC 8176). */
  readonly amr: readonly string[];
  /** The `idp_issuer` / SAML AuthenticatingAuthority value. */
  readonly issuer: string;
  /** Names of the REST attributes it can return (what `requestedAttributes` may ask for). */
  readonly attributes: readonly string[];
  /** OIDC scopes it gives claims for, and those claims (merged into the provider's claims config). */
  readonly oidcScopes: Readonly<Record<string, readonly string[]>>;
  /** Provider parameters integrators may pass (`acr_values` `<name>:<value>`, REST `additionalParameters`). */
  readonly providerParams: readonly string[];
  /** The form actions of its steps: `POST /login/{id}/{action}`. */
  readonly actions: readonly string[];
  /**
   * Origins its `redirect` results send the browser to (an upstream provider). A redirect that
   * answers a form is governed by the page's CSP form-action, so the pages allow these.
   */
  readonly redirectOrigins?: readonly string[] | undefined;
  /** Its message catalogues, merged with the pages' own (a key both define is refused at start). */
  readonly messages: Locales;
  readonly claims: AttributeMapping;
  /** Present when its steps can run without the hosted pages (`flow: headless`). */
  readonly headless?: HeadlessApi | undefined;
  /** Present when a relying party can start it over a back channel (CIBA). */
  readonly backchannel?: BackchannelApi | undefined;
  /**
   * Checks and normalises the provider parameters and prefilled input of a new transaction.
   * Returns normalised values, or the problems found.
   */
  prepare(input: { clientId: string; providerParams: Record<string, string>; prefilledInput: Record<string, string> }):
    | { ok: true; providerParams: Record<string, string>; prefilledInput: Record<string, string> }
    | { ok: false; problems: ParamProblem[] };
  /** The step to show for a transaction that is waiting for the user (or not yet claimed). */
  view(tx: Transaction): Promise<V>;
  /** Its HTML for a step, built with the page kit. */
  render(view: V, kit: StepKit): StepContent;
  /** Handles one form submission (`action` is one of `actions`). */
  act(tx: Transaction, action: string, form: Record<string, string>, context: ActContext): Promise<ActionResult<V>>;
  /** The browser's return from where a `redirect` result sent it (query parameters as given). */
  callback?(tx: Transaction, query: Record<string, string>, context: ActContext): Promise<ActionResult<V>>;
  /**
   * Called by the hosted pages whenever they are about to show this authenticator's step for a
   * transaction waiting for the user (the first page of a login, or right after the person chose
   * this provider on the chooser). An authenticator whose login happens elsewhere (an upstream
   * OpenID Provider) answers `redirect` and the page sends the browser there at once; undefined
   * shows `view(tx)` as usual. On a login's first page the transaction may still be CREATED,
   * bound to no browser (opening a page changes nothing, CONTRACT §4): `enter` must not claim it;
   * the browser that comes back to the callback with that page's key claims it.
   */
  enter?(tx: Transaction, context: ActContext): Promise<ActionResult<V> | undefined>;
  /**
   * Routes of its own outside the hosted pages (an upstream's fixed redirect URI, the JWKS an
   * upstream reads), registered once before the server listens.
   */
  register?(app: FastifyInstance): Promise<void>;
}

/** What eidhub hands an authenticator's factory. */
export interface AuthenticatorContext {
  config: Config;
  store: Store;
  transactions: TransactionService;
  sms: SmsProvider;
  /** A server key kept in the store, created on first use and shared by every process. */
  serverKey(name: string): Promise<Buffer>;
  /** Derives the stable, opaque `sub` of a person from this provider's own user id (core/subject.ts). */
  subjectOf(providerUserId: string): string;
  logger: Logger;
  now: () => number;
}

/** An authenticator as main.ts registers it: its id and the factory that builds it. */
export interface AuthenticatorPlugin {
  readonly id: string;
  create(context: AuthenticatorContext): Promise<Authenticator> | Authenticator;
}
