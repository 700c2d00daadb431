/**
 * What a hosted page shows, independent of HTML: an authenticator's step (which the authenticator
 * renders with the page kit), the way on to the protocol's answer, or an error. ui/templates.ts
 * renders a `PageModel`. Every user-visible string is a message key of a catalogue.
 */
import type { StepContent, StepKit } from './kit.js';
import type { Language } from './languages.js';

/** Whole-page errors: the pages' own message keys. */
export type PageMessageKey =
  | 'error.expired'
  | 'error.finished'
  | 'error.notFound'
  | 'error.otherBrowser'
  | 'error.invalidRequest'
  | 'error.csrf'
  | 'error.internal'
  | 'error.tooManyRequests';

export type Outcome = 'success' | 'abort' | 'error';

export type PageStep =
  | {
      /** An authenticator's step: it renders its own view with the page's kit. */
      kind: 'step';
      render: (kit: StepKit) => StepContent;
    }
  | {
      /**
       * The login is over; the browser carries the protocol's answer on: a GET to `url` (its query
       * as form fields) or a POST of `fields` to `url` (a form that submits itself, with a button
       * for browsers without JavaScript).
       */
      kind: 'continue';
      method: 'get' | 'post';
      url: string;
      fields?: Readonly<Record<string, string>> | undefined;
      outcome: Outcome;
      /** In a frame: tell the parent page before moving on (window.postMessage to each origin). */
      notify?: { targetOrigins: string[]; message: Record<string, string> } | undefined;
    }
  | {
      /**
       * Several providers may run this login and the person picks one: a POST form per provider
       * to the pages' `choose` action, whose button sends its id as `provider`.
       */
      kind: 'choose';
      providers: ReadonlyArray<{
        id: string;
        /** A message key naming it (Authenticator.displayName); without one its id is shown. */
        name: string | undefined;
        /** Its name as is, in every language (Authenticator.displayText); wins over name. */
        text?: string | undefined;
      }>;
    }
  | {
      /** The login is over and its answer went by the back channel: nothing to continue to. */
      kind: 'done';
      outcome: Outcome;
    }
  | {
      /**
       * RP-initiated logout asks the person to confirm: oidc-provider's own form (its action and
       * its xsrf field, oidc-provider's HTML), which the page's two buttons submit by `form=`.
       */
      kind: 'logout';
      host: string;
      formHtml: string;
      formId: string;
    }
  | {
      /** The person logged out (and no relying party asked to be returned to). */
      kind: 'loggedOut';
    }
  | {
      kind: 'error';
      message: PageMessageKey;
      /** Where "back to the service" leads, when known. */
      backUrl?: string | undefined;
    };

export interface PageModel {
  lang: Language;
  /** The relying party's display name, when known. */
  clientName?: string | undefined;
  step: PageStep;
  /** Base path for the step's form actions, e.g. `/login/<txId>`; POST targets are `${actionBase}/<action>`. */
  actionBase: string;
  /** Hidden form fields every form carries (CSRF token and browser binding). */
  hidden: Record<string, string>;
  /** Nonce for the page's inline <script>, matched by the CSP header. */
  cspNonce: string;
  /** Host of the public URL, for the WebOTP `@host #code` line. */
  publicHost: string;
  /** Is the page framed (embedded flow): layout without outer chrome. */
  embedded: boolean;
}
