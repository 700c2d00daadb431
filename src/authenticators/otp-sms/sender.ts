/**
 * The SMS sender a client asks for with `acr_values=otp_sms_sender:…` or
 * `additionalParameters.otp_sms_sender`. The rules are the config's (SENDER_PATTERN), so a sender
 * a client may ask for is exactly one an operator may configure.
 */
import { SENDER_PATTERN } from '../../config/schema.js';

export type NormalizedSender = { ok: true; sender: string } | { ok: false; message: string };

const MAX_ALPHANUMERIC_LENGTH = 11;
/** The value is echoed in the error; a long one is cut so the message stays readable. */
const MAX_QUOTED_LENGTH = 32;

/** `__` stands for a space, because acr_values are separated by spaces. */
export function normalizeSender(raw: string): NormalizedSender {
  const sender = raw.replaceAll('__', ' ');
  if (SENDER_PATTERN.test(sender) && !/^\d+$/.test(sender) && sender.trim() === sender) return { ok: true, sender };
  return { ok: false, message: `otp_sms_sender: ${explain(sender)}` };
}

/** Why a sender that failed the check is wrong, in the terms an integrator can act on. */
function explain(sender: string): string {
  const quoted = quote(sender);
  if (sender === '') return 'must not be empty';
  if (sender.startsWith('+')) return `${quoted} is not an E.164 number (+ and 7 to 15 digits, no spaces)`;
  const bad = [...new Set(sender.replace(/[A-Za-z0-9 ]/g, ''))];
  if (bad.length > 0) {
    return `${quoted} contains ${bad.map((c) => JSON.stringify(c)).join(', ')}; alphanumeric senders may contain only letters A–Z, digits and spaces`;
  }
  if (/^\d+$/.test(sender)) return `${quoted} is digits only; a numeric sender must be an E.164 number such as +4712345678`;
  if (sender.length > MAX_ALPHANUMERIC_LENGTH) {
    return `${quoted} is ${sender.length} characters; alphanumeric senders may have at most ${MAX_ALPHANUMERIC_LENGTH}`;
  }
  return `${quoted} may not begin or end with a space`;
}

function quote(value: string): string {
  return JSON.stringify(value.length > MAX_QUOTED_LENGTH ? `${value.slice(0, MAX_QUOTED_LENGTH)}…` : value);
}
