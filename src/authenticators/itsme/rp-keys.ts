/**
 * eidhub's own keys as a relying party of upstream OpenID Providers: an RS256 key that signs its
 * client assertions (private_key_jwt) and request objects, and an RSA-OAEP key the upstreams
 * encrypt ID tokens and UserInfo to. They are made once and kept in the store's secrets (one
 * insert-if-absent of the pair), so every process signs and decrypts with the same keys; the
 * public halves are published at `{publicUrl}/auth/upstream/jwks`, which the upstreams read.
 *
 * RSA 2048, like eidhub's token keys (src/keys/signing-keys.ts, which explains the size).
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { SecretStore } from '../../store/types.js';

/** The store secret that holds both private keys, as JSON. */
const SECRET_NAME = 'upstream-rp-keys';

export const RP_SIGNING_ALG = 'RS256';
export const RP_ENCRYPTION_ALG = 'RSA-OAEP';

interface StoredPair {
  sig: JWK;
  enc: JWK;
}

export interface RpKeys {
  /** Signs client assertions and request objects; `kid` goes into their header. */
  signing: { key: CryptoKey; kid: string };
  /** Decrypts what upstreams encrypt to eidhub (their JWE header names its kid). */
  decryption: { key: CryptoKey; kid: string; alg: typeof RP_ENCRYPTION_ALG };
  /** The public JWKS (sig and enc), as served to upstreams: no private member ever. */
  publicJwks: { keys: JWK[] };
}

async function newKey(alg: string, use: 'sig' | 'enc'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg, use };
}

/** The public members of an RSA JWK, with its kid, alg and use. */
function publicPart(jwk: JWK): JWK {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use };
}

/**
 * The keys, from the store; the first process to ask on an empty store makes them (every process
 * offers a candidate pair, the store keeps the first: about 0.1 s of key generation at start, and
 * only when an upstream provider is configured).
 */
export async function loadRpKeys(secrets: SecretStore): Promise<RpKeys> {
  const pair = JSON.parse(await secrets.getOrCreate(SECRET_NAME, JSON.stringify({ sig: await newKey(RP_SIGNING_ALG, 'sig'), enc: await newKey(RP_ENCRYPTION_ALG, 'enc') }))) as StoredPair;
  const signing = await importJWK(pair.sig, RP_SIGNING_ALG);
  const decryption = await importJWK(pair.enc, RP_ENCRYPTION_ALG);
  if (!(signing instanceof CryptoKey) || !(decryption instanceof CryptoKey)) throw new Error('upstream RP keys: not RSA keys');
  return {
    signing: { key: signing, kid: pair.sig.kid! },
    decryption: { key: decryption, kid: pair.enc.kid!, alg: RP_ENCRYPTION_ALG },
    publicJwks: { keys: [publicPart(pair.sig), publicPart(pair.enc)] },
  };
}

/** One load per store, shared by every upstream authenticator of this process. */
const loaded = new WeakMap<SecretStore, Promise<RpKeys>>();
export function rpKeysOf(secrets: SecretStore): Promise<RpKeys> {
  let keys = loaded.get(secrets);
  if (!keys) {
    keys = loadRpKeys(secrets);
    keys.catch(() => loaded.delete(secrets));
    loaded.set(secrets, keys);
  }
  return keys;
}
