/**
 * CIBA on two eidhub processes (real OS processes, `eidhub --config`) sharing one PostgreSQL, as
 * behind a load balancer: one public URL, and each step of a request may land on either process.
 * The request starts on one, the code arrives on the other, the tokens come from the first; wrong
 * codes and polls are counted across both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import { startChildEidhub, writeConfigFile, type ChildEidhub } from './support/child-eidhub.js';
import { freePort } from './support/net.js';
import { dropTestDatabase, getTestPostgresUrl } from './support/postgres.js';

const TWILIO = { accountSid: 'AC778', authToken: 'twilio-secret-778' };
const PUBLIC_URL = 'https://verify.example';
const CLIENT = 'showcase';
const SECRET = 'a-long-ciba-secret-pg-01';
const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

// Outside CI a missing PostgreSQL skips this suite; in CI getTestPostgresUrl() throws instead.
const databaseUrl = await getTestPostgresUrl();

type Json = Record<string, unknown>;

describe('CIBA on two processes sharing PostgreSQL', { skip: databaseUrl === null ? 'no PostgreSQL (set EIDHUB_DATABASE_URL or install the server)' : false }, () => {
  let twilio: FakeTwilio;
  const processes: ChildEidhub[] = [];
  /** Where each process listens; both answer for PUBLIC_URL. */
  const origins: string[] = [];

  before(async () => {
    twilio = await startFakeTwilio(TWILIO);
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-ciba-pg-'));
    for (const name of ['a', 'b']) {
      const port = await freePort();
      const file = writeConfigFile(dir, `${name}.json`, {
        publicUrl: PUBLIC_URL,
        port,
        host: '127.0.0.1',
        storage: { driver: 'postgres', url: databaseUrl! },
        sms: { provider: 'twilio', ...TWILIO, from: 'eidhub', baseUrl: twilio.url },
        realms: [{ name: 'ipification', pollIntervalSeconds: 5, clients: [{ clientId: CLIENT, secrets: [SECRET] }] }],
      });
      processes.push(await startChildEidhub(file));
      origins.push(`http://127.0.0.1:${port}`);
    }
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await twilio?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  const endpoint = (process: number, path: string) => `${origins[process]}/auth/realms/ipification/protocol/openid-connect/${path}`;

  async function send(url: string, init: RequestInit): Promise<{ status: number; body: Json }> {
    const res = await fetch(url, init);
    return { status: res.status, body: (await res.json()) as Json };
  }
  const form = (body: Record<string, string>): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLIENT, client_secret: SECRET, ...body }),
  });

  /** Starts a request on `process`; returns its auth_req_id and the code the SMS carried. */
  async function start(process: number, phone: string): Promise<{ id: string; code: string }> {
    const since = Date.now();
    const res = await send(
      endpoint(process, 'ext/ciba/auth'),
      form({ scope: 'openid ip:phone_verify', login_hint: phone, channel: 'sms', message: 'Your verification PIN is: {{code}}' }),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const sms = await twilio.waitForMessage((m) => m.to === phone && m.dateCreated.getTime() >= since, 5000);
    const code = /^Your verification PIN is: (\d{6})$/.exec(sms.body)?.[1];
    assert.ok(code, 'the SMS is the message with the code put in');
    return { id: String(res.body.auth_req_id), code };
  }

  const callback = (process: number, id: string, code: string) =>
    send(endpoint(process, 'ext/bc/sms/callback'), { method: 'POST', headers: { authorization: `Bearer ${id}`, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  const token = (process: number, id: string) => send(endpoint(process, 'token'), form({ grant_type: CIBA_GRANT, auth_req_id: id }));

  it('starts a request on one process, takes the code on the other, and gives the tokens on the first', async () => {
    const phone = '+447700900701';
    const req = await start(0, phone);
    assert.equal((await token(1, req.id)).body.error, 'authorization_pending');
    const done = await callback(1, req.id, req.code);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const tokens = await token(0, req.id);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    const userinfo = await send(endpoint(1, 'userinfo'), { headers: { authorization: `Bearer ${String(tokens.body.access_token)}` } });
    assert.equal(userinfo.status, 200);
    assert.equal(userinfo.body.phone_number, phone);
    assert.equal(userinfo.body.phone_number_verified, true);
    assert.equal((await token(1, req.id)).body.error, 'invalid_grant', 'redeemed once, on whichever process');
  });

  it('counts wrong codes and polls across both processes', async () => {
    const req = await start(1, '+447700900702');
    const wrong = req.code === '000000' ? '111111' : '000000';
    assert.equal((await callback(0, req.id, wrong)).body.attempts_left, 2);
    assert.equal((await callback(1, req.id, wrong)).body.attempts_left, 1);
    assert.equal((await callback(0, req.id, wrong)).body.error, 'access_denied');
    assert.equal((await token(1, req.id)).body.error, 'access_denied');

    const polled = await start(0, '+447700900703');
    const polls = [];
    for (const process of [0, 1, 0]) polls.push((await token(process, polled.id)).body.error);
    assert.equal(polls[0], 'authorization_pending');
    assert.ok(polls.slice(1).includes('slow_down'), `polls: ${polls.join(', ')}`);
  });
});
