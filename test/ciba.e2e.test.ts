/**
 * CIBA over SMS at Keycloak's paths (CONTRACT §7, seed 004), end to end against a running eidhub:
 * openid-client as the relying party for poll (its CIBA functions), the seed's own sequence over
 * plain HTTP, a ping receiver on 127.0.0.1, and every refusal the contract names. The SMS are
 * captured in memory; the person's subject is compared with an OIDC login by the same number.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { SmsMessage } from '../src/sms/types.js';
import { SmsSendError } from '../src/sms/types.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { CapturingSms, loginOverHttp } from './support/http-login.js';

const CLIENT = 'showcase';
const SECRET = 'a-long-ciba-secret-0001';
const SECOND_SECRET = 'a-long-ciba-secret-0002';
const OTHER = 'other-app';
const OTHER_SECRET = 'a-long-ciba-secret-0003';
const PINGED = 'pinged-app';
const PINGED_SECRET = 'a-long-ciba-secret-0004';
const UNREACHABLE = 'unreachable-app';
const OIDC_CLIENT = 'shop';
const OIDC_SECRET = 'a-long-oidc-secret-0001';
const OIDC_REDIRECT = 'https://shop.example/callback';
const TEMPLATE = 'Your verification PIN is: {{code}}';
const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';
const PER_NUMBER_LIMIT = 3;

/** Captures SMS, and fails the next `failures` sends as a provider that is down would. */
class FlakySms extends CapturingSms {
  failures = 0;
  override async send(message: SmsMessage) {
    if (this.failures > 0) {
      this.failures--;
      throw new SmsSendError('the provider answered 503', 'capture', true);
    }
    return super.send(message);
  }
}

interface Ping {
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A client's notification endpoint: keeps what it receives and answers 204. */
async function startPingReceiver(): Promise<{ server: Server; url: string; received: Ping[] }> {
  const received: Ping[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ url: req.url, headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, received };
}

type Json = Record<string, unknown>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CIBA over SMS at Keycloak paths', () => {
  const sms = new FlakySms();
  let eidhub: RunningEidhub;
  let ping: Awaited<ReturnType<typeof startPingReceiver>>;
  /** Secret values that must never reach the log. */
  const secrets = new Set<string>([SECRET, SECOND_SECRET, OTHER_SECRET, PINGED_SECRET]);
  let nextPhone = 300;
  /** A number no earlier test used (each number takes PER_NUMBER_LIMIT codes an hour). */
  const freshPhone = () => `+447700900${String(nextPhone++).padStart(3, '0')}`;

  before(async () => {
    ping = await startPingReceiver();
    eidhub = await startEidhub({
      smsProvider: sms,
      otp: { maxSendsPerNumberPerHour: PER_NUMBER_LIMIT },
      oidcClients: [{ clientId: OIDC_CLIENT, secrets: [OIDC_SECRET], redirectUris: [OIDC_REDIRECT], scopes: ['openid', 'phone'] }],
      realms: [
        {
          name: 'ipification',
          pollIntervalSeconds: 1,
          clients: [
            { clientId: CLIENT, secrets: [SECRET, SECOND_SECRET] },
            { clientId: OTHER, secrets: [OTHER_SECRET] },
            { clientId: PINGED, secrets: [PINGED_SECRET], deliveryMode: 'ping', notificationEndpoint: `${ping.url}/ciba/notify` },
            // Port 9 (discard) refuses the connection: a client whose notification endpoint is down.
            { clientId: UNREACHABLE, secrets: [PINGED_SECRET], deliveryMode: 'ping', notificationEndpoint: 'http://127.0.0.1:9/notify' },
          ],
        },
        { name: 'slow', pollIntervalSeconds: 5, clients: [{ clientId: CLIENT, secrets: [SECRET] }] },
        { name: 'links', allowUrlsInMessage: true, clients: [{ clientId: CLIENT, secrets: [SECRET] }] },
      ],
    });
  });

  after(async () => {
    await eidhub?.close();
    ping?.server.close();
  });

  const realmUrl = (realm = 'ipification') => `${eidhub.url}/auth/realms/${realm}`;
  const endpoint = (realm: string, path: string) => `${realmUrl(realm)}/protocol/openid-connect/${path}`;

  async function post(url: string, body: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Headers }> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
  }

  /** The seed's authentication request: form body with the client's id and secret. */
  function startRequest(params: Record<string, string>, opts: { realm?: string; client?: string; secret?: string } = {}) {
    return post(endpoint(opts.realm ?? 'ipification', 'ext/ciba/auth'), {
      client_id: opts.client ?? CLIENT,
      client_secret: opts.secret ?? SECRET,
      scope: 'openid ip:phone_verify',
      channel: 'sms',
      message: TEMPLATE,
      ...params,
    });
  }

  /** Starts a request that must succeed; returns its auth_req_id and the code the SMS carried. */
  async function started(phone: string, params: Record<string, string> = {}, opts: { realm?: string; client?: string; secret?: string } = {}) {
    const before = sms.sent.length;
    const res = await startRequest({ login_hint: phone, ...params }, opts);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(sms.sent.length, before + 1, 'one SMS went out');
    const message = sms.sent.at(-1)!;
    assert.equal(message.to, phone);
    const code = /\b(\d{6})\b/.exec(message.body)?.[1];
    assert.ok(code, 'the SMS carries a 6-digit code');
    const id = String(res.body.auth_req_id);
    secrets.add(id).add(code);
    return { id, code, body: res.body, sms: message };
  }

  /** The seed's callback: `Authorization: Bearer {auth_req_id}`, JSON `{"code"}`. */
  async function callback(id: string, code: string, realm = 'ipification'): Promise<{ status: number; body: Json; headers: Headers }> {
    const res = await fetch(endpoint(realm, 'ext/bc/sms/callback'), {
      method: 'POST',
      headers: { authorization: `Bearer ${id}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
  }

  /** The seed's token request: form body with the client's id and secret. */
  function token(id: string, opts: { realm?: string; client?: string; secret?: string } = {}) {
    return post(endpoint(opts.realm ?? 'ipification', 'token'), {
      client_id: opts.client ?? CLIENT,
      client_secret: opts.secret ?? SECRET,
      grant_type: CIBA_GRANT,
      auth_req_id: id,
    });
  }

  it('publishes discovery with exactly Keycloak\'s paths and the CIBA fields, and the JWKS at /certs', async () => {
    const res = await fetch(`${realmUrl()}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const d = (await res.json()) as Json;
    const base = `${realmUrl()}/protocol/openid-connect`;
    assert.equal(d.issuer, realmUrl());
    assert.equal(d.backchannel_authentication_endpoint, `${base}/ext/ciba/auth`);
    assert.equal(d.token_endpoint, `${base}/token`);
    assert.equal(d.userinfo_endpoint, `${base}/userinfo`);
    assert.equal(d.jwks_uri, `${base}/certs`);
    assert.equal(d.authorization_endpoint, `${base}/auth`);
    const endpoints = Object.entries(d).filter(([k]) => k.endsWith('_endpoint') || k === 'jwks_uri');
    for (const [name, url] of endpoints) assert.ok(String(url).startsWith(`${base}/`), `${name} is below ${base}: ${String(url)}`);
    assert.deepEqual(d.backchannel_token_delivery_modes_supported, ['poll', 'ping']);
    assert.ok((d.grant_types_supported as string[]).includes(CIBA_GRANT));
    assert.deepEqual(d.scopes_supported, ['openid', 'ip:phone_verify']);
    assert.deepEqual([...(d.token_endpoint_auth_methods_supported as string[])].sort(), ['client_secret_basic', 'client_secret_post']);

    const certs = (await (await fetch(`${base}/certs`)).json()) as { keys: { kid: string; d?: string }[] };
    const open = (await (await fetch(`${eidhub.issuer}/.well-known/openid-configuration/jwks`)).json()) as { keys: { kid: string }[] };
    assert.ok(certs.keys.length > 0);
    assert.deepEqual(certs.keys.map((k) => k.kid).sort(), open.keys.map((k) => k.kid).sort(), 'the same signing keys as /auth/open');
    assert.ok(certs.keys.every((k) => k.d === undefined), 'public keys only');
  });

  it('runs the seed\'s sequence over plain HTTP: auth, SMS, callback, token, userinfo', async () => {
    const phone = freshPhone();
    const req = await started(phone);
    assert.deepEqual(Object.keys(req.body).sort(), ['auth_req_id', 'expires_in', 'interval']);
    assert.equal(req.body.expires_in, 180, 'the code\'s lifetime');
    assert.equal(req.body.interval, 1);
    assert.equal(req.sms.body, `Your verification PIN is: ${req.code}`, 'the SMS is exactly the message with the code put in');

    const done = await callback(req.id, req.code);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual(done.body, {});

    const tokens = await token(req.id);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.body.token_type, 'Bearer');
    assert.equal(tokens.body.scope, 'openid ip:phone_verify');
    assert.equal(tokens.body.refresh_token, undefined);
    const accessToken = String(tokens.body.access_token);
    secrets.add(accessToken);
    const idToken = JSON.parse(Buffer.from(String(tokens.body.id_token).split('.')[1]!, 'base64url').toString('utf8')) as Json;
    assert.equal(idToken.iss, realmUrl());
    assert.equal(idToken.aud, CLIENT);
    assert.equal(idToken.phone_number, phone);
    assert.equal(idToken.phone_number_verified, true);

    const userinfo = await fetch(endpoint('ipification', 'userinfo'), { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(userinfo.status, 200);
    assert.deepEqual(await userinfo.json(), { sub: idToken.sub, phone_number: phone, phone_number_verified: true });
    // A realm's tokens are its own: unknown to another realm and to /auth/open.
    for (const elsewhere of [endpoint('slow', 'userinfo'), `${eidhub.issuer}/connect/userinfo`]) {
      assert.equal((await fetch(elsewhere, { headers: { authorization: `Bearer ${accessToken}` } })).status, 401, elsewhere);
    }
  });

  it('serves openid-client\'s CIBA functions (poll), with HTTP Basic and a second secret', async () => {
    const config = await oidc.discovery(new URL(realmUrl()), CLIENT, undefined, oidc.ClientSecretBasic(SECOND_SECRET), { execute: [oidc.allowInsecureRequests] });
    const phone = freshPhone();
    const before = sms.sent.length;
    const response = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid ip:phone_verify', login_hint: phone, channel: 'sms', message: TEMPLATE });
    secrets.add(response.auth_req_id);
    assert.equal(response.interval, 1);
    const polled = oidc.pollBackchannelAuthenticationGrant(config, response);
    // The person reads the SMS and types the code into the app, whose back end posts it.
    await sleep(1500);
    assert.equal(sms.sent.length, before + 1);
    const code = /(\d{6})$/.exec(sms.sent.at(-1)!.body)![1]!;
    secrets.add(code);
    assert.equal((await callback(response.auth_req_id, code)).status, 200);
    const tokens = await polled;
    secrets.add(tokens.access_token);
    const claims = tokens.claims()!;
    assert.equal(claims.phone_number, phone);
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.deepEqual(userinfo, { sub: claims.sub, phone_number: phone, phone_number_verified: true });
  });

  it('pings a ping client\'s notification endpoint with its client_notification_token, then gives it the tokens', async () => {
    const phone = freshPhone();
    const refused = await startRequest({ login_hint: phone }, { client: PINGED, secret: PINGED_SECRET });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_request', 'a ping client must send client_notification_token');

    const notificationToken = 'ping-token-of-the-app-0001';
    const req = await started(phone, { client_notification_token: notificationToken }, { client: PINGED, secret: PINGED_SECRET });
    assert.equal(ping.received.length, 0);
    assert.equal((await callback(req.id, req.code)).status, 200);
    assert.equal(ping.received.length, 1, 'the notification went out before the callback answered');
    const [notification] = ping.received;
    assert.equal(notification!.headers.authorization, `Bearer ${notificationToken}`);
    assert.match(String(notification!.headers['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(notification!.body), { auth_req_id: req.id });
    const tokens = await token(req.id, { client: PINGED, secret: PINGED_SECRET });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  });

  it('serves a realm client added to the client registry at run time at once (ping to its own endpoint), and refuses it once removed', async () => {
    const clientId = 'added-at-run-time';
    const secret = 'a-long-ciba-secret-0005';
    secrets.add(secret);
    await eidhub.clients.add({
      kind: 'realm',
      realm: 'ipification',
      settings: { clientId, scopes: ['openid', 'ip:phone_verify'], deliveryMode: 'ping', notificationEndpoint: `${ping.url}/added/notify` },
      secrets: [secret],
    });
    const opts = { client: clientId, secret };
    const notificationToken = 'ping-token-of-the-app-0003';
    const req = await started(freshPhone(), { client_notification_token: notificationToken }, opts);
    const pings = ping.received.length;
    assert.equal((await callback(req.id, req.code)).status, 200);
    assert.deepEqual(
      ping.received.slice(pings).map((p) => [p.url, p.headers.authorization]),
      [['/added/notify', `Bearer ${notificationToken}`]],
      'its own endpoint, as configured (http on 127.0.0.1)',
    );
    const tokens = await token(req.id, opts);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal((JSON.parse(Buffer.from(String(tokens.body.id_token).split('.')[1]!, 'base64url').toString('utf8')) as Json).aud, clientId);
    // Not a client of the realm's neighbours, nor of /auth/open.
    assert.equal((await startRequest({ login_hint: freshPhone() }, { ...opts, realm: 'slow' })).status, 401);

    assert.equal(await eidhub.clients.remove(clientId, 'ipification'), true);
    const before = sms.sent.length;
    const refused = await startRequest({ login_hint: freshPhone(), client_notification_token: notificationToken }, opts);
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'invalid_client');
    assert.equal(sms.sent.length, before, 'nothing sent');
  });

  it('keeps the outcome when the ping cannot be delivered: the client can still poll for it', async () => {
    const req = await started(freshPhone(), { client_notification_token: 'ping-token-of-the-app-0002' }, { client: UNREACHABLE, secret: PINGED_SECRET });
    const done = await callback(req.id, req.code);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.match(eidhub.logText(), /ciba: the client could not be notified \(ping\); it can still poll/);
    assert.equal((await token(req.id, { client: UNREACHABLE, secret: PINGED_SECRET })).status, 200);
  });

  it('refuses message templates without {{code}}, over 160 characters or with a link, and sends nothing', async () => {
    const phone = freshPhone();
    const before = sms.sent.length;
    const cases: [string, RegExp][] = [
      ['Your verification PIN is coming', /\{\{code\}\}/],
      [`${'x'.repeat(154)} {{code}}`, /161 characters with the code put in.*at most 160/],
      ['Your PIN is {{code}}. Log in at https://bank.example/login', /link.*https:\/\/bank\.example\/login/],
      ['Your PIN is {{code}}, see www.bank.example', /link.*www\.bank\.example/],
      ['Your PIN is {{code}} for acme-bank.com', /link.*acme-bank\.com/],
    ];
    for (const [message, description] of cases) {
      const res = await startRequest({ login_hint: phone, message });
      assert.equal(res.status, 400, message);
      assert.equal(res.body.error, 'invalid_request', message);
      assert.match(String(res.body.error_description), description);
    }
    const missing = await post(endpoint('ipification', 'ext/ciba/auth'), { client_id: CLIENT, client_secret: SECRET, scope: 'openid ip:phone_verify', login_hint: phone });
    assert.equal(missing.status, 400);
    assert.match(String(missing.body.error_description), /message is required/);
    assert.equal(sms.sent.length, before, 'no SMS for a refused request');

    // 160 characters with the code put in is one SMS; an e-mail address and "{{code}}." are no links.
    const exact = `${'x'.repeat(153)} {{code}}`;
    assert.equal((await started(phone, { message: exact })).sms.body.length, 160);
    const plain = await started(freshPhone(), { message: 'PIN {{code}}.Thanks! Questions: help@acme.example' });
    assert.match(plain.sms.body, /^PIN \d{6}\.Thanks! Questions: help@acme\.example$/);
  });

  it('allows a link in the message where the realm allows it, and puts the binding message in', async () => {
    const phone = freshPhone();
    const message = 'Code {{code}} for order {{binding_message}} at https://shop.example';
    const req = await started(phone, { message, binding_message: 'A-1234' }, { realm: 'links' });
    assert.equal(req.sms.body, `Code ${req.code} for order A-1234 at https://shop.example`);
    const noBinding = await startRequest({ login_hint: phone, message }, { realm: 'links' });
    assert.equal(noBinding.status, 400);
    assert.match(String(noBinding.body.error_description), /binding_message/);
    const badBinding = await startRequest({ login_hint: phone, binding_message: 'far too long for a binding message' });
    assert.equal(badBinding.body.error, 'invalid_binding_message');
  });

  it('refuses a login_hint that is no mobile number, an unknown client and a wrong secret, and sends nothing', async () => {
    const before = sms.sent.length;
    const notANumber = await startRequest({ login_hint: 'alice@example.com' });
    assert.equal(notANumber.status, 400);
    assert.equal(notANumber.body.error, 'unknown_user_id');
    assert.match(String(notANumber.body.error_description), /^login_hint: not a valid international mobile number/);
    const landline = await startRequest({ login_hint: '+442071838750' });
    assert.equal(landline.body.error, 'unknown_user_id');
    assert.match(String(landline.body.error_description), /not a mobile number/);
    const noHint = await startRequest({});
    assert.equal(noHint.body.error, 'invalid_request');
    assert.match(String(noHint.body.error_description), /login_hint is required/);
    const channel = await startRequest({ login_hint: freshPhone(), channel: 'carrier-pigeon' });
    assert.equal(channel.body.error, 'invalid_request');
    assert.match(String(channel.body.error_description), /channel "carrier-pigeon" is not offered; use sms/);

    const unknown = await startRequest({ login_hint: freshPhone() }, { client: 'nobody' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, 'invalid_client');
    const wrongSecret = await startRequest({ login_hint: freshPhone() }, { secret: 'not-the-secret-of-showcase' });
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body.error, 'invalid_client');
    const otherRealm = await startRequest({ login_hint: freshPhone() }, { client: PINGED, secret: PINGED_SECRET, realm: 'slow' });
    assert.equal(otherRealm.body.error, 'invalid_client', "a client is known only in its own realm");
    assert.equal(sms.sent.length, before);
  });

  it('answers authorization_pending until the callback, and slow_down to a client polling faster than the interval', async () => {
    const req = await started(freshPhone());
    await sleep(1100);
    const pending = await token(req.id);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, 'authorization_pending');

    // Realm "slow" asks for 5 s between polls; three polls in a row cannot all be a window apart.
    const slow = await started(freshPhone(), {}, { realm: 'slow' });
    assert.equal(slow.body.interval, 5);
    const polls = [];
    for (let i = 0; i < 3; i++) polls.push((await token(slow.id, { realm: 'slow' })).body.error);
    assert.equal(polls[0], 'authorization_pending');
    assert.ok(polls.slice(1).includes('slow_down'), `polls: ${polls.join(', ')}`);
    assert.ok(polls.every((e) => e === 'authorization_pending' || e === 'slow_down'));
  });

  it('answers expired_token once the requested expiry has passed, at the token endpoint and the callback', async () => {
    const long = await started(freshPhone(), { requested_expiry: '3600' });
    assert.equal(long.body.expires_in, 180, 'at most the code\'s lifetime');
    const req = await started(freshPhone(), { requested_expiry: '1' });
    assert.equal(req.body.expires_in, 1);
    await sleep(1200);
    const polled = await token(req.id);
    assert.equal(polled.status, 400);
    assert.equal(polled.body.error, 'expired_token');
    const late = await callback(req.id, req.code);
    assert.equal(late.status, 400);
    assert.equal(late.body.error, 'expired_token');
  });

  it('voids the request at the third wrong code: the token endpoint answers access_denied', async () => {
    const req = await started(freshPhone());
    const wrong = req.code === '000000' ? '111111' : '000000';
    const format = await callback(req.id, '12ab');
    assert.equal(format.status, 400);
    assert.equal(format.body.error, 'invalid_request', 'a malformed code counts no attempt');
    const first = await callback(req.id, wrong);
    assert.equal(first.status, 400);
    assert.deepEqual(first.body, { error: 'wrong_code', error_description: 'the code is wrong (2 tries left)', attempts_left: 2 });
    assert.equal((await callback(req.id, wrong)).body.attempts_left, 1);
    const third = await callback(req.id, wrong);
    assert.equal(third.status, 400);
    assert.equal(third.body.error, 'access_denied');
    assert.match(String(third.body.error_description), /too many wrong codes/);
    const polled = await token(req.id);
    assert.equal(polled.body.error, 'access_denied');
    assert.match(String(polled.body.error_description), /too many wrong codes/);
    assert.equal((await callback(req.id, req.code)).body.error, 'access_denied', 'the right code comes too late');
  });

  it('refuses another client\'s and another realm\'s auth_req_id, and an auth_req_id redeemed twice', async () => {
    const req = await started(freshPhone());
    assert.equal((await callback(req.id, req.code)).status, 200);
    const stolen = await token(req.id, { client: OTHER, secret: OTHER_SECRET });
    assert.equal(stolen.status, 400);
    assert.equal(stolen.body.error, 'invalid_grant');
    const elsewhere = await token(req.id, { realm: 'slow' });
    assert.equal(elsewhere.body.error, 'invalid_grant');
    assert.equal((await callback(req.id, req.code, 'slow')).body.error, 'invalid_grant');

    assert.equal((await token(req.id)).status, 200, 'the client itself still gets its tokens');
    const again = await token(req.id);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
    assert.equal((await callback(req.id, req.code)).body.error, 'invalid_grant');
  });

  it('refuses a callback without the bearer, for an unknown auth_req_id, or without a JSON code', async () => {
    const noBearer = await fetch(endpoint('ipification', 'ext/bc/sms/callback'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"code":"123456"}' });
    assert.equal(noBearer.status, 401);
    assert.match(String(noBearer.headers.get('www-authenticate')), /^Bearer /);
    assert.equal(((await noBearer.json()) as Json).error, 'invalid_request');
    assert.equal((await callback('no-such-request-0000000000000000000000000', '123456')).body.error, 'invalid_grant');
    const req = await started(freshPhone());
    const noCode = await fetch(endpoint('ipification', 'ext/bc/sms/callback'), { method: 'POST', headers: { authorization: `Bearer ${req.id}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noCode.status, 400);
    assert.match(String(((await noCode.json()) as Json).error_description), /\{"code": "123456"\}/);
    const broken = await fetch(endpoint('ipification', 'ext/bc/sms/callback'), { method: 'POST', headers: { authorization: `Bearer ${req.id}`, 'content-type': 'application/json' }, body: '{"code":' });
    assert.equal(broken.status, 400);
    assert.ok(((await broken.json()) as Json).error);
    assert.equal((await callback(req.id, req.code)).status, 200, 'nothing of that cost the request a try');
  });

  it('refuses a request whose SMS cannot go out: 400 at the per-number limit, 503 when the provider fails; no request is left', async () => {
    const phone = freshPhone();
    for (let i = 0; i < PER_NUMBER_LIMIT; i++) await started(phone);
    const limited = await startRequest({ login_hint: phone });
    assert.equal(limited.status, 400);
    assert.equal(limited.body.error, 'invalid_request');
    assert.match(String(limited.body.error_description), /too many codes/);
    assert.equal(limited.body.auth_req_id, undefined);

    sms.failures = 1;
    const down = await startRequest({ login_hint: freshPhone() });
    assert.equal(down.status, 503);
    assert.equal(down.body.error, 'temporarily_unavailable');
    assert.match(String(down.body.error_description), /could not be sent/);
    assert.equal(down.body.auth_req_id, undefined);

    const ended = (await eidhub.store.audit.recent(50)).filter((e) => e.type === 'transaction.error' && e.data?.error === 'not_started');
    assert.equal(ended.length, 2, 'both transactions ended in ERROR');
  });

  it('gives the person the same subject as an OIDC login with the same number', async () => {
    const phone = freshPhone();
    const req = await started(phone);
    assert.equal((await callback(req.id, req.code)).status, 200);
    const cibaSub = (await token(req.id)).body.id_token as string;
    const sub = (JSON.parse(Buffer.from(cibaSub.split('.')[1]!, 'base64url').toString('utf8')) as Json).sub;

    const config = await oidc.discovery(new URL(eidhub.issuer), OIDC_CLIENT, OIDC_SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const state = oidc.randomState();
    const authorizeUrl = oidc.buildAuthorizationUrl(config, { redirect_uri: OIDC_REDIRECT, scope: 'openid phone', state });
    const back = await loginOverHttp({ origin: eidhub.url, authorizeUrl: authorizeUrl.href, redirectUri: OIDC_REDIRECT, phone, sms });
    const tokens = await oidc.authorizationCodeGrant(config, back, { expectedState: state });
    assert.equal(tokens.claims()!.sub, sub);
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, String(sub));
    assert.deepEqual(userinfo, { sub, phone_number: phone }, 'the /auth/open issuer keeps its own claims (no phone_number_verified)');
  });

  it('writes no code, phone number, auth_req_id, secret or token to the log', () => {
    const log = eidhub.logText();
    assert.match(log, /ciba: authentication request started/);
    for (const secret of secrets) assert.ok(!log.includes(secret), `the log holds ${secret.slice(0, 4)}…`);
    for (let n = 300; n < nextPhone; n++) assert.ok(!log.includes(`7700900${n}`), `the log holds the number ending ${n}`);
  });
});
