/** The phone step: the typed number is checked, and a code goes to it. */
import type { Transaction } from '../../../core/transaction.js';
import type { ActContext, ActionResult } from '../../types.js';
import { parsePhoneNumber, type PhoneNumberRefusal } from '../phone.js';
import { stateOf, type OtpSmsRuntime } from '../runtime.js';
import { sendCode } from '../send-code.js';
import { codeView, phoneView, type OtpErrorKey, type OtpView } from '../views.js';

/** The message key of each reason a number is refused. */
export const PHONE_ERRORS: Readonly<Record<PhoneNumberRefusal, OtpErrorKey>> = {
  required: 'phone.error.required',
  invalid: 'phone.error.invalid',
  notMobile: 'phone.error.notMobile',
  premium: 'phone.error.premium',
  countryNotAllowed: 'phone.error.countryNotAllowed',
  prefixNotAllowed: 'phone.error.prefixNotAllowed',
};

export async function submitPhone(rt: OtpSmsRuntime, tx: Transaction, form: Record<string, string>, context: ActContext): Promise<ActionResult<OtpView>> {
  const typed = (form.phone ?? '').trim().slice(0, 64);
  const parsed = parsePhoneNumber(typed, rt.options);
  if (!parsed.ok) return { kind: 'view', view: phoneView(typed, PHONE_ERRORS[parsed.reason]) };
  const sent = await sendCode(rt, tx, parsed.e164, { lang: context.lang, origin: { clientIp: context.clientIp }, known: parsed });
  if ('error' in sent) {
    const { error, retryAfterSeconds } = sent;
    // A failed send keeps the person on the step where they can try again.
    const challenge = stateOf(sent.tx).phone === parsed.e164 ? await rt.store.otp.latest(tx.id) : null;
    if (challenge && error !== 'sms.error.sendFailed') return { kind: 'view', view: codeView(rt.options, rt.now(), sent.tx, challenge, { error, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) }) };
    return { kind: 'view', view: phoneView(typed, error, retryAfterSeconds) };
  }
  return { kind: 'view', view: codeView(rt.options, rt.now(), sent.tx, sent.challenge, { notice: 'code.notice.sent' }, sent.masked) };
}
