/**
 * The IdP's SAML signing keys, on a real SQLite store: the certificate they come with, one first
 * key for processes that start together, the rollover (the new certificate is published first and
 * signs later), the OIDC key set that never takes a SAML key, and `eidhub keys rotate`.
 */
import assert from 'node:assert/strict';
import { createPublicKey, createSign, createVerify, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureSigningKeys, keySetFingerprint, rotateSigningKeys, toPrivateJwks } from '../src/keys/signing-keys.js';
import { ensureSamlSigningKey, rotateSamlSigningKey, SAML_KEY_ALG, samlCertificateSubject, samlKeyRing } from '../src/protocols/saml/keys.js';
import type { Store } from '../src/store/types.js';
import { keysRotate, runScript, tempStores } from './support/key-stores.js';

const SUBJECT = 'idp.example.com';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const { tempDb, open } = tempStores('eidhub-saml-keys-');

/** The kids of a ring: who signs, and what is published in order. */
async function ringAt(store: Store, t: number): Promise<{ signing: string; published: string[] }> {
  const ring = samlKeyRing(await store.keys.list(t), t);
  return { signing: ring.signing.kid, published: ring.published.map((k) => k.kid) };
}

describe('a SAML signing key', () => {
  it('comes with a self-signed certificate for the IdP host that verifies its signatures', async () => {
    const store = await open();
    const t0 = Date.UTC(2026, 5, 1);
    await ensureSamlSigningKey(store.keys, store.secrets, t0, samlCertificateSubject('https://idp.example.com:8443/base'));
    const [stored, ...more] = await store.keys.list(t0);
    assert.ok(stored && more.length === 0);
    assert.equal(stored.alg, SAML_KEY_ALG);
    assert.deepEqual(Object.keys(JSON.parse(stored.privateJwk) as object).sort(), ['certificate', 'pkcs8']);

    const { signing } = samlKeyRing([stored], t0);
    const cert = new X509Certificate(signing.certificatePem);
    assert.equal(cert.subject, `CN=${SUBJECT}`);
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.verify(cert.publicKey), true, 'self-signed');
    assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(cert.ca, false);
    assert.ok(Date.parse(cert.validFrom) <= t0 && Date.parse(cert.validTo) >= Date.UTC(2036, 4, 31), `${cert.validFrom} – ${cert.validTo}`);
    assert.equal(cert.raw.toString('base64'), signing.certificateBase64);
    assert.equal(signing.createdAt, t0);
    assert.equal(signing.retiredAt, null);

    const signature = createSign('sha256').update('payload').sign(signing.privateKeyPem);
    assert.equal(createVerify('sha256').update('payload').verify(cert.publicKey, signature), true, 'the private key belongs to the certificate');
    assert.deepEqual(createPublicKey(signing.privateKeyPem).export({ format: 'jwk' }), cert.publicKey.export({ format: 'jwk' }));
  });

  it('is the same for two processes that start together on one empty store', async () => {
    const path = tempDb();
    const script = [
      `import { openStore } from ${JSON.stringify(new URL('../src/store/index.ts', import.meta.url).href)};`,
      `import { ensureSamlSigningKey } from ${JSON.stringify(new URL('../src/protocols/saml/keys.ts', import.meta.url).href)};`,
      "const store = await openStore({ driver: 'sqlite', path: process.argv[1] });",
      `await ensureSamlSigningKey(store.keys, store.secrets, Date.now(), '${SUBJECT}');`,
      "process.stdout.write((await store.keys.list(Date.now())).map((k) => k.kid).join(','));",
      'await store.close();',
    ].join('\n');
    const processes = [0, 1].map(() => runScript(script, path));
    const [a, b] = await Promise.all(processes);
    assert.ok(a && !a.includes(','), `one key: ${a}`);
    assert.equal(b, a, 'both processes ended up with the same key');

    const store = await open(path);
    await Promise.all([1, 2, 3].map(() => ensureSamlSigningKey(store.keys, store.secrets, Date.now(), SUBJECT)));
    assert.deepEqual((await store.keys.list(Date.now())).map((k) => k.kid), [a], 'an existing key is kept');
  });

  it('is published before it signs, and the old one leaves once what it signed has expired', async () => {
    const store = await open();
    const t0 = Date.UTC(2026, 0, 1);
    await ensureSamlSigningKey(store.keys, store.secrets, t0, SUBJECT);
    const old = (await ringAt(store, t0)).signing;
    assert.deepEqual(await ringAt(store, t0), { signing: old, published: [old] });

    const t1 = t0 + DAY;
    const rollover = 7 * DAY;
    const publishFor = HOUR;
    const next = (await rotateSamlSigningKey(store.keys, t1, rollover, publishFor, SUBJECT)).kid;
    const oldRow = (await store.keys.list(t1)).find((k) => k.kid === old)!;
    assert.deepEqual([oldRow.retiredAt, oldRow.removeAfter], [t1 + rollover, t1 + rollover + publishFor]);

    assert.deepEqual(await ringAt(store, t1), { signing: old, published: [old, next] }, 'during the rollover the old key signs, both are published');
    assert.deepEqual(await ringAt(store, t1 + rollover - 1), { signing: old, published: [old, next] });
    assert.deepEqual(await ringAt(store, t1 + rollover), { signing: next, published: [next, old] }, 'after it the new key signs, the old is still published');
    assert.deepEqual(await ringAt(store, t1 + rollover + publishFor), { signing: next, published: [next] }, 'after removeAfter the old key is gone');
    // The ring also works on a list read earlier (a process that has not reloaded yet).
    assert.deepEqual(samlKeyRing(await store.keys.list(t1), t1 + rollover + publishFor).published.map((k) => k.kid), [next]);
  });

  it('signs at once when the rollover is 0, and two rotations queue up in order', async () => {
    const store = await open();
    const t0 = Date.UTC(2026, 0, 1);
    await ensureSamlSigningKey(store.keys, store.secrets, t0, SUBJECT);
    const a = (await ringAt(store, t0)).signing;
    const b = (await rotateSamlSigningKey(store.keys, t0 + 1, 0, HOUR, SUBJECT)).kid;
    assert.deepEqual(await ringAt(store, t0 + 1), { signing: b, published: [b, a] });

    const c = (await rotateSamlSigningKey(store.keys, t0 + 2, DAY, HOUR, SUBJECT)).kid;
    const d = (await rotateSamlSigningKey(store.keys, t0 + 3, 2 * DAY, HOUR, SUBJECT)).kid;
    assert.deepEqual(await ringAt(store, t0 + 3), { signing: b, published: [b, c, d, a] });
    assert.deepEqual(await ringAt(store, t0 + 2 + DAY), { signing: c, published: [c, d, b] });
    assert.deepEqual(await ringAt(store, t0 + 3 + 2 * DAY), { signing: d, published: [d, c] });
  });

  it('lets the retiring key sign first when both were made in the same millisecond', () => {
    const t = Date.UTC(2026, 0, 1);
    const row = (kid: string, retiredAt: number | null) => ({
      kid,
      alg: SAML_KEY_ALG,
      privateJwk: JSON.stringify({ pkcs8: '', certificate: '' }),
      createdAt: t,
      retiredAt,
      removeAfter: retiredAt === null ? null : retiredAt + HOUR,
    });
    // `eidhub keys rotate` on an empty store makes the first key and its successor at once; the
    // kids are chosen so that an order by age, then kid, would put the successor first.
    const rows = [row('a-successor', null), row('z-first', t + DAY)];
    assert.deepEqual(samlKeyRing(rows, t).published.map((k) => k.kid), ['z-first', 'a-successor']);
    assert.equal(samlKeyRing(rows, t + DAY).signing.kid, 'a-successor');
  });

  it('is never in the OIDC key set, and OIDC and SAML rotations leave each other alone', async () => {
    const store = await open();
    const now = Date.now();
    await ensureSamlSigningKey(store.keys, store.secrets, now, SUBJECT);
    const all = await ensureSigningKeys(store.keys, store.secrets, now);
    const samlKid = (await ringAt(store, now)).signing;
    assert.deepEqual([...all.slice(0, 2).map((k) => k.alg).sort(), all[2]?.alg, all.length], ['ES256', 'RS256', SAML_KEY_ALG, 3], 'every key, the token keys first');
    const jwks = toPrivateJwks(all);
    assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    assert.ok(!jwks.keys.some((k) => k.kid === samlKid));

    await rotateSigningKeys(store.keys, now + 1, HOUR);
    assert.equal((await store.keys.list(now + 1)).find((k) => k.kid === samlKid)?.retiredAt, null, 'an OIDC rotation does not retire the SAML key');
    const before = await ensureSigningKeys(store.keys, store.secrets, now + 2);
    await rotateSamlSigningKey(store.keys, now + 2, DAY, HOUR, SUBJECT);
    const afterSaml = await ensureSigningKeys(store.keys, store.secrets, now + 3);
    assert.deepEqual(toPrivateJwks(afterSaml), toPrivateJwks(before), 'a SAML rotation does not touch the JWKS');
    assert.notEqual(keySetFingerprint(afterSaml), keySetFingerprint(before), 'but running servers notice it');
    assert.ok(toPrivateJwks(afterSaml).keys.every((k) => k.alg === 'RS256' || k.alg === 'ES256'));
  });

  it('needs ensureSamlSigningKey before a ring can be made', () => {
    assert.throws(() => samlKeyRing([], Date.now()), /no SAML signing key/);
  });
});

describe('eidhub keys rotate', () => {
  it('rotates the SAML key too, and says when the new certificate starts signing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-saml-rotate-'));
    const db = join(dir, 'eidhub.db');
    const configFile = join(dir, 'eidhub.json');
    writeFileSync(configFile, JSON.stringify({ publicUrl: 'https://idp.example.com', storage: { driver: 'sqlite', path: db }, saml: { keyRolloverSeconds: 3600 } }));
    const started = Date.now();
    const run = keysRotate(configFile);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /new signing keys: RS256 \S+, ES256 \S+/);
    const said = /new SAML signing certificate (\S+): in the IdP metadata \(https:\/\/idp\.example\.com\/auth\/saml\/metadata\) now, signing from (\S+): every SP must load the new metadata before then/.exec(run.stdout);
    assert.ok(said, run.stdout);
    const switchAt = Date.parse(said[2]!);
    assert.ok(switchAt >= started + HOUR && switchAt <= Date.now() + HOUR, said[2]);

    const store = await open(db);
    const saml = (await store.keys.list(Date.now())).filter((k) => k.alg === SAML_KEY_ALG);
    assert.equal(saml.length, 2);
    const ring = samlKeyRing(saml, Date.now());
    assert.notEqual(ring.signing.kid, said[1], 'the old certificate signs until then');
    assert.equal(samlKeyRing(saml, switchAt).signing.kid, said[1]);
    assert.equal(new X509Certificate(ring.published[1]!.certificatePem).subject, 'CN=idp.example.com');
    const retired = saml.find((k) => k.kid !== said[1])!;
    assert.equal(retired.retiredAt, switchAt);
    assert.equal(retired.removeAfter, switchAt + HOUR + (300 + 3600) * 1000, 'published for the rollover, an assertion lifetime and an hour after it stops signing');
  });
});
