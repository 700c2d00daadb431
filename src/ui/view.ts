/**
 * What the hosted pages show, independent of HTML: authenticators describe a step as a `StepView`
 * and ui/templates.ts renders it. Every user-visible string is a message key of ui/locales/*.json.
 */

export const LANGUAGES = ['en', 'da', 'nl', 'fi', 'el', 'no', 'sv'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Message keys that may appear as a field error or a notice. */
export type MessageKey =
  // phone step
  | 'phone.error.required'
  | 'phone.error.invalid'
  | 'phone.error.notMobile'
  | 'phone.error.premium'
  | 'phone.error.countryNotAllowed'
  | 'phone.error.tooManyForNumber'
  | 'sms.error.sendFailed'
  // code step
  | 'code.error.required'
  | 'code.error.format'
  | 'code.error.wrong'
  | 'code.error.expired'
  | 'code.error.tooManyAttempts'
  | 'code.error.tooManySends'
  | 'code.notice.sent'
  | 'code.notice.resent'
  | 'code.error.resendTooSoon'
  // whole-page errors
  | 'error.expired'
  | 'error.finished'
  | 'error.notFound'
  | 'error.otherBrowser'
  | 'error.invalidRequest'
  | 'error.csrf'
  | 'error.internal'
  | 'error.tooManyRequests';

export type StepView =
  | {
      kind: 'phone';
      /** Value to show in the field: what was typed, or the prefilled number. */
      phone: string;
      error?: MessageKey | undefined;
    }
  | {
      kind: 'code';
      /** E.g. "+44 •••• ••0000". */
      maskedPhone: string;
      error?: MessageKey | undefined;
      notice?: MessageKey | undefined;
      /** Seconds until "send a new code" is allowed; 0 when allowed now. */
      resendInSeconds: number;
      /** Codes that may still be sent; resend is hidden at 0. */
      sendsLeft: number;
      /** Attempts left on the current code. */
      attemptsLeft: number;
    }
  | {
      /** The login is over; continue to `url` (form GET so it works without JavaScript). */
      kind: 'continue';
      url: string;
      outcome: 'success' | 'abort' | 'error';
      /** In a frame: tell the parent page before moving on (window.postMessage to each origin). */
      notify?: { targetOrigins: string[]; message: Record<string, string> } | undefined;
    }
  | {
      kind: 'error';
      message: MessageKey;
      /** Where "back to the service" leads, when known. */
      backUrl?: string | undefined;
    };

export interface PageModel {
  lang: Language;
  /** The relying party's display name, when known. */
  clientName?: string | undefined;
  step: StepView;
  /** Base path for the step's form actions, e.g. `/login/<txId>`; POST targets are `${actionBase}/phone` etc. */
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
