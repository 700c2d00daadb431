/**
 * Signing keys: created at first start and kept in the store; `eidhub keys rotate` adds new keys,
 * running servers switch to them, and the old keys stay in the JWKS until what they signed expired.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/http/logger.js';
import { buildEidhub, type Eidhub } from '../src/main.js';
import { ensureSigningKeys } from '../src/keys/signing-keys.js';
import { openStore } from '../src/store/index.js';
import { freePort } from './support/eidhub.js';
import { CapturingSms, loginOverHttp } from './support/http-login.js';
import { keysRotate } from './support/key-stores.js';

const SECRET = 'a-long-client-secret-0001';

describe('first signing keys', () => {
  it('are the same for processes that start together on an empty store', async () => {
    const store = await openStore({ driver: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'eidhub-keys-')), 'e.db') });
    try {
      const sets = await Promise.all(Array.from({ length: 5 }, () => ensureSigningKeys(store.keys, store.secrets, Date.now())));
      const kids = sets.map((keys) => keys.map((k) => k.kid).join(','));
      assert.equal(new Set(kids).size, 1, kids.join('\n'));
      assert.equal(sets[0]!.length, 2);
    } finally {
      await store.close();
    }
  });
});

describe('signing keys', () => {
  let eidhub: Eidhub;
  let configFile: string;
  let url: string;
  const sms = new CapturingSms();

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-keys-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const raw = {
      publicUrl: url,
      port,
      host: '127.0.0.1',
      storage: { driver: 'sqlite', path: join(dir, 'eidhub.db') },
      oidcClients: [{ clientId: 'rp', secrets: [SECRET], redirectUris: ['http://127.0.0.1:9/cb'] }],
      realms: [{ name: 'phones', clients: [{ clientId: 'backend', secrets: [SECRET] }] }],
    };
    configFile = join(dir, 'eidhub.json');
    writeFileSync(configFile, JSON.stringify(raw));
    eidhub = await buildEidhub(parseConfig(raw, configFile), { logger: createLogger('silent'), sms, timers: false });
    await eidhub.app.listen({ port, host: '127.0.0.1' });
  });
  after(() => eidhub?.close());

  async function jwks(at = `${url}/auth/open/.well-known/openid-configuration/jwks`): Promise<{ kid: string; alg: string; d?: string }[]> {
    return ((await (await fetch(at)).json()) as { keys: { kid: string; alg: string; d?: string }[] }).keys;
  }
  const realmJwks = () => jwks(`${url}/auth/realms/phones/protocol/openid-connect/certs`);

  async function idTokenKid(): Promise<string> {
    const cfg = await oidc.discovery(new URL(`${url}/auth/open`), 'rp', SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const nonce = oidc.randomNonce();
    const authorizeUrl = oidc.buildAuthorizationUrl(cfg, { redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid idp-id phone', nonce, state: 's' }).href;
    const callback = await loginOverHttp({ origin: url, authorizeUrl, redirectUri: 'http://127.0.0.1:9/cb', phone: '+447700900200', sms });
    const tokens = await oidc.authorizationCodeGrant(cfg, callback, { expectedNonce: nonce, expectedState: 's' });
    return (JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
  }

  it('publishes one RS256 and one ES256 public key, never a private part', async () => {
    const keys = await jwks();
    assert.deepEqual(keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    assert.ok(keys.every((k) => k.d === undefined));
  });

  it('rotates: the new key signs, the old one stays published', async () => {
    const before = await jwks();
    assert.deepEqual((await realmJwks()).map((k) => k.kid), before.map((k) => k.kid));
    const oldRs = before.find((k) => k.alg === 'RS256')!.kid;
    assert.equal(await idTokenKid(), oldRs);

    const run = keysRotate(configFile);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /new signing keys: RS256 \S+, ES256 \S+/);

    assert.equal(await eidhub.reloadKeys(), true);
    const after = await jwks();
    assert.equal(after.length, 4, 'old and new keys are published');
    assert.deepEqual((await realmJwks()).map((k) => k.kid), after.map((k) => k.kid), "a realm's issuer publishes the same keys, the new ones too");
    assert.ok(after.some((k) => k.kid === oldRs));
    const newKid = await idTokenKid();
    assert.notEqual(newKid, oldRs);
    assert.ok(after.some((k) => k.kid === newKid && k.alg === 'RS256'));
    assert.equal(await eidhub.reloadKeys(), false, 'nothing changed since');
  });
});
