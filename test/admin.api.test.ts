/**
 * The Admin API over plain HTTP: tokens and access rules, each kind of client and its secrets,
 * config clients read-only, bad input refused with the field at fault and nothing changed, a
 * created client usable at once and a revoked secret refused at once. Every answer is checked
 * against the Admin API's own OpenAPI document.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { startEidhub, tempSqlitePath, type RunningEidhub } from './support/eidhub.js';
import { CapturingSms, loginOverHttp } from './support/http-login.js';
import { OpenApiValidator } from './support/openapi.js';

const ADMIN = { id: 'admin-client', secret: 'admin-client-secret-0001' };
const REST = { id: 'rest-client', secret: 'rest-client-secret-0001' };
const CONFIG_OIDC = { clientId: 'config-shop', secrets: ['config-shop-secret-0001'], redirectUris: ['https://shop.example.com/cb'] };
const REALM = 'phones';
const CONFIG_REALM_CLIENT = { clientId: 'config-verifier', secrets: ['config-verifier-secret-01'] };
const REDIRECT = 'http://127.0.0.1:5999/callback';

const OIDC = '/admin/api/oidc-clients';
const OIDC_ITEM = '/admin/api/oidc-clients/{clientId}';
const OIDC_SECRETS = '/admin/api/oidc-clients/{clientId}/secrets';
const API = '/admin/api/api-clients';
const API_ITEM = '/admin/api/api-clients/{clientId}';
const API_SECRETS = '/admin/api/api-clients/{clientId}/secrets';
const API_SECRET = '/admin/api/api-clients/{clientId}/secrets/{name}';
const REALM_CLIENTS = '/admin/api/realms/{realm}/clients';
const REALM_ITEM = '/admin/api/realms/{realm}/clients/{clientId}';
const REALM_SECRETS = '/admin/api/realms/{realm}/clients/{clientId}/secrets';

type Json = Record<string, unknown>;

describe('Admin API', () => {
  let eidhub: RunningEidhub;
  let openapi: OpenApiValidator;
  let token: string;
  const sms = new CapturingSms();
  /** Every answer's body, and every secret value an answer showed. */
  const answers: string[] = [];
  const secretValues: string[] = [];

  const getToken = (client: { id: string; secret: string }, scope: string) =>
    fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
    });
  const tokenOf = async (client: { id: string; secret: string }, scope: string) => ((await (await getToken(client, scope)).json()) as { access_token: string }).access_token;

  const fill = (template: string, params: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(params[k]!));
  const send = (method: string, path: string, body?: unknown, bearer: string | null = token) =>
    fetch(`${eidhub.url}${path}`, {
      method,
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  /** Calls `method template` and checks the answer against the document; returns its body (undefined for 204). */
  async function call(method: string, template: string, params: Record<string, string> = {}, body?: unknown, bearer: string | null = token): Promise<{ status: number; body: Json & Json[] }> {
    const res = await send(method.toUpperCase(), fill(template, params), body, bearer);
    answers.push(await res.clone().text());
    if (res.status === 204) {
      await openapi.checkEmpty(method, template, res);
      return { status: 204, body: undefined as unknown as Json & Json[] };
    }
    const answer = (await openapi.check(method, template, res)) as Json & Json[];
    const created = answer.value ?? (answer.secret as Json | undefined)?.value;
    if (typeof created === 'string') secretValues.push(created);
    return { status: res.status, body: answer };
  }

  /** GET `path` with a query, checked against the document's entry for `path`. */
  async function query(path: string, params: Record<string, string>, bearer: string | null = token): Promise<{ status: number; body: Json & Json[] }> {
    const res = await send('GET', `${path}?${new URLSearchParams(params)}`, undefined, bearer);
    answers.push(await res.clone().text());
    return { status: res.status, body: (await openapi.check('get', path, res)) as Json & Json[] };
  }

  const auditTypes = async () => (await eidhub.store.audit.recent(200)).filter((e) => e.type.startsWith('admin.'));

  before(async () => {
    eidhub = await startEidhub({
      accountId: 'a-test-0001',
      apiClients: [
        { clientId: ADMIN.id, secrets: [ADMIN.secret], permissions: ['admin'] },
        { clientId: REST.id, secrets: [REST.secret], permissions: ['authentication-rest-api'] },
      ],
      oidcClients: [CONFIG_OIDC],
      realms: [{ name: REALM, clients: [CONFIG_REALM_CLIENT] }],
      smsProvider: sms,
    });
    const doc = await fetch(`${eidhub.url}/admin/api/openapi.json`);
    assert.equal(doc.status, 200);
    openapi = new OpenApiValidator((await doc.json()) as ConstructorParameters<typeof OpenApiValidator>[0]);
    token = await tokenOf(ADMIN, 'eidhub-admin');
  });
  after(async () => {
    await eidhub?.close();
  });

  it('serves its own OpenAPI 3.1 document, apart from the REST API\'s', async () => {
    const doc = (await (await fetch(`${eidhub.url}/admin/api/openapi.json`)).json()) as { openapi: string; paths: Json };
    assert.equal(doc.openapi, '3.1.0');
    for (const path of [OIDC, OIDC_ITEM, OIDC_SECRETS, `${OIDC_SECRETS}/{name}`, API, API_ITEM, API_SECRETS, API_SECRET, REALM_CLIENTS, REALM_ITEM, REALM_SECRETS]) assert.ok(doc.paths[path], path);
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/auth/')));
    const rest = (await (await fetch(`${eidhub.url}/auth/rest/openapi.json`)).json()) as { paths: Json };
    assert.ok(!Object.keys(rest.paths).some((p) => p.startsWith('/admin/')), 'the REST API\'s document has no admin path');
  });

  it('gives the scope eidhub-admin only to a client with the permission admin; 401 without a token, 403 without admin', async () => {
    assert.equal((await getToken(ADMIN, 'eidhub-admin')).status, 200);
    const refused = await getToken(REST, 'eidhub-admin');
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_scope');
    const none = await call('get', OIDC, {}, undefined, null);
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'invalid_token');
    assert.equal((await call('get', OIDC, {}, undefined, 'not-a-token')).status, 401);
    const rest = await call('get', OIDC, {}, undefined, await tokenOf(REST, 'auth-rest-api'));
    assert.equal(rest.status, 403);
    assert.equal(rest.body.code, 'insufficient_scope');
    const noAuthWrite = await call('post', OIDC, {}, { clientId: 'x', redirectUris: [REDIRECT] }, null);
    assert.equal(noAuthWrite.status, 401, 'the token is checked before the body');
  });

  it('creates an OIDC client that logs a person in at once, changes it, and deletes it', async () => {
    const created = await call('post', OIDC, {}, { clientId: 'new-shop', clientName: 'New shop', redirectUris: [REDIRECT], scopes: ['openid', 'phone'] });
    assert.equal(created.status, 201);
    assert.equal(created.body.readOnly, false);
    assert.equal(created.body.secret, undefined, 'an OIDC client is created public');

    const config = await oidc.discovery(new URL(eidhub.issuer), 'new-shop', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizeUrl = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid phone', state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const back = await loginOverHttp({ origin: eidhub.url, authorizeUrl: authorizeUrl.href, redirectUri: REDIRECT, phone: '+447700900501', sms });
    const tokens = await oidc.authorizationCodeGrant(config, back, { expectedState: state, pkceCodeVerifier: verifier });
    assert.ok(tokens.claims()?.sub);

    assert.equal((await call('post', OIDC, {}, { clientId: 'new-shop', redirectUris: [REDIRECT] })).body.code, 'client_exists');
    assert.equal((await call('post', API, {}, { clientId: 'new-shop', permissions: [] })).body.code, 'client_exists', 'an id is one client\'s, whatever its kind');
    const got = await call('get', OIDC_ITEM, { clientId: 'new-shop' });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.scopes, ['openid', 'phone']);
    const list = await call('get', OIDC);
    assert.deepEqual(
      list.body.map((c) => [c.clientId, c.readOnly]),
      [
        ['config-shop', true],
        ['new-shop', false],
      ],
    );
    const changed = await call('put', OIDC_ITEM, { clientId: 'new-shop' }, { clientId: 'new-shop', clientName: 'Renamed shop', redirectUris: [REDIRECT] });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.clientName, 'Renamed shop');
    assert.equal((await call('put', OIDC_ITEM, { clientId: 'new-shop' }, { clientId: 'other', redirectUris: [REDIRECT] })).body.field, 'clientId');

    const secret = await call('post', OIDC_SECRETS, { clientId: 'new-shop' }, { name: 'first' });
    assert.equal(secret.status, 201);
    assert.equal(secret.body.name, 'first');
    assert.equal(typeof secret.body.value, 'string');
    const secrets = await call('get', OIDC_SECRETS, { clientId: 'new-shop' });
    assert.deepEqual(secrets.body.map((s) => s.name), ['first']);
    assert.equal(secrets.body[0]!.value, undefined, 'a secret\'s value is shown once only');
    assert.equal((await call('post', OIDC_SECRETS, { clientId: 'new-shop' }, { name: 'first' })).status, 409);

    const confidential = await call('post', OIDC, {}, { clientId: 'confidential-shop', redirectUris: [REDIRECT], confidential: true });
    assert.equal(confidential.status, 201);
    const firstSecret = confidential.body.secret as Json;
    assert.equal(firstSecret.name, 'secret-1');
    assert.equal(confidential.body.confidential, undefined);
    const confidentialConfig = await oidc.discovery(new URL(eidhub.issuer), 'confidential-shop', String(firstSecret.value), undefined, { execute: [oidc.allowInsecureRequests] });
    const state2 = oidc.randomState();
    const back2 = await loginOverHttp({ origin: eidhub.url, authorizeUrl: oidc.buildAuthorizationUrl(confidentialConfig, { redirect_uri: REDIRECT, scope: 'openid', state: state2 }).href, redirectUri: REDIRECT, phone: '+447700900502', sms });
    assert.ok((await oidc.authorizationCodeGrant(confidentialConfig, back2, { expectedState: state2 })).claims()?.sub, 'a confidential client without PKCE');
    assert.equal((await call('delete', OIDC_ITEM, { clientId: 'confidential-shop' })).status, 204);

    assert.equal((await call('delete', OIDC_ITEM, { clientId: 'new-shop' })).status, 204);
    assert.equal((await call('get', OIDC_ITEM, { clientId: 'new-shop' })).status, 404);
    assert.equal((await call('delete', OIDC_ITEM, { clientId: 'new-shop' })).status, 404);
    const events = await auditTypes();
    for (const type of ['admin.client.created', 'admin.client.updated', 'admin.client.secret.created', 'admin.client.deleted']) {
      const event = events.find((e) => e.type === type && e.clientId === 'new-shop');
      assert.ok(event, type);
      assert.equal(event.data?.actor, ADMIN.id);
    }
  });

  it('takes "public": true as the config file does: such a client has no secret, is given none, and is not also confidential', async () => {
    const spa = await call('post', OIDC, {}, { clientId: 'spa', redirectUris: [REDIRECT], public: true });
    assert.equal(spa.status, 201);
    assert.equal(spa.body.public, true);
    assert.equal(spa.body.secret, undefined);
    const secret = await call('post', OIDC_SECRETS, { clientId: 'spa' }, { name: 'first' });
    assert.equal(secret.status, 400);
    assert.equal(secret.body.field, 'public');
    const both = await call('post', OIDC, {}, { clientId: 'spa-2', redirectUris: [REDIRECT], public: true, confidential: true });
    assert.equal(both.status, 400);
    assert.equal(both.body.field, 'public');
    assert.equal((await call('get', OIDC_ITEM, { clientId: 'spa-2' })).status, 404);
    // Secrets are never part of a body, nor are the config file's references to the environment or a file.
    assert.equal((await call('post', OIDC, {}, { clientId: 'spa-3', redirectUris: [REDIRECT], secrets: [{ env: 'PATH' }] })).status, 400);
    assert.equal((await call('post', OIDC, {}, { clientId: 'spa-3', redirectUris: [REDIRECT], pcke: 'required' })).status, 400, 'an unknown key is refused');
    assert.equal((await call('get', OIDC_ITEM, { clientId: 'spa-3' })).status, 404);
    assert.equal((await call('delete', OIDC_ITEM, { clientId: 'spa' })).status, 204);
  });

  it('refuses bad input with the field at fault and changes nothing', async () => {
    const before = (await call('get', OIDC)).body.length;
    const eventsBefore = (await auditTypes()).length;
    const unknownScope = await call('post', OIDC, {}, { clientId: 'bad-shop', redirectUris: [REDIRECT], scopes: ['openid', 'admin'] });
    assert.equal(unknownScope.status, 400);
    assert.match(String(unknownScope.body.field), /^scopes/);
    const httpRedirect = await call('post', OIDC, {}, { clientId: 'bad-shop', redirectUris: [REDIRECT, 'http://shop.example.com/cb'] });
    assert.equal(httpRedirect.status, 400);
    assert.equal(httpRedirect.body.field, 'redirectUris[1]');
    const badPermission = await call('post', API, {}, { clientId: 'bad-api', permissions: ['root'] });
    assert.equal(badPermission.status, 400);
    assert.match(String(badPermission.body.field), /^permissions/);
    const publicOptional = await call('post', OIDC, {}, { clientId: 'bad-shop', redirectUris: [REDIRECT], pkce: 'optional' });
    assert.equal(publicOptional.status, 400);
    assert.equal(publicOptional.body.field, 'pkce');
    assert.equal((await call('get', OIDC)).body.length, before);
    assert.equal((await call('get', OIDC_ITEM, { clientId: 'bad-shop' })).status, 404);
    assert.equal((await auditTypes()).length, eventsBefore, 'no audit event for a refused change');
  });

  it('shows config clients read-only and refuses to change them', async () => {
    const shop = await call('get', OIDC_ITEM, { clientId: CONFIG_OIDC.clientId });
    assert.equal(shop.body.readOnly, true);
    assert.equal((await call('put', OIDC_ITEM, { clientId: CONFIG_OIDC.clientId }, { clientId: CONFIG_OIDC.clientId, redirectUris: [REDIRECT] })).body.code, 'client_read_only');
    assert.equal((await call('delete', OIDC_ITEM, { clientId: CONFIG_OIDC.clientId })).status, 409);
    assert.equal((await call('post', OIDC, {}, { clientId: CONFIG_OIDC.clientId, redirectUris: [REDIRECT] })).status, 409);
    assert.equal((await call('post', OIDC_SECRETS, { clientId: CONFIG_OIDC.clientId }, { name: 'more' })).status, 409);
    assert.deepEqual((await call('get', OIDC_SECRETS, { clientId: CONFIG_OIDC.clientId })).body, [{ name: 'secret-1' }]);
    const admin = await call('get', API_ITEM, { clientId: ADMIN.id });
    assert.deepEqual(admin.body, { clientId: ADMIN.id, permissions: ['admin'], readOnly: true });
    assert.equal((await call('delete', `${API_SECRETS}/{name}`, { clientId: ADMIN.id, name: 'secret-1' })).status, 409);
    // An API client is no OIDC client.
    assert.equal((await call('get', OIDC_ITEM, { clientId: ADMIN.id })).status, 404);
  });

  it('creates an API client with one secret shown once; a revoked secret fails at once', async () => {
    const created = await call('post', API, {}, { clientId: 'partner-api', permissions: ['authentication-rest-api'] });
    assert.equal(created.status, 201);
    const first = created.body.secret as Json;
    assert.equal(first.name, 'secret-1');
    const partner = { id: 'partner-api', secret: String(first.value) };
    assert.equal((await getToken(partner, 'auth-rest-api')).status, 200);

    const next = await call('post', API_SECRETS, { clientId: 'partner-api' }, { name: 'next' });
    assert.equal((await call('delete', API_SECRET, { clientId: 'partner-api', name: 'secret-1' })).status, 204);
    assert.equal((await getToken(partner, 'auth-rest-api')).status, 401, 'the revoked secret fails at once');
    assert.equal((await getToken({ id: 'partner-api', secret: String(next.body.value) }, 'auth-rest-api')).status, 200);
    assert.equal((await call('delete', API_SECRET, { clientId: 'partner-api', name: 'secret-1' })).status, 404);
    const last = await call('delete', API_SECRET, { clientId: 'partner-api', name: 'next' });
    assert.equal(last.status, 400, 'an API client keeps at least one secret');
    assert.deepEqual((await call('get', API_SECRETS, { clientId: 'partner-api' })).body.map((s) => s.name), ['next']);

    const promoted = await call('put', API_ITEM, { clientId: 'partner-api' }, { clientId: 'partner-api', permissions: ['admin'] });
    assert.deepEqual(promoted.body.permissions, ['admin']);
    const adminToken = await tokenOf({ id: 'partner-api', secret: String(next.body.value) }, 'eidhub-admin');
    assert.equal((await call('get', API, {}, undefined, adminToken)).status, 200, 'a client given admin uses the Admin API at once');
    assert.equal((await call('delete', API_ITEM, { clientId: 'partner-api' })).status, 204);
    assert.equal((await call('get', API, {}, undefined, adminToken)).status, 403, 'a deleted client\'s token is refused');
  });

  it('manages a realm\'s clients', async () => {
    const created = await call('post', REALM_CLIENTS, { realm: REALM }, { clientId: 'verifier' });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.scopes, ['openid', 'ip:phone_verify']);
    assert.equal((created.body.secret as Json).name, 'secret-1');
    const list = await call('get', REALM_CLIENTS, { realm: REALM });
    assert.deepEqual(
      list.body.map((c) => [c.clientId, c.readOnly]),
      [
        [CONFIG_REALM_CLIENT.clientId, true],
        ['verifier', false],
      ],
    );
    assert.equal((await call('get', REALM_ITEM, { realm: REALM, clientId: 'verifier' })).body.deliveryMode, 'poll');
    const ping = await call('put', REALM_ITEM, { realm: REALM, clientId: 'verifier' }, { clientId: 'verifier', deliveryMode: 'ping' });
    assert.equal(ping.status, 400);
    assert.equal(ping.body.field, 'notificationEndpoint');
    assert.equal((await call('get', REALM_SECRETS, { realm: REALM, clientId: 'verifier' })).body.length, 1);
    assert.equal((await call('get', REALM_CLIENTS, { realm: 'nowhere' })).status, 404);
    assert.equal((await call('get', OIDC_ITEM, { clientId: 'verifier' })).status, 404, 'a realm client is no /auth/open client');
    assert.equal((await call('delete', REALM_ITEM, { realm: REALM, clientId: 'verifier' })).status, 204);
    assert.equal((await call('get', REALM_ITEM, { realm: REALM, clientId: 'verifier' })).status, 404);
    assert.ok(openapi.checked > 40);
  });

  it('reads the audit log a page at a time, filtered, and as CSV; counts SMS and logins per day, country and provider', async () => {
    const created = await query('/admin/api/audit-events', {});
    assert.equal(created.status, 200);
    const first = await query('/admin/api/audit-events', { type: 'admin.client.created', limit: '2' });
    assert.equal(first.status, 200);
    const page1 = first.body.events as unknown as Json[];
    assert.equal(page1.length, 2);
    assert.ok(page1.every((e) => e.type === 'admin.client.created' && (e.data as Json).actor === ADMIN.id), 'the actor is named');
    assert.ok(Date.parse(String(page1[0]!.at)) >= Date.parse(String(page1[1]!.at)), 'newest first');
    assert.equal(typeof first.body.next, 'string');
    const second = await query('/admin/api/audit-events', { type: 'admin.client.created', limit: '2', cursor: String(first.body.next) });
    const page2 = second.body.events as unknown as Json[];
    assert.ok(page2.length >= 1);
    assert.equal(page2.filter((e) => page1.some((p) => p.at === e.at && p.clientId === e.clientId)).length, 0, 'the next page starts after the first');

    const stored = (await eidhub.store.audit.recent(500)).filter((e) => e.type === 'admin.client.created');
    const byClient = await query('/admin/api/audit-events', { clientId: stored[0]!.clientId! });
    assert.ok((byClient.body.events as unknown as Json[]).every((e) => e.clientId === stored[0]!.clientId));

    const bad = await query('/admin/api/audit-events', { from: 'yesterday' });
    assert.deepEqual([bad.status, bad.body.type, bad.body.code, bad.body.field], [400, 'about:blank', 'invalid_request', 'from'], 'no link into the REST API\'s reference');
    assert.equal((await query('/admin/api/audit-events', {}, null)).status, 401);

    const csv = await send('GET', '/admin/api/audit-events.csv?type=admin.client.created');
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers.get('content-type')), /^text\/csv/);
    assert.match(String(csv.headers.get('content-disposition')), /^attachment; filename="eidhub-audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = (await csv.text()).split('\r\n').filter(Boolean);
    assert.equal(lines[0], 'at,type,clientId,transactionId,data');
    assert.equal(lines.length - 1, stored.length, 'every matching event, one line each');
    assert.equal((await send('GET', '/admin/api/audit-events.csv', undefined, null)).status, 401);

    const smsStats = await query('/admin/api/stats/sms', {});
    assert.equal(smsStats.status, 200);
    const smsRows = smsStats.body.rows as unknown as Json[];
    assert.ok(smsRows.some((r) => Number(r.sent) >= 1 && r.country === 'GB'), JSON.stringify(smsRows));
    const loginStats = await query('/admin/api/stats/logins', { from: new Date(Date.now() - 86_400_000).toISOString().slice(0, 10) });
    assert.ok((loginStats.body.rows as unknown as Json[]).some((r) => Number(r.succeeded) >= 1 && r.provider === 'otp-sms'), JSON.stringify(loginStats.body));
    const tooLong = await query('/admin/api/stats/sms', { from: '2020-01-01' });
    assert.deepEqual([tooLong.status, tooLong.body.field], [400, 'from']);
  });

  it("shows when each secret was last used: after a token request with it, and not for the client's other secret", async () => {
    const created = await call('post', API, {}, { clientId: 'metered-api', permissions: ['authentication-rest-api'] });
    const metered = { id: 'metered-api', secret: String((created.body.secret as Json).value) };
    await call('post', API_SECRETS, { clientId: 'metered-api' }, { name: 'spare' });
    const lastUses = async (clientId: string) => (await call('get', API_SECRETS, { clientId })).body.map((s) => [s.name, s.lastUsedAt]);
    assert.deepEqual(await lastUses('metered-api'), [['secret-1', undefined], ['spare', undefined]]);
    const before = Date.now();
    assert.equal((await getToken(metered, 'auth-rest-api')).status, 200);
    assert.equal((await getToken(REST, 'auth-rest-api')).status, 200);
    const [used, spare] = await lastUses('metered-api');
    assert.equal(used![0], 'secret-1');
    assert.ok(Date.parse(String(used![1])) >= before && Date.parse(String(used![1])) <= Date.now(), `lastUsedAt ${String(used![1])}`);
    assert.deepEqual(spare, ['spare', undefined]);
    const [configUsed] = await lastUses(REST.id);
    assert.equal(configUsed![0], 'secret-1');
    assert.ok(Date.parse(String(configUsed![1])) >= before, "a config client's secret too");
  });

  it('never answers with a secret\'s hash, nor a value after the answer that created it', () => {
    assert.ok(secretValues.length >= 4);
    for (const value of [...secretValues, ADMIN.secret, CONFIG_OIDC.secrets[0]!, CONFIG_REALM_CLIENT.secrets[0]!]) {
      const digest = createHash('sha256').update(value).digest();
      for (const text of answers) {
        for (const form of [digest.toString('base64url'), digest.toString('base64'), digest.toString('hex')]) assert.ok(!text.includes(form), 'an answer holds a secret\'s hash');
      }
      assert.ok(answers.filter((text) => text.includes(value)).length <= 1, 'a secret value is shown once only');
    }
  });
});

describe("Admin API: a secret's last use after a restart", () => {
  it('is still shown by eidhub started again on the same store', async () => {
    const config = {
      accountId: 'a-test-0002',
      apiClients: [
        { clientId: ADMIN.id, secrets: [ADMIN.secret], permissions: ['admin' as const] },
        { clientId: REST.id, secrets: [REST.secret], permissions: ['authentication-rest-api' as const] },
      ],
      storage: { driver: 'sqlite' as const, path: tempSqlitePath() },
    };
    const token = async (eidhub: RunningEidhub, client: { id: string; secret: string }, scope: string) => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', scope, client_id: client.id, client_secret: client.secret });
      return ((await (await fetch(`${eidhub.issuer}/connect/token`, { method: 'POST', body: form })).json()) as { access_token: string }).access_token;
    };
    /** When the REST client's secret was last used, as the Admin API of `eidhub` shows it. */
    const restLastUse = async (eidhub: RunningEidhub) => {
      const headers = { authorization: `Bearer ${await token(eidhub, ADMIN, 'eidhub-admin')}` };
      const secrets = (await (await fetch(`${eidhub.url}${API_SECRETS.replace('{clientId}', REST.id)}`, { headers })).json()) as Json[];
      return secrets[0]?.lastUsedAt;
    };
    const first = await startEidhub(config);
    let shown: unknown;
    try {
      assert.equal(typeof (await token(first, REST, 'auth-rest-api')), 'string');
      shown = await restLastUse(first);
      assert.equal(typeof shown, 'string');
    } finally {
      await first.close();
    }
    const second = await startEidhub(config);
    try {
      assert.equal(await restLastUse(second), shown, 'written when the first one closed');
    } finally {
      await second.close();
    }
  });
});
