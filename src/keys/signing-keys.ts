/**
 * Token signing keys. They are created at first start and kept in the store, so every process
 * sharing the store signs with the same keys and publishes the same JWKS. Rotation adds a new
 * key per algorithm and retires the old one: a retired key no longer signs but stays in the
 * JWKS until everything it signed has expired (`removeAfter`).
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

/** Current keys first (they sign), then retired keys still published; one current key per algorithm. */
export function orderForSigning(keys: StoredKey[]): StoredKey[] {
  const current = keys.filter((k) => k.retiredAt === null).sort((a, b) => b.createdAt - a.createdAt || a.kid.localeCompare(b.kid));
  const retired = keys.filter((k) => k.retiredAt !== null).sort((a, b) => b.createdAt - a.createdAt);
  return [...current, ...retired];
}

/**
 * Makes sure each algorithm has a current key; returns the keys in signing order. Processes
 * that start together on an empty store must agree on one first key, so the first key of each
 * algorithm is chosen through the store's insert-if-absent secret, and inserted by whoever gets
 * there first (the others' inserts of the same kid conflict and are ignored).
 */
export async function ensureSigningKeys(store: KeyStore, secrets: SecretStore, now: number): Promise<StoredKey[]> {
  let keys = await store.list(now);
  for (const alg of SIGNING_ALGS) {
    if (keys.some((k) => k.alg === alg && k.retiredAt === null)) continue;
    const candidate = await generateKey(alg, now);
    const chosen = JSON.parse(await secrets.getOrCreate(`first-signing-key:${alg}`, JSON.stringify(candidate))) as StoredKey;
    try {
      await store.insert(chosen);
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
    }
    keys = await store.list(now);
  }
  return orderForSigning(keys);
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

/** A fingerprint of the key set, to notice when another process rotated keys. */
export function keySetFingerprint(keys: StoredKey[]): string {
  return orderForSigning(keys)
    .map((k) => `${k.kid}:${k.retiredAt ?? ''}`)
    .join(',');
}
