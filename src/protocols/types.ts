/**
 * What the hosted pages need from the protocol that started a transaction. Each protocol adapter
 * (oidc, rest, saml, ciba) implements it; the pages never look at protocol state themselves.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Transaction } from '../core/transaction.js';

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

export interface ProtocolAdapter {
  readonly protocol: Transaction['protocol'];
  /**
   * Hands a final transaction's outcome to the protocol and returns where the browser that ran it
   * goes next to receive the protocol's answer. `browser` is that browser's request on the hosted
   * page: a protocol that binds the login to the browser that started it (OIDC's interaction
   * cookie) checks it here.
   */
  finish(tx: Transaction, browser: BrowserExchange): Promise<string>;
  pagePolicy(tx: Transaction): Promise<PagePolicy>;
  /** For framed flows: what the final page tells the parent window (postMessage), if anything. */
  completionNotice?(tx: Transaction): Promise<{ targetOrigins: string[]; message: Record<string, string> } | undefined>;
}
