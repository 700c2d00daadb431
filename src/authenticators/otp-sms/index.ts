/**
 * SMS one-time code authenticator. Two steps: the phone number, then the 6-digit code.
 *
 * Rules (config `otp`): codes come from a CSPRNG, are stored only as an HMAC under the server's
 * OTP key and compared in constant time; a code is valid `codeTtlSeconds` and takes
 * `maxAttempts` tries (counted atomically in the store, so parallel guesses cannot exceed it);
 * a login sends at most `maxSends` codes, the next one no sooner than `resendAfterSeconds`
 * (counted by compare-and-set on the transaction, so two clicks cannot both send); a number
 * receives at most `maxSendsPerNumberPerHour` codes across logins.
 */
import { createHmac, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { EidhubError } from '../../core/errors.js';
import { deriveSubject } from '../../core/subject.js';
import type { Transaction } from '../../core/transaction.js';
import type { TransactionService } from '../../core/transactions.js';
import type { SmsProvider } from '../../sms/types.js';
import type { OtpChallenge, Store } from '../../store/types.js';
import type { MessageKey, StepView } from '../../ui/view.js';
import type { ActionResult, Authenticator, ParamProblem } from '../types.js';
import { maskPhoneNumber, parsePhoneNumber } from './phone.js';
import { normalizeSender } from './sender.js';
import { smsText } from './sms-text.js';
import { timeOrderedUuid } from '../../core/ids.js';

export const OTP_SMS = 'otp-sms';

export interface OtpSmsOptions {
  codeTtlSeconds: number;
  maxAttempts: number;
  maxSends: number;
  resendAfterSeconds: number;
  maxSendsPerNumberPerHour: number;
  allowedCountries: string[];
  defaultSender: string;
  publicHost: string;
}

interface OtpState {
  /** E.164 number the current code went to; absent on the phone step. */
  phone?: string;
  /** Codes sent in this login. */
  sends?: number;
  lastSentAt?: number;
}

/** What sendCode did: the code went out (its challenge, and the number masked), or why not. */
type SendResult = { tx: Transaction; challenge: OtpChallenge; masked: string } | { tx: Transaction; error: MessageKey };

const CODE_PATTERN = /^[0-9]{6}$/;
const HOUR_MS = 3_600_000;

const PHONE_ERRORS: Record<string, MessageKey> = {
  required: 'phone.error.required',
  invalid: 'phone.error.invalid',
  notMobile: 'phone.error.notMobile',
  premium: 'phone.error.premium',
  countryNotAllowed: 'phone.error.countryNotAllowed',
};

export function createOtpSmsAuthenticator(deps: {
  store: Store;
  transactions: TransactionService;
  sms: SmsProvider;
  otpKey: Buffer;
  subjectKey: Buffer;
  options: OtpSmsOptions;
  logger: Logger;
  now?: () => number;
}): Authenticator {
  const { store, transactions, sms, otpKey, subjectKey, options, logger } = deps;
  const now = deps.now ?? Date.now;

  const hashCode = (challengeId: string, code: string) => createHmac('sha256', otpKey).update(`${challengeId}:${code}`).digest();
  /** Counter key for a number: keyed, so the counters table never holds the number itself. */
  const numberKey = (e164: string) => `otp-sms:number:${createHmac('sha256', otpKey).update(`number:${e164}`).digest('base64url').slice(0, 22)}`;
  const stateOf = (tx: Transaction) => tx.authState as OtpState;

  /** `masked` is maskPhoneNumber(challenge.phoneNumber), when the caller has it already. */
  function codeView(
    tx: Transaction,
    challenge: OtpChallenge,
    extra: { error?: MessageKey; notice?: MessageKey } = {},
    masked = maskPhoneNumber(challenge.phoneNumber),
  ): StepView {
    const state = stateOf(tx);
    const t = now();
    const sendsLeft = Math.max(0, options.maxSends - (state.sends ?? 0));
    return {
      kind: 'code',
      maskedPhone: masked,
      resendInSeconds: Math.max(0, Math.ceil(((state.lastSentAt ?? 0) + options.resendAfterSeconds * 1000 - t) / 1000)),
      sendsLeft,
      attemptsLeft: challenge.consumedAt === null && challenge.expiresAt > t ? Math.max(0, challenge.maxAttempts - challenge.attempts) : 0,
      ...extra,
    };
  }

  function phoneView(phone: string, error?: MessageKey): StepView {
    return { kind: 'phone', phone, ...(error ? { error } : {}) };
  }

  /**
   * Sends a new code to `phone`. One atomic store write comes first: the per-number counter's hit,
   * the send recorded on the transaction (compare-and-set, so concurrent submissions cannot exceed
   * the limits), the challenge and the `otp.issued` audit event. So the challenge exists before the
   * SMS leaves, and a code a person receives always exists. `masked` is maskPhoneNumber(phone),
   * when the caller has it already.
   */
  async function sendCode(tx: Transaction, phone: string, lang: string, masked = maskPhoneNumber(phone)): Promise<SendResult> {
    const state = stateOf(tx);
    const t = now();
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
      codeHash: hashCode(challengeId, code).toString('base64url'),
      phoneNumber: phone,
      attempts: 0,
      maxAttempts: options.maxAttempts,
      createdAt: t,
      expiresAt: t + options.codeTtlSeconds * 1000,
      consumedAt: null,
    };
    const issued = await store.otp.issue({
      now: t,
      counter: { key: numberKey(phone), windowMs: HOUR_MS, limit: options.maxSendsPerNumberPerHour },
      change: transactions.prepareWaiting(
        tx,
        { authState: { ...state, phone, sends: send, lastSentAt: t } satisfies OtpState },
        { type: 'otp.issued', at: t, transactionId: tx.id, clientId: tx.clientId, data: { to: masked, send } },
      ),
      challenge,
    });
    if (issued.kind === 'limited') {
      logger.warn({ tx: tx.id, to: masked }, 'otp-sms: hourly limit of codes for this number reached');
      return { tx, error: 'phone.error.tooManyForNumber' };
    }
    const updated = transactions.applied(issued.kind === 'issued' ? issued.tx : null);
    const from = updated.providerParams.otp_sms_sender ?? options.defaultSender;
    try {
      await sms.send({ to: phone, from, body: smsText(lang, code, options.codeTtlSeconds, options.publicHost) });
    } catch (err) {
      logger.error({ tx: tx.id, to: masked, provider: sms.name, err: (err as Error).message }, 'otp-sms: could not send the code');
      await store.audit.append({ type: 'otp.send_failed', at: now(), transactionId: tx.id, clientId: tx.clientId, data: { provider: sms.name } });
      return { tx: updated, error: 'sms.error.sendFailed' };
    }
    if (logger.isLevelEnabled('info')) logger.info({ tx: tx.id, to: masked, send }, 'otp-sms: code sent');
    return { tx: updated, challenge, masked };
  }

  async function submitPhone(tx: Transaction, form: Record<string, string>, lang: string): Promise<ActionResult> {
    const typed = (form.phone ?? '').trim().slice(0, 64);
    const parsed = parsePhoneNumber(typed, { allowedCountries: options.allowedCountries });
    if (!parsed.ok) return { kind: 'view', view: phoneView(typed, PHONE_ERRORS[parsed.reason] ?? 'phone.error.invalid') };
    const sent = await sendCode(tx, parsed.e164, lang, parsed.masked);
    if ('error' in sent) {
      // A failed send keeps the person on the step where they can try again.
      const challenge = stateOf(sent.tx).phone === parsed.e164 ? await store.otp.latest(tx.id) : null;
      if (challenge && sent.error !== 'sms.error.sendFailed') return { kind: 'view', view: codeView(sent.tx, challenge, { error: sent.error }) };
      return { kind: 'view', view: phoneView(typed, sent.error) };
    }
    return { kind: 'view', view: codeView(sent.tx, sent.challenge, { notice: 'code.notice.sent' }, sent.masked) };
  }

  async function submitCode(tx: Transaction, form: Record<string, string>): Promise<ActionResult> {
    const state = stateOf(tx);
    const challenge = state.phone ? await store.otp.latest(tx.id) : null;
    if (!challenge) return { kind: 'view', view: phoneView(tx.prefilledInput.mobile ?? '') };
    const code = (form.code ?? '').replace(/\s+/g, '');
    if (code === '') return { kind: 'view', view: codeView(tx, challenge, { error: 'code.error.required' }) };
    if (!CODE_PATTERN.test(code)) return { kind: 'view', view: codeView(tx, challenge, { error: 'code.error.format' }) };
    const t = now();
    if (challenge.expiresAt <= t) return { kind: 'view', view: codeView(tx, challenge, { error: 'code.error.expired' }) };

    // One atomic store write: the attempt is counted, the code compared, and then either the
    // challenge is consumed and the login succeeds, or the wrong code is recorded.
    const phone = challenge.phoneNumber;
    const result = await store.otp.verify({
      id: challenge.id,
      now: t,
      codeHash: hashCode(challenge.id, code).toString('base64url'),
      onMatch: transactions.prepareTransition(tx, 'SUCCESS', {
        subject: { id: deriveSubject(subjectKey, OTP_SMS, phone), idpId: phone, attributes: { idpId: phone, phoneNumber: phone } },
        loa: 'low',
      }),
      onWrong: { type: 'otp.wrong', at: t, transactionId: tx.id, clientId: tx.clientId },
    });
    switch (result.kind) {
      case 'void': {
        if (result.challenge && result.challenge.consumedAt !== null) {
          // Another request with the same code won the race; that request finishes the login.
          return { kind: 'view', view: codeView(tx, result.challenge, { error: 'code.error.expired' }) };
        }
        const latest = (await store.otp.latest(tx.id)) ?? challenge;
        const error: MessageKey = latest.expiresAt <= t ? 'code.error.expired' : 'code.error.tooManyAttempts';
        return afterVoid(tx, latest, error);
      }
      case 'wrong':
        if (result.challenge.attempts >= result.challenge.maxAttempts) return afterVoid(tx, result.challenge, 'code.error.tooManyAttempts');
        return { kind: 'view', view: codeView(tx, result.challenge, { error: 'code.error.wrong' }) };
      case 'changed': // the login changed meanwhile: the code stays unused, and applied() throws transaction_changed
      case 'verified':
        return { kind: 'finished', tx: transactions.applied(result.kind === 'verified' ? result.tx : null) };
    }
  }

  /** A void code with no sends left ends the login: nothing more the person can do. */
  async function afterVoid(tx: Transaction, challenge: OtpChallenge, error: MessageKey): Promise<ActionResult> {
    const sendsLeft = options.maxSends - (stateOf(tx).sends ?? 0);
    if (sendsLeft <= 0 && error === 'code.error.tooManyAttempts') {
      const finished = await transactions.fail(tx, { code: 'too_many_attempts', message: 'too many wrong codes' });
      return { kind: 'finished', tx: finished };
    }
    return { kind: 'view', view: codeView(tx, challenge, { error }) };
  }

  async function resend(tx: Transaction, lang: string): Promise<ActionResult> {
    const phone = stateOf(tx).phone;
    if (!phone) return { kind: 'view', view: phoneView(tx.prefilledInput.mobile ?? '') };
    const sent = await sendCode(tx, phone, lang);
    if (!('error' in sent)) return { kind: 'view', view: codeView(sent.tx, sent.challenge, { notice: 'code.notice.resent' }, sent.masked) };
    const challenge = await store.otp.latest(tx.id);
    return { kind: 'view', view: codeView(sent.tx, challenge!, { error: sent.error }) };
  }

  async function changeNumber(tx: Transaction): Promise<ActionResult> {
    const { phone: _dropped, ...rest } = stateOf(tx);
    await transactions.updateWaiting(tx, { authState: rest });
    return { kind: 'view', view: phoneView('') };
  }

  return {
    id: OTP_SMS,
    loa: 'low',
    issuer: OTP_SMS,
    headless: true,
    attributes: ['idpId', 'phoneNumber'],

    prepare({ providerParams, prefilledInput }) {
      const problems: ParamProblem[] = [];
      const params: Record<string, string> = {};
      const prefilled: Record<string, string> = {};
      if (providerParams.otp_sms_sender !== undefined) {
        const sender = normalizeSender(providerParams.otp_sms_sender);
        if (sender.ok) params.otp_sms_sender = sender.sender;
        else problems.push({ param: 'otp_sms_sender', message: sender.message });
      }
      if (prefilledInput.mobile !== undefined) {
        const parsed = parsePhoneNumber(prefilledInput.mobile, { allowedCountries: options.allowedCountries });
        // A prefilled number the person can correct is not worth refusing the login for,
        // unless it is not a phone number at all.
        if (parsed.ok) prefilled.mobile = parsed.e164;
        else if (parsed.reason === 'invalid') problems.push({ param: 'mobile', message: 'is not a valid international phone number (use +<country code><number>)' });
        else prefilled.mobile = prefilledInput.mobile.trim();
      }
      return problems.length > 0 ? { ok: false, problems } : { ok: true, providerParams: params, prefilledInput: prefilled };
    },

    async view(tx) {
      const state = stateOf(tx);
      if (state.phone) {
        const challenge = await store.otp.latest(tx.id);
        if (challenge) return codeView(tx, challenge);
      }
      return phoneView(tx.prefilledInput.mobile ?? '');
    },

    async act(tx, action, form, context) {
      switch (action) {
        case 'phone':
          return submitPhone(tx, form, context.lang);
        case 'code':
          return submitCode(tx, form);
        case 'resend':
          return resend(tx, context.lang);
        case 'change-number':
          return changeNumber(tx);
        default:
          throw new EidhubError(404, 'unknown_action', `unknown step "${action}"`);
      }
    },
  };
}
