/**
 * The sandbox's demo login (`npm start`): /sandbox/login starts an authorization request for the
 * demo client, the person goes through the hosted pages, and /sandbox/callback redeems the code
 * and calls UserInfo from inside eidhub, as the demo relying party.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { Browserless, CapturingSms, csrfOf } from './support/http-login.js';

describe('sandbox demo login', () => {
  let eidhub: RunningEidhub;
  const sms = new CapturingSms();

  before(async () => {
    eidhub = await startEidhub({ sandbox: true, smsProvider: sms });
  });
  after(() => eidhub?.close());

  it('ends on the demo relying party with the ID token claims and UserInfo', async () => {
    const phone = '+447700900555';
    const browser = new Browserless(eidhub.url);
    const start = await browser.get(`/sandbox/login?login_hint=${encodeURIComponent(`mobile:${phone}`)}`);
    assert.equal(start.res.status, 200);
    assert.match(new URL(start.url).pathname, /^\/login\/[0-9a-f-]{36}$/);
    const codePage = await browser.post(`${start.url}/phone`, { csrf: csrfOf(start.body), phone });
    assert.equal(codePage.res.status, 200);
    const done = await browser.post(`${start.url}/code`, { csrf: csrfOf(codePage.body), code: sms.lastCodeFor(phone) });
    assert.equal(new URL(done.url).pathname, '/sandbox/callback');
    assert.equal(done.res.status, 200, done.body.replace(/\s+/g, ' ').slice(0, 300));
    assert.match(done.body, /Logged in/);
    // The UserInfo answer, HTML-escaped in the page.
    assert.match(done.body, /<h2>UserInfo<\/h2><pre>[^<]*&#34;phone_number&#34;: &#34;\+447700900555&#34;/);
  });

  it('serves the realm ipification with a demo CIBA client whose secret is kept in the store', async () => {
    const realm = `${eidhub.url}/auth/realms/ipification`;
    const discovery = (await (await fetch(`${realm}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(discovery.backchannel_authentication_endpoint, `${realm}/protocol/openid-connect/ext/ciba/auth`);
    const secret = await eidhub.store.secrets.getOrCreate('sandbox:ciba-client-secret', 'not-the-one');
    assert.notEqual(secret, 'not-the-one');
    const phone = '+447700900556';
    const res = await fetch(`${realm}/protocol/openid-connect/ext/ciba/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'showcase', client_secret: secret, scope: 'openid ip:phone_verify', login_hint: phone, channel: 'sms', message: 'PIN {{code}}' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(sms.sent.at(-1)!.body, /^PIN \d{6}$/);
  });
});
