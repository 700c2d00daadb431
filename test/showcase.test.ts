/**
 * The showcase app's settings and the answers it gives before any auth server is asked (seed
 * 004's 400 when none is configured, request validation, /sms/log), in this process.
 * test/showcase.e2e.test.ts drives it against eidhub.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { buildShowcase } from '../apps/showcase/src/app.js';
import { flowClients, parseSettings, SettingsError } from '../apps/showcase/src/settings.js';

const BASE = { client_id: 'showcase', client_secret: 'showcase-secret-000001', clients: [{ user_flow: 'pvn_sms' }] };

async function build(raw: Record<string, unknown>) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const app = await buildShowcase(parseSettings(raw), { logger: pino(sink), publicUrl: 'http://localhost:3001' });
  return { app, log: () => lines.join('') };
}

describe('showcase settings', () => {
  it('fills in the seed defaults: realm ipification, the PIN template, scope openid ip:phone_verify, port 3001', () => {
    const settings = parseSettings(BASE);
    assert.equal(settings.realm, 'ipification');
    assert.equal(settings.sms_message, 'Your verification PIN is: {{code}}');
    assert.equal(settings.port, 3001);
    assert.deepEqual(flowClients(settings), [
      { userFlow: 'pvn_sms', title: 'pvn_sms', scope: 'openid ip:phone_verify', clientId: 'showcase', clientSecret: 'showcase-secret-000001' },
    ]);
  });

  it('refuses a message template without {{code}}, naming the key and never a secret', () => {
    assert.throws(
      () => parseSettings({ ...BASE, sms_message: 'Your PIN', auth_servers: [{ id: 'x', url: 'ftp://example.com' }] }),
      (err: Error) => {
        assert.ok(err instanceof SettingsError);
        assert.match(err.message, /sms_message: must contain \{\{code\}\}/);
        assert.match(err.message, /auth_servers\.0\.url: must be an absolute http or https URL/);
        assert.ok(!err.message.includes(BASE.client_secret));
        return true;
      },
    );
  });
});

describe('showcase routes without an auth server', () => {
  it('answers 400 when no auth server is configured, as the seed says', async () => {
    const { app } = await build(BASE);
    try {
      const auth = await app.inject({ method: 'POST', url: '/sms/auth', payload: { client_id: 'showcase', login_hint: '+447700900123' } });
      assert.equal(auth.statusCode, 400);
      assert.equal(auth.json().error, 'no_auth_servers');
      assert.equal(auth.json().status, 400);
      const token = await app.inject({ method: 'POST', url: '/sms/token', payload: { code: '123456', auth_req_id: 'a', client_id: 'showcase', nonce: 'n' } });
      assert.equal(token.statusCode, 400);
      assert.equal(token.json().error, 'no_auth_servers');
      const page = await app.inject({ method: 'GET', url: '/' });
      assert.match(page.body, /No auth server is configured/);
    } finally {
      await app.close();
    }
  });

  it('validates the bodies and the number before asking anyone', async () => {
    const { app } = await build({ ...BASE, auth_servers: [{ id: 'local', url: 'http://127.0.0.1:9/auth' }] });
    try {
      const missing = await app.inject({ method: 'POST', url: '/sms/auth', payload: { client_id: 'showcase' } });
      assert.equal(missing.statusCode, 400);
      assert.deepEqual(missing.json(), { error: 'invalid_request', status: 400, message: 'login_hint: is required' });
      const notE164 = await app.inject({ method: 'POST', url: '/sms/auth', payload: { client_id: 'showcase', login_hint: '07700 900123' } });
      assert.equal(notE164.statusCode, 400);
      assert.equal(notE164.json().error, 'invalid_login_hint');
      const form = await app.inject({ method: 'POST', url: '/sms/auth', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=showcase' });
      assert.equal(form.statusCode, 415, 'JSON only: no cross-site form can post here');
      const noSession = await app.inject({ method: 'POST', url: '/sms/token', payload: { code: '123456', auth_req_id: 'a', client_id: 'showcase', nonce: 'n' } });
      assert.equal(noSession.statusCode, 400);
      assert.equal(noSession.json().error, 'invalid_nonce');
    } finally {
      await app.close();
    }
  });

  it('POST /sms/log answers "OK" and logs without codes, tokens or whole numbers', async () => {
    const { app, log } = await build(BASE);
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/sms/log',
        payload: { data: { step: 'token', code: '123456', result: { phone_number: '+447700900123', access_token: 'at-secret-value' } } },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, 'OK');
      const text = log();
      assert.match(text, /"step":"token"/);
      for (const leak of ['123456', '+447700900123', 'at-secret-value']) assert.ok(!text.includes(leak), `not in the log: ${leak}`);
      assert.match(text, /"phone_number":"…123"/);
    } finally {
      await app.close();
    }
  });
});
