/**
 * SMS pumping, tried as an attacker would: many numbers from one address, one prefix, one country,
 * one client, or everything at once; and a range of numbers whose codes nobody types back. The
 * send budgets (config `otp.budgets`) and the conversion guard (`otp.conversionGuard`) are checked
 * in the store's one write of a code; these tests count the SMS that actually left.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ConfigInput } from '../src/config/schema.js';
import type { AuditEvent } from '../src/store/types.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { Browserless, CapturingSms, csrfOf } from './support/http-login.js';

const OIDC = { id: 'shop', secret: 'shop-secret-000000000001', redirectUri: 'http://127.0.0.1:9/cb' };
const API = { id: 'api-1', secret: 'api-client-secret-0001' };
const API2 = { id: 'api-2', secret: 'api-client-secret-0002' };
const REALM_CLIENT = { id: 'ciba-app', secret: 'ciba-app-secret-000000001' };

/** A fresh eidhub (its own SQLite store) with these `otp` rules, behind one proxy hop; the clock is `clock.now()`. */
async function eidhubWith(otp: NonNullable<ConfigInput['otp']>) {
  const sms = new CapturingSms();
  let offset = 0;
  const eidhub = await startEidhub({
    smsProvider: sms,
    trustProxy: true,
    now: () => Date.now() + offset,
    otp,
    oidcClients: [{ clientId: OIDC.id, secrets: [OIDC.secret], redirectUris: [OIDC.redirectUri], scopes: ['openid', 'phone'] }],
    apiClients: [API, API2].map((c) => ({ clientId: c.id, secrets: [c.secret], permissions: ['authentication-rest-api' as const] })),
    realms: [{ name: 'pump', clients: [{ clientId: REALM_CLIENT.id, secrets: [REALM_CLIENT.secret] }] }],
  });
  const tokens = new Map<string, string>();
  async function tokenOf(client: { id: string; secret: string }): Promise<string> {
    const known = tokens.get(client.id);
    if (known) return known;
    const res = await fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=auth-rest-api',
    });
    const token = ((await res.json()) as { access_token: string }).access_token;
    tokens.set(client.id, token);
    return token;
  }
  let nextAddress = 1;
  return {
    eidhub,
    sms,
    /** Moves eidhub's clock on. oidc-provider keeps the real one, so API tokens stop working: use `onPage` from then on. */
    advance: (ms: number) => (offset += ms),
    /** A hosted-page login of the OIDC client that asks for a code to `mobile` (page in `lang`): the status, Retry-After and page. */
    async onPage(mobile: string, lang = 'en') {
      const agent = new Browserless(eidhub.url);
      const query = new URLSearchParams({ client_id: OIDC.id, response_type: 'code', redirect_uri: OIDC.redirectUri, scope: 'openid phone', state: 's', nonce: 'n', ui_locales: lang });
      const page = await agent.get(`${eidhub.issuer}/connect/authorize?${query}`);
      const answer = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone: mobile });
      return { status: answer.res.status, retryAfter: answer.res.headers.get('retry-after'), body: answer.body };
    },
    /**
     * A headless REST session of `client` that asks for a code to `mobile`, from `address` (by
     * default a new one each time, through X-Forwarded-For). The status, Retry-After and problem.
     */
    async send(mobile: string, opts: { client?: typeof API; address?: string } = {}) {
      const token = await tokenOf(opts.client ?? API);
      const address = opts.address ?? `198.51.100.${nextAddress++}`;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-forwarded-for': address };
      const created = await fetch(`${eidhub.url}/auth/rest/sessions`, { method: 'POST', headers, body: JSON.stringify({ flow: 'headless', allowedProviders: ['otp-sms'] }) });
      const { id } = (await created.json()) as { id: string };
      const res = await fetch(`${eidhub.url}/auth/rest/sessions/${id}/otp-sms/send`, { method: 'POST', headers, body: JSON.stringify({ mobile }) });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
    },
    async events(type: string): Promise<AuditEvent[]> {
      return (await eidhub.store.audit.recent(1000)).filter((e) => e.type === type);
    },
  };
}

type Harness = Awaited<ReturnType<typeof eidhubWith>>;

/** A UK mobile number of the drama range, different for each `i` (one prefix: +447700). */
const drama = (i: number) => `+447700900${String(i).padStart(3, '0')}`;

describe('SMS send budgets', () => {
  const running: RunningEidhub[] = [];
  async function harness(otp: NonNullable<ConfigInput['otp']>): Promise<Harness> {
    const h = await eidhubWith(otp);
    running.push(h.eidhub);
    return h;
  }
  after(async () => {
    for (const e of running) await e.close();
  });

  it('30 numbers from one address on the hosted pages: at most the per-address budget of SMS leaves, the rest is 429 with Retry-After and audited', async () => {
    // The defaults: 10 codes per address in 10 minutes.
    const h = await harness({});
    const statuses: number[] = [];
    let refusal: { retryAfter: string | null; body: string } | undefined;
    for (let i = 0; i < 30; i++) {
      const answer = await h.onPage(drama(i));
      statuses.push(answer.status);
      if (answer.status === 429) refusal ??= answer;
    }
    assert.equal(h.sms.sent.length, 10, 'ten SMS left, no more');
    assert.deepEqual(statuses, [...Array(10).fill(200), ...Array(20).fill(429)]);
    assert.ok(refusal);
    const retryAfter = Number(refusal.retryAfter);
    assert.ok(retryAfter >= 1 && retryAfter <= 600, `Retry-After ${refusal.retryAfter}`);
    assert.match(refusal.body, /Too many codes have been sent recently/);
    const exceeded = await h.events('otp.budget_exceeded');
    assert.equal(exceeded.length, 20);
    const [event] = exceeded;
    assert.equal(event!.clientId, OIDC.id);
    assert.equal(event!.data?.budget, 'perAddress');
    assert.equal(event!.data?.country, 'GB');
    assert.match(String(event!.data?.to), /^\+44 •+\d{4}$/, 'the number only masked');
    assert.doesNotMatch(JSON.stringify(exceeded), /447700900\d{3}/, 'no whole number in the audit log');
    assert.match(h.eidhub.logText(), /over the send budget perAddress/);
    assert.doesNotMatch(h.eidhub.logText(), /447700900\d{3}/, 'no whole number in the log');
  });

  it('a page in another language says so in that language', async () => {
    const h = await harness({ budgets: { perAddress: { limit: 1 } } });
    assert.equal((await h.onPage(drama(0), 'fi')).status, 200);
    const refused = await h.onPage(drama(1), 'fi');
    assert.equal(refused.status, 429);
    assert.match(refused.body, /Koodeja on lähetetty liian monta/);
  });

  /** Two sends spend a budget of 2; the third is refused by `budget`; `other` is one the budget does not cover. */
  async function checkBudget(h: Harness, budget: string, same: (i: number) => Promise<Awaited<ReturnType<Harness['send']>>>, other: () => Promise<{ status: number }>, maxRetryAfter: number) {
    for (let i = 0; i < 2; i++) assert.equal((await same(i)).status, 200, `send ${i + 1} of ${budget}`);
    const refused = await same(2);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'sms_budget_exceeded');
    const retryAfter = Number(refused.retryAfter);
    assert.ok(retryAfter >= 1 && retryAfter <= maxRetryAfter, `Retry-After ${refused.retryAfter} for ${budget}`);
    assert.equal(h.sms.sent.length, 2);
    assert.deepEqual((await h.events('otp.budget_exceeded')).map((e) => e.data?.budget), [budget]);
    assert.equal((await other()).status, 200);
    assert.equal(h.sms.sent.length, 3);
  }

  it('per client address (REST headless API)', async () => {
    const h = await harness({ budgets: { perAddress: { limit: 2, windowSeconds: 600 } } });
    await checkBudget(h, 'perAddress', (i) => h.send(drama(i), { address: '203.0.113.7' }), () => h.send(drama(3), { address: '203.0.113.8' }), 600);
  });

  it('per number prefix', async () => {
    const h = await harness({ budgets: { perPrefix: { limit: 2 } } });
    await checkBudget(h, 'perPrefix', (i) => h.send(drama(i)), () => h.send('+447400123456'), 3600);
  });

  it('per country', async () => {
    const h = await harness({ budgets: { perCountry: { limit: 2 } } });
    const gb = ['+447700900001', '+447400123456', '+447500123456'];
    await checkBudget(h, 'perCountry', (i) => h.send(gb[i]!), () => h.send('+4520123456'), 3600);
  });

  it('per client', async () => {
    const h = await harness({ budgets: { perClient: { limit: 2 } } });
    await checkBudget(h, 'perClient', (i) => h.send(drama(i)), () => h.send(drama(3), { client: API2 }), 3600);
  });

  for (const [name, windowMs, when] of [
    ['globalPerMinute', 60_000, 'in the next minute'],
    ['globalPerDay', 86_400_000, 'the next day'],
  ] as const) {
    it(`${name}, which frees up ${when}`, async () => {
      const h = await harness({ budgets: { [name]: { limit: 2 } } });
      const nextWindow = async () => {
        h.advance(windowMs);
        return h.onPage(drama(3));
      };
      await checkBudget(h, name, (i) => h.send(drama(i)), nextWindow, windowMs / 1000);
    });
  }

  it('per client over CIBA: a realm client\'s secret is not an SMS pump (429, slow_down, Retry-After)', async () => {
    const h = await harness({ budgets: { perClient: { limit: 2 } } });
    const ciba = (i: number) =>
      fetch(`${h.eidhub.url}/auth/realms/pump/protocol/openid-connect/ext/ciba/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: REALM_CLIENT.id, client_secret: REALM_CLIENT.secret, scope: 'openid', login_hint: drama(i), channel: 'sms', message: 'Your code: {{code}}' }),
      });
    for (let i = 0; i < 2; i++) assert.equal((await ciba(i)).status, 200);
    const refused = await ciba(2);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(((await refused.json()) as { error: string }).error, 'slow_down');
    assert.equal(h.sms.sent.length, 2);
    const [event] = await h.events('otp.budget_exceeded');
    assert.deepEqual([event?.clientId, event?.data?.budget], [REALM_CLIENT.id, 'perClient']);
  });
});

describe('The conversion guard', () => {
  const running: RunningEidhub[] = [];
  after(async () => {
    for (const e of running) await e.close();
  });
  const guard = { windowSeconds: 3600, minSends: 5, minConversion: 0.5, pauseSeconds: 600 };

  it('pauses a prefix that gets codes and never verifies them, then resumes after the pause', async () => {
    const h = await eidhubWith({ conversionGuard: guard });
    running.push(h.eidhub);
    for (let i = 0; i < 5; i++) assert.equal((await h.send(drama(i))).status, 200, `code ${i + 1}`);
    const [paused] = await h.events('otp.prefix_paused');
    assert.ok(paused, 'the fifth code unverified paused the prefix');
    assert.deepEqual([paused.data?.prefix, paused.data?.sent, paused.data?.verified, paused.data?.country], ['+447700', 5, 0, 'GB']);
    assert.match(h.eidhub.logText(), /"level":40[^\n]*prefix \+447700 paused: 0 of 5 codes verified/);

    const refused = await h.send(drama(5));
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.retryAfter) > 590 && Number(refused.retryAfter) <= 600, `Retry-After ${refused.retryAfter}`);
    assert.equal((await h.events('otp.budget_exceeded'))[0]?.data?.budget, 'conversionGuard');
    assert.equal((await h.send('+447400123456')).status, 200, 'another prefix still gets codes');
    assert.equal(h.sms.sent.length, 6);

    h.advance(600_000);
    assert.equal((await h.onPage(drama(6))).status, 200, 'the prefix resumed');
    assert.equal((await h.onPage(drama(7))).status, 200, 'with fresh counts: not paused again at once');
  });

  it('leaves a prefix whose codes are verified alone', async () => {
    const h = await eidhubWith({ conversionGuard: guard });
    running.push(h.eidhub);
    const token = await (async () => {
      const res = await fetch(`${h.eidhub.issuer}/connect/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${API.id}:${API.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=auth-rest-api',
      });
      return ((await res.json()) as { access_token: string }).access_token;
    })();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    for (let i = 0; i < 8; i++) {
      const created = (await (await fetch(`${h.eidhub.url}/auth/rest/sessions`, { method: 'POST', headers, body: JSON.stringify({ flow: 'headless', allowedProviders: ['otp-sms'] }) })).json()) as { id: string };
      const sent = await fetch(`${h.eidhub.url}/auth/rest/sessions/${created.id}/otp-sms/send`, { method: 'POST', headers, body: JSON.stringify({ mobile: drama(i) }) });
      assert.equal(sent.status, 200);
      const verified = await fetch(`${h.eidhub.url}/auth/rest/sessions/${created.id}/otp-sms/verify`, { method: 'POST', headers, body: JSON.stringify({ code: h.sms.lastCodeFor(drama(i)) }) });
      assert.equal(verified.status, 200);
    }
    assert.deepEqual(await h.events('otp.prefix_paused'), []);
    assert.deepEqual(await h.eidhub.store.otp.conversion('+447700', 3_600_000, Date.now()), { sent: 8, verified: 8, pausedUntil: null });
  });

  it('trusted prefixes skip the prefix and country budgets and the guard; allowed prefixes are the only ones served', async () => {
    const h = await eidhubWith({
      trustedPrefixes: ['+4477009'],
      allowedPrefixes: ['+4477', '+4474'],
      budgets: { perPrefix: { limit: 1 }, perCountry: { limit: 1 } },
      conversionGuard: { ...guard, minSends: 2 },
    });
    running.push(h.eidhub);
    for (let i = 0; i < 6; i++) assert.equal((await h.send(drama(i))).status, 200, `trusted code ${i + 1}`);
    assert.deepEqual(await h.events('otp.prefix_paused'), []);
    assert.equal((await h.send('+447400123456')).status, 200, 'an untrusted prefix spends its own budgets');
    assert.equal((await h.send('+447400123457')).status, 429);
    const foreign = await h.send('+4520123456');
    assert.deepEqual([foreign.status, foreign.body.code], [400, 'invalid_phone_number']);
    assert.equal(h.sms.sent.length, 7);
  });
});
