/**
 * The phone number a person types, checked before a code is sent to it. Only numbers that can
 * receive an SMS are accepted: a code sent to a premium-rate or fixed-line number is at best lost
 * and at worst paid for by us (SMS pumping).
 */
// The `max` metadata is the one that tells mobile from fixed-line numbers; `min` only checks length.
import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max';
import { maskNationalNumber, maskPhoneNumber } from '../../sms/phone-mask.js';

export type PhoneNumberRefusal = 'required' | 'invalid' | 'notMobile' | 'premium' | 'countryNotAllowed' | 'prefixNotAllowed';

export type ParsedPhoneNumber =
  | { ok: true; e164: string; country: string | undefined; /** maskPhoneNumber(e164), from this parse. */ masked: string }
  | { ok: false; reason: PhoneNumberRefusal };

/** Longer input is not a phone number, and is not worth handing to the parser. */
const MAX_INPUT_LENGTH = 40;

/** What people type between digits: spaces (also no-break ones), dashes, dots and parentheses. */
const SEPARATORS = /[\s\-.()]/g;

/**
 * Ofcom keeps +44 7700 900000–900999 for drama and documentation, so it never reaches a real
 * phone. libphonenumber marks it invalid; we accept it as a UK mobile because it is the number the
 * docs, the sandbox and the tests use.
 */
const UK_DRAMA_MOBILE = /^\+447700900\d{3}$/;

/** Numbers that cost the sender or the network extra, or belong to a service rather than a person. */
const SERVICE_TYPES: ReadonlySet<NumberType> = new Set(['PREMIUM_RATE', 'SHARED_COST', 'TOLL_FREE']);

/** In some countries (the US, DK, …) mobile and fixed-line numbers share ranges, so both kinds pass. */
const MOBILE_TYPES: ReadonlySet<NumberType> = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

/**
 * Parses an international number (`+` or `00` first; there is no default country, so a national
 * number is refused as invalid) into E.164.
 *
 * @param opts.allowedCountries ISO 3166 codes the number must belong to; empty allows every country.
 * @param opts.allowedPrefixes E.164 prefixes the number must start with; empty or absent allows every one.
 */
export function parsePhoneNumber(input: string, opts: { allowedCountries: readonly string[]; allowedPrefixes?: readonly string[] }): ParsedPhoneNumber {
  const trimmed = input.trim();
  if (trimmed === '') return { ok: false, reason: 'required' };
  if (trimmed.length > MAX_INPUT_LENGTH) return { ok: false, reason: 'invalid' };

  const compact = trimmed.replace(SEPARATORS, '').replace(/^00/, '+');
  if (!/^\+\d+$/.test(compact)) return { ok: false, reason: 'invalid' };

  const parsed = parsePhoneNumberFromString(compact);
  if (!parsed) return { ok: false, reason: 'invalid' };

  // Checked on the parsed number so that "+44 (0)7700 900000" is recognised too.
  const drama = UK_DRAMA_MOBILE.test(parsed.number);
  if (!drama && !parsed.isValid()) return { ok: false, reason: 'invalid' };

  const country = drama ? 'GB' : parsed.country;
  if (opts.allowedCountries.length > 0 && (country === undefined || !opts.allowedCountries.includes(country))) {
    return { ok: false, reason: 'countryNotAllowed' };
  }
  const allowedPrefixes = opts.allowedPrefixes ?? [];
  if (allowedPrefixes.length > 0 && !allowedPrefixes.some((prefix) => parsed.number.startsWith(prefix))) return { ok: false, reason: 'prefixNotAllowed' };
  const type: NumberType | undefined = drama ? 'MOBILE' : parsed.getType();
  if (type !== undefined && SERVICE_TYPES.has(type)) return { ok: false, reason: 'premium' };
  // Fixed line, VoIP, pager, personal and universal access numbers cannot be relied on for SMS.
  if (type === undefined || !MOBILE_TYPES.has(type)) return { ok: false, reason: 'notMobile' };
  return { ok: true, e164: parsed.number, country, masked: maskNationalNumber(parsed.countryCallingCode, parsed.nationalNumber) };
}

/** What audit records and pages may say of a number already accepted: masked, and its country. */
export interface PhoneForRecords {
  masked: string;
  /** ISO 3166-1 alpha-2; undefined for numbers of no one country (e.g. +800). */
  country: string | undefined;
}

/** PhoneForRecords of an E.164 number parsePhoneNumber accepted earlier (e.g. the one a login keeps for a resend). */
export function phoneForRecords(e164: string): PhoneForRecords {
  const parsed = parsePhoneNumber(e164, { allowedCountries: [] });
  return parsed.ok ? { masked: parsed.masked, country: parsed.country } : { masked: maskPhoneNumber(e164), country: undefined };
}
