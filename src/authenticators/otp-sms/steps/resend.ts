/** Resend: a new code to the number of the code step, within the login's limits. */
import type { Transaction } from '../../../core/transaction.js';
import type { ActContext, ActionResult } from '../../types.js';
import { stateOf, type OtpSmsRuntime } from '../runtime.js';
import { sendCode } from '../send-code.js';
import { codeView, phoneView, type OtpView } from '../views.js';

export async function resend(rt: OtpSmsRuntime, tx: Transaction, context: ActContext): Promise<ActionResult<OtpView>> {
  const phone = stateOf(tx).phone;
  if (!phone) return { kind: 'view', view: phoneView(tx.prefilledInput.mobile ?? '') };
  const sent = await sendCode(rt, tx, phone, { lang: context.lang, origin: { clientIp: context.clientIp } });
  if (!('error' in sent)) return { kind: 'view', view: codeView(rt.options, rt.now(), sent.tx, sent.challenge, { notice: 'code.notice.resent' }, sent.masked) };
  const { error, retryAfterSeconds } = sent;
  const challenge = await rt.store.otp.latest(tx.id);
  if (!challenge) return { kind: 'view', view: phoneView(phone, error, retryAfterSeconds) };
  return { kind: 'view', view: codeView(rt.options, rt.now(), sent.tx, challenge, { error, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) }) };
}
