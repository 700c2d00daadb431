/**
 * The headless API of the SMS code: `POST /auth/rest/sessions/{id}/otp-sms/send` and `…/verify`,
 * for integrators who collect the number and the code on their own screens. The steps are the
 * hosted pages' own (same limits, attempts and expiry); a refused step becomes a problem with a
 * stable code, and the session object carries `otp` while the code step runs.
 */
import { EidhubError } from '../../core/errors.js';
import type { HeadlessApi, HeadlessStep, StepView } from '../types.js';
import type { OtpSmsRuntime } from './runtime.js';
import { submitCode } from './steps/code.js';
import { submitPhone } from './steps/phone.js';
import type { OtpErrorKey, OtpView } from './views.js';

/** How a refused step is reported: status, code, message, and whether the field is named. */
const PROBLEMS: Record<OtpErrorKey, [number, string, string]> = {
  'phone.error.required': [400, 'invalid_phone_number', 'a mobile number is required'],
  'phone.error.invalid': [400, 'invalid_phone_number', 'not a valid international mobile number (use +<country code><number>)'],
  'phone.error.notMobile': [400, 'invalid_phone_number', 'not a mobile number'],
  'phone.error.premium': [400, 'invalid_phone_number', 'premium-rate and other special numbers are not accepted'],
  'phone.error.countryNotAllowed': [400, 'invalid_phone_number', 'numbers of this country are not accepted'],
  'phone.error.prefixNotAllowed': [400, 'invalid_phone_number', 'numbers with this prefix are not accepted'],
  'phone.error.tooManyForNumber': [429, 'too_many_codes', 'this number received too many codes recently; try again later'],
  'sms.error.sendFailed': [502, 'sms_send_failed', 'the SMS could not be sent; try again'],
  'sms.error.budgetExceeded': [429, 'sms_budget_exceeded', 'too many codes were sent recently (a send budget is spent); try again after Retry-After seconds'],
  'code.error.resendTooSoon': [429, 'resend_too_soon', 'wait before asking for another code'],
  'code.error.tooManySends': [429, 'too_many_codes', 'no more codes can be sent in this session'],
  'code.error.required': [400, 'invalid_code', 'the code is required'],
  'code.error.format': [400, 'invalid_code', 'the code has 6 digits'],
  'code.error.wrong': [400, 'wrong_code', 'the code is wrong'],
  'code.error.expired': [400, 'code_expired', 'the code expired; send a new one'],
  'code.error.tooManyAttempts': [400, 'code_void', 'too many wrong tries: the code no longer works; send a new one'],
};

/** How a refused step is worded (the back channel reports its refusals in the same words). */
export function problemMessage(key: OtpErrorKey): string {
  return PROBLEMS[key][2];
}

/** `message`, with the tries left on the code when there are some. */
export function withTriesLeft(message: string, attemptsLeft: number): string {
  return `${message} (${attemptsLeft} ${attemptsLeft === 1 ? 'try' : 'tries'} left)`;
}

/** Problems about the person's input name its field; those about limits and delivery do not. */
const NOT_ABOUT_A_FIELD = new Set(['too_many_codes', 'sms_send_failed', 'resend_too_soon', 'sms_budget_exceeded']);

const sendBody = {
  type: 'object',
  additionalProperties: false,
  required: ['mobile'],
  properties: { mobile: { type: 'string', minLength: 1, maxLength: 64, description: 'The mobile number in international format, e.g. `+447700900000`.' } },
} as const;

const verifyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['code'],
  properties: { code: { type: 'string', minLength: 1, maxLength: 16, description: 'The 6-digit code the person received.' } },
} as const;

const otpStatusSchema = {
  type: 'object',
  description: 'Headless sessions: where the SMS code step stands.',
  required: ['maskedPhone', 'sendsLeft', 'resendInSeconds', 'attemptsLeft'],
  properties: {
    maskedPhone: { type: 'string', description: 'The number the code went to, masked.' },
    sendsLeft: { type: 'integer', description: 'Codes that may still be sent.' },
    resendInSeconds: { type: 'integer', description: 'Seconds until another code may be sent.' },
    attemptsLeft: { type: 'integer', description: 'Tries left on the current code.' },
  },
} as const;

const isOtpView = (view: StepView): view is OtpView => view.kind === 'phone' || view.kind === 'code';

export function headlessApi(rt: OtpSmsRuntime): HeadlessApi {
  const steps: HeadlessStep[] = [
    {
      name: 'send',
      summary: 'Headless flow: send an SMS code to the number (again: a new code)',
      body: sendBody,
      // The phone step sends a code whatever step the session is in; its limits apply as usual.
      run: (tx, body, context) => submitPhone(rt, tx, { phone: typeof body.mobile === 'string' ? body.mobile : '' }, context),
    },
    {
      name: 'verify',
      summary: 'Headless flow: check the code; on success the session is SUCCESS with the subject',
      body: verifyBody,
      run: (tx, body) => submitCode(rt, tx, { code: typeof body.code === 'string' ? body.code : '' }),
    },
  ];
  return {
    steps,
    refusal(view, step) {
      const key = (view.error ?? '') as OtpErrorKey;
      const [status, code, message] = PROBLEMS[key] ?? [400, 'invalid_request', 'the step was refused'];
      const attemptsLeft = isOtpView(view) && view.kind === 'code' ? view.attemptsLeft : undefined;
      const text = code === 'wrong_code' && attemptsLeft !== undefined ? withTriesLeft(message, attemptsLeft) : message;
      const field = step.name === 'send' ? 'mobile' : 'code';
      // Too soon for another code: Retry-After is the wait the code step shows.
      const wait = code === 'resend_too_soon' && isOtpView(view) && view.kind === 'code' ? Math.max(1, view.resendInSeconds) : undefined;
      return new EidhubError(status, code, text, { field: NOT_ABOUT_A_FIELD.has(code) ? undefined : field, retryAfterSeconds: view.retryAfterSeconds ?? wait });
    },
    status: {
      name: 'otp',
      schema: otpStatusSchema,
      of(view) {
        if (!isOtpView(view) || view.kind !== 'code') return undefined;
        return { maskedPhone: view.maskedPhone, sendsLeft: view.sendsLeft, resendInSeconds: view.resendInSeconds, attemptsLeft: view.attemptsLeft };
      },
    },
    problems: {
      invalid_phone_number: 'The mobile number is missing, not a valid international mobile number, a special number or of a country not accepted.',
      too_many_codes: 'No more codes may be sent: to this number for now, or in this session.',
      resend_too_soon: 'Another code may be sent only after a short wait.',
      sms_send_failed: 'The SMS provider did not accept the message; try again.',
      sms_budget_exceeded: 'A send budget (per address, number prefix, country, client or the global ceiling) or the conversion guard of the number\'s prefix refused the code; the answer\'s Retry-After says when to try again.',
      invalid_code: 'The code is missing or not 6 digits.',
      wrong_code: 'The code is wrong; the message says how many tries are left.',
      code_expired: 'The code expired; send a new one.',
      code_void: 'Too many wrong tries: the code no longer works; send a new one.',
    },
  };
}
