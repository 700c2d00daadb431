/**
 * The SMS code over a back channel (CIBA with `channel=sms`, CONTRACT §7): the relying party names
 * the number and writes the SMS text; the person types the code into the relying party's app,
 * which hands it in. The code is the hosted pages' own (sendCode, submitCode): 6 digits, valid
 * `codeTtlSeconds`, `maxAttempts` tries, the per-number limit, the same store. One code per
 * request: a code that no longer works ends the transaction, since nobody can ask for another.
 */
import { EidhubError } from '../../core/errors.js';
import type { Transaction } from '../../core/transaction.js';
import type { BackchannelApi, BackchannelRefusal, BackchannelVerifyResult } from '../types.js';
import { problemMessage, withTriesLeft } from './headless.js';
import { checkTemplate, fillTemplate } from './message-template.js';
import { parsePhoneNumber } from './phone.js';
import type { OtpSmsRuntime } from './runtime.js';
import { sendCode } from './send-code.js';
import { submitCode } from './steps/code.js';
import { PHONE_ERRORS } from './steps/phone.js';
import type { OtpErrorKey } from './views.js';

/** How a refused send reads to the relying party. */
function refusalOf(error: OtpErrorKey, retryAfterSeconds?: number): BackchannelRefusal {
  const message = problemMessage(error);
  if (error === 'sms.error.sendFailed') return { kind: 'unavailable', message };
  if (error === 'sms.error.budgetExceeded') return { kind: 'limited', message, retryAfterSeconds };
  if (error === 'phone.error.tooManyForNumber' || error === 'code.error.tooManySends' || error === 'code.error.resendTooSoon') return { kind: 'limited', message };
  return { kind: 'input', message };
}

/**
 * The code no longer works: the transaction ends in ERROR, unless it ended meanwhile: by another
 * request with the right code (the code was used), or in ERROR (expiry).
 */
async function voided(rt: OtpSmsRuntime, tx: Transaction, code: string, message: string): Promise<BackchannelVerifyResult> {
  try {
    return { kind: 'void', tx: await rt.transactions.fail(tx, { code, message }), message };
  } catch (err) {
    if (!(err instanceof EidhubError) || err.code !== 'transaction_changed') throw err;
    const current = (await rt.transactions.get(tx.id)) ?? tx;
    if (current.status === 'WAITING_FOR_USER') throw err;
    return current.status === 'SUCCESS' ? { kind: 'used', message: 'the code was already used' } : { kind: 'void', tx: current, message };
  }
}

export function backchannelApi(rt: OtpSmsRuntime): BackchannelApi {
  return {
    channel: 'sms',

    accountFor(loginHint) {
      const parsed = parsePhoneNumber(loginHint, rt.options);
      if (!parsed.ok) return { ok: false, message: problemMessage(PHONE_ERRORS[parsed.reason]) };
      return { ok: true, subject: rt.subjectOf(parsed.e164), input: { mobile: parsed.e164 } };
    },

    checkMessage: checkTemplate,

    async start(tx, { input, template, bindingMessage }) {
      const parsed = parsePhoneNumber(input.mobile ?? '', rt.options);
      if (!parsed.ok) return { ok: false, tx, refusal: refusalOf(PHONE_ERRORS[parsed.reason]) };
      // The relying party's text is the whole SMS: the person types the code into its app, not
      // into eidhub's pages, so the hosted pages' origin-bound last line has no place in it.
      // No client address: the request comes from the relying party's server (see SendOrigin).
      const sent = await sendCode(rt, tx, parsed.e164, { lang: 'en', origin: {}, known: parsed, text: (code) => fillTemplate(template, code, bindingMessage) });
      return 'error' in sent ? { ok: false, tx: sent.tx, refusal: refusalOf(sent.error, sent.retryAfterSeconds) } : { ok: true, tx: sent.tx };
    },

    async verify(tx, code) {
      const result = await submitCode(rt, tx, { code });
      if (result.kind === 'finished') {
        const ended = result.tx;
        return ended.status === 'SUCCESS' ? { kind: 'verified', tx: ended } : { kind: 'void', tx: ended, message: ended.error?.message ?? 'the code no longer works' };
      }
      if (result.kind !== 'view') throw new EidhubError(500, 'internal', 'otp-sms: the code step redirected');
      const { view } = result;
      const error = view.kind === 'code' ? view.error : undefined;
      const attemptsLeft = view.kind === 'code' ? view.attemptsLeft : 0;
      switch (error) {
        case 'code.error.wrong':
          return { kind: 'wrong', attemptsLeft, message: withTriesLeft(problemMessage(error), attemptsLeft) };
        case 'code.error.required':
        case 'code.error.format':
          return { kind: 'refused', message: problemMessage('code.error.format') };
        case 'code.error.expired':
          return voided(rt, tx, 'code_expired', 'the code expired; start again');
        default:
          // Out of tries, or no code was ever sent for this transaction.
          return voided(rt, tx, 'code_void', 'too many wrong codes: the code no longer works; start again');
      }
    },

    claims: (oidc) => ({ phone_number: oidc.phone_number, phone_number_verified: true }),
  };
}
