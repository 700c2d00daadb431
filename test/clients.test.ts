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
import { apiClientSchema, oidcClientSchema, realmClientSchema, type RealmConfig } from '../src/config/schema.js';
import { EidhubError } from '../src/core/errors.js';
import { RealmClients } from '../src/protocols/ciba/clients.js';
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

const REALM: RealmConfig = {
  name: 'phones',
  allowUrlsInMessage: false,
  pollIntervalSeconds: 5,
  clients: [realmClientSchema.parse({ clientId: 'config-rp', clientName: 'Config backend', secrets: [SECRET_B] })],
};
const OTHER_REALM: RealmConfig = { ...REALM, name: 'other', clients: [] };

function newRealmClient(realm: string, clientId = `backend-${randomUUID()}`, secrets = [SECRET_A]): Extract<NewClient, { kind: 'realm' }> {
  return { kind: 'realm', realm, settings: { clientId, clientName: 'Stored backend', scopes: ['openid', 'ip:phone_verify'], deliveryMode: 'ping', notificationEndpoint: 'https://backend.example/ciba' }, secrets };
}

const realmInternalSecretOf = (realm: string, clientId: string) => createHmac('sha256', KEY).update(`realm-client-secret:${realm}:${clientId}`).digest('base64url');

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
    for (const r of registries) await r.close();
    for (const s of stores) await s.close();
    await store.close();
    await backend.remove(location);
  });

  async function openRegistry(over: Partial<ClientRegistryOptions> = {}): Promise<ClientRegistry> {
    const registry = await ClientRegistry.open({
      oidcClients: [CONFIG_OIDC, CONFIG_PUBLIC, CONFIG_OPTIONAL_PKCE, CONFIG_REQUIRED_PKCE],
      apiClients: [CONFIG_API],
      realms: [REALM, OTHER_REALM],
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

  it("a realm's config clients: found only in their realm, never as an /auth/open client, read-only", async () => {
    const registry = await openRegistry();
    const backend = registry.getRealm('phones', 'config-rp');
    assert.ok(backend);
    assert.deepEqual(
      { kind: backend.kind, key: backend.key, name: backend.name, readOnly: backend.readOnly, realm: backend.realm?.name, internalSecret: backend.internalSecret },
      { kind: 'realm', key: 'phones/config-rp', name: 'Config backend', readOnly: true, realm: 'phones', internalSecret: realmInternalSecretOf('phones', 'config-rp') },
    );
    assert.equal(registry.verifySecret(backend, SECRET_B), true);
    assert.equal(registry.verifySecret(backend, SECRET_A), false, "the /auth/open client of the same id has another secret");
    assert.equal(registry.get('config-rp')?.kind, 'oidc', 'the same id at /auth/open is the OIDC client');
    assert.notEqual(registry.get('config-rp')?.internalSecret, backend.internalSecret);
    assert.equal(registry.getRealm('other', 'config-rp'), undefined, 'nor a client of another realm');
    assert.equal(await registry.findRealm('other', 'config-rp'), undefined);
    assert.equal(registry.get('phones/config-rp'), undefined, "a realm's key is no client_id");
    assert.equal(await registry.find('phones/config-rp'), undefined);
    assert.equal(await registry.findRealm('nowhere', 'config-rp'), undefined);

    const readOnly = (err: unknown) => err instanceof EidhubError && err.status === 409 && err.code === 'client_read_only' && err.message === 'client config-rp of realm phones comes from the config file and cannot be removed at run time';
    await assert.rejects(registry.remove('config-rp', 'phones'), readOnly);
    await assert.rejects(registry.add(newRealmClient('phones', 'config-rp')), (err: unknown) => err instanceof EidhubError && err.status === 409);
  });

  it("a realm client added: in its realm only, on the other process at once, stored under '{realm}/{clientId}' as hashes; removed by realm", async () => {
    const registry = await openRegistry();
    const other = await openOtherProcess();
    const input = newRealmClient('phones');
    const { clientId } = input.settings;
    const added = await registry.add(input);
    assert.deepEqual(
      { kind: added.kind, key: added.key, readOnly: added.readOnly, settings: added.realm?.settings, internalSecret: added.internalSecret },
      { kind: 'realm', key: `phones/${clientId}`, readOnly: false, settings: input.settings, internalSecret: realmInternalSecretOf('phones', clientId) },
    );
    assert.equal(registry.getRealm('phones', clientId), added);
    assert.equal(registry.get(clientId), undefined, 'no /auth/open client');
    const seen = await other.findRealm('phones', clientId);
    assert.equal(seen?.key, added.key);
    assert.equal(other.verifySecret(seen, SECRET_A), true);
    assert.equal(await other.findRealm('other', clientId), undefined);

    // The same id in the other realm and at /auth/open: three clients.
    const twin = await registry.add(newRealmClient('other', clientId, [SECRET_B]));
    const open = await registry.add(newOidc(clientId));
    assert.deepEqual(new Set([added.internalSecret, twin.internalSecret, open.internalSecret]).size, 3);
    assert.equal(registry.verifySecret(registry.getRealm('other', clientId)!, SECRET_A), false);

    const stored = await store.clients.get(`phones/${clientId}`);
    assert.deepEqual([stored?.kind, stored?.settings], ['realm', { realm: 'phones', ...input.settings }]);
    assert.equal(JSON.stringify(stored).includes(SECRET_A), false, 'no secret in the store');

    assert.equal(await registry.remove(clientId, 'phones'), true);
    assert.equal(registry.getRealm('phones', clientId), undefined);
    assert.ok(registry.getRealm('other', clientId), 'the other realm keeps its client');
    assert.ok(registry.get(clientId), 'and /auth/open its');
    await pollGet(other, clientId, (c) => c !== undefined);
    assert.equal(await registry.remove(clientId, 'phones'), false);
    await registry.remove(clientId, 'other');
    await registry.remove(clientId);
  });

  it('a realm client is refused for a realm not configured or with invalid settings (400 naming the field); the store refuses a realm row without its key', async () => {
    const registry = await openRegistry();
    const refused = (field: string, message: RegExp) => (err: unknown) =>
      err instanceof EidhubError && err.status === 400 && err.code === 'invalid_client_metadata' && err.field === field && message.test(err.message);
    await assert.rejects(registry.add(newRealmClient('nowhere')), refused('realm', /no realm "nowhere" is configured/));
    await assert.rejects(registry.add(newRealmClient('Not A Realm')), refused('realm', /realm: must be a realm name/));
    const ping = newRealmClient('phones');
    await assert.rejects(
      registry.add({ ...ping, settings: { ...ping.settings, notificationEndpoint: undefined } }),
      refused('notificationEndpoint', /deliveryMode "ping" needs a notificationEndpoint/),
    );
    assert.equal((await store.clients.list()).some((c) => c.kind === 'realm' && c.clientId.endsWith(ping.settings.clientId)), false, 'nothing stored');

    const row: StoredClient = { clientId: 'no-realm-in-key', kind: 'realm', settings: { realm: 'phones' }, secrets: [], createdAt: T0, updatedAt: T0 };
    await assert.rejects(store.clients.put(row));
    await assert.rejects(store.clients.put({ ...row, clientId: 'phones/x', kind: 'oidc' }));
  });

  it("a stored realm client of a realm no longer configured is ignored with a warning; one whose settings name another key is skipped", async () => {
    const registry = await openRegistry();
    const gone = newRealmClient('other');
    await registry.add(gone);
    const { clientId } = gone.settings;
    const logs = captureLogs();
    const withoutOther = await openOtherProcess({ realms: [REALM], logger: logs.logger });
    assert.equal(await withoutOther.findRealm('other', clientId), undefined);
    assert.ok(logs.records().some((r) => r.clientId === `other/${clientId}` && r.msg === 'clients: a stored client belongs to realm other, which is not configured, and is ignored'));

    const moved = `phones/${randomUUID()}`;
    await store.clients.put({ clientId: moved, kind: 'realm', settings: { realm: 'other', ...gone.settings }, secrets: [{ name: 'secret-1', sha256: hash('sha256', SECRET_A, 'base64url'), createdAt: T0 }], createdAt: T0, updatedAt: T0 });
    const movedLogs = captureLogs();
    const reader = await openOtherProcess({ logger: movedLogs.logger });
    assert.equal(await reader.findRealm('phones', moved.slice('phones/'.length)), undefined);
    assert.deepEqual(
      movedLogs.records().filter((r) => r.clientId === moved).map((r) => r.problems),
      [[`clientId: the settings name another client, client ${clientId} of realm other`]],
    );
    await registry.remove(clientId, 'other');
    await store.clients.remove(moved);
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
    await watched.close();
    assert.equal(watched.get('config-rp')?.readOnly, true, 'the registry keeps working');
  });

  it("records a secret's use under its name: shown at once, written on close, then seen by another process", async () => {
    let clock = T0;
    // No timed write in between: close() is what writes.
    const registry = await openRegistry({ secretUseFlushMs: 3_600_000, now: () => clock });
    const other = await openOtherProcess();
    const added = await registry.add(newOidc());
    clock = T0 + 90_000;
    assert.equal(registry.verifySecret(added, SECRET_B), true);
    assert.equal(registry.verifySecret(added, 'not-a-secret-of-the-client-0123'), false);
    assert.equal(registry.verifySecret(registry.get('config-rp')!, SECRET_A), true);
    const realmClients = new RealmClients(registry, REALM.name);
    assert.equal(realmClients.verifySecret((await realmClients.find('config-rp'))!, SECRET_B), true, "a realm client's check, CIBA's");
    const expected = [
      { name: 'secret-1', createdAt: T0, lastUsedAt: undefined },
      { name: 'secret-2', createdAt: T0, lastUsedAt: T0 + 90_000 },
    ];
    assert.deepEqual(await registry.secretsOf(added.key, 'oidc'), expected, 'this process shows its uses before writing them');
    assert.deepEqual(await other.secretsOf(added.key, 'oidc'), expected.map((s) => ({ ...s, lastUsedAt: undefined })), 'not written yet');
    await registry.close();
    assert.deepEqual(await other.secretsOf(added.key, 'oidc'), expected, 'written on close');
    assert.deepEqual(await other.secretsOf('config-rp', 'oidc'), [{ name: 'secret-1', createdAt: undefined, lastUsedAt: T0 + 90_000 }], "a config client's secret-N too");
    assert.deepEqual(await other.secretsOf('config-rp', 'realm'), undefined);
    assert.deepEqual(await other.secretsOf(`${REALM.name}/config-rp`, 'realm'), [{ name: 'secret-1', createdAt: undefined, lastUsedAt: T0 + 90_000 }]);
  });

  it('writes uses every secretUseFlushMs; a failed write is logged at warn, without the secret, and tried again', async () => {
    const logs = captureLogs();
    let fail = true;
    const flaky: Store['clients'] = {
      ...store.clients,
      recordSecretUses: (uses) => (fail ? Promise.reject(new Error('database went away')) : store.clients.recordSecretUses(uses)),
    };
    const registry = await openRegistry({ store: flaky, logger: logs.logger, secretUseFlushMs: 20 });
    const added = await registry.add(newOidc(undefined, [SECRET_A]));
    assert.equal(registry.verifySecret(added, SECRET_A), true);
    const failed = () => logs.records().filter((r) => r.msg.startsWith('clients: recording when secrets were last used failed'));
    const start = Date.now();
    while (failed().length === 0) {
      if (Date.now() - start > 2000) assert.fail('the failed write was not logged');
      await delay(10);
    }
    assert.equal(failed()[0]!.level, 40, 'at warn');
    assert.ok(!JSON.stringify(logs.records()).includes(SECRET_A), 'no secret in the log');
    fail = false;
    while ((await store.clients.secretUses(added.key)).get('secret-1') !== T0) {
      if (Date.now() - start > 4000) assert.fail('the use was not written once the store was back');
      await delay(10);
    }
  });

  it("drops a revoked secret's use, and never shows a use from before a secret of that name was made", async () => {
    let clock = T0;
    const registry = await openRegistry({ secretUseFlushMs: 3_600_000, now: () => clock });
    const added = await registry.add(newOidc());
    assert.equal(registry.verifySecret(added, SECRET_B), true);
    assert.equal(await registry.revokeSecret(added.key, 'oidc', 'secret-2'), true);
    await registry.close();
    assert.deepEqual(await store.clients.secretUses(added.key), new Map(), 'the revoked secret-2 left no row');

    const again = await openRegistry({ now: () => clock });
    clock = T0 + 10_000;
    await again.addSecret(added.key, 'oidc', 'secret-2');
    // Another process's batch, written late, of the secret-2 revoked above.
    await store.clients.recordSecretUses([{ clientKey: added.key, secretName: 'secret-2', at: T0 + 5000 }]);
    assert.deepEqual((await again.secretsOf(added.key, 'oidc'))?.map((s) => [s.name, s.lastUsedAt]), [['secret-1', undefined], ['secret-2', undefined]]);
  });

  it('purges, when it opens, the uses of secrets no client has any more', async () => {
    const removed = `removed-${randomUUID()}`;
    await store.clients.recordSecretUses([
      { clientKey: 'config-rp', secretName: 'secret-1', at: T0 },
      { clientKey: 'config-rp', secretName: 'secret-2', at: T0 },
      { clientKey: removed, secretName: 'secret-1', at: T0 },
    ]);
    await openRegistry();
    assert.deepEqual([...(await store.clients.secretUses('config-rp')).keys()], ['secret-1'], "config-rp's secret-2 left the file");
    assert.deepEqual(await store.clients.secretUses(removed), new Map());
  });

  it('of two processes adding one id as new at once, one adds it and the other gets a 409', async () => {
    const [a, b] = [await openRegistry(), await openOtherProcess()];
    const input = newOidc();
    const adds = [() => a.add(input, { onlyNew: true }), () => b.add(input, { onlyNew: true })];
    // Two SQLite connections in one process cannot write at once: the second's wait for the
    // file's lock blocks the event loop the first needs to commit. Real processes do race there.
    const results: PromiseSettledResult<RegisteredClient>[] = [];
    if (store.driver === 'sqlite') for (const add of adds) results.push(...(await Promise.allSettled([add()])));
    else results.push(...(await Promise.allSettled(adds.map((add) => add()))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.ok(refused[0] instanceof EidhubError && refused[0].status === 409 && refused[0].code === 'client_exists', String(refused[0]));
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
      await assert.rejects(registry.add({ ...base, settings: { ...base.settings, pcke: 'required' } as typeof base.settings }), refused('pcke', /pcke: unknown key \(did you mean "pkce"\?\)/));
      await assert.rejects(registry.add({ ...base, settings: { ...base.settings, public: true } }), refused('public', /a public client has no secrets/));
      await assert.rejects(registry.add({ ...base, secrets: [{ env: 'PATH' } as unknown as string] }), refused('secrets[0]', /read from the config file only/));
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
      await registry.close();
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
