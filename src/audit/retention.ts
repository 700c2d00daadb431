/**
 * The store's periodic clean-up: expired rows, and audit events past the retention
 * (config `audit.retentionDays`). main.ts runs it on a timer.
 */
import type { Store } from '../store/types.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PurgeResult {
  /** Rows purgeExpired removed. */
  expired: number;
  /** Audit events older than the retention. */
  auditEvents: number;
}

/** The time before which audit events are removed at `now`. */
export function auditCutoff(now: number, retentionDays: number): number {
  return now - retentionDays * DAY_MS;
}

export async function purgeStore(store: Store, now: number, retentionDays: number): Promise<PurgeResult> {
  const expired = await store.purgeExpired(now);
  const auditEvents = await store.audit.purgeOlderThan(auditCutoff(now, retentionDays));
  return { expired, auditEvents };
}
