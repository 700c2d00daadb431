/**
 * Token signing keys. They are created at first start and kept in the store, so every process
 * sharing the store signs with the same keys and publishes the same JWKS. Rotation adds a new
 * key per algorithm and retires the old one: a retired key no longer signs but stays in the
 * JWKS until everything it signed has expired (`removeAfter`).
 *
 * The store's key table also holds the SAML IdP's keys (src/protocols/saml/keys.ts), under an
 * algorithm of their own: everything here that builds the OIDC key set leaves them out.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { StoreConflictError, type KeyStore, type SecretStore, type StoredKey } from '../store/types.js';

export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface PrivateJwk extends JWK {
  kid: string;
  alg: string;
  use: 'sig';
}

async function generateKey(alg: SigningAlg, now: number): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  const privateJwk: PrivateJwk = { ...jwk, kid, alg, use: 'sig' };
  return { kid, alg, privateJwk: JSON.stringify(privateJwk), createdAt: now, retiredAt: null, removeAfter: null };
}

const isTokenKey = (k: StoredKey) => (SIGNING_ALGS as readonly string[]).includes(k.alg);

/** The token signing keys: current keys first (they sign), then retired keys still published; one current key per algorithm. Other keys of the table are left out. */
export function orderForSigning(stored: StoredKey[]): StoredKey[] {
  const keys = stored.filter(isTokenKey);
  const current = keys.filter((k) => k.retiredAt === null).sort((a, b) => b.createdAt - a.createdAt || a.kid.localeCompare(b.kid));
  const retired = keys.filter((k) => k.retiredAt !== null).sort((a, b) => b.createdAt - a.createdAt);
  return [...current, ...retired];
}

/**
 * Inserts the first key of `candidate.alg`, agreed on by every process that starts on an empty
 * store: the store's insert-if-absent secret picks one candidate, and whoever gets there first
 * inserts it (the others' inserts of the same kid conflict and are ignored).
 */
export async function insertFirstKey(store: KeyStore, secrets: SecretStore, candidate: StoredKey): Promise<void> {
  const chosen = JSON.parse(await secrets.getOrCreate(`first-signing-key:${candidate.alg}`, JSON.stringify(candidate))) as StoredKey;
  try {
    await store.insert(chosen);
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
  }
}

/**
 * Makes sure each algorithm has a current key; returns every key of the table: the token signing
 * keys in signing order, then the others (SAML), which toPrivateJwks leaves out but
 * keySetFingerprint counts, so that any rotation makes running servers reload. Processes
 * that start together on an empty store agree on each first key (insertFirstKey).
 */
export async function ensureSigningKeys(store: KeyStore, secrets: SecretStore, now: number): Promise<StoredKey[]> {
  let keys = await store.list(now);
  for (const alg of SIGNING_ALGS) {
    if (keys.some((k) => k.alg === alg && k.retiredAt === null)) continue;
    await insertFirstKey(store, secrets, await generateKey(alg, now));
    keys = await store.list(now);
  }
  return [...orderForSigning(keys), ...keys.filter((k) => !isTokenKey(k))];
}

/**
 * Adds a new current key for every algorithm and retires the previous ones. `publishFor` is how
 * long a retired key stays in the JWKS: at least the longest lifetime of anything it signed.
 */
export async function rotateSigningKeys(store: KeyStore, now: number, publishForMs: number): Promise<StoredKey[]> {
  const added: StoredKey[] = [];
  for (const alg of SIGNING_ALGS) {
    const key = await generateKey(alg, now);
    await store.insert(key);
    await store.retire(alg, key.kid, now, now + publishForMs);
    added.push(key);
  }
  return added;
}

export function toPrivateJwks(keys: StoredKey[]): { keys: PrivateJwk[] } {
  return { keys: orderForSigning(keys).map((k) => JSON.parse(k.privateJwk) as PrivateJwk) };
}

/** A fingerprint of the whole key table (SAML keys included), to notice when another process rotated keys. */
export function keySetFingerprint(keys: StoredKey[]): string {
  return [...keys]
    .sort((a, b) => a.kid.localeCompare(b.kid))
    .map((k) => `${k.kid}:${k.retiredAt ?? ''}`)
    .join(',');
}

/**
 * Tells whether a key set holds other token keys than the last one it was given (initially
 * `initial`): the store's key set changes with SAML keys too, and an issuer is rebuilt only when
 * its own keys changed.
 */
export function tokenKeysWatcher(initial: { keys: PrivateJwk[] }): (jwks: { keys: PrivateJwk[] }) => boolean {
  const kidsOf = (jwks: { keys: PrivateJwk[] }) => jwks.keys.map((k) => k.kid).join(',');
  let current = kidsOf(initial);
  return (jwks) => {
    const kids = kidsOf(jwks);
    if (kids === current) return false;
    current = kids;
    return true;
  };
}
