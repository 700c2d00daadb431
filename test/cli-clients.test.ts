/**
 * The Admin API's mirrors for scripts (src/admin/cli.ts): `eidhub clients list|add|remove` and
 * `eidhub secrets add|revoke`, run as the command is, on a config file's store; what they did is
 * read back through a client registry of the test's own, as a running eidhub would see it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClientRegistry } from '../src/clients/registry.js';
import { createLogger } from '../src/http/logger.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';

describe('eidhub clients and eidhub secrets', () => {
  let dir: string;
  let configFile: string;
  const dbPath = () => join(dir, 'eidhub.db');

  /** Runs `eidhub ...args --config FILE`; its exit code and output. */
  function eidhub(...args: string[]) {
    // The config file names the store; an EIDHUB_DATABASE_URL in the environment would override it.
    const { EIDHUB_DATABASE_URL: _ignored, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args, '--config', configFile], { encoding: 'utf8', timeout: 60_000, env });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr.replace(/^oidc-provider WARNING.*\n/m, '') };
  }
  const json = (name: string, value: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(value));
    return file;
  };
  const secretOf = (stdout: string) => /secret ([\w.-]+): (\S+)/.exec(stdout)!.slice(1) as [string, string];

  /** The clients as a running eidhub on the same store sees them. */
  async function withRegistry<T>(use: (registry: ClientRegistry) => Promise<T> | T): Promise<T> {
    const store = await openSqliteStore({ path: dbPath() });
    try {
      const key = Buffer.from(await store.secrets.getOrCreate('client-secret', 'unused'), 'base64url');
      const registry = await ClientRegistry.open({ oidcClients: [], apiClients: [], realms: [{ name: 'phones', allowUrlsInMessage: false, pollIntervalSeconds: 5, clients: [] }], internalSecretKey: key, store: store.clients, logger: createLogger('silent') });
      try {
        return await use(registry);
      } finally {
        registry.close();
      }
    } finally {
      await store.close();
    }
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eidhub-cli-'));
    configFile = json('eidhub.json', {
      publicUrl: 'http://127.0.0.1:9',
      storage: { driver: 'sqlite', path: join(dir, 'eidhub.db') },
      oidcClients: [{ clientId: 'config-rp', secrets: ['a-long-config-secret-0001'], redirectUris: ['https://rp.example/cb'] }],
      realms: [{ name: 'phones', clients: [] }],
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('adds an API client with one secret printed once, lists it beside the config file\'s, adds and revokes secrets', async () => {
    const added = eidhub('clients', 'add', '--kind', 'api', json('batch.json', { clientId: 'batch', permissions: ['authentication-rest-api'] }));
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stdout, /^created api\tbatch\t-\tstored\t1 secret$/m);
    const [firstName, first] = secretOf(added.stdout);
    assert.equal(firstName, 'secret-1');

    const listed = eidhub('clients', 'list');
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /^oidc\tconfig-rp\t-\tread-only\t1 secret$/m);
    assert.match(listed.stdout, /^api\tbatch\t-\tstored\t1 secret$/m);
    assert.ok(!listed.stdout.includes(first), 'a list never shows a secret');

    const more = eidhub('secrets', 'add', 'batch', '--name', 'rotation-2027');
    assert.equal(more.status, 0, more.stderr);
    const [secondName, second] = secretOf(more.stdout);
    assert.equal(secondName, 'rotation-2027');
    await withRegistry(async (registry) => {
      const client = (await registry.find('batch'))!;
      assert.deepEqual([registry.verifySecret(client, first), registry.verifySecret(client, second)], [true, true]);
    });

    const revoked = eidhub('secrets', 'revoke', 'batch', 'secret-1');
    assert.equal(revoked.status, 0, revoked.stderr);
    await withRegistry(async (registry) => {
      const client = (await registry.find('batch'))!;
      assert.deepEqual([registry.verifySecret(client, first), registry.verifySecret(client, second)], [false, true]);
    });
    const again = eidhub('secrets', 'revoke', 'batch', 'secret-1');
    assert.equal(again.status, 2);
    assert.match(again.stderr, /batch has no secret named secret-1/);

    const store = await openSqliteStore({ path: dbPath() });
    const events = (await store.audit.recent(50)).filter((e) => e.type.startsWith('admin.client'));
    await store.close();
    assert.deepEqual(
      events.map((e) => [e.type, e.clientId, (e.data as { actor?: string }).actor]).reverse(),
      [
        ['admin.client.created', 'batch', 'cli'],
        ['admin.client.secret.created', 'batch', 'cli'],
        ['admin.client.secret.revoked', 'batch', 'cli'],
      ],
    );
    assert.ok(!JSON.stringify(events).includes(first) && !JSON.stringify(events).includes(second), 'no secret in the audit log');
  });

  it('adds and removes a realm client; a public OIDC client gets no secret, a confidential one one', async () => {
    const realm = eidhub('clients', 'add', '--kind', 'realm', '--realm', 'phones', json('backend.json', { clientId: 'backend' }));
    assert.equal(realm.status, 0, realm.stderr);
    assert.match(realm.stdout, /^created realm\tphones\/backend\t-\tstored\t1 secret$/m);
    assert.ok(await withRegistry((r) => r.findRealm('phones', 'backend')));
    const removed = eidhub('clients', 'remove', 'backend', '--realm', 'phones');
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(await withRegistry((r) => r.findRealm('phones', 'backend')), undefined);

    const spa = eidhub('clients', 'add', '--kind', 'oidc', json('spa.json', { clientId: 'spa', redirectUris: ['http://localhost:8080/cb'] }));
    assert.match(spa.stdout, /^created oidc\tspa\t-\tstored\t0 secrets$/m);
    assert.doesNotMatch(spa.stdout, /secret secret-1/);
    const shop = eidhub('clients', 'add', '--kind', 'oidc', '--confidential', json('shop.json', { clientId: 'shop', redirectUris: ['https://shop.example/cb'] }));
    assert.match(shop.stdout, /^created oidc\tshop\t-\tstored\t1 secret$/m);
    assert.equal(secretOf(shop.stdout)[0], 'secret-1');
  });

  it('refuses, naming what is wrong and changing nothing: a config client, a bad field, secrets in the file, a file that is no JSON, an id in use', async () => {
    const readOnly = eidhub('clients', 'remove', 'config-rp');
    assert.equal(readOnly.status, 2);
    assert.match(readOnly.stderr, /client config-rp comes from the config file and cannot be removed/);

    const http = eidhub('clients', 'add', '--kind', 'oidc', json('bad.json', { clientId: 'bad', redirectUris: ['http://rp.example/cb'] }));
    assert.equal(http.status, 2);
    assert.match(http.stderr, /redirectUris\[0\]: must be an absolute https URL/);
    const withSecrets = eidhub('clients', 'add', '--kind', 'api', json('leak.json', { clientId: 'leak', secrets: ['a-long-secret-of-mine-0001'] }));
    assert.equal(withSecrets.status, 2);
    assert.match(withSecrets.stderr, /secrets: leave them out/);
    writeFileSync(join(dir, 'broken.json'), '{ clientId:');
    const broken = eidhub('clients', 'add', '--kind', 'api', join(dir, 'broken.json'));
    assert.equal(broken.status, 2);
    assert.match(broken.stderr, /broken\.json: not a JSON file/);
    eidhub('clients', 'add', '--kind', 'api', json('twice.json', { clientId: 'twice' }));
    const twice = eidhub('clients', 'add', '--kind', 'api', join(dir, 'twice.json'));
    assert.equal(twice.status, 2);
    assert.match(twice.stderr, /twice/);

    await withRegistry((registry) => {
      for (const id of ['bad', 'leak']) assert.equal(registry.get(id), undefined, id);
    });
    const unknown = eidhub('clients', 'frobnicate');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command: eidhub clients frobnicate/);
  });
});
