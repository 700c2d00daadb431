/**
 * Clients added at run time, end to end: two eidhub processes (real OS processes, `eidhub
 * --config`) share one PostgreSQL; the test adds an OIDC client and an API client to the store
 * through a registry of its own (as an administrator's process would), and both processes log a
 * person in with them at once, without a restart. A removal is seen by both within a second.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientRegistry } from '../src/clients/registry.js';
import { createLogger } from '../src/http/logger.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import type { ChildEidhub } from './support/child-eidhub.js';
import { dropTestDatabase, getTestPostgresUrl } from './support/postgres.js';
import { loginWithTwilio, startPostgresPair } from './support/postgres-pair.js';

const TWILIO = { accountSid: 'AC777', authToken: 'twilio-secret-777' };
const REDIRECT = 'https://shop.example/callback';
const CLIENT_ID = 'added-at-run-time';
const SECRET = 'a-secret-added-at-run-time-01';
const API_ID = 'api-added-at-run-time';
const API_SECRET = 'an-api-secret-added-at-run-01';

// Outside CI a missing PostgreSQL skips this suite; in CI getTestPostgresUrl() throws instead.
const databaseUrl = await getTestPostgresUrl();

describe('clients added at run time, on two processes sharing PostgreSQL', { skip: databaseUrl === null ? 'no PostgreSQL (set EIDHUB_DATABASE_URL or install the server)' : false }, () => {
  let twilio: FakeTwilio;
  const processes: ChildEidhub[] = [];
  /** The administrator's own connection to the store, and its registry. */
  let store: Store;
  let admin: ClientRegistry;

  before(async () => {
    twilio = await startFakeTwilio(TWILIO);
    processes.push(...(await startPostgresPair(databaseUrl!, twilio, TWILIO)));
    store = await openStore({ driver: 'postgres', url: databaseUrl!, poolSize: 2 });
    // The processes made the server key the internal secrets derive from; the administrator uses it too.
    const key = Buffer.from(await store.secrets.getOrCreate('client-secret', 'unused'), 'base64url');
    admin = await ClientRegistry.open({ oidcClients: [], apiClients: [], internalSecretKey: key, store: store.clients, logger: createLogger('silent') });
  });

  after(async () => {
    admin?.close();
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await store?.close();
    await twilio?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  /** A full OIDC login at `publicUrl` with the run-time client; returns the ID token's claims. */
  const login = (publicUrl: string, phone: string) => loginWithTwilio({ publicUrl, clientId: CLIENT_ID, secret: SECRET, redirectUri: REDIRECT, phone, twilio });

  async function apiToken(publicUrl: string): Promise<Response> {
    return fetch(`${publicUrl}/auth/open/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${API_ID}:${API_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=auth-rest-api',
    });
  }

  it('logs a person in with an OIDC client added to the store, on both processes at once', async () => {
    const [a, b] = processes;
    await admin.add({
      kind: 'oidc',
      settings: { clientId: CLIENT_ID, clientName: 'Added at run time', redirectUris: [REDIRECT], postLogoutRedirectUris: [], grantTypes: ['authorization_code'], scopes: ['openid', 'idp-id', 'phone'], idTokenClaims: ['phone_number'], idTokenSigningAlg: 'RS256' },
      secrets: [SECRET],
    });
    // No wait: each process finds a client it does not know in the store.
    const onA = await login(a!.publicUrl, '+447700900611');
    assert.equal(onA.aud, CLIENT_ID);
    assert.equal(onA.phone_number, '+447700900611', "the client's idTokenClaims");
    const onB = await login(b!.publicUrl, '+447700900612');
    assert.equal(onB.phone_number, '+447700900612');
  });

  it('gives an API client added to the store a token and a REST session at once, and refuses it within a second of its removal', async () => {
    const [a, b] = processes;
    await admin.add({ kind: 'api', settings: { clientId: API_ID, permissions: ['authentication-rest-api'] }, secrets: [API_SECRET] });
    for (const p of [a!, b!]) {
      const res = await apiToken(p.publicUrl);
      assert.equal(res.status, 200, `token on ${p.publicUrl}`);
      const { access_token: token } = (await res.json()) as { access_token: string };
      const session = await fetch(`${p.publicUrl}/auth/rest/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ flow: 'headless', allowedProviders: ['otp-sms'] }),
      });
      assert.equal(session.status, 201);
    }
    assert.equal(await admin.remove(API_ID), true);
    const removedAt = Date.now();
    for (const p of [a!, b!]) {
      // Each process knew the client; its registry sees the removal at its next refresh (500 ms).
      let status = 0;
      while (Date.now() - removedAt < 2000) {
        status = (await apiToken(p.publicUrl)).status;
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, 401, `${p.publicUrl} refuses the removed client`);
      assert.ok(Date.now() - removedAt < 1500, `within a second and a half: ${Date.now() - removedAt} ms`);
    }
  });
});
