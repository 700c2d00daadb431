/**
 * The code step: one atomic store write counts the attempt, compares the code and either consumes
 * the challenge and ends the login, or records the wrong code.
 */
import type { Transaction } from '../../../core/transaction.js';
import type { OtpChallenge } from '../../../store/types.js';
import type { ActionResult } from '../../types.js';
import { stateOf, type OtpSmsRuntime } from '../runtime.js';
import { conversionOf } from '../send-budgets.js';
import { codeView, phoneView, type OtpErrorKey, type OtpView } from '../views.js';

const CODE_PATTERN = /^[0-9]{6}$/;

export async function submitCode(rt: OtpSmsRuntime, tx: Transaction, form: Record<string, string>): Promise<ActionResult<OtpView>> {
  const challenge = stateOf(tx).phone ? await rt.store.otp.latest(tx.id) : null;
  if (!challenge) return { kind: 'view', view: phoneView(tx.prefilledInput.mobile ?? '') };
  const t = rt.now();
  const view = (c: OtpChallenge, error: OtpErrorKey): ActionResult<OtpView> => ({ kind: 'view', view: codeView(rt.options, t, tx, c, { error }) });
  const code = (form.code ?? '').replace(/\s+/g, '');
  if (code === '') return view(challenge, 'code.error.required');
  if (!CODE_PATTERN.test(code)) return view(challenge, 'code.error.format');
  if (challenge.expiresAt <= t) return view(challenge, 'code.error.expired');

  const phone = challenge.phoneNumber;
  const success = rt.transactions.prepareTransition(tx, 'SUCCESS', {
    subject: { id: rt.subjectOf(phone), idpId: phone, attributes: { idpId: phone, phoneNumber: phone } },
    loa: 'low',
  });
  // The number's country, for the logins per country (stateOf(tx).phone is the challenge's number).
  const { country } = stateOf(tx);
  if (country) success.audit = { ...success.audit, data: { ...success.audit.data, country } };
  const conversion = conversionOf(rt.options, challenge.phoneNumber);
  const result = await rt.store.otp.verify({
    id: challenge.id,
    now: t,
    codeHash: rt.hashCode(challenge.id, code),
    onMatch: success,
    onWrong: { type: 'otp.wrong', at: t, transactionId: tx.id, clientId: tx.clientId },
    // A code verified counts for its prefix's conversion (send-budgets.ts).
    ...(conversion ? { conversion } : {}),
  });
  switch (result.kind) {
    case 'void': {
      // Another request with the same code won the race; that request finishes the login.
      if (result.challenge && result.challenge.consumedAt !== null) return view(result.challenge, 'code.error.expired');
      const latest = (await rt.store.otp.latest(tx.id)) ?? challenge;
      return afterVoid(rt, tx, latest, latest.expiresAt <= t ? 'code.error.expired' : 'code.error.tooManyAttempts');
    }
    case 'wrong':
      if (result.challenge.attempts >= result.challenge.maxAttempts) return afterVoid(rt, tx, result.challenge, 'code.error.tooManyAttempts');
      return view(result.challenge, 'code.error.wrong');
    case 'changed': // the login changed meanwhile: the code stays unused, and applied() throws transaction_changed
    case 'verified':
      return { kind: 'finished', tx: rt.transactions.applied(result.kind === 'verified' ? result.tx : null) };
  }
}

/** A void code with no sends left ends the login: nothing more the person can do. */
async function afterVoid(rt: OtpSmsRuntime, tx: Transaction, challenge: OtpChallenge, error: OtpErrorKey): Promise<ActionResult<OtpView>> {
  const sendsLeft = rt.options.maxSends - (stateOf(tx).sends ?? 0);
  if (sendsLeft <= 0 && error === 'code.error.tooManyAttempts') {
    return { kind: 'finished', tx: await rt.transactions.fail(tx, { code: 'too_many_attempts', message: 'too many wrong codes' }) };
  }
  return { kind: 'view', view: codeView(rt.options, rt.now(), tx, challenge, { error }) };
}
