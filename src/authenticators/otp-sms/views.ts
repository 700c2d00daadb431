/**
 * The two steps of an SMS login as the hosted pages show them: the phone number, then the code.
 * The views are data (also what the headless API reports); `renderStep` turns one into HTML with
 * the page kit. Texts are keys of this folder's catalogues (locales/<lang>.json).
 */
import type { OtpChallenge } from '../../store/types.js';
import type { StepContent, StepKit } from '../../ui/kit.js';
import { stateOf, type OtpSmsOptions } from './runtime.js';
import type { Transaction } from '../../core/transaction.js';
import { maskPhoneNumber } from '../../sms/phone-mask.js';

/** Message keys of this authenticator that may appear as a field error. */
export type OtpErrorKey =
  | 'phone.error.required'
  | 'phone.error.invalid'
  | 'phone.error.notMobile'
  | 'phone.error.premium'
  | 'phone.error.countryNotAllowed'
  | 'phone.error.prefixNotAllowed'
  | 'phone.error.tooManyForNumber'
  | 'sms.error.sendFailed'
  | 'sms.error.budgetExceeded'
  | 'code.error.required'
  | 'code.error.format'
  | 'code.error.wrong'
  | 'code.error.expired'
  | 'code.error.tooManyAttempts'
  | 'code.error.tooManySends'
  | 'code.error.resendTooSoon';

/** Message keys that may appear as a notice. */
export type OtpNoticeKey = 'code.notice.sent' | 'code.notice.resent';

export type OtpMessageKey = OtpErrorKey | OtpNoticeKey;

export interface PhoneView {
  kind: 'phone';
  /** Value to show in the field: what was typed, or the prefilled number. */
  phone: string;
  error?: OtpErrorKey | undefined;
  /** With `sms.error.budgetExceeded`: when a code may be sent again. */
  retryAfterSeconds?: number | undefined;
}

export interface CodeView {
  kind: 'code';
  /** E.g. "+44 •••• ••0000". */
  maskedPhone: string;
  error?: OtpErrorKey | undefined;
  notice?: OtpNoticeKey | undefined;
  /** Seconds until "send a new code" is allowed; 0 when allowed now. */
  resendInSeconds: number;
  /** Codes that may still be sent; resend is hidden at 0. */
  sendsLeft: number;
  /** Attempts left on the current code. */
  attemptsLeft: number;
  /** With `sms.error.budgetExceeded`: when a code may be sent again. */
  retryAfterSeconds?: number | undefined;
}

export type OtpView = PhoneView | CodeView;

export function phoneView(phone: string, error?: OtpErrorKey, retryAfterSeconds?: number): PhoneView {
  return { kind: 'phone', phone, ...(error ? { error } : {}), ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
}

/** `masked` is maskPhoneNumber(challenge.phoneNumber), when the caller has it already. */
export function codeView(
  options: OtpSmsOptions,
  now: number,
  tx: Transaction,
  challenge: OtpChallenge,
  extra: { error?: OtpErrorKey; notice?: OtpNoticeKey; retryAfterSeconds?: number } = {},
  masked = maskPhoneNumber(challenge.phoneNumber),
): CodeView {
  const state = stateOf(tx);
  return {
    kind: 'code',
    maskedPhone: masked,
    resendInSeconds: Math.max(0, Math.ceil(((state.lastSentAt ?? 0) + options.resendAfterSeconds * 1000 - now) / 1000)),
    sendsLeft: Math.max(0, options.maxSends - (state.sends ?? 0)),
    attemptsLeft: challenge.consumedAt === null && challenge.expiresAt > now ? Math.max(0, challenge.maxAttempts - challenge.attempts) : 0,
    ...extra,
  };
}

function phoneStep(view: PhoneView, kit: StepKit): StepContent {
  const { t } = kit;
  const input = kit.field({
    id: 'phone',
    label: t('phone.label'),
    hint: t('phone.hint'),
    error: view.error ? t(view.error) : undefined,
    inputAttributes: `type="tel" autocomplete="tel" required value="${kit.escape(view.phone)}" autofocus data-msg-required="${t('phone.error.required')}"`,
  });
  return {
    heading: t('phone.heading'),
    icon: 'phone',
    tone: 'brand',
    body: `<p class="lead">${t('phone.intro')}</p>
${kit.postForm('phone', `${input}${kit.submitButton(t('phone.submit'), 'btn-primary')}`, { className: 'main-form' })}
<div class="card-foot">${kit.cancelForm()}</div>`,
  };
}

/** The attempts line only matters once a code was wrong; before that it would be noise. */
function codeError(view: CodeView, kit: StepKit): string | undefined {
  if (!view.error) return undefined;
  const message = kit.t(view.error);
  if (view.error !== 'code.error.wrong' || view.attemptsLeft <= 0) return message;
  const form = new Intl.PluralRules(kit.lang).select(view.attemptsLeft) === 'one' ? 'one' : 'other';
  return `${message}<span class="attempts">${kit.t(`code.attemptsLeft.${form}`, { count: view.attemptsLeft })}</span>`;
}

/**
 * Resend is a form of its own. Without JavaScript its button stays usable during the wait (the
 * server refuses an early resend with `code.error.resendTooSoon`), because a button disabled in
 * the markup could never come back on; the script disables it and re-enables it when the wait ends.
 */
function resendParts(view: CodeView, kit: StepKit): { form: string; after: string } {
  const { t } = kit;
  if (view.sendsLeft <= 0) return { form: '', after: `<p class="hint more-hint">${t('code.noMoreCodes')}</p>` };
  const wait = Math.max(0, Math.ceil(view.resendInSeconds));
  if (wait === 0) return { form: kit.postForm('resend', kit.submitButton(t('code.resend'), 'btn-link', ' id="resend"')), after: '' };
  const seconds = kit.html(`<span id="resend-seconds">${wait}</span>`);
  return {
    form: kit.postForm('resend', kit.submitButton(t('code.resend'), 'btn-link', ' id="resend" aria-describedby="resend-wait"')),
    after: `<p class="hint more-hint" id="resend-wait" data-seconds="${wait}">${t('code.resendIn', { seconds })}</p>`,
  };
}

function codeStep(view: CodeView, kit: StepKit): StepContent {
  const { t } = kit;
  const notice = view.notice
    ? `<p class="notice" role="status">${kit.icon('check', 'notice-icon')}<span>${t(view.notice)}</span></p>`
    : '';
  const input = kit.field({
    id: 'code',
    label: t('code.label'),
    hint: t('code.hint'),
    error: codeError(view, kit),
    inputAttributes: `type="text" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required autofocus spellcheck="false" data-msg-required="${t('code.error.required')}" data-msg-pattern="${t('code.error.format')}"`,
  });
  const phone = kit.html(`<strong class="phone-number">${kit.escape(view.maskedPhone)}</strong>`);
  const resend = resendParts(view, kit);
  return {
    heading: t('code.heading'),
    icon: 'message',
    tone: 'brand',
    body: `<p class="lead">${t('code.intro', { phone })}</p>
${notice}
${kit.postForm('code', `${input}${kit.submitButton(t('code.submit'), 'btn-primary')}`, { className: 'main-form', id: 'code-form' })}
<div class="more">
<p class="more-title">${t('code.resendPrompt')}</p>
<div class="more-actions">
${resend.form}
${kit.postForm('change-number', kit.submitButton(t('code.changeNumber'), 'btn-link'))}
</div>
${resend.after}
</div>
<div class="card-foot">${kit.cancelForm()}</div>`,
  };
}

export function renderStep(view: OtpView, kit: StepKit): StepContent {
  return view.kind === 'phone' ? phoneStep(view, kit) : codeStep(view, kit);
}
