/**
 * eidhub's own keys as a relying party of upstream OpenID Providers: RS256 keys that sign its
 * client assertions (private_key_jwt) and request objects, and RSA-OAEP keys the upstreams
 * encrypt ID tokens and UserInfo to. They live in the store's key table beside the token and SAML
 * keys, under algorithms of their own (RP-RS256, RP-RSA-OAEP; the row's privateJwk is the private
 * JWK), so every process signs and decrypts with the same keys; the public halves are published
 * at `{publicUrl}/auth/upstream/jwks`, which the upstreams read.
 *
 * The first pair is agreed on through the store secret `upstream-rp-keys` (insert-if-absent),
 * where eidhub kept its one pair before keys could rotate: a store made then moves its pair to the
 * key table on first load, with the same kids, which the upstreams have cached.
 *
 * Rotation (`eidhub keys rotate`, rotateRpKeys) adds a new pair, published at once:
 * - the new encryption key is listed first in the JWKS and decrypts at once; an upstream may keep
 *   encrypting to the old one until it reads the JWKS again, so a JWE is decrypted with the key
 *   its `kid` names among all of them. The old one leaves the JWKS after the rollover period and
 *   still decrypts for another rollover period (an upstream that read the JWKS just before);
 * - the new signing key signs only after the rollover period (the upstreams must have read it
 *   first), the old one signing until then and staying published an hour more (what it signed,
 *   assertions and request objects, lives minutes).
 * The keys are read from the store at each use (one small read), so a rotation by any process,
 * or by the command, is seen at once everywhere, and the switch happens at its time.
 *
 * RSA 2048, like eidhub's token keys (src/keys/signing-keys.ts, which explains the size).
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { rolloverOrder, signsAt } from '../../keys/rollover.js';
import { StoreConflictError, type KeyStore, type SecretStore, type StoredKey } from '../../store/types.js';

/** The store secret that holds the first pair (both private keys, as JSON). */
const FIRST_PAIR_SECRET = 'upstream-rp-keys';

export const RP_SIGNING_ALG = 'RS256';
export const RP_ENCRYPTION_ALG = 'RSA-OAEP';
/** Their algorithms in the store's key table. */
export const RP_SIGNING_KEY_ALG = 'RP-RS256';
export const RP_ENCRYPTION_KEY_ALG = 'RP-RSA-OAEP';

/** How long what a key signed or was sent just before it left may still come: minutes, kept an hour. */
const IN_FLIGHT_MS = 60 * 60_000;

interface StoredPair {
  sig: JWK;
  enc: JWK;
}

export interface RpKeys {
  /** Signs client assertions and request objects; `kid` goes into their header. */
  signing: { key: CryptoKey; kid: string };
  /** Decrypt what upstreams encrypt to eidhub (their JWE header names the kid), newest first. */
  decryption: { key: CryptoKey; kid: string; alg: typeof RP_ENCRYPTION_ALG }[];
  /** The public JWKS (sig and enc), as served to upstreams: no private member ever. */
  publicJwks: { keys: JWK[] };
  /** Names the signing and decryption keys: two rings with the same id sign and decrypt alike. */
  id: string;
}

/** The store's key table and secrets, which the keys are kept in. */
export interface RpKeyStore {
  keys: KeyStore;
  secrets: SecretStore;
}

async function newKey(alg: string, use: 'sig' | 'enc'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg, use };
}

const toStored = (jwk: JWK, alg: string, now: number): StoredKey => ({
  kid: jwk.kid!,
  alg,
  privateJwk: JSON.stringify(jwk),
  createdAt: now,
  retiredAt: null,
  removeAfter: null,
});

async function insertIgnoringConflict(keys: KeyStore, key: StoredKey): Promise<void> {
  try {
    await keys.insert(key);
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
  }
}

/**
 * Makes sure a signing and an encryption key exist. Without them, the first pair is taken from
 * the secret `upstream-rp-keys`: the pair a store made before rotation holds, or else the one
 * candidate every process offers that the store keeps (about 0.1 s of key generation); inserting
 * it twice is harmless (same kids).
 */
export async function ensureRpKeys(store: RpKeyStore, now: number): Promise<void> {
  const listed = await store.keys.list(now);
  const missing = [RP_SIGNING_KEY_ALG, RP_ENCRYPTION_KEY_ALG].filter((alg) => !listed.some((k) => k.alg === alg && signsAt(k, now)));
  if (missing.length === 0) return;
  const candidate: StoredPair = { sig: await newKey(RP_SIGNING_ALG, 'sig'), enc: await newKey(RP_ENCRYPTION_ALG, 'enc') };
  const pair = JSON.parse(await store.secrets.getOrCreate(FIRST_PAIR_SECRET, JSON.stringify(candidate))) as StoredPair;
  for (const alg of missing) await insertIgnoringConflict(store.keys, toStored(alg === RP_SIGNING_KEY_ALG ? pair.sig : pair.enc, alg, now));
}

/**
 * Adds a new signing and encryption key (see the header): the old signing key signs until
 * `now + rolloverMs` and the old encryption key is published until then; the new keys are
 * published at once. A key already counting down to its retirement (an earlier rotation) keeps
 * its dates.
 */
export async function rotateRpKeys(keys: KeyStore, now: number, rolloverMs: number): Promise<{ signing: StoredKey; encryption: StoredKey }> {
  const retiredAt = now + rolloverMs;
  const signing = toStored(await newKey(RP_SIGNING_ALG, 'sig'), RP_SIGNING_KEY_ALG, now);
  await keys.insert(signing);
  await keys.retire(RP_SIGNING_KEY_ALG, signing.kid, retiredAt, retiredAt + IN_FLIGHT_MS);
  const encryption = toStored(await newKey(RP_ENCRYPTION_ALG, 'enc'), RP_ENCRYPTION_KEY_ALG, now);
  await keys.insert(encryption);
  await keys.retire(RP_ENCRYPTION_KEY_ALG, encryption.kid, retiredAt, retiredAt + rolloverMs + IN_FLIGHT_MS);
  return { signing, encryption };
}

/** The public members of an RSA JWK, with its kid, alg and use. */
function publicPart(jwk: JWK): JWK {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use };
}

/** Imports private keys once per kid. */
class KeyCache {
  private readonly imported = new Map<string, Promise<CryptoKey>>();

  get(stored: StoredKey, alg: string): Promise<CryptoKey> {
    let key = this.imported.get(stored.kid);
    if (!key) {
      key = importJWK(JSON.parse(stored.privateJwk) as JWK, alg).then((k) => {
        if (!(k instanceof CryptoKey)) throw new Error('upstream RP keys: not an RSA key');
        return k;
      });
      key.catch(() => this.imported.delete(stored.kid));
      this.imported.set(stored.kid, key);
    }
    return key;
  }
}

/**
 * The keys at `now`, from the store's key list (other algorithms are ignored): the signing key
 * whose turn it is, every encryption key not yet removed (newest first), and the JWKS: the
 * signing keys (the signer first) and the encryption keys not yet retired (newest first).
 */
export function rpKeyRing(stored: StoredKey[], now: number): Promise<RpKeys> {
  return ring(stored, now, new KeyCache());
}

async function ring(stored: StoredKey[], now: number, cache: KeyCache): Promise<RpKeys> {
  const sig = rolloverOrder(stored, RP_SIGNING_KEY_ALG, now);
  const enc = rolloverOrder(stored, RP_ENCRYPTION_KEY_ALG, now);
  const [signer] = sig.upcoming;
  const offered = [...enc.upcoming].reverse();
  const decrypting = [...offered, ...enc.retired];
  if (!signer || offered.length === 0) throw new Error('no upstream RP keys in the store (ensureRpKeys makes them)');
  const jwk = (k: StoredKey) => JSON.parse(k.privateJwk) as JWK;
  return {
    signing: { key: await cache.get(signer, RP_SIGNING_ALG), kid: signer.kid },
    decryption: await Promise.all(decrypting.map(async (k) => ({ key: await cache.get(k, RP_ENCRYPTION_ALG), kid: k.kid, alg: RP_ENCRYPTION_ALG }))),
    publicJwks: { keys: [...sig.upcoming, ...sig.retired, ...offered].map((k) => publicPart(jwk(k))) },
    id: [signer, ...decrypting].map((k) => k.kid).join(','),
  };
}

/** One source per key table, shared by every upstream authenticator of this process. */
const sources = new WeakMap<KeyStore, (now: number) => Promise<RpKeys>>();

/** The keys at `now`: made on first use if the store has none, then read from the store at each call. */
export function rpKeysOf(store: RpKeyStore, now: number): Promise<RpKeys> {
  let source = sources.get(store.keys);
  if (!source) {
    const cache = new KeyCache();
    let ensured: Promise<void> | undefined;
    source = async (t) => {
      if (!ensured) {
        const pending = ensureRpKeys(store, t);
        ensured = pending;
        pending.catch(() => {
          if (ensured === pending) ensured = undefined;
        });
      }
      await ensured;
      return ring(await store.keys.list(t), t, cache);
    };
    sources.set(store.keys, source);
  }
  return source(now);
}
