/**
 * Sending a code: the one write that must come before the SMS, then the SMS.
 */
import { randomInt } from 'node:crypto';
import { timeOrderedUuid } from '../../core/ids.js';
import type { Transaction } from '../../core/transaction.js';
import type { OtpChallenge } from '../../store/types.js';
import { phoneForRecords, type PhoneForRecords } from './phone.js';
import { stateOf, type OtpSmsRuntime, type OtpState } from './runtime.js';
import { budgetsOf, conversionGuardOf, prefixOf, secondsUntil, type SendOrigin } from './send-budgets.js';
import { smsText } from './sms-text.js';
import type { OtpErrorKey } from './views.js';

/** What sendCode did: the code went out (its challenge, and the number masked), or why not (and, for a budget, when to retry). */
export type SendResult =
  | { tx: Transaction; challenge: OtpChallenge; masked: string }
  | { tx: Transaction; error: OtpErrorKey; retryAfterSeconds?: number };

/** How sendCode sends: the SMS's language, who asked (for the budgets), and what is known of the number. */
export interface SendOptions {
  lang: string;
  origin: SendOrigin;
  /** phoneForRecords(phone), when the caller has it already from parsing the number. */
  known?: PhoneForRecords;
  /** Makes the SMS body from the code; by default the hosted pages' text in `lang`, with its origin-bound last line. */
  text?: (code: string) => string;
}

const HOUR_MS = 3_600_000;

/** The state without the country of an earlier number, which a new number must not inherit. */
function withoutCountry({ country: _, ...rest }: OtpState): OtpState {
  return rest;
}

/**
 * Sends a new code to `phone`. One atomic store write comes first: the per-number counter's hit,
 * the send recorded on the transaction (compare-and-set, so concurrent submissions cannot exceed
 * the limits), the challenge and the `otp.issued` audit event. So the challenge exists before the
 * SMS leaves, and a code a person receives always exists. `known` is phoneForRecords(phone),
 * when the caller has it already from parsing the number. The audit events of a send name the
 * destination's country and the SMS provider (for the SMS counts per country and provider), and
 * the number only masked. The same write checks the send budgets and the conversion guard of the
 * number's prefix (send-budgets.ts): a code over any of them is not sent, and is audited.
 */
export async function sendCode(rt: OtpSmsRuntime, tx: Transaction, phone: string, how: SendOptions): Promise<SendResult> {
  const { lang, origin, known = phoneForRecords(phone) } = how;
  const text = how.text ?? ((code: string) => smsText(lang, code, rt.options.codeTtlSeconds, rt.options.publicHost));
  const { options } = rt;
  const { masked } = known;
  const destination = { ...(known.country ? { country: known.country } : {}), provider: rt.sms.name };
  const state = stateOf(tx);
  const t = rt.now();
  if ((state.sends ?? 0) >= options.maxSends) return { tx, error: 'code.error.tooManySends' };
  if (state.lastSentAt !== undefined && t - state.lastSentAt < options.resendAfterSeconds * 1000) {
    return { tx, error: 'code.error.resendTooSoon' };
  }
  const send = (state.sends ?? 0) + 1;
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const challengeId = timeOrderedUuid();
  const challenge: OtpChallenge = {
    id: challengeId,
    transactionId: tx.id,
    codeHash: rt.hashCode(challengeId, code),
    phoneNumber: phone,
    attempts: 0,
    maxAttempts: options.maxAttempts,
    createdAt: t,
    expiresAt: t + options.codeTtlSeconds * 1000,
    consumedAt: null,
  };
  const issued = await rt.store.otp.issue({
    now: t,
    counter: { key: rt.numberKey(phone), windowMs: HOUR_MS, limit: options.maxSendsPerNumberPerHour },
    change: rt.transactions.prepareWaiting(
      tx,
      { authState: { ...withoutCountry(state), phone, sends: send, lastSentAt: t, ...(known.country ? { country: known.country } : {}) } satisfies OtpState },
      { type: 'otp.issued', at: t, transactionId: tx.id, clientId: tx.clientId, data: { to: masked, send, ...destination } },
    ),
    challenge,
    budgets: budgetsOf(rt, { e164: phone, country: known.country, clientId: tx.clientId }, origin),
    conversion: conversionGuardOf(options, phone),
  });
  if (issued.kind === 'limited') {
    rt.logger.warn({ tx: tx.id, to: masked }, 'otp-sms: hourly limit of codes for this number reached');
    return { tx, error: 'phone.error.tooManyForNumber' };
  }
  if (issued.kind === 'overBudget' || issued.kind === 'paused') {
    const budget = issued.kind === 'paused' ? 'conversionGuard' : issued.budget;
    const retryAfterSeconds = secondsUntil(issued.retryAt, t);
    const data = { budget, to: masked, prefix: prefixOf(options, phone), retryAfterSeconds, ...destination };
    rt.logger.warn({ tx: tx.id, clientId: tx.clientId, ...data }, `otp-sms: code not sent, over the send budget ${budget}`);
    await rt.store.audit.append({ type: 'otp.budget_exceeded', at: t, transactionId: tx.id, clientId: tx.clientId, data });
    return { tx, error: 'sms.error.budgetExceeded', retryAfterSeconds };
  }
  if (issued.kind === 'issued' && issued.paused) {
    const data = { prefix: prefixOf(options, phone), until: issued.paused.until, sent: issued.paused.sent, verified: issued.paused.verified, ...(known.country ? { country: known.country } : {}) };
    rt.logger.warn(data, `otp-sms: prefix ${data.prefix} paused: ${data.verified} of ${data.sent} codes verified`);
    await rt.store.audit.append({ type: 'otp.prefix_paused', at: t, transactionId: tx.id, clientId: tx.clientId, data });
  }
  const updated = rt.transactions.applied(issued.kind === 'issued' ? issued.tx : null);
  // prepare() kept only a sender the provider can carry; any other login sends from the configured one.
  const from = updated.providerParams.otp_sms_sender ?? options.defaultSender;
  try {
    await rt.sms.send({ to: phone, from, body: text(code) });
  } catch (err) {
    rt.logger.error({ tx: tx.id, to: masked, provider: rt.sms.name, err: (err as Error).message }, 'otp-sms: could not send the code');
    await rt.store.audit.append({ type: 'otp.send_failed', at: rt.now(), transactionId: tx.id, clientId: tx.clientId, data: destination });
    return { tx: updated, error: 'sms.error.sendFailed' };
  }
  if (rt.logger.isLevelEnabled('info')) rt.logger.info({ tx: tx.id, to: masked, send }, 'otp-sms: code sent');
  return { tx: updated, challenge, masked };
}
