/**
 * The SMS send budgets on two eidhub processes (real OS processes) sharing PostgreSQL: the budget
 * is one, kept in the store, so what one process sent counts on the other, and of sends racing on
 * both, no more than the budget leaves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import type { ChildEidhub } from './support/child-eidhub.js';
import { dropTestDatabase, getTestPostgresUrl } from './support/postgres.js';
import { startPostgresPair } from './support/postgres-pair.js';

const TWILIO = { accountSid: 'AC779', authToken: 'twilio-secret-779' };
const API = { id: 'pump-partner', secret: 'pump-partner-secret-0001' };
/** A second client: its own budget, for the race. */
const RACER = { id: 'pump-racer', secret: 'pump-racer-secret-00001' };
const BUDGET = 6;

const databaseUrl = await getTestPostgresUrl();

describe('SMS send budgets on two processes sharing PostgreSQL', { skip: databaseUrl === null ? 'no PostgreSQL (set EIDHUB_DATABASE_URL or install the server)' : false }, () => {
  let twilio: FakeTwilio;
  const processes: ChildEidhub[] = [];

  before(async () => {
    twilio = await startFakeTwilio(TWILIO);
    processes.push(
      ...(await startPostgresPair(databaseUrl!, twilio, TWILIO, {
        apiClients: [API, RACER].map((c) => ({ clientId: c.id, secrets: [c.secret], permissions: ['authentication-rest-api' as const] })),
        // Every request comes from 127.0.0.1: the per-address budget is not the one under test.
        otp: { budgets: { perClient: { limit: BUDGET, windowSeconds: 3600 }, perAddress: { limit: 1000 } } },
      })),
    );
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await twilio?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  const tokens = new Map<string, string>();
  async function tokenAt(publicUrl: string, client: typeof API): Promise<string> {
    const known = tokens.get(`${publicUrl} ${client.id}`);
    if (known) return known;
    const res = await fetch(`${publicUrl}/auth/open/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=auth-rest-api',
    });
    const token = ((await res.json()) as { access_token: string }).access_token;
    tokens.set(`${publicUrl} ${client.id}`, token);
    return token;
  }

  /** A headless session of `client` on `publicUrl` asking for a code to `mobile`: the status and Retry-After. */
  async function send(publicUrl: string, mobile: string, client = API): Promise<{ status: number; retryAfter: string | null }> {
    const headers = { authorization: `Bearer ${await tokenAt(publicUrl, client)}`, 'content-type': 'application/json' };
    const created = (await (await fetch(`${publicUrl}/auth/rest/sessions`, { method: 'POST', headers, body: JSON.stringify({ flow: 'headless', allowedProviders: ['otp-sms'] }) })).json()) as { id: string };
    const res = await fetch(`${publicUrl}/auth/rest/sessions/${created.id}/otp-sms/send`, { method: 'POST', headers, body: JSON.stringify({ mobile }) });
    await res.body?.cancel();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  }

  const number = (i: number) => `+447700900${String(700 + i).padStart(3, '0')}`;

  it('what one process sent counts on the other', async () => {
    const [a, b] = processes;
    for (let i = 0; i < 4; i++) assert.equal((await send(a!.publicUrl, number(i))).status, 200, `code ${i + 1} on a`);
    const onB = [];
    for (let i = 4; i < 8; i++) onB.push(await send(b!.publicUrl, number(i)));
    assert.deepEqual(
      onB.map((r) => r.status),
      [200, 200, 429, 429],
      'b sends the two codes left of the budget that a spent four of',
    );
    assert.ok(Number(onB[2]!.retryAfter) >= 1 && Number(onB[2]!.retryAfter) <= 3600, `Retry-After ${onB[2]!.retryAfter}`);

    assert.equal(twilio.messages.length, BUDGET, `${BUDGET} SMS left the two processes together`);
  });

  it('of sends racing on both processes, exactly the budget leaves', async () => {
    const [a, b] = processes;
    const before = twilio.messages.length;
    const raced = await Promise.all(Array.from({ length: 16 }, (_, i) => send((i % 2 === 0 ? a : b)!.publicUrl, number(20 + i), RACER)));
    assert.equal(raced.filter((r) => r.status === 200).length, BUDGET);
    assert.equal(raced.filter((r) => r.status === 429).length, 16 - BUDGET);
    assert.equal(twilio.messages.length - before, BUDGET);
  });
});
