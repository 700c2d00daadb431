/**
 * The Admin API on two eidhub processes (real OS processes) sharing PostgreSQL: a client created
 * on one logs a person in on the other at once, and a secret revoked on one fails on it at once
 * and on the other within its registry's refresh (500 ms); the same for a SAML service provider,
 * on processes whose config has none; of two processes creating one id at once, one creates it;
 * a secret's last use, written when a process stops, is shown by the other.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SAML } from '@node-saml/node-saml';
import { smsCodeOf } from './support/http-login.js';
import { getTestPostgresUrl } from './support/postgres.js';
import { loginWithTwilio, usePostgresPair } from './support/postgres-pair.js';
import { makePemPair } from './support/saml-certs.js';
import { samlLoginOverHttp } from './support/saml-http-login.js';

const TWILIO = { accountSid: 'AC778', authToken: 'twilio-secret-778' };
const ADMIN = { id: 'admin-client', secret: 'admin-client-secret-0001' };
const REDIRECT = 'https://shop.example/callback';

const databaseUrl = await getTestPostgresUrl();

describe('the Admin API on two processes sharing PostgreSQL', { skip: databaseUrl === null ? 'no PostgreSQL (set EIDHUB_DATABASE_URL or install the server)' : false }, () => {
  const pair = usePostgresPair(databaseUrl!, TWILIO, { apiClients: [{ clientId: ADMIN.id, secrets: [ADMIN.secret], permissions: ['admin'] }] });
  const { processes } = pair;

  const token = (publicUrl: string, client: { id: string; secret: string }, scope: string) =>
    fetch(`${publicUrl}/auth/open/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
    });

  async function admin(publicUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const { access_token: bearer } = (await (await token(publicUrl, ADMIN, 'eidhub-admin')).json()) as { access_token: string };
    const res = await fetch(`${publicUrl}/admin/api${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>) };
  }

  it('logs a person in on the other process at once with an OIDC client created over the API', async () => {
    const [a, b] = processes;
    const created = await admin(a!.publicUrl, 'POST', '/oidc-clients', { clientId: 'shop', redirectUris: [REDIRECT], idTokenClaims: ['phone_number'], confidential: true });
    assert.equal(created.status, 201);
    const secret = created.body.secret as { value: string };
    const claims = await loginWithTwilio({ publicUrl: b!.publicUrl, clientId: 'shop', secret: secret.value, redirectUri: REDIRECT, phone: '+447700900711', twilio: pair.twilio });
    assert.equal(claims.aud, 'shop');
    assert.equal(claims.phone_number, '+447700900711');
    const onB = await admin(b!.publicUrl, 'GET', '/oidc-clients/shop');
    assert.equal(onB.body.readOnly, false);
    assert.equal(onB.body.secret, undefined, 'the secret is shown once only');
  });

  it('refuses a revoked secret at once on the process that revoked it, and within the refresh on the other', async () => {
    const [a, b] = processes;
    const created = await admin(a!.publicUrl, 'POST', '/api-clients', { clientId: 'partner', permissions: ['authentication-rest-api'] });
    assert.equal(created.status, 201);
    const first = { id: 'partner', secret: String((created.body.secret as { value: string }).value) };
    assert.equal((await token(b!.publicUrl, first, 'auth-rest-api')).status, 200, 'the new client gets a token on the other process at once');
    const next = await admin(b!.publicUrl, 'POST', '/api-clients/partner/secrets', { name: 'next' });
    assert.equal((await admin(a!.publicUrl, 'DELETE', '/api-clients/partner/secrets/secret-1')).status, 204);
    const revokedAt = Date.now();
    assert.equal((await token(a!.publicUrl, first, 'auth-rest-api')).status, 401, 'at once where it was revoked');
    let status = 0;
    while (Date.now() - revokedAt < 2000) {
      status = (await token(b!.publicUrl, first, 'auth-rest-api')).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 401);
    assert.ok(Date.now() - revokedAt < 1500, `within a second and a half: ${Date.now() - revokedAt} ms`);
    assert.equal((await token(b!.publicUrl, { id: 'partner', secret: String(next.body.value) }, 'auth-rest-api')).status, 200);
  });

  it('logs a person in through the SAML IdP of the other process at once with an SP added over the API, and refuses it once removed', async () => {
    const [a, b] = processes;
    const entityId = 'https://sp.example.test/pair';
    const acs = 'http://127.0.0.1:5997/acs';
    const phone = '+447700900712';
    const keys = await makePemPair('pair sp');
    const sp = (idpCert: string) =>
      new SAML({ entryPoint: `${b!.publicUrl}/auth/saml/login`, issuer: entityId, callbackUrl: acs, idpCert, audience: entityId, privateKey: keys.privateKeyPem, signatureAlgorithm: 'sha256', identifierFormat: null, disableRequestedAuthnContext: true, wantAuthnResponseSigned: false });
    const metadata = sp('unused').generateServiceProviderMetadata(null, keys.certificatePem);
    const created = await admin(a!.publicUrl, 'POST', '/saml-service-providers', { entityId, metadata, requireSignedRequests: true });
    assert.equal(created.status, 201);

    // B has no SP in its config and has not loaded its IdP yet: the AuthnRequest loads it.
    const response = await samlLoginOverHttp({
      origin: b!.publicUrl,
      authorizeUrl: await sp('unused').getAuthorizeUrlAsync('pair', undefined, {}),
      phone,
      codeFor: async (since) => smsCodeOf((await pair.twilio.waitForMessage((m) => m.to === phone && m.dateCreated.getTime() >= since, 5000)).body)!,
    });
    const idpMetadata = await (await fetch(`${b!.publicUrl}/auth/saml/metadata`)).text();
    const cert = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(idpMetadata)![1]!;
    const { profile } = await sp(`-----BEGIN CERTIFICATE-----\n${cert.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`).validatePostResponseAsync({ SAMLResponse: response });
    assert.equal(profile?.phoneNumber, phone);
    assert.equal((await admin(b!.publicUrl, 'GET', `/saml-service-providers/${encodeURIComponent(entityId)}`)).body.readOnly, false);

    assert.equal((await admin(a!.publicUrl, 'DELETE', `/saml-service-providers/${encodeURIComponent(entityId)}`)).status, 204);
    const removedAt = Date.now();
    const loginStatus = async (publicUrl: string) => (await fetch((await sp('unused').getAuthorizeUrlAsync('pair', undefined, {})).replace(b!.publicUrl, publicUrl), { redirect: 'manual' })).status;
    assert.equal(await loginStatus(a!.publicUrl), 400, 'at once where it was removed');
    let status = 0;
    while (Date.now() - removedAt < 2000) {
      status = await loginStatus(b!.publicUrl);
      if (status === 400) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 400);
    assert.ok(Date.now() - removedAt < 1500, `within a second and a half: ${Date.now() - removedAt} ms`);
  });

  it('creates a client once when both processes are asked for the same id at once', async () => {
    const [a, b] = processes;
    const answers = await Promise.all([a!, b!].map((p) => admin(p.publicUrl, 'POST', '/api-clients', { clientId: 'twice', permissions: ['authentication-rest-api'] })));
    assert.deepEqual(answers.map((r) => r.status).sort(), [201, 409]);
    const events = await admin(b!.publicUrl, 'GET', '/audit-events?clientId=twice&type=admin.client.created');
    assert.equal((events.body.events as unknown[]).length, 1, 'one creation audited');
  });

  // Last: it stops the first process.
  it("shows on the other process when a secret was last used, once the process that saw the use has stopped", async () => {
    const [a, b] = processes;
    const created = await admin(a!.publicUrl, 'POST', '/api-clients', { clientId: 'metered', permissions: ['authentication-rest-api'] });
    await admin(a!.publicUrl, 'POST', '/api-clients/metered/secrets', { name: 'spare' });
    const usedFrom = Date.now();
    assert.equal((await token(a!.publicUrl, { id: 'metered', secret: String((created.body.secret as { value: string }).value) }, 'auth-rest-api')).status, 200);
    assert.deepEqual(await a!.kill('SIGTERM', 10_000), { code: 0, signal: null });
    const secrets = (await admin(b!.publicUrl, 'GET', '/api-clients/metered/secrets')).body as unknown as { name: string; lastUsedAt?: string }[];
    assert.deepEqual(secrets.map((s) => s.name), ['secret-1', 'spare']);
    assert.ok(Date.parse(String(secrets[0]!.lastUsedAt)) >= usedFrom, `secret-1 last used at ${String(secrets[0]!.lastUsedAt)}`);
    assert.equal(secrets[1]!.lastUsedAt, undefined, 'spare was never used');
  });
});
