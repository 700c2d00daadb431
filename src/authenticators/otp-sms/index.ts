/**
 * SMS one-time code authenticator. Two steps: the phone number, then the 6-digit code.
 *
 * Rules (config `otp`): codes come from a CSPRNG, are stored only as an HMAC under the server's
 * OTP key and compared in constant time; a code is valid `codeTtlSeconds` and takes
 * `maxAttempts` tries (counted atomically in the store, so parallel guesses cannot exceed it);
 * a login sends at most `maxSends` codes, the next one no sooner than `resendAfterSeconds`
 * (counted by compare-and-set on the transaction, so two clicks cannot both send); a number
 * receives at most `maxSendsPerNumberPerHour` codes across logins; every code also spends the
 * send budgets (per address, prefix, country, client, and globally) and passes the conversion
 * guard of its prefix (send-budgets.ts), in the same store write.
 *
 * The steps are one file each under steps/; this file puts the authenticator together.
 */
import { EidhubError } from '../../core/errors.js';
import type { TransactionSubject } from '../../core/transaction.js';
import { loadCatalogs } from '../../ui/i18n.js';
import type { Authenticator, AuthenticatorPlugin, ParamProblem } from '../types.js';
import { backchannelApi } from './backchannel.js';
import { headlessApi } from './headless.js';
import { parsePhoneNumber } from './phone.js';
import { createRuntime, OTP_SMS, stateOf, type OtpSmsRuntime } from './runtime.js';
import { normalizeSender } from './sender.js';
import { changeNumber } from './steps/change-number.js';
import { submitCode } from './steps/code.js';
import { submitPhone } from './steps/phone.js';
import { resend } from './steps/resend.js';
import { codeView, phoneView, renderStep, type OtpView } from './views.js';

export { OTP_SMS };

const PROVIDER_PARAMS = ['otp_sms_sender'] as const;

/** What an SMS login learned about the person: the number, which the subject's attributes hold. */
const phoneOf = (subject: TransactionSubject): string => subject.attributes.phoneNumber ?? subject.idpId;

export function createOtpSmsAuthenticator(rt: OtpSmsRuntime): Authenticator<OtpView> {
  const { options, logger } = rt;
  /** Clients already told (once per process) that their sender cannot be carried. */
  const warnedSenders = new Set<string>();

  /**
   * A sender the SMS provider cannot carry (CONTRACT §5: an alphanumeric sender has at most 11
   * letters, digits or spaces; the seed's own `Signi__Kitten` has 12) never fails the login: the
   * SMS goes out from the configured sender, and the client is named in one warning.
   */
  function senderFor(clientId: string, requested: string): string | undefined {
    const sender = normalizeSender(requested);
    if (sender.ok) return sender.sender;
    if (!warnedSenders.has(clientId)) {
      warnedSenders.add(clientId);
      logger.warn({ clientId, problem: sender.message }, `otp-sms: client ${clientId} asks for a sender the SMS provider cannot carry; its codes go out from the configured sender "${options.defaultSender}"`);
    }
    return undefined;
  }

  return {
    id: OTP_SMS,
    displayName: 'sms.displayName',
    loa: 'low',
    amr: ['sms', 'otp'],
    issuer: OTP_SMS,
    attributes: ['idpId', 'phoneNumber'],
    oidcScopes: { 'idp-id': ['idp_id', 'idp_issuer'], phone: ['phone_number', 'phone_number_verified'] },
    providerParams: PROVIDER_PARAMS,
    actions: ['phone', 'code', 'resend', 'change-number'],
    messages: loadCatalogs(new URL('./locales/', import.meta.url)),
    claims: {
      oidc: (subject) => ({ idp_id: subject.idpId, idp_issuer: OTP_SMS, phone_number: phoneOf(subject) }),
      rest: (subject) => ({ idpId: subject.idpId, phoneNumber: phoneOf(subject) }),
      saml: (subject) => ({ idpId: subject.idpId, phoneNumber: phoneOf(subject) }),
    },
    headless: headlessApi(rt),
    backchannel: backchannelApi(rt),

    prepare({ clientId, providerParams, prefilledInput }) {
      const problems: ParamProblem[] = [];
      const params: Record<string, string> = {};
      const prefilled: Record<string, string> = {};
      if (providerParams.otp_sms_sender !== undefined) {
        const sender = senderFor(clientId, providerParams.otp_sms_sender);
        if (sender !== undefined) params.otp_sms_sender = sender;
      }
      if (prefilledInput.mobile !== undefined) {
        const parsed = parsePhoneNumber(prefilledInput.mobile, options);
        // A prefilled number the person can correct is not worth refusing the login for,
        // unless it is not a phone number at all.
        if (parsed.ok) prefilled.mobile = parsed.e164;
        else if (parsed.reason === 'invalid') problems.push({ param: 'mobile', message: 'is not a valid international phone number (use +<country code><number>)' });
        else prefilled.mobile = prefilledInput.mobile.trim();
      }
      return problems.length > 0 ? { ok: false, problems } : { ok: true, providerParams: params, prefilledInput: prefilled };
    },

    async view(tx) {
      if (stateOf(tx).phone) {
        const challenge = await rt.store.otp.latest(tx.id);
        if (challenge) return codeView(options, rt.now(), tx, challenge);
      }
      return phoneView(tx.prefilledInput.mobile ?? '');
    },

    render: renderStep,

    act(tx, action, form, context) {
      switch (action) {
        case 'phone':
          return submitPhone(rt, tx, form, context);
        case 'code':
          return submitCode(rt, tx, form);
        case 'resend':
          return resend(rt, tx, context);
        case 'change-number':
          return changeNumber(rt, tx);
        default:
          throw new EidhubError(404, 'unknown_action', `unknown step "${action}"`);
      }
    },
  };
}

/** The SMS one-time code authenticator as eidhub registers it, with the rules of config `otp`. */
export const otpSmsPlugin: AuthenticatorPlugin = {
  id: OTP_SMS,
  async create(context) {
    const { config } = context;
    return createOtpSmsAuthenticator(
      createRuntime({
        store: context.store,
        transactions: context.transactions,
        sms: context.sms,
        otpKey: await context.serverKey('otp-hmac'),
        subjectOf: context.subjectOf,
        logger: context.logger,
        now: context.now,
        options: { ...config.otp, defaultSender: config.sms.from, publicHost: new URL(config.publicUrl).host },
      }),
    );
  },
};
