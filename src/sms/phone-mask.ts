/**
 * Phone numbers as people and logs see them: masked, so a page can show a person their own
 * number and a log line can tell numbers apart without anyone collecting numbers from either.
 * The one place numbers are masked (SMS providers' logs, the SMS code steps, audit events).
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * The number as shown on pages and written to logs: country calling code and the last four digits,
 * e.g. `+44 ••••••0000`. Enough for a person to recognise their own number, not enough to collect
 * numbers from logs.
 */
export function maskPhoneNumber(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  return parsed ? maskNationalNumber(parsed.countryCallingCode, parsed.nationalNumber) : maskNationalNumber(undefined, e164.replace(/\D/g, ''));
}

/** The masked form of a number already parsed into its calling code and national number. */
export function maskNationalNumber(callingCode: string | undefined, national: string): string {
  // A short number would be given away by four digits, so it shows at most half of them.
  const visible = Math.min(4, Math.floor(national.length / 2));
  return `${callingCode ? `+${callingCode} ` : ''}${'•'.repeat(national.length - visible)}${national.slice(national.length - visible)}`;
}
