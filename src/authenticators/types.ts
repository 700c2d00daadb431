/**
 * The authenticator contract. An authenticator (otp-sms, later itsme…) shows its steps on the
 * hosted pages as StepViews and moves a transaction from WAITING_FOR_USER to SUCCESS or ERROR
 * through the TransactionService. It knows nothing about the protocol that started the login.
 */
import type { LevelOfAssurance, Transaction } from '../core/transaction.js';
import type { StepView } from '../ui/view.js';

export interface ParamProblem {
  /** The parameter at fault, in the authenticator's naming (e.g. `otp_sms_sender`, `mobile`). */
  param: string;
  message: string;
}

export type ActionResult =
  /** Show this step (possibly with an error or notice). */
  | { kind: 'view'; view: StepView }
  /** The transaction reached a final state; the page moves on to the protocol's answer. */
  | { kind: 'finished'; tx: Transaction };

export interface Authenticator {
  /** The provider name integrators use: `idp:otp-sms`, `allowedProviders: ["otp-sms"]`. */
  readonly id: string;
  /** The level of assurance a successful login reaches. */
  readonly loa: LevelOfAssurance;
  /** Attribute names (REST naming) it can return. */
  readonly attributes: readonly string[];
  /** The `idp_issuer` / SAML AuthenticatingAuthority value. */
  readonly issuer: string;
  /** Can its steps be driven over the REST API (`flow: headless`), without hosted pages? */
  readonly headless: boolean;
  /**
   * Checks and normalises the provider parameters and prefilled input of a new transaction.
   * Returns normalised values, or the problems found.
   */
  prepare(input: { providerParams: Record<string, string>; prefilledInput: Record<string, string> }):
    | { ok: true; providerParams: Record<string, string>; prefilledInput: Record<string, string> }
    | { ok: false; problems: ParamProblem[] };
  /** The step to show for a transaction that is waiting for the user. */
  view(tx: Transaction): Promise<StepView>;
  /** Handles one form submission (`action` is the last path segment, e.g. `phone`, `code`). */
  act(tx: Transaction, action: string, form: Record<string, string>, context: { lang: string; clientIp: string }): Promise<ActionResult>;
}
