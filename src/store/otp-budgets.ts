/**
 * The send budgets and the conversion guard of OtpChallengeStore.issue, as both stores compute
 * them around their own statements: lock order, the refusal, the guard's buckets and rule (a
 * budget's window is counterWindow, rows.ts).
 */
import { compareText, windowStartOf } from './rows.js';
import type { OtpConversionGuard, OtpIssueResult } from './types.js';

/** Budgets in the order their counters are hit: by key, so two concurrent sends lock shared rows in one order. */
export function budgetsInLockOrder<B extends { key: string }>(budgets: readonly B[] | undefined): B[] {
  return [...(budgets ?? [])].sort((a, b) => compareText(a.key, b.key));
}

/** The refusal of the budgets that a send went over: the one that frees up last, as a retry before then is refused again. */
export function overBudget(over: readonly { name: string; retryAt: number }[], count: number): OtpIssueResult | null {
  if (over.length === 0) return null;
  const last = over.reduce((a, b) => (b.retryAt > a.retryAt ? b : a));
  return { kind: 'overBudget', count, budget: last.name, retryAt: last.retryAt };
}

/**
 * The conversion counts' bucket at `now`, and when it leaves every window: a prefix's window is
 * its buckets that start in the last `windowMs` (conversionSince).
 */
export function conversionBucket(c: { windowMs: number; bucketMs: number }, now: number): { start: number; expiresAt: number } {
  const start = windowStartOf(c.bucketMs, now);
  return { start, expiresAt: start + c.windowMs };
}

/** The buckets of the window ending at `now` start after this. */
export const conversionSince = (windowMs: number, now: number): number => now - windowMs;

/** Whether a prefix with these counts is paused: enough codes sent, too few of them verified. */
export function conversionTrips(guard: OtpConversionGuard, counts: { sent: number; verified: number }): boolean {
  return counts.sent >= guard.minSent && counts.verified < counts.sent * guard.minRatio;
}
