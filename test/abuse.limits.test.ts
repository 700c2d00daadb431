/**
 * Request limits against abuse: who the client is behind a proxy (`trustProxy`), the rate limits
 * kept in the store (and shared by two processes on PostgreSQL), failed client authentications
 * limited per client and per address at every token endpoint, Retry-After on every 429 and
 * Cache-Control: no-store on every REST and token answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import type { ChildEidhub } from './support/child-eidhub.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { dropTestDatabase, getTestPostgresUrl } from './support/postgres.js';
import { startPostgresPair } from './support/postgres-pair.js';

const PARTNER = { id: 'partner', secret: 'partner-secret-0000000001' };
const OTHER = { id: 'other-partner', secret: 'other-partner-secret-0002' };
const THIRD = { id: 'third-partner', secret: 'third-partner-secret-0004' };
const RP = { id: 'verifier', secret: 'verifier-secret-000000003' };
const apiClients = [PARTNER, OTHER, THIRD].map((c) => ({ clientId: c.id, secrets: [c.secret], permissions: ['authentication-rest-api' as const] }));
const DAY = 86_400;

/** A hosted-page form post from the address `forwardedFor` names (as a proxy in front of eidhub passes it on). */
function postForm(origin: string, forwardedFor: string | undefined): Promise<Response> {
  return fetch(`${origin}/login/tx_not_a_login/phone`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) },
    body: new URLSearchParams({ csrf: 'x', phone: '+447700900123' }).toString(),
  });
}

/** `count` posts, each claiming another address in front of the real one `real` the proxy appends; the number answered 429. */
async function spoofedPosts(origin: string, count: number, real: string): Promise<{ limited: number; last: Response }> {
  let limited = 0;
  let last: Response | undefined;
  for (let i = 0; i < count; i++) {
    last = await postForm(origin, `203.0.113.${i % 250}, ${real}`);
    await last.arrayBuffer();
    if (last.status === 429) limited++;
  }
  return { limited, last: last! };
}

function assertRetryAfter(res: Response, atMost: number): void {
  const header = res.headers.get('retry-after');
  assert.match(header ?? '', /^\d+$/, `Retry-After on a ${res.status}`);
  assert.ok(Number(header) >= 1 && Number(header) <= atMost, `Retry-After ${header} within the window`);
}

describe('who the client is behind a proxy (trustProxy)', () => {
  const started: RunningEidhub[] = [];
  after(async () => {
    await Promise.all(started.map((e) => e.close()));
  });
  const start = async (trustProxy: boolean | number | string[]) => {
    // The default 60 posts, in a window long enough that no test straddles two (windows are fixed).
    const eidhub = await startEidhub({ trustProxy, rateLimits: { pages: { max: 60, windowSeconds: DAY } } });
    started.push(eidhub);
    return eidhub;
  };

  it('limits 70 posts from one real address with rotating spoofed X-Forwarded-For with trustProxy: 1', async () => {
    const eidhub = await start(1);
    const { limited, last } = await spoofedPosts(eidhub.url, 70, '127.0.0.1');
    assert.equal(limited, 10, '60 posts, counted by the address the proxy appended');
    assert.equal(last.status, 429);
    assertRetryAfter(last, DAY);
    assert.match(last.headers.get('content-type') ?? '', /^text\/html/, 'a page for people');
    const other = await postForm(eidhub.url, '203.0.113.9, 198.51.100.20');
    assert.notEqual(other.status, 429, 'another real address has its own count');
  });

  it('does not limit them with trustProxy: true, which believes whatever the client says (and warns at start)', async () => {
    const eidhub = await start(true);
    assert.match(eidhub.logText(), /trustProxy is true: any client can choose the address/);
    const { limited } = await spoofedPosts(eidhub.url, 70, '127.0.0.1');
    assert.equal(limited, 0, 'each spoofed address counted apart');
  });

  it('with a list of proxy ranges, counts the last address that is not a proxy', async () => {
    const behindProxy = await start(['127.0.0.0/8', '::1']);
    assert.equal((await spoofedPosts(behindProxy.url, 70, '198.51.100.7')).limited, 10, 'the address the trusted proxy appended, whatever comes before it');
    const directly = await start(['10.0.0.0/8']);
    assert.equal((await spoofedPosts(directly.url, 70, '198.51.100.8')).limited, 10, 'a peer outside the list is the client itself: its headers are not read');
  });

  it('refuses a trustProxy that is neither a boolean, a hop count nor a list of addresses', async () => {
    await assert.rejects(startEidhub({ trustProxy: ['not-an-address'] as unknown as string[] }), /trustProxy\[0\]: must be an IP address or a CIDR range/);
    await assert.rejects(startEidhub({ trustProxy: 0 as unknown as number }), /trustProxy/);
  });
});

describe('failed client authentications at the token endpoints', () => {
  let eidhub: RunningEidhub;

  before(async () => {
    eidhub = await startEidhub({
      trustProxy: 1,
      apiClients,
      realms: [{ name: 'ipification', clients: [{ clientId: RP.id, secrets: [RP.secret] }] }],
      rateLimits: { clientAuthFailures: { perAddress: 3, perClient: 5, windowSeconds: DAY }, headless: { max: 3, windowSeconds: DAY } },
    });
  });
  after(async () => {
    await eidhub?.close();
  });

  const token = (client: { id: string; secret: string }, address: string, options: { post?: boolean; path?: string } = {}) =>
    fetch(`${eidhub.url}${options.path ?? '/auth/open/connect/token'}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-for': address,
        ...(options.post ? {} : { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` }),
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        ...(options.path ? {} : { scope: 'auth-rest-api' }),
        ...(options.post ? { client_id: client.id, client_secret: client.secret } : {}),
      }).toString(),
    });
  const wrong = (client: { id: string; secret: string }) => ({ ...client, secret: `${client.secret}-wrong` });

  async function expectRefused(res: Response): Promise<void> {
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 429, JSON.stringify(body));
    assert.equal(body.error, 'slow_down');
    assert.match(String(body.error_description), /too many failed client authentications/);
    assertRetryAfter(res, DAY);
    assert.equal(res.headers.get('cache-control'), 'no-store');
  }

  async function expectStatus(res: Response, status: number): Promise<Record<string, unknown>> {
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(res.headers.get('cache-control'), 'no-store', `no-store on a ${status} token answer`);
    return body;
  }

  it('refuses an address after its failures, right secret or not, while the client works from elsewhere', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await expectStatus(await token(wrong(PARTNER), '198.51.100.1'), 401)).error, 'invalid_client');
    await expectRefused(await token(wrong(PARTNER), '198.51.100.1'));
    await expectRefused(await token(PARTNER, '198.51.100.1'));
    await expectRefused(await token(OTHER, '198.51.100.1', { post: true }));
    assert.ok((await expectStatus(await token(PARTNER, '198.51.100.2'), 200)).access_token, 'the right secret from another address');
    const events = await eidhub.store.audit.recent(50);
    const tripped = events.filter((e) => e.type === 'client_auth.limited');
    assert.equal(tripped.length, 1, 'one event when the limit trips, none for each refusal after it');
    assert.equal(tripped[0]!.clientId, PARTNER.id);
    assert.deepEqual({ limit: tripped[0]!.data?.limit, address: tripped[0]!.data?.address }, { limit: 'address', address: '198.51.100.1' });
    assert.match(eidhub.logText(), /"level":40.*too many failures by address/);
    assert.doesNotMatch(eidhub.logText(), new RegExp(PARTNER.secret), 'no secret in the log');
  });

  it('refuses failing attempts on a client guessed at from many addresses, and those addresses, but not its right secret from a clean one', async () => {
    for (let i = 1; i <= 5; i++) await expectStatus(await token(wrong(OTHER), `198.51.100.${10 + i}`, { post: i % 2 === 0 }), 401);
    await expectRefused(await token(wrong(OTHER), '198.51.100.16'));
    await expectRefused(await token(OTHER, '198.51.100.11'));
    assert.ok((await expectStatus(await token(OTHER, '198.51.100.17'), 200)).access_token, 'the right secret from an address that never failed');
    assert.ok((await expectStatus(await token(OTHER, '198.51.100.18', { post: true }), 200)).access_token, 'and by client_secret_post');
    assert.ok((await expectStatus(await token(PARTNER, '198.51.100.12'), 200)).access_token, 'another client from an address that failed for this one');
    const tripped = (await eidhub.store.audit.recent(50)).filter((e) => e.type === 'client_auth.limited' && e.clientId === OTHER.id);
    assert.deepEqual(tripped.map((e) => e.data?.limit), ['client']);
  });

  it('counts an IPv6 client by its /64', async () => {
    for (let i = 0; i < 3; i++) await expectStatus(await token(wrong(THIRD), `2001:db8:1:2::${i + 1}`), 401);
    await expectRefused(await token(THIRD, '2001:db8:1:2:ffff::9'));
    assert.ok((await expectStatus(await token(THIRD, '2001:db8:1:3::1'), 200)).access_token, 'the next /64 is another address');
  });

  it('limits a realm\'s token endpoint the same way', async () => {
    const path = '/auth/realms/ipification/protocol/openid-connect/token';
    for (let i = 0; i < 3; i++) await expectStatus(await token(wrong(RP), '198.51.100.30', { path }), 401);
    await expectRefused(await token(RP, '198.51.100.30', { path }));
    assert.notEqual((await token(RP, '198.51.100.31', { path })).status, 429, 'another address is not refused');
  });

  it('answers no-store with Retry-After on the REST API, its rate limit and its step errors alike', async () => {
    const { access_token: bearer } = (await (await token(PARTNER, '198.51.100.40')).json()) as { access_token: string };
    const rest = (method: string, path: string, body?: unknown, auth = true) =>
      fetch(`${eidhub.url}/auth/rest${path}`, {
        method,
        headers: { ...(auth ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'x-forwarded-for': '198.51.100.41' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const unauthenticated = await rest('GET', '/sessions/nope', undefined, false);
    assert.equal(unauthenticated.status, 401);
    assert.equal(unauthenticated.headers.get('cache-control'), 'no-store');
    const created = await rest('POST', '/sessions', { flow: 'headless', allowedProviders: ['otp-sms'], requestedAttributes: ['phoneNumber'] });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const id = String(((await created.json()) as { id: string }).id);
    const read = await rest('GET', `/sessions/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('cache-control'), 'no-store');

    assert.equal((await rest('POST', `/sessions/${id}/otp-sms/send`, { mobile: '+447700900444' })).status, 200);
    const tooSoon = await rest('POST', `/sessions/${id}/otp-sms/send`, { mobile: '+447700900444' });
    assert.equal(((await tooSoon.json()) as { code: string }).code, 'resend_too_soon');
    assert.equal(tooSoon.status, 429);
    assertRetryAfter(tooSoon, 30); // the resend wait (otp.resendAfterSeconds), not a default
    assert.equal(tooSoon.headers.get('cache-control'), 'no-store');

    assert.equal((await rest('POST', `/sessions/${id}/otp-sms/send`, { mobile: '+447700900444' })).status, 429, 'the third call: too soon still');
    const limited = await rest('POST', `/sessions/${id}/otp-sms/send`, { mobile: '+447700900444' });
    const body = (await limited.json()) as { code: string; status: number };
    assert.deepEqual([limited.status, body.code], [429, 'rate_limited'], 'the fourth call of the step in the window (headless.max 3)');
    assert.match(limited.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assertRetryAfter(limited, DAY);
    assert.equal(limited.headers.get('cache-control'), 'no-store');
  });

  it('answers a token request too large to read with no-store', async () => {
    const res = await fetch(`${eidhub.url}/auth/open/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${PARTNER.id}:${PARTNER.secret}`).toString('base64')}`, 'x-forwarded-for': '198.51.100.50' },
      body: `grant_type=client_credentials&scope=${'a'.repeat(60 * 1024)}`,
    });
    await expectStatus(res, 413);
  });
});

describe('failed client authentications on oidc-provider\'s own path (oidcFastPaths: false)', () => {
  let eidhub: RunningEidhub;
  before(async () => {
    eidhub = await startEidhub({ oidcFastPaths: false, apiClients, rateLimits: { clientAuthFailures: { perAddress: 2, windowSeconds: DAY } } });
  });
  after(async () => {
    await eidhub?.close();
  });

  it('refuses the address after its failures, with Retry-After and no-store', async () => {
    const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`${PARTNER.id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' });
    const ask = (secret: string) => fetch(`${eidhub.url}/auth/open/connect/token`, { method: 'POST', headers: basic(secret), body: 'grant_type=client_credentials&scope=auth-rest-api' });
    const ok = await ask(PARTNER.secret);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    assert.equal((await ask('wrong-secret-1')).status, 401);
    assert.equal((await ask('wrong-secret-2')).status, 401);
    const refused = await ask(PARTNER.secret);
    assert.equal(refused.status, 429);
    assertRetryAfter(refused, DAY);
    assert.equal(refused.headers.get('cache-control'), 'no-store');
  });
});

const databaseUrl = await getTestPostgresUrl();
const TWILIO = { accountSid: 'AC909', authToken: 'twilio-secret-909' };

describe('two processes sharing PostgreSQL share the limits', { skip: databaseUrl === null ? 'no PostgreSQL (set EIDHUB_DATABASE_URL or install the server)' : false }, () => {
  let twilio: FakeTwilio;
  let processes: ChildEidhub[] = [];

  before(async () => {
    twilio = await startFakeTwilio(TWILIO);
    processes = await startPostgresPair(databaseUrl!, twilio, TWILIO, {
      apiClients,
      rateLimits: { pages: { max: 10, windowSeconds: DAY }, clientAuthFailures: { perAddress: 3, windowSeconds: DAY } },
    });
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await twilio?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it('counts one address\'s form posts on either process against one limit', async () => {
    const [a, b] = processes;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      for (const p of [a!, b!]) {
        const res = await postForm(p.publicUrl, undefined);
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    }
    assert.equal(statuses.filter((s) => s === 429).length, 2, `10 posts a window across both processes: ${statuses.join(' ')}`);
    assert.deepEqual(statuses.slice(10), [429, 429], 'the 11th and 12th, whichever process they reach');
  });

  it('counts failed client authentications on either process against one limit', async () => {
    const [a, b] = processes;
    const ask = (p: ChildEidhub, secret: string) =>
      fetch(`${p.publicUrl}/auth/open/connect/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${PARTNER.id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=auth-rest-api',
      });
    assert.equal((await ask(a!, PARTNER.secret)).status, 200);
    assert.equal((await ask(a!, 'wrong-secret-1')).status, 401);
    assert.equal((await ask(b!, 'wrong-secret-2')).status, 401);
    assert.equal((await ask(a!, 'wrong-secret-3')).status, 401);
    const refused = await ask(b!, PARTNER.secret);
    assert.equal(refused.status, 429, 'the other process refuses the address whose failures the first counted');
    assertRetryAfter(refused, DAY);
  });
});
