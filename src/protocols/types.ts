/**
 * What the hosted pages need from the protocol that started a transaction. Each protocol adapter
 * (oidc, rest, saml, ciba) implements it; the pages never look at protocol state themselves.
 */
import type { Transaction } from '../core/transaction.js';

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
  /** Where the browser goes once the transaction is final, to receive the protocol's answer. */
  completionUrl(tx: Transaction): Promise<string>;
  pagePolicy(tx: Transaction): Promise<PagePolicy>;
  /** For framed flows: what the final page tells the parent window (postMessage), if anything. */
  completionNotice?(tx: Transaction): Promise<{ targetOrigins: string[]; message: Record<string, string> } | undefined>;
}
