/**
 * eidhub's keys as a relying party of upstream OPs (itsme®), on real SQLite stores: a store made
 * when there was one pair (the secret `upstream-rp-keys`) keeps its kids, processes agree on the
 * first pair, and rotation: the JWKS publishes old and new at once, a JWE to the old or the new
 * encryption key decrypts, the new signing key signs client assertions and request objects only
 * after the rollover period, and the old keys leave when their time is up. Against a small
 * upstream of the test's own (openid-client as eidhub uses it, with the injected clock), then
 * `eidhub keys rotate` on a running eidhub in sandbox mode, logging in through the itsme simulator.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  calculateJwkThumbprint,
  compactDecrypt,
  CompactEncrypt,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import * as oidc from 'openid-client';
import {
  ensureRpKeys,
  RP_ENCRYPTION_KEY_ALG,
  RP_SIGNING_KEY_ALG,
  rotateRpKeys,
  rpKeyRing,
  rpKeysOf,
  type RpKeys,
} from '../src/authenticators/itsme/rp-keys.js';
import type { UpstreamSettings } from '../src/authenticators/itsme/settings.js';
import { UpstreamClient, UpstreamRefused } from '../src/authenticators/itsme/upstream-client.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/http/logger.js';
import { buildEidhub, type Eidhub } from '../src/main.js';
import { TEST_IDENTITIES } from '../src/sandbox/itsme/index.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { freePort } from './support/eidhub.js';
import { Browserless } from './support/http-login.js';
import { keysRotate, runScript, tempStores } from './support/key-stores.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const { tempDb, open } = tempStores('eidhub-rp-keys-');

/** What a ring publishes, by use: the kids in order. */
function published(keys: RpKeys): { sig: string[]; enc: string[] } {
  const kids = (use: string) => keys.publicJwks.keys.filter((k) => k.use === use).map((k) => k.kid!);
  return { sig: kids('sig'), enc: kids('enc') };
}

/** A private JWK made the way eidhub made its one pair before keys could rotate. */
async function legacyKey(alg: string, use: 'sig' | 'enc'): Promise<JWK> {
  const jwk = await exportJWK((await generateKeyPair(alg, { extractable: true, modulusLength: 2048 })).privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg, use };
}

/** A JWE of `text` to the public half of `jwk`, its kid in the header (as itsme and oidc-provider send it). */
async function encryptTo(jwk: JWK, text: string): Promise<string> {
  const { kty, n, e, kid } = jwk;
  const key = await importJWK({ kty, n, e }, 'RSA-OAEP');
  return new CompactEncrypt(new TextEncoder().encode(text)).setProtectedHeader({ alg: 'RSA-OAEP', enc: 'A128CBC-HS256', cty: 'JWT', kid: kid! }).encrypt(key);
}

describe('upstream RP keys in the store', () => {
  it('a store holding the single pair of before (secret upstream-rp-keys) loads with the same kids', async () => {
    const path = tempDb();
    const store = await open(path);
    const pair = { sig: await legacyKey('RS256', 'sig'), enc: await legacyKey('RSA-OAEP', 'enc') };
    await store.secrets.getOrCreate('upstream-rp-keys', JSON.stringify(pair));

    const t = Date.now();
    const keys = await rpKeysOf(store, t);
    assert.equal(keys.signing.kid, pair.sig.kid);
    assert.deepEqual(keys.decryption.map((k) => k.kid), [pair.enc.kid]);
    assert.deepEqual(published(keys), { sig: [pair.sig.kid], enc: [pair.enc.kid] });
    for (const key of keys.publicJwks.keys) assert.deepEqual(Object.keys(key).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    const rows = (await store.keys.list(t)).map((k) => [k.alg, k.kid]);
    assert.deepEqual(rows.sort(), [[RP_ENCRYPTION_KEY_ALG, pair.enc.kid], [RP_SIGNING_KEY_ALG, pair.sig.kid]].sort(), 'moved into the key table');
    const { plaintext } = await compactDecrypt(await encryptTo(pair.enc, 'to the old pair'), keys.decryption[0]!.key);
    assert.equal(new TextDecoder().decode(plaintext), 'to the old pair');

    // Another process on the same store, and a second load, see the same keys; nothing is added.
    const other = await open(path);
    assert.equal((await rpKeysOf(other, t)).id, keys.id);
    await ensureRpKeys(store, t + 1);
    assert.equal((await store.keys.list(t + 1)).length, 2);
  });

  it('is the same pair for two processes that start together on one empty store', async () => {
    const path = tempDb();
    const script = [
      `import { openStore } from ${JSON.stringify(new URL('../src/store/index.ts', import.meta.url).href)};`,
      `import { rpKeysOf } from ${JSON.stringify(new URL('../src/authenticators/itsme/rp-keys.ts', import.meta.url).href)};`,
      "const store = await openStore({ driver: 'sqlite', path: process.argv[1] });",
      'process.stdout.write((await rpKeysOf(store, Date.now())).id);',
      'await store.close();',
    ].join('\n');
    const [a, b] = await Promise.all([runScript(script, path), runScript(script, path)]);
    assert.match(a, /^[\w-]+,[\w-]+$/, 'one signing and one decryption key');
    assert.equal(b, a, 'both processes ended up with the same keys');
    const store = await open(path);
    await Promise.all([1, 2, 3].map(() => ensureRpKeys(store, Date.now())));
    assert.equal((await store.keys.list(Date.now())).length, 2, 'existing keys are kept');
  });

  it('rotates: both published at once, the new encryption key first; the new signing key signs after the rollover; the old keys leave in turn', async () => {
    const path = tempDb();
    const store = await open(path);
    const other = await open(path);
    const t0 = Date.UTC(2026, 0, 1);
    const old = await rpKeysOf(store, t0);
    const [oldSig, oldEnc] = [old.signing.kid, old.decryption[0]!.kid];
    const t1 = t0 + DAY;
    const rollover = 2 * DAY;
    const added = await rotateRpKeys(store.keys, t1, rollover);
    const [newSig, newEnc] = [added.signing.kid, added.encryption.kid];

    const at = async (t: number) => {
      const keys = await rpKeysOf(store, t);
      assert.equal((await rpKeysOf(other, t)).id, keys.id, 'another process on the store agrees');
      assert.equal((await rpKeyRing(await store.keys.list(t), t)).id, keys.id, 'the ring of a list read at that time');
      return { signing: keys.signing.kid, decrypting: keys.decryption.map((k) => k.kid), ...published(keys) };
    };
    assert.deepEqual(await at(t1), { signing: oldSig, decrypting: [newEnc, oldEnc], sig: [oldSig, newSig], enc: [newEnc, oldEnc] });
    assert.deepEqual(await at(t1 + rollover - 1), { signing: oldSig, decrypting: [newEnc, oldEnc], sig: [oldSig, newSig], enc: [newEnc, oldEnc] });
    assert.deepEqual(await at(t1 + rollover), { signing: newSig, decrypting: [newEnc, oldEnc], sig: [newSig, oldSig], enc: [newEnc] }, 'the new key signs; the old encryption key leaves the JWKS but still decrypts');
    assert.deepEqual(await at(t1 + rollover + HOUR), { signing: newSig, decrypting: [newEnc, oldEnc], sig: [newSig], enc: [newEnc] }, 'the old signing key leaves an hour after it stopped signing');
    assert.deepEqual(await at(t1 + 2 * rollover + HOUR), { signing: newSig, decrypting: [newEnc], sig: [newSig], enc: [newEnc] }, 'the old encryption key is gone a rollover period later');
  });

  it('rotating with no rollover signs with the new key at once, also on a store that had none', async () => {
    const store = await open();
    const t = Date.now();
    await ensureRpKeys(store, t);
    const first = await rpKeysOf(store, t);
    const added = await rotateRpKeys(store.keys, t, 0);
    const keys = await rpKeysOf(store, t);
    assert.equal(keys.signing.kid, added.signing.kid);
    assert.notEqual(keys.signing.kid, first.signing.kid);
    assert.deepEqual(published(keys), { sig: [added.signing.kid, first.signing.kid], enc: [added.encryption.kid] });
  });
});

/**
 * An upstream OP of the test's own, just enough for eidhub's client: discovery, its JWKS, a token
 * endpoint that checks the client assertion against eidhub's published JWKS and answers with an
 * ID token signed by it and encrypted to the key the test chooses, and UserInfo the same way.
 */
async function startUpstream(clientId: string, eidhubJwks: () => Promise<{ keys: JWK[] }>) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const opJwk = { ...(await exportJWK(publicKey)), kid: 'op-1', alg: 'RS256', use: 'sig' };
  const state = { issuer: '', nonce: '', encryptTo: undefined as JWK | undefined, assertionKids: [] as string[] };
  const signed = (claims: Record<string, unknown>) =>
    new SignJWT({ ...claims, iss: state.issuer, aud: clientId, sub: 'person-1' }).setProtectedHeader({ alg: 'RS256', kid: opJwk.kid }).setIssuedAt().setExpirationTime('5m').sign(privateKey);
  const handle = async (path: string, body: string): Promise<{ type: string; body: string } | undefined> => {
    switch (path) {
      case '/.well-known/openid-configuration':
        return {
          type: 'application/json',
          body: JSON.stringify({
            issuer: state.issuer,
            authorization_endpoint: `${state.issuer}/authorize`,
            token_endpoint: `${state.issuer}/token`,
            userinfo_endpoint: `${state.issuer}/userinfo`,
            jwks_uri: `${state.issuer}/jwks`,
            response_types_supported: ['code'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
            token_endpoint_auth_methods_supported: ['private_key_jwt'],
          }),
        };
      case '/jwks':
        return { type: 'application/json', body: JSON.stringify({ keys: [opJwk] }) };
      case '/token': {
        const form = new URLSearchParams(body);
        const assertion = form.get('client_assertion') ?? '';
        // What the upstream does: the assertion must verify against eidhub's JWKS as published now.
        await jwtVerify(assertion, createLocalJWKSet(await eidhubJwks()), { issuer: clientId, subject: clientId });
        state.assertionKids.push(decodeProtectedHeader(assertion).kid!);
        const idToken = await encryptTo(state.encryptTo!, await signed({ nonce: state.nonce }));
        return { type: 'application/json', body: JSON.stringify({ access_token: 'at-1', token_type: 'Bearer', expires_in: 300, id_token: idToken }) };
      }
      case '/userinfo':
        return { type: 'application/jwt', body: await encryptTo(state.encryptTo!, await signed({ name: 'Maxence Legrand' })) };
      default:
        return undefined;
    }
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      handle(new URL(req.url ?? '/', 'http://x').pathname, body).then(
        (answer) => {
          if (!answer) res.writeHead(404).end();
          else res.writeHead(200, { 'content-type': answer.type }).end(answer.body);
        },
        (err: unknown) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client', error_description: String(err) })),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { state, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('eidhub as a relying party across a rotation (openid-client against an upstream)', () => {
  const CLIENT_ID = 'eidhub-at-upstream';
  let store: Store;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let client: UpstreamClient;
  let clock = 0;
  const now = () => clock;

  before(async () => {
    store = await openStore({ driver: 'sqlite', path: tempDb() });
    upstream = await startUpstream(CLIENT_ID, async () => (await rpKeysOf(store, now())).publicJwks);
    const settings: UpstreamSettings = {
      id: 'itsme',
      displayName: 'itsme®',
      issuer: upstream.state.issuer,
      clientId: CLIENT_ID,
      clientAuth: { method: 'private_key_jwt' },
      requestObject: true,
      encryption: 'A128CBC-HS256',
      scopes: ['openid', 'profile'],
      timeoutMs: 3000,
      sandbox: false,
      loa: 'high',
      redirectUri: 'http://127.0.0.1:9/auth/upstream/itsme/callback',
    };
    // As the authenticator makes it: one client for the process's life, keys asked for at each request.
    client = new UpstreamClient(settings, () => rpKeysOf(store, now()));
  });
  after(async () => {
    await upstream?.close();
    await store?.close();
  });

  /** A login at `clock`, the upstream encrypting to `encKid`: the kids of its request object and client assertion, and what it got. */
  async function login(encKid: string) {
    const keys = await rpKeysOf(store, now());
    const pending = { state: randomBytes(12).toString('base64url'), nonce: randomBytes(12).toString('base64url'), verifier: oidc.randomPKCECodeVerifier() };
    const url = new URL(await client.authorizationUrl(pending));
    const request = url.searchParams.get('request')!;
    await jwtVerify(request, createLocalJWKSet(keys.publicJwks), { issuer: CLIENT_ID });
    upstream.state.nonce = pending.nonce;
    // The upstream encrypts to a key it read from eidhub's JWKS, at this time or before.
    const stored = (await store.keys.list(0)).find((k) => k.kid === encKid);
    upstream.state.encryptTo = JSON.parse(stored!.privateJwk) as JWK;
    const identity = await client.exchange({ code: 'code-1', state: pending.state }, pending);
    return { requestKid: decodeProtectedHeader(request).kid, assertionKid: upstream.state.assertionKids.at(-1), name: identity.userinfo.name, sub: identity.idToken.sub };
  }

  it('decrypts for the old and the new encryption key, and signs with the new key after the rollover', async () => {
    const t0 = Date.UTC(2026, 2, 1);
    clock = t0;
    const before = await rpKeysOf(store, t0);
    const [oldSig, oldEnc] = [before.signing.kid, before.decryption[0]!.kid];
    assert.deepEqual(await login(oldEnc), { requestKid: oldSig, assertionKid: oldSig, name: 'Maxence Legrand', sub: 'person-1' });

    const rollover = DAY;
    const t1 = t0 + HOUR;
    const added = await rotateRpKeys(store.keys, t1, rollover);
    const [newSig, newEnc] = [added.signing.kid, added.encryption.kid];
    clock = t1;
    assert.deepEqual(published(await rpKeysOf(store, t1)), { sig: [oldSig, newSig], enc: [newEnc, oldEnc] });
    const signedByOld = { requestKid: oldSig, assertionKid: oldSig, name: 'Maxence Legrand', sub: 'person-1' };
    assert.deepEqual(await login(oldEnc), signedByOld, 'an upstream that has not read the JWKS again still encrypts to the old key: it decrypts');
    assert.deepEqual(await login(newEnc), signedByOld, 'one that has: the new key decrypts too; the old key still signs');

    clock = t1 + rollover;
    const signedByNew = { requestKid: newSig, assertionKid: newSig, name: 'Maxence Legrand', sub: 'person-1' };
    assert.deepEqual(await login(newEnc), signedByNew, 'after the rollover the request object and the client assertion carry the new kid');
    assert.deepEqual(await login(oldEnc), signedByNew, 'the old encryption key still decrypts (an upstream that read the JWKS just before it left)');

    clock = t1 + 2 * rollover + HOUR;
    assert.deepEqual(published(await rpKeysOf(store, clock)), { sig: [newSig], enc: [newEnc] });
    assert.deepEqual(await login(newEnc), signedByNew);
    await assert.rejects(login(oldEnc), (err: unknown) => err instanceof UpstreamRefused && /decrypt/i.test(err.message), 'a JWE to a removed key is refused');
  });
});

describe('eidhub keys rotate on a running eidhub (sandbox mode, the itsme simulator as upstream)', () => {
  const CLIENT = 'rp';
  const SECRET = 'a-long-client-secret-0001';
  const redirectUri = 'http://127.0.0.1:9/cb';
  const ROLLOVER_SECONDS = 600;
  let eidhub: Eidhub;
  let configFile: string;
  let url: string;
  let offset = 0;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-rp-keys-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const raw = {
      sandbox: true,
      publicUrl: url,
      port,
      host: '127.0.0.1',
      storage: { driver: 'sqlite', path: join(dir, 'eidhub.db') },
      upstreamKeyRolloverSeconds: ROLLOVER_SECONDS,
      oidcClients: [{ clientId: CLIENT, secrets: [SECRET], redirectUris: [redirectUri], scopes: ['openid', 'name'], idTokenClaims: ['name'] }],
    };
    configFile = join(dir, 'eidhub.json');
    writeFileSync(configFile, JSON.stringify(raw));
    eidhub = await buildEidhub(parseConfig(raw, configFile), { logger: createLogger('silent'), timers: false, now: () => Date.now() + offset });
    await eidhub.app.listen({ port, host: '127.0.0.1' });
  });
  after(() => eidhub?.close());

  const jwks = async () => ((await (await fetch(`${url}/auth/upstream/jwks`)).json()) as { keys: JWK[] }).keys;
  const kidsOf = (keys: JWK[], use: string) => keys.filter((k) => k.use === use).map((k) => k.kid);

  /** A login through the simulator: the kid of the request object eidhub sent it, and the name eidhub's ID token carries. */
  async function login(): Promise<{ requestKid: string | undefined; name: unknown }> {
    // The relying party's clock is eidhub's (moved on by `offset`).
    const rp = await oidc.discovery(new URL(`${url}/auth/open`), CLIENT, { client_secret: SECRET, [oidc.clockSkew]: offset / 1000 }, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    const nonce = oidc.randomNonce();
    const authorize = oidc.buildAuthorizationUrl(rp, { redirect_uri: redirectUri, scope: 'openid name', nonce, state: 's', acr_values: 'idp:itsme' });
    const agent = new Browserless(url);
    const toSimulator = await agent.get(authorize.href, `${url}/sandbox/itsme/`);
    const request = new URL(toSimulator.url).searchParams.get('request');
    assert.ok(request, `eidhub sent a request object to the simulator (${toSimulator.url})`);
    const consent = await agent.get(toSimulator.url, redirectUri);
    assert.equal(consent.res.status, 200, `the simulator's consent page (${consent.url}: ${consent.body.slice(0, 200)})`);
    const done = await agent.post(`${consent.url}/confirm`, { identity: TEST_IDENTITIES[0]!.id }, redirectUri);
    assert.ok(done.url.startsWith(redirectUri), `back at the relying party (${done.url}: ${done.body.slice(0, 300)})`);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(done.url), { expectedNonce: nonce, expectedState: 's' });
    return { requestKid: decodeProtectedHeader(request).kid, name: tokens.claims()!.name };
  }

  it('publishes the new keys at once, logs in through them, and signs with the new key after upstreamKeyRolloverSeconds', async () => {
    const name = `${TEST_IDENTITIES[0]!.givenName} ${TEST_IDENTITIES[0]!.familyName}`;
    const first = await login();
    assert.equal(first.name, name);
    const before = await jwks();
    const [oldSig] = kidsOf(before, 'sig');
    const [oldEnc] = kidsOf(before, 'enc');
    assert.equal(first.requestKid, oldSig);

    const run = keysRotate(configFile);
    assert.equal(run.status, 0, run.stderr);
    const said = /new upstream RP keys \S+: signing (\S+), encryption (\S+);/.exec(run.stdout);
    assert.ok(said, run.stdout);
    const [, newSig, newEnc] = said;

    // No reload: the running eidhub reads the keys at each use.
    const after = await jwks();
    assert.deepEqual(kidsOf(after, 'sig'), [oldSig, newSig]);
    assert.deepEqual(kidsOf(after, 'enc'), [newEnc, oldEnc], 'the new encryption key first: the simulator encrypts to it from now on');
    assert.ok(after.every((k) => k.d === undefined));
    assert.ok(await eidhub.reloadKeys(), 'the token keys were rotated too');
    const tokenKeys = ((await (await fetch(`${url}/auth/open/.well-known/openid-configuration/jwks`)).json()) as { keys: JWK[] }).keys;
    assert.deepEqual(tokenKeys.map((k) => k.alg).sort(), ['ES256', 'ES256', 'RS256', 'RS256'], 'the token JWKS has its own keys only, old and new');
    assert.ok(!tokenKeys.some((k) => after.some((a) => a.kid === k.kid)));
    assert.deepEqual(await login(), { requestKid: oldSig, name }, 'the simulator encrypted to the new key; the old key still signs');

    offset = ROLLOVER_SECONDS * 1000;
    assert.deepEqual(await login(), { requestKid: newSig, name }, 'after the rollover the new key signs, and the simulator accepts it');
    assert.deepEqual(kidsOf(await jwks(), 'enc'), [newEnc], 'the old encryption key has left the JWKS');
  });
});
