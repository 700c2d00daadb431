/**
 * The protocol contract. A protocol (oidc, rest, saml, ciba) lives in one folder: it registers its
 * own routes, turns its requests into transactions, and turns a final transaction into its own
 * answer. The hosted pages ask it for their policy and, at the end, for that answer; main.ts
 * builds every enabled protocol from its `ProtocolPlugin` and knows nothing else about it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../authenticators/types.js';
import type { ClientRegistry } from '../clients/registry.js';
import type { Config } from '../config/schema.js';
import type { Protocol, Transaction } from '../core/transaction.js';
import type { TransactionService } from '../core/transactions.js';
import type { PrivateJwk } from '../keys/signing-keys.js';
import type { Store } from '../store/types.js';
import type { SamlServiceProviderRegistry } from './saml/service-providers.js';

/** The hosted page's request and response, as Node.js gives them. */
export interface BrowserExchange {
  req: IncomingMessage;
  res: ServerResponse;
}

export interface PagePolicy {
  /** False where the protocol drives the steps itself (REST headless flow): no hosted pages. */
  hosted: boolean;
  /** CSP frame-ancestors sources: `'none'` for top-level flows, parent origins for embedded ones. */
  frameAncestors: string[];
  /** Origins the page's forms may lead to (CSP form-action also governs the redirects after a form). */
  formActionOrigins: string[];
  /** Framed inside the integrator's page. */
  embedded: boolean;
  /** The relying party's display name. */
  clientName: string | undefined;
  /** Where "back to the service" leads on an error page, when known. */
  backUrl: string | undefined;
}

/** How the browser that ran a finished transaction receives the protocol's answer. */
export type FinishAnswer =
  /** The browser goes to `url` (a 303, or in a frame a GET form that the page submits). */
  | { kind: 'redirect'; url: string }
  /** The browser posts `fields` to `url`: a form that submits itself, with a button without JavaScript. */
  | { kind: 'form'; url: string; fields: Record<string, string> }
  /** The answer went by the back channel (e.g. CIBA); the page only tells the person they are done. */
  | { kind: 'none' };

export interface ProtocolAdapter {
  readonly protocol: Protocol;
  /**
   * Hands a final transaction's outcome to the protocol and says how the browser that ran it
   * receives the protocol's answer. `browser` is that browser's request on the hosted page: a
   * protocol that binds the login to the browser that started it (OIDC's interaction cookie)
   * checks it here.
   */
  finish(tx: Transaction, browser: BrowserExchange): Promise<FinishAnswer>;
  pagePolicy(tx: Transaction): Promise<PagePolicy>;
  /** For framed flows: what the final page tells the parent window (postMessage), if anything. */
  completionNotice?(tx: Transaction): Promise<{ targetOrigins: string[]; message: Record<string, string> } | undefined>;
  /**
   * Told when one of its transactions reaches a final state in this process (TransactionService
   * onFinal), whoever ended it: the hosted pages, a headless step, the integrator, expiry.
   */
  finished?(tx: Transaction): void | Promise<void>;
}

/** A protocol as main.ts runs it: the adapter the pages use, and its life cycle. */
export interface ProtocolInstance extends ProtocolAdapter {
  /** Registers its routes (called once, before the server listens). */
  register(app: FastifyInstance): Promise<void>;
  /** The store's signing keys changed (a rotation by any process): sign with the newest from now on. */
  keysChanged?(jwks: { keys: PrivateJwk[] }): void;
}

/** An API client's access token, checked: the client and the scopes it was granted. */
export interface ApiToken {
  clientId: string;
  scopes: ReadonlySet<string>;
}

/** Checks the bearer tokens API clients get from the OpenID Provider's token endpoint. */
export interface ApiTokenVerifier {
  /** The token's client and scopes, or null when it is unknown, revoked or expired. */
  verify(token: string): Promise<ApiToken | null>;
}

/** What eidhub hands a protocol's factory. */
export interface ProtocolContext {
  config: Config;
  store: Store;
  transactions: TransactionService;
  /** The enabled authenticators, by provider id. */
  authenticators: ReadonlyMap<string, Authenticator>;
  clients: ClientRegistry;
  /** The SAML service providers: the config file's and those added at run time. */
  samlServiceProviders: SamlServiceProviderRegistry;
  apiTokens: ApiTokenVerifier;
  /** A server key kept in the store, created on first use and shared by every process. */
  serverKey(name: string): Promise<Buffer>;
  /** The current signing keys (see ProtocolInstance.keysChanged). */
  jwks: { keys: PrivateJwk[] };
  /** The hosted page of a transaction (path below publicUrl). */
  hostedPageUrl(tx: Pick<Transaction, 'id'>): string;
  /** An error page for people, outside the hosted pages' routes (a protocol's own error screens). */
  errorPage(acceptLanguage: string | undefined, requestedLanguage: string | undefined): { html: string; headers: Record<string, string> };
  /**
   * A page, outside the hosted pages' routes, that posts a protocol's answer to `url` (a form that
   * submits itself, with a button without JavaScript), e.g. a SAML Response from a single sign-on session.
   */
  postPage(
    acceptLanguage: string | undefined,
    requestedLanguage: string | undefined,
    answer: { url: string; fields: Record<string, string> },
    outcome: 'success' | 'error' | 'abort',
  ): { html: string; headers: Record<string, string> };
  /** RP-initiated logout's confirmation page around the OP's form (see HostedPages.standaloneLogout). */
  logoutPage(
    acceptLanguage: string | undefined,
    requestedLanguage: string | undefined,
    form: { host: string; formHtml: string; formId: string; returnOrigins: string[] },
  ): { html: string; headers: Record<string, string> };
  /** The page after a logout that returned to no relying party. */
  loggedOutPage(acceptLanguage: string | undefined, clientName: string | undefined): { html: string; headers: Record<string, string> };
  logger: Logger;
  now: () => number;
}

export interface ProtocolPlugin {
  readonly protocol: Protocol;
  create(context: ProtocolContext): Promise<ProtocolInstance>;
}
