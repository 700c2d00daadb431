/**
 * The client registry (src/clients/registry.ts) on each store: config clients, clients added at
 * run time, and two registries on one database standing for two eidhub processes.
 */
import assert from 'node:assert/strict';
import { createHmac, hash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ClientRegistry, type ClientRegistryOptions, type NewClient, type RegisteredClient } from '../src/clients/registry.js';
import { apiClientSchema, oidcClientSchema } from '../src/config/schema.js';
import { EidhubError } from '../src/core/errors.js';
import { openPostgresStore } from '../src/store/postgres/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store, StoredClient } from '../src/store/types.js';
import { captureLogs } from './support/logs.js';
import { dropTestDatabase, getTestPostgresUrl } from './support/postgres.js';

const KEY = randomBytes(32);
const T0 = 1_750_000_000_000;
const SECRET_A = 'first-secret-of-the-client-0123456789';
const SECRET_B = 'second-secret-of-the-client-0123456789';

const CONFIG_OIDC = oidcClientSchema.parse({ clientId: 'config-rp', clientName: 'Config RP', secrets: [SECRET_A], redirectUris: ['https://rp.example/cb'] });
const CONFIG_PUBLIC = oidcClientSchema.parse({ clientId: 'config-spa', redirectUris: ['http://localhost:8080/cb'] });
const CONFIG_OPTIONAL_PKCE = oidcClientSchema.parse({ clientId: 'config-pkce-optional', secrets: [SECRET_A], redirectUris: ['https://rp.example/cb'], pkce: 'optional' });
const CONFIG_REQUIRED_PKCE = oidcClientSchema.parse({ clientId: 'config-pkce-required', secrets: [SECRET_A], redirectUris: ['https://rp.example/cb'], pkce: 'required' });
const CONFIG_API = apiClientSchema.parse({ clientId: 'config-api', secrets: [SECRET_B], permissions: ['authentication-rest-api'] });

function newOidc(clientId = `rp-${randomUUID()}`, secrets = [SECRET_A, SECRET_B]): Extract<NewClient, { kind: 'oidc' }> {
  return { kind: 'oidc', settings: { ...withoutSecrets(CONFIG_OIDC), clientId, clientName: 'Stored RP' }, secrets };
}

function withoutSecrets<T extends { secrets: string[] }>(client: T): Omit<T, 'secrets'> {
  const { secrets: _secrets, ...settings } = client;
  return settings;
}

const internalSecretOf = (clientId: string) => createHmac('sha256', KEY).update(`client-secret:${clientId}`).digest('base64url');

/** Polls get() until `done` holds for its answer, up to 2 s; how long it took. */
async function pollGet(registry: ClientRegistry, clientId: string, done: (c: RegisteredClient | undefined) => boolean): Promise<number> {
  const start = Date.now();
  while (!done(registry.get(clientId))) {
    if (Date.now() - start > 2000) assert.fail(`get(${clientId}) did not change within 2 s`);
    await delay(20);
  }
  return Date.now() - start;
}

interface Backend {
  /** A new, empty database. */
  create(): Promise<string>;
  /** A store on it: each call a new connection (pool), as another process would have. */
  open(location: string): Promise<Store>;
  remove(location: string): Promise<void>;
}

function suite(backend: Backend): void {
  let location: string;
  let store: Store;
  const registries: ClientRegistry[] = [];
  const stores: Store[] = [];

  before(async () => {
    location = await backend.create();
    store = await backend.open(location);
  });
  after(async () => {
    for (const r of registries) r.close();
    for (const s of stores) await s.close();
    await store.close();
    await backend.remove(location);
  });

  async function openRegistry(over: Partial<ClientRegistryOptions> = {}): Promise<ClientRegistry> {
    const registry = await ClientRegistry.open({
      oidcClients: [CONFIG_OIDC, CONFIG_PUBLIC, CONFIG_OPTIONAL_PKCE, CONFIG_REQUIRED_PKCE],
      apiClients: [CONFIG_API],
      internalSecretKey: KEY,
      store: store.clients,
      logger: captureLogs().logger,
      now: () => T0,
      ...over,
    });
    registries.push(registry);
    return registry;
  }

  /** A registry on a store of its own on the same database: another eidhub process. */
  async function openOtherProcess(over: Partial<ClientRegistryOptions> = {}): Promise<ClientRegistry> {
    const other = await backend.open(location);
    stores.push(other);
    return openRegistry({ store: other.clients, ...over });
  }

  it('config clients are read-only: found, verified and PKCE as configured, never replaced or removed', async () => {
    const registry = await openRegistry();
    const rp = registry.get('config-rp');
    assert.ok(rp);
    assert.deepEqual(
      { kind: rp.kind, name: rp.name, readOnly: rp.readOnly, internalSecret: rp.internalSecret, redirectUris: rp.oidc?.redirectUris },
      { kind: 'oidc', name: 'Config RP', readOnly: true, internalSecret: internalSecretOf('config-rp'), redirectUris: ['https://rp.example/cb'] },
    );
    assert.equal(rp.oidc && 'secrets' in rp.oidc, false, 'the registry keeps no secret, only its hash');
    assert.equal(registry.verifySecret(rp, SECRET_A), true);
    assert.equal(registry.verifySecret(rp, SECRET_B), false);
    const api = await registry.find('config-api');
    assert.deepEqual([api?.kind, api?.readOnly, api?.api?.permissions], ['api', true, ['authentication-rest-api']]);

    assert.equal(registry.pkceRequired('config-spa'), true, 'public');
    assert.equal(registry.pkceRequired('config-pkce-optional'), false);
    assert.equal(registry.pkceRequired('config-pkce-required'), true);
    assert.equal(registry.pkceRequired('config-rp'), false, 'confidential, optional by default');
    assert.equal(registry.pkceRequired('config-api'), true);
    assert.equal(registry.pkceRequired('no-such-client'), true);

    const readOnly = (err: unknown) => err instanceof EidhubError && err.status === 409 && err.code === 'client_read_only';
    await assert.rejects(registry.remove('config-rp'), readOnly);
    await assert.rejects(registry.add(newOidc('config-api')), readOnly);
    assert.equal(await store.clients.get('config-api'), null, 'nothing stored');
  });

  it('add: in the snapshot when it resolves, verified against every secret, and stored as hashes only', async () => {
    const registry = await openRegistry();
    const input = newOidc();
    const added = await registry.add(input);
    const { clientId } = input.settings;
    assert.equal(registry.get(clientId), added);
    assert.equal(await registry.find(clientId), added);
    assert.deepEqual(
      { kind: added.kind, name: added.name, readOnly: added.readOnly, internalSecret: added.internalSecret },
      { kind: 'oidc', name: 'Stored RP', readOnly: false, internalSecret: internalSecretOf(clientId) },
    );
    assert.equal(registry.verifySecret(added, SECRET_A), true);
    assert.equal(registry.verifySecret(added, SECRET_B), true);
    assert.equal(registry.verifySecret(added, `${SECRET_A}x`), false);
    assert.equal(registry.pkceRequired(clientId), false);
    assert.ok(registry.list().includes(added));

    const stored = await store.clients.get(clientId);
    assert.deepEqual(stored?.secrets, [
      { name: 'secret-1', sha256: hash('sha256', SECRET_A, 'base64url'), createdAt: T0 },
      { name: 'secret-2', sha256: hash('sha256', SECRET_B, 'base64url'), createdAt: T0 },
    ]);
    assert.equal(JSON.stringify(stored).includes(SECRET_A), false, 'no secret in the store');
    assert.deepEqual(stored?.settings, { ...input.settings, postLogoutRedirectUris: [], grantTypes: ['authorization_code'], scopes: ['openid', 'idp-id', 'phone'], idTokenClaims: [], idTokenSigningAlg: 'RS256' });

    const api = await registry.add({ kind: 'api', settings: { clientId: `api-${randomUUID()}`, permissions: ['authentication-rest-api'] }, secrets: [SECRET_B] });
    assert.deepEqual([api.kind, api.name, api.api?.permissions, registry.pkceRequired(api.clientId)], ['api', undefined, ['authentication-rest-api'], true]);
  });

  it('add of a stored id replaces the client (its secrets too), keeping when it was created', async () => {
    let now = T0;
    const registry = await openRegistry({ now: () => now });
    const first = newOidc();
    const { clientId } = first.settings;
    await registry.add(first);
    now = T0 + 1000;
    const replaced = await registry.add({ ...newOidc(clientId, [SECRET_B]), settings: { ...first.settings, clientName: 'Renamed' } });
    assert.equal(registry.get(clientId), replaced);
    assert.equal(replaced.name, 'Renamed');
    assert.equal(registry.verifySecret(replaced, SECRET_A), false, 'the old secret is gone');
    assert.equal(registry.verifySecret(replaced, SECRET_B), true);
    const stored = await store.clients.get(clientId);
    assert.deepEqual([stored?.createdAt, stored?.updatedAt], [T0, T0 + 1000]);
  });

  it('find answers no client for an id no client can have (a NUL byte, too long), without asking the store', async () => {
    const registry = await openRegistry();
    for (const id of ['\u0000x', 'a'.repeat(129), '', 'with space']) assert.equal(await registry.find(id), undefined, JSON.stringify(id));
  });

  it('remove: gone from the snapshot and the store; false when there was none', async () => {
    const registry = await openRegistry();
    const { clientId } = await registry.add(newOidc());
    assert.equal(await registry.remove(clientId), true);
    assert.equal(registry.get(clientId), undefined);
    assert.equal(await registry.find(clientId), undefined);
    assert.equal(await store.clients.get(clientId), null);
    assert.equal(await registry.remove(clientId), false);
  });

  it('a stored client with the id of a config client is ignored, with one warning', async () => {
    await store.clients.put(storedOidc('config-rp', { clientName: 'Impostor' }));
    const logs = captureLogs();
    const registry = await openRegistry({ logger: logs.logger });
    assert.equal(registry.get('config-rp')?.name, 'Config RP');
    assert.equal((await registry.find('config-rp'))?.readOnly, true);
    await registry.add(newOidc());
    assert.equal(await registry.refresh(), false, 'nothing new: the add is in the snapshot already');
    const warnings = logs.records().filter((r) => r.clientId === 'config-rp');
    assert.deepEqual(warnings.map((r) => r.msg), ['clients: a stored client has the id of a config client and is ignored (the config file wins)']);
    assert.ok(registry.list().every((c) => c.clientId !== 'config-rp' || c.readOnly), 'listed once, as the config has it');
    await store.clients.remove('config-rp');
  });

  it('an invalid stored client is skipped with one warning naming it; the registry still opens', async () => {
    const clientId = `broken-${randomUUID()}`;
    await store.clients.put(storedOidc(clientId, { redirectUris: ['ftp://rp.example/cb'] }));
    const shortHash = `short-hash-${randomUUID()}`;
    await store.clients.put({ ...storedOidc(shortHash), secrets: [{ name: 'secret-1', sha256: 'AAAA'.repeat(5), createdAt: T0 }] });
    const logs = captureLogs();
    const registry = await openRegistry({ logger: logs.logger });
    assert.equal(registry.get(clientId), undefined);
    assert.equal(await registry.find(clientId), undefined);
    assert.equal(await registry.find(shortHash), undefined);
    const skipped = logs.records().filter((r) => r.msg === 'clients: a stored client is not valid and is skipped');
    assert.deepEqual(
      skipped.map((r) => [r.clientId, r.problems]),
      [
        [clientId, ['redirectUris[0]: must be an absolute https URL (http is allowed for localhost and 127.0.0.1), without a fragment']],
        [shortHash, ['secrets: a hash is not a SHA-256 hash in base64url']],
      ],
    );
    await store.clients.remove(clientId);
    await store.clients.remove(shortHash);
  });

  it('two processes: an add is found by the other one at once and by its get within a second, a removal seen within a second; onChange fires', async () => {
    const adder = await openRegistry();
    const other = await openOtherProcess();
    const changes: string[][] = [];
    const unsubscribe = other.onChange((ids) => changes.push(ids));

    const first = newOidc();
    const firstId = first.settings.clientId;
    await adder.add(first);
    const found = await other.find(firstId);
    assert.equal(found?.internalSecret, internalSecretOf(firstId), 'find reads the store at once');
    assert.equal(other.verifySecret(found, SECRET_B), true);
    assert.equal(other.get(firstId), found, 'and keeps it in the snapshot');

    const second = newOidc();
    const secondId = second.settings.clientId;
    await adder.add(second);
    assert.ok((await pollGet(other, secondId, (c) => c !== undefined)) < 1000, 'get sees an add within a second');

    assert.equal(await adder.remove(firstId), true);
    assert.ok((await pollGet(other, firstId, (c) => c === undefined)) < 1000, 'get sees a removal within a second');
    assert.deepEqual(changes, [[firstId], [secondId], [firstId]]);

    unsubscribe();
    await adder.remove(secondId);
    await pollGet(other, secondId, (c) => c === undefined);
    assert.equal(changes.length, 3, 'no call after unsubscribing');
  });

  it('refresh is true only when the snapshot changed, and a failing refresh is logged by the timer, not thrown', async () => {
    // No timer refresh in between: each refresh below is the one that sees a change, or not.
    const registry = await openRegistry({ refreshMs: 3_600_000 });
    assert.equal(await registry.refresh(), false);
    await store.clients.put(storedOidc(`direct-${randomUUID()}`));
    assert.equal(await registry.refresh(), true);
    assert.equal(await registry.refresh(), false);

    const logs = captureLogs();
    let fail = false;
    const flaky: Store['clients'] = {
      ...store.clients,
      version: () => (fail ? Promise.reject(new Error('database went away')) : store.clients.version()),
    };
    const watched = await openRegistry({ store: flaky, logger: logs.logger, refreshMs: 10 });
    fail = true;
    const start = Date.now();
    while (!logs.records().some((r) => r.msg.startsWith('clients: reading the stored clients failed'))) {
      if (Date.now() - start > 2000) assert.fail('the failed refresh was not logged');
      await delay(10);
    }
    watched.close();
    assert.equal(watched.get('config-rp')?.readOnly, true, 'the registry keeps working');
  });
}

/** A stored OIDC client as add() would write it, with `over` in its settings. */
function storedOidc(clientId: string, over: Record<string, unknown> = {}): StoredClient {
  return {
    clientId,
    kind: 'oidc',
    settings: { ...withoutSecrets(CONFIG_OIDC), clientId, ...over },
    secrets: [{ name: 'secret-1', sha256: hash('sha256', SECRET_A, 'base64url'), createdAt: T0 }],
    createdAt: T0,
    updatedAt: T0,
  };
}

describe('ClientRegistry', () => {
  it('refuses invalid settings or secrets with a 400 naming the field', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    const registry = await ClientRegistry.open({ oidcClients: [], apiClients: [], internalSecretKey: KEY, store: store.clients, logger: captureLogs().logger });
    try {
      const refused = (field: string, message: RegExp) => (err: unknown) =>
        err instanceof EidhubError && err.status === 400 && err.code === 'invalid_client_metadata' && err.field === field && message.test(err.message);
      const base = newOidc();
      await assert.rejects(
        registry.add({ ...base, settings: { ...base.settings, redirectUris: ['https://rp.example/cb', 'http://rp.example/cb'] } }),
        refused('redirectUris[1]', /redirectUris\[1\]: must be an absolute https URL/),
      );
      await assert.rejects(registry.add({ ...base, secrets: ['too-short'] }), refused('secrets[0]', /secrets\[0\]: must be at least 16 characters/));
      await assert.rejects(registry.add({ ...base, settings: { ...base.settings, pkce: 'optional' }, secrets: [] }), refused('pkce', /a public client/));
      await assert.rejects(registry.add({ ...base, settings: { ...base.settings, clientId: 'has space' } }), refused('clientId', /clientId: may contain only/));
      await assert.rejects(
        registry.add({ kind: 'api', settings: { clientId: `api-${randomUUID()}`, permissions: [] }, secrets: [] }),
        refused('secrets', /secrets: /),
      );
      await assert.rejects(
        registry.add({ ...base, secrets: ['too-short'] }),
        (err: unknown) => err instanceof Error && !err.message.includes('too-short'),
        'a refused secret is not repeated',
      );
      assert.deepEqual(await store.clients.list(), [], 'nothing stored');
    } finally {
      registry.close();
      await store.close();
    }
  });
});

const sqliteDir = mkdtempSync(join(tmpdir(), 'eidhub-clients-test-'));
after(() => rmSync(sqliteDir, { recursive: true, force: true }));

describe('ClientRegistry on SQLite', () => {
  suite({
    create: async () => join(sqliteDir, randomUUID(), 'eidhub.db'),
    open: (path) => openSqliteStore({ path, checkTouches: true }),
    remove: async (path) => rmSync(dirname(path), { recursive: true, force: true }),
  });
});

// As in the store contract suite: under CI=true a missing server is a failing test, never a skip.
const pgProbe = await getTestPostgresUrl().then(
  (url) => ({ url, error: undefined }),
  (error: unknown) => ({ url: null, error }),
);
const pgSkip =
  pgProbe.url || pgProbe.error
    ? false
    : 'no PostgreSQL: set EIDHUB_DATABASE_URL or install the Debian server package (postgresql); skipped because CI is not "true"';

describe('ClientRegistry on PostgreSQL', { skip: pgSkip }, () => {
  if (pgProbe.error !== undefined) {
    it('has a PostgreSQL server', () => {
      throw pgProbe.error;
    });
    return;
  }
  suite({
    create: async () => {
      const { url } = pgProbe;
      if (!url) throw new Error('no PostgreSQL database');
      return url;
    },
    open: (url) => openPostgresStore({ url, poolSize: 4 }),
    remove: (url) => dropTestDatabase(url),
  });
});
