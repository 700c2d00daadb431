/**
 * Keys with a rollover (the SAML IdP's, src/protocols/saml/keys.ts, and eidhub's keys as a
 * relying party of upstream OPs, src/authenticators/itsme/rp-keys.ts): a rotation adds a key that
 * is published at once but signs only from the old key's `retiredAt`, when whoever verifies has
 * had time to load it; the old key then stays published until its `removeAfter`.
 */
import type { StoredKey } from '../store/types.js';

/** Whether the key may sign at `now`: nothing retired it, or its retirement is still ahead. */
export const signsAt = (k: StoredKey, now: number) => k.retiredAt === null || k.retiredAt > now;

const oldestFirst = (a: StoredKey, b: StoredKey) => a.createdAt - b.createdAt || a.kid.localeCompare(b.kid);
/** The order in which keys sign: the one retiring soonest first, the unretired last; by age among equals. */
const bySigningTurn = (a: StoredKey, b: StoredKey) => (a.retiredAt ?? Number.MAX_SAFE_INTEGER) - (b.retiredAt ?? Number.MAX_SAFE_INTEGER) || oldestFirst(a, b);

/**
 * The keys of `alg` at `now`, from the store's key list (other algorithms are ignored).
 * `upcoming` are those not yet retired in the order they sign: first the one whose turn it is
 * (of those not yet retired, the one retiring soonest, which is the oldest: a rotation retires
 * every older key), so during a rollover the old key signs while the next one is already
 * published. Ordering by retirement rather than by age alone also holds when a first key and its
 * successor are made in the same millisecond (`eidhub keys rotate` on an empty store).
 * `retired` are the keys retired but not yet removed, newest first.
 */
export function rolloverOrder(stored: StoredKey[], alg: string, now: number): { upcoming: StoredKey[]; retired: StoredKey[] } {
  const listed = stored.filter((k) => k.alg === alg && (k.removeAfter === null || k.removeAfter > now));
  return {
    upcoming: listed.filter((k) => signsAt(k, now)).sort(bySigningTurn),
    retired: listed.filter((k) => !signsAt(k, now)).sort((a, b) => oldestFirst(b, a)),
  };
}
