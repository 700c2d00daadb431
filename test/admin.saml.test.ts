/**
 * The Admin API's SAML service providers over plain HTTP: tokens and access rules, every route
 * with its answer checked against the Admin API's OpenAPI document, config SPs read-only, bad
 * metadata refused with the field at fault and nothing stored, and an SP added over the API
 * logging a person in at once through the IdP (@node-saml/node-saml as the SP), then refused at
 * once when removed; and SPs already stored when eidhub starts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SAML } from '@node-saml/node-saml';
import { SAML_KEY_ALG } from '../src/protocols/saml/keys.js';
import { openStore } from '../src/store/index.js';
import { startEidhub, tempSqlitePath, type RunningEidhub } from './support/eidhub.js';
import { CapturingSms } from './support/http-login.js';
import { OpenApiValidator } from './support/openapi.js';
import { makePemPair, type PemPair } from './support/saml-certs.js';
import { samlLoginOverHttp } from './support/saml-http-login.js';

const ADMIN = { id: 'admin-client', secret: 'admin-client-secret-0001' };
const REST = { id: 'rest-client', secret: 'rest-client-secret-0001' };
const CONFIG_SP = 'https://config-sp.example.test/saml';
const NEW_SP = 'https://new-sp.example.test/saml/metadata?tenant=1';
const ACS = 'http://127.0.0.1:5998/acs';
const PHONE = '+447700900611';

const LIST = '/admin/api/saml-service-providers';
const ITEM = '/admin/api/saml-service-providers/{entityId}';

type Json = Record<string, unknown>;

/** An SP's metadata as @node-saml/node-saml writes it: its ACS, its signing certificate and, when given, an encryption one. */
function spMetadata(entityId: string, signing: PemPair, encryption?: PemPair): string {
  return new SAML({ issuer: entityId, callbackUrl: ACS, idpCert: 'unused', privateKey: signing.privateKeyPem, ...(encryption ? { decryptionPvk: encryption.privateKeyPem } : {}) }).generateServiceProviderMetadata(
    encryption?.certificatePem ?? null,
    signing.certificatePem,
  );
}

describe('Admin API: SAML service providers', () => {
  let eidhub: RunningEidhub;
  let openapi: OpenApiValidator;
  let token: string;
  let spKeys: PemPair;
  let encKeys: PemPair;
  let idpCert: string;
  const sms = new CapturingSms();

  const tokenOf = async (client: { id: string; secret: string }, scope: string) =>
    (
      (await (
        await fetch(`${eidhub.issuer}/connect/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
        })
      ).json()) as { access_token: string }
    ).access_token;

  /** Calls `method template` and checks the answer against the document; returns its body (undefined for 204). */
  async function call(method: string, template: string, params: Record<string, string> = {}, body?: unknown, bearer: string | null = token): Promise<{ status: number; body: Json & Json[] }> {
    const path = template.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(params[k]!));
    const res = await fetch(`${eidhub.url}${path}`, {
      method: method.toUpperCase(),
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status === 204) {
      await openapi.checkEmpty(method, template, res);
      return { status: 204, body: undefined as unknown as Json & Json[] };
    }
    return { status: res.status, body: (await openapi.check(method, template, res)) as Json & Json[] };
  }

  const nodeSp = (entityId: string) =>
    new SAML({
      entryPoint: `${eidhub.url}/auth/saml/login`,
      issuer: entityId,
      callbackUrl: ACS,
      idpCert,
      idpIssuer: `${eidhub.url}/auth/saml`,
      privateKey: spKeys.privateKeyPem,
      decryptionPvk: encKeys.privateKeyPem,
      signatureAlgorithm: 'sha256',
      audience: entityId,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      identifierFormat: null,
      disableRequestedAuthnContext: true,
    });
  const adminEvents = async () => (await eidhub.store.audit.recent(500)).filter((e) => e.type.startsWith('admin.saml_sp.'));

  before(async () => {
    [spKeys, encKeys] = await Promise.all([makePemPair('admin sp'), makePemPair('admin sp enc')]);
    eidhub = await startEidhub({
      apiClients: [
        { clientId: ADMIN.id, secrets: [ADMIN.secret], permissions: ['admin'] },
        { clientId: REST.id, secrets: [REST.secret], permissions: ['authentication-rest-api'] },
      ],
      samlServiceProviders: [{ entityId: CONFIG_SP, metadata: spMetadata(CONFIG_SP, spKeys) }],
      smsProvider: sms,
    });
    openapi = new OpenApiValidator((await (await fetch(`${eidhub.url}/admin/api/openapi.json`)).json()) as ConstructorParameters<typeof OpenApiValidator>[0]);
    token = await tokenOf(ADMIN, 'eidhub-admin');
    const metadata = await (await fetch(`${eidhub.url}/auth/saml/metadata`)).text();
    const cert = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata)![1]!;
    idpCert = `-----BEGIN CERTIFICATE-----\n${cert.replace(/\s+/g, '').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  });
  after(async () => {
    await eidhub?.close();
  });

  it('is in the OpenAPI document; 401 without a token, 403 without admin', async () => {
    const doc = (await (await fetch(`${eidhub.url}/admin/api/openapi.json`)).json()) as { paths: Json };
    for (const path of [LIST, ITEM]) assert.ok(doc.paths[path], path);
    const none = await call('get', LIST, {}, undefined, null);
    assert.deepEqual([none.status, none.body.code], [401, 'invalid_token']);
    const rest = await call('get', LIST, {}, undefined, await tokenOf(REST, 'auth-rest-api'));
    assert.equal(rest.status, 403);
    assert.equal((await call('post', LIST, {}, { entityId: NEW_SP, metadata: spMetadata(NEW_SP, spKeys) }, null)).status, 401, 'the token is checked before the body');
    assert.equal(await eidhub.store.samlServiceProviders.get(NEW_SP), null);
  });

  it('adds an SP by its metadata that logs a person in at once, changes it, and removes it: its requests are refused at once', async () => {
    const metadata = spMetadata(NEW_SP, spKeys, encKeys);
    const created = await call('post', LIST, {}, { entityId: NEW_SP, metadata, requireSignedRequests: true });
    assert.equal(created.status, 201);
    assert.equal(created.body.readOnly, false);
    assert.equal(created.body.encryptAssertions, true, 'by default when the metadata has an encryption certificate');
    assert.deepEqual(created.body.assertionConsumerServices, [{ binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: ACS, index: 1, isDefault: true }]);
    const [signing] = created.body.signingCertificates as Json[];
    assert.ok(Date.parse(String(signing!.notAfter)) > Date.now(), 'the certificate\'s expiry is shown');
    assert.equal((created.body.encryptionCertificates as Json[]).length, 1);
    assert.doesNotMatch(JSON.stringify(created.body), /PRIVATE KEY/);

    const saml = nodeSp(NEW_SP);
    const response = await samlLoginOverHttp({ origin: eidhub.url, authorizeUrl: await saml.getAuthorizeUrlAsync('relay', undefined, {}), phone: PHONE, codeFor: async () => sms.lastCodeFor(PHONE) });
    assert.match(Buffer.from(response, 'base64').toString(), /EncryptedAssertion/);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: response });
    assert.equal(profile?.phoneNumber, PHONE);

    assert.equal((await call('post', LIST, {}, { entityId: NEW_SP, metadata })).body.code, 'saml_sp_exists');
    const list = await call('get', LIST);
    assert.deepEqual(
      list.body.map((sp) => [sp.entityId, sp.readOnly]),
      [
        [CONFIG_SP, true],
        [NEW_SP, false],
      ],
    );
    assert.equal((await call('get', ITEM, { entityId: NEW_SP })).body.requireSignedRequests, true);
    const changed = await call('put', ITEM, { entityId: NEW_SP }, { entityId: NEW_SP, metadata, encryptAssertions: false });
    assert.deepEqual([changed.status, changed.body.encryptAssertions, changed.body.requireSignedRequests], [200, false, false]);
    assert.equal(changed.body.createdAt, created.body.createdAt);
    const other = await call('put', ITEM, { entityId: NEW_SP }, { entityId: CONFIG_SP, metadata });
    assert.deepEqual([other.status, other.body.field], [400, 'entityId']);

    assert.equal((await call('delete', ITEM, { entityId: NEW_SP })).status, 204);
    const refused = await fetch(await saml.getAuthorizeUrlAsync('relay', undefined, {}), { redirect: 'manual' });
    assert.equal(refused.status, 400, 'an AuthnRequest of a removed SP gets an error page at once');
    assert.match(await refused.text(), /unknown_sp/);
    assert.equal((await call('get', ITEM, { entityId: NEW_SP })).status, 404);
    assert.equal((await call('delete', ITEM, { entityId: NEW_SP })).status, 404);

    const events = await adminEvents();
    for (const type of ['admin.saml_sp.created', 'admin.saml_sp.updated', 'admin.saml_sp.deleted']) {
      const event = events.find((e) => e.type === type && e.clientId === NEW_SP);
      assert.ok(event, type);
      assert.equal(event.data?.actor, ADMIN.id);
    }
  });

  it('refuses bad metadata with the field at fault, and stores nothing', async () => {
    const eventsBefore = (await adminEvents()).length;
    const id = 'https://bad-sp.example.test/saml';
    const notXml = await call('post', LIST, {}, { entityId: id, metadata: 'this is not XML <' });
    assert.deepEqual([notXml.status, notXml.body.field], [400, 'metadata']);
    const notSaml = await call('post', LIST, {}, { entityId: id, metadata: '<html><body>metadata</body></html>' });
    assert.deepEqual([notSaml.status, notSaml.body.field], [400, 'metadata']);
    assert.match(String(notSaml.body.detail ?? notSaml.body.title), /not md:EntityDescriptor/, JSON.stringify(notSaml.body));
    const wrongId = await call('post', LIST, {}, { entityId: id, metadata: spMetadata('https://someone-else.example.test', spKeys) });
    assert.deepEqual([wrongId.status, wrongId.body.field], [400, 'entityId']);
    const noEncryptionKey = await call('post', LIST, {}, { entityId: id, metadata: spMetadata(id, spKeys), encryptAssertions: true });
    assert.deepEqual([noEncryptionKey.status, noEncryptionKey.body.field], [400, 'encryptAssertions']);
    const fromFile = await call('post', LIST, {}, { entityId: id, metadataFile: '/etc/passwd' });
    assert.equal(fromFile.status, 400, 'the server reads no file a request names');
    assert.equal((await call('post', LIST, {}, { entityId: id })).status, 400);
    assert.deepEqual(await eidhub.store.samlServiceProviders.list(), []);
    assert.equal((await call('get', LIST)).body.length, 1);
    assert.equal((await adminEvents()).length, eventsBefore, 'no audit event for a refused change');
  });

  it('shows config SPs read-only and refuses to change them', async () => {
    const config = await call('get', ITEM, { entityId: CONFIG_SP });
    assert.deepEqual([config.body.readOnly, config.body.createdAt], [true, undefined]);
    const metadata = spMetadata(CONFIG_SP, spKeys);
    assert.equal((await call('put', ITEM, { entityId: CONFIG_SP }, { entityId: CONFIG_SP, metadata })).body.code, 'saml_sp_read_only');
    assert.equal((await call('delete', ITEM, { entityId: CONFIG_SP })).status, 409);
    assert.equal((await call('post', LIST, {}, { entityId: CONFIG_SP, metadata })).status, 409);
    assert.ok(openapi.checked > 20);
  });
});

describe('SAML service providers kept in the store, at start', () => {
  it('make the IdP load at start with no SP in the config; a stored SP that is not valid is skipped with a warning', async () => {
    const hasSamlKey = async (eidhub: RunningEidhub) => (await eidhub.store.keys.list(Date.now())).some((k) => k.alg === SAML_KEY_ALG);
    const without = await startEidhub({});
    try {
      assert.equal(await hasSamlKey(without), false, 'without SPs the IdP waits for its first request');
    } finally {
      await without.close();
    }

    const path = tempSqlitePath();
    const store = await openStore({ driver: 'sqlite', path });
    const good = 'https://stored-sp.example.test/saml';
    const bad = 'https://broken-sp.example.test/saml';
    await store.samlServiceProviders.put({ entityId: good, metadata: spMetadata(good, await makePemPair('stored sp')), settings: {}, createdAt: 1, updatedAt: 1 });
    await store.samlServiceProviders.put({ entityId: bad, metadata: '<not-metadata/>', settings: {}, createdAt: 1, updatedAt: 1 });
    await store.close();
    const eidhub = await startEidhub({ storage: { driver: 'sqlite', path } });
    try {
      assert.equal(await hasSamlKey(eidhub), true, 'the IdP loaded at start: its signing key is made');
      assert.deepEqual(eidhub.samlServiceProviders.list().map((r) => [r.entry.entityId, r.readOnly]), [[good, false]]);
      assert.match(eidhub.logText(), /a stored service provider is not valid and is skipped/);
    } finally {
      await eidhub.close();
    }
  });
});
