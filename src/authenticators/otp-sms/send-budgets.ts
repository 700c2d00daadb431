/**
 * What a code may cost: the send budgets (config `otp.budgets`) and the conversion guard (config
 * `otp.conversionGuard`) of one send, as the store checks them in the same atomic write as the
 * code (OtpChallengeStore.issue). SMS pumping sends codes to numbers an attacker is paid for, from
 * many addresses, through one client or across a whole range of numbers; each budget closes one of
 * those doors, and the guard closes a range whose codes nobody types back.
 */
import type { OtpBudget, OtpConversionGuard, OtpConversionRecord } from '../../store/types.js';
import type { OtpSmsOptions, OtpSmsRuntime } from './runtime.js';

/** Who asked for a code, as far as the budgets care. */
export interface SendOrigin {
  /**
   * The client IP address of the request that asked; absent on a back channel (CIBA), whose
   * address is the relying party's server, so that every login of the service would share it.
   */
  clientIp?: string | undefined;
}

export type BudgetName = keyof OtpSmsOptions['budgets'];

/** The number's prefix: `+` and its first `prefixDigits` digits (country code included). */
export function prefixOf(options: Pick<OtpSmsOptions, 'prefixDigits'>, e164: string): string {
  return e164.slice(0, 1 + options.prefixDigits);
}

const isTrusted = (options: OtpSmsOptions, e164: string): boolean => options.trustedPrefixes.some((prefix) => e164.startsWith(prefix));

/** The budgets a code to `e164` in a login of `clientId` spends. A trusted prefix spends no prefix or country budget. */
export function budgetsOf(rt: OtpSmsRuntime, send: { e164: string; country: string | undefined; clientId: string }, origin: SendOrigin): OtpBudget[] {
  const { budgets } = rt.options;
  const budget = (name: BudgetName, subject: string): OtpBudget => ({
    name,
    key: `otp-sms:budget:${name}:${subject}`,
    windowMs: budgets[name].windowSeconds * 1000,
    limit: budgets[name].limit,
  });
  const list = [budget('perClient', send.clientId), budget('globalPerMinute', 'all'), budget('globalPerDay', 'all')];
  if (origin.clientIp !== undefined) list.push(budget('perAddress', rt.addressKey(origin.clientIp)));
  if (!isTrusted(rt.options, send.e164)) {
    // Numbers of no one country (+800 …) share one budget.
    list.push(budget('perPrefix', prefixOf(rt.options, send.e164)), budget('perCountry', send.country ?? 'none'));
  }
  return list;
}

/** The conversion counts of the number's prefix, when the guard watches it (enabled, and the prefix not trusted). */
export function conversionOf(options: OtpSmsOptions, e164: string): OtpConversionRecord | undefined {
  const guard = options.conversionGuard;
  if (!guard.enabled || isTrusted(options, e164)) return undefined;
  const windowMs = guard.windowSeconds * 1000;
  // Twelve buckets: the window slides in steps of a twelfth of its length.
  return { prefix: prefixOf(options, e164), windowMs, bucketMs: Math.max(1000, Math.floor(windowMs / 12)) };
}

/** The guard's rule for the number's prefix, when it watches it. */
export function conversionGuardOf(options: OtpSmsOptions, e164: string): OtpConversionGuard | undefined {
  const record = conversionOf(options, e164);
  if (!record) return undefined;
  const guard = options.conversionGuard;
  return { ...record, minSent: guard.minSends, minRatio: guard.minConversion, pauseMs: guard.pauseSeconds * 1000 };
}

/** Seconds until `retryAt`, at least 1 (a Retry-After of 0 invites an immediate retry that fails again). */
export const secondsUntil = (retryAt: number, now: number): number => Math.max(1, Math.ceil((retryAt - now) / 1000));
