/**
 * The Authentication REST API over plain HTTP, as an integrator's backend calls it: tokens,
 * access rules, validation errors, cancel, expiry, the sessionNonce of embedded sessions, and a
 * whole redirect login driven without a browser. Every answer is checked against the OpenAPI
 * document the server publishes.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { Browserless, CapturingSms, csrfOf } from './support/http-login.js';
import { OpenApiValidator } from './support/openapi.js';

const API = { id: 'api-client-1', secret: 'api-client-secret-0001' };
const OTHER = { id: 'api-client-2', secret: 'api-client-secret-0002' };
const NO_PERMISSION = { id: 'api-client-3', secret: 'api-client-secret-0003' };
const SESSIONS = '/auth/rest/sessions';
const BY_ID = '/auth/rest/sessions/{id}';
const CANCEL = '/auth/rest/sessions/{id}/cancel';

const redirectSession = {
  allowedProviders: ['otp-sms'],
  flow: 'redirect',
  language: 'en',
  requestedAttributes: ['idpId', 'phoneNumber'],
  additionalParameters: { otp_sms_sender: 'Signicat AS' },
  callbackUrls: { success: 'https://example.com/success', abort: 'https://example.com/abort', error: 'https://example.com/error' },
  externalReference: 'order-42',
};

describe('Authentication REST API', () => {
  let eidhub: RunningEidhub;
  let openapi: OpenApiValidator;
  let token: string;
  let offset = 0;
  const sms = new CapturingSms();

  async function getToken(client: { id: string; secret: string }, scope?: string): Promise<Response> {
    return fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }).toString(),
    });
  }
  const tokenOf = async (client: { id: string; secret: string }, scope = 'signicat-api') => ((await (await getToken(client, scope)).json()) as { access_token: string }).access_token;

  const call = (method: string, path: string, body?: unknown, bearer: string | null = token, raw?: string) =>
    fetch(`${eidhub.url}${path}`, {
      method,
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  async function create(body: unknown = redirectSession, bearer: string | null = token) {
    return openapi.check('post', SESSIONS, await call('POST', SESSIONS, body, bearer)) as Promise<Record<string, unknown>>;
  }

  // The paths of the requests oidc-provider's own request pipeline (its Koa app) answered.
  const providerPaths: string[] = [];
  const koaCallback = Provider.prototype.callback;

  before(async () => {
    Provider.prototype.callback = function (this: Provider) {
      const handle = koaCallback.call(this);
      return (req: IncomingMessage, res: ServerResponse) => {
        providerPaths.push(req.url ?? '');
        return handle(req, res);
      };
    } as typeof koaCallback;
    eidhub = await startEidhub({
      accountId: 'a-test-0001',
      apiClients: [
        { clientId: API.id, secrets: [API.secret], permissions: ['authentication-rest-api'] },
        { clientId: OTHER.id, secrets: [OTHER.secret], permissions: ['authentication-rest-api'] },
        { clientId: NO_PERMISSION.id, secrets: [NO_PERMISSION.secret], permissions: [] },
      ],
      now: () => Date.now() + offset,
      smsProvider: sms,
    });
    openapi = await OpenApiValidator.fetch(eidhub.url);
    token = await tokenOf(API);
  });
  after(async () => {
    Provider.prototype.callback = koaCallback;
    await eidhub?.close();
  });

  it('issues API tokens by client_credentials with HTTP Basic for scope signicat-api or auth-rest-api', async () => {
    for (const scope of ['signicat-api', 'auth-rest-api']) {
      const res = await getToken(API, scope);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { token_type: string; scope: string; expires_in: number };
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, scope);
    }
    const refused = await getToken(NO_PERMISSION, 'signicat-api');
    assert.equal(refused.status, 401, 'a client without the permission gets no token');
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client');
    const otherScope = await getToken(API, 'openid');
    assert.equal(otherScope.status, 400);
    assert.equal(((await otherScope.json()) as { error: string }).error, 'invalid_scope');
    const wrongSecret = await getToken({ id: API.id, secret: 'wrong-secret-000000' }, 'signicat-api');
    assert.equal(wrongSecret.status, 401);
    // The secret in the body too: two authentication methods in one request are refused.
    const twice = await fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${API.id}:${API.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: API.id, client_secret: API.secret }).toString(),
    });
    assert.equal(twice.status, 400);
    assert.equal(((await twice.json()) as { error: string }).error, 'invalid_request');
    // By client_secret_post alone the same secret works.
    const posted = await fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: API.id, client_secret: API.secret, scope: 'signicat-api' }).toString(),
    });
    assert.equal(posted.status, 200);

    // The plain Basic request is answered by eidhub itself, every other shape by oidc-provider:
    // both answers are the same token response, with the same headers.
    const viaProvider = posted;
    providerPaths.length = 0;
    const direct = await getToken(API, 'signicat-api');
    assert.deepEqual(providerPaths, [], 'the plain request never reached oidc-provider');
    const shapes = [direct, viaProvider].map(async (r) => {
      const body = (await r.json()) as Record<string, unknown>;
      const headers: [string, string][] = [];
      r.headers.forEach((value, name) => headers.push([name, value]));
      return {
        keys: Object.keys(body),
        expires_in: body.expires_in,
        token_type: body.token_type,
        scope: body.scope,
        tokenLength: String(body.access_token).length,
        // Every header but those of the connection and the moment.
        headers: headers.filter(([name]) => !['date', 'connection', 'keep-alive', 'content-length'].includes(name)).sort(),
      };
    });
    const [directShape, providerShape] = await Promise.all(shapes);
    assert.deepEqual(directShape, providerShape);
    assert.deepEqual(directShape!.keys, ['access_token', 'expires_in', 'scope', 'token_type']);
    const noScope = (await (await getToken(API)).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(noScope), ['access_token', 'expires_in', 'token_type'], 'no scope asked, none given');
    const both = (await (await getToken(API, 'auth-rest-api signicat-api auth-rest-api')).json()) as { scope: string };
    assert.equal(both.scope, 'auth-rest-api signicat-api');

    // Shapes eidhub does not answer itself still get oidc-provider's own answers.
    const basic = { authorization: `Basic ${Buffer.from(`${API.id}:${API.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' };
    const dupes = await fetch(`${eidhub.issuer}/connect/token`, { method: 'POST', headers: basic, body: 'grant_type=client_credentials&scope=signicat-api&scope=auth-rest-api' });
    assert.equal(dupes.status, 400);
    assert.deepEqual(providerPaths, ['/connect/token'], 'a duplicate parameter is left to oidc-provider');
    assert.equal(((await dupes.json()) as { error: string }).error, 'invalid_request');
    const wrongGrant = await fetch(`${eidhub.issuer}/connect/token`, { method: 'POST', headers: basic, body: 'grant_type=authorization_code&code=x&redirect_uri=https://example.com/cb' });
    assert.equal(wrongGrant.status, 400);
    assert.deepEqual(await wrongGrant.json(), { error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' });
    const unknownScope = await fetch(`${eidhub.issuer}/connect/token`, { method: 'POST', headers: basic, body: 'grant_type=client_credentials&scope=phone' });
    assert.equal(unknownScope.status, 400);
    assert.equal(((await unknownScope.json()) as { error: string }).error, 'invalid_scope');
  });

  it('answers the OIDC endpoints with the base security headers, a size limit on posted credentials, and a log line without secrets', async () => {
    const res = await getToken(API, 'signicat-api');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('cache-control'), 'no-store');

    const huge = await fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: API.id, client_secret: API.secret, padding: 'x'.repeat(60 * 1024) }).toString(),
    });
    assert.equal(huge.status, 413);
    assert.deepEqual(await huge.json(), { error: 'invalid_request', error_description: 'request body too large (at most 57344 bytes)' });

    const discovery = await fetch(`${eidhub.issuer}/.well-known/openid-configuration?login_hint=mobile:+447700900999`);
    assert.equal(discovery.status, 200);
    const line = eidhub
      .logText()
      .split('\n')
      .find((l) => l.includes('/auth/open/.well-known/openid-configuration?'));
    assert.ok(line, 'the request is logged at info');
    const logged = JSON.parse(line) as { msg: string; req: { method: string; url: string }; res: { statusCode: number } };
    assert.equal(logged.msg, 'request completed');
    assert.equal(logged.req.method, 'GET');
    assert.equal(logged.res.statusCode, 200);
    assert.ok(!line.includes('900999') && logged.req.url.includes('login_hint=%5Bredacted%5D'), line);
    assert.ok(!eidhub.logText().includes(API.secret), 'no client secret in the log');

    // oidc-provider matches paths without regard to a trailing slash or case: so does eidhub's check of the secret.
    for (const path of ['/connect/token/', '/Connect/Token']) {
      const res = await fetch(`${eidhub.issuer}${path}`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${API.id}:${API.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=signicat-api',
      });
      assert.equal(res.status, 200, path);
    }
    // A token in the query is refused, and not logged.
    const inQuery = await fetch(`${eidhub.issuer}/connect/userinfo?access_token=${token}`);
    assert.equal(inQuery.status, 400);
    assert.ok(!eidhub.logText().includes(token), 'no access token in the log');
  });

  it('creates a session that echoes the request', async () => {
    const session = await create();
    assert.match(String(session.id), /^[0-9a-f-]{36}$/);
    assert.equal(session.accountId, 'a-test-0001');
    assert.equal(session.status, 'CREATED');
    assert.equal(session.sessionLifetime, 1200);
    assert.ok(String(session.authenticationUrl).startsWith(`${eidhub.url}/login/`));
    assert.deepEqual(session.callbackUrls, redirectSession.callbackUrls);
    assert.deepEqual(session.additionalParameters, { otp_sms_sender: 'Signicat AS' });
    assert.equal(session.externalReference, 'order-42');
    assert.ok(Math.abs(Date.parse(String(session.expiresAt)) - (Date.now() + offset + 1_200_000)) < 5000);
    const read = await openapi.check('get', BY_ID, await call('GET', `${SESSIONS}/${String(session.id)}`));
    assert.deepEqual(read, session);
  });

  it('refuses missing, invalid and revoked tokens (401), a token without the API scope (403), and other clients\' sessions (404)', async () => {
    const session = await create();
    const path = `${SESSIONS}/${String(session.id)}`;
    const noToken = await call('GET', path, undefined, null);
    assert.match(noToken.headers.get('www-authenticate') ?? '', /^Bearer /);
    assert.equal(((await openapi.check('get', BY_ID, noToken)) as { status: number }).status, 401);
    assert.equal((await call('GET', path, undefined, 'not-a-real-token')).status, 401);

    const revoked = await tokenOf(API);
    await fetch(`${eidhub.issuer}/connect/revocation`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${API.id}:${API.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${revoked}`,
    });
    await openapi.check('get', BY_ID, await call('GET', path, undefined, revoked));

    const unscoped = ((await (await getToken(API)).json()) as { access_token: string }).access_token;
    const forbidden = (await openapi.check('get', BY_ID, await call('GET', path, undefined, unscoped))) as { code: string };
    assert.equal(forbidden.code, 'insufficient_scope');

    const other = await tokenOf(OTHER);
    const hidden = await call('GET', path, undefined, other);
    const body = (await openapi.check('get', BY_ID, hidden)) as Record<string, unknown>;
    assert.equal(hidden.status, 404);
    assert.equal(body.id, undefined, 'no data about another client\'s session');
    assert.equal((await call('POST', `${path}/cancel`, undefined, other)).status, 404);
  });

  it('refuses malformed input with problem+json naming the field', async () => {
    const cases: [unknown, string, string][] = [
      [{ ...redirectSession, allowedProviders: ['bankid'] }, 'unknown_provider', 'allowedProviders[0]'],
      [{ ...redirectSession, callbackUrls: { ...redirectSession.callbackUrls, success: 'javascript:alert(1)' } }, 'invalid_url', 'callbackUrls.success'],
      [{ ...redirectSession, callbackUrls: { ...redirectSession.callbackUrls, abort: '/relative/abort' } }, 'invalid_url', 'callbackUrls.abort'],
      [{ ...redirectSession, callbackUrls: { ...redirectSession.callbackUrls, error: 'ftp://example.com/error' } }, 'invalid_url', 'callbackUrls.error'],
      [{ ...redirectSession, callbackUrls: { success: 'https://example.com/s' } }, 'missing_field', 'callbackUrls.abort'],
      [{ flow: 'embedded', returnUrl: 'http://example.com/back' }, 'invalid_url', 'returnUrl'],
      [{ flow: 'embedded' }, 'missing_field', 'returnUrl'],
      [{ flow: 'embedded', returnUrl: 'https://example.com', embeddedParentDomains: ['https://example.com/path'] }, 'invalid_parent_domain', 'embeddedParentDomains[0]'],
      [{ ...redirectSession, flow: 'popup' }, 'invalid_request', 'flow'],
      [{ ...redirectSession, requestedAttributes: ['nin'] }, 'unknown_attribute', 'requestedAttributes[0]'],
      [{ ...redirectSession, sessionLifetime: 5 }, 'invalid_request', 'sessionLifetime'],
      [{ ...redirectSession, language: 'de' }, 'unsupported_language', 'language'],
      [{ ...redirectSession, requestedLoa: 'high' }, 'loa_not_available', 'requestedLoa'],
      [{ ...redirectSession, prefilledInput: { mobile: 'call me' } }, 'invalid_parameter', 'prefilledInput.mobile'],
      [{ ...redirectSession, surprise: true }, 'invalid_request', 'surprise'],
      [{ allowedProviders: ['otp-sms'] }, 'invalid_request', 'flow'],
    ];
    for (const [body, code, field] of cases) {
      const res = await call('POST', SESSIONS, body);
      assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/problem+json');
      const problem = (await openapi.check('post', SESSIONS, res)) as { code: string; field: string; status: number; detail: string };
      assert.deepEqual([problem.status, problem.code, problem.field], [400, code, field], JSON.stringify(body));
      assert.ok(problem.detail.length > 10);
    }
    const broken = await call('POST', SESSIONS, undefined, token, '{"flow": "redirect",');
    assert.deepEqual(
      (({ code, field }) => ({ code, field }))((await openapi.check('post', SESSIONS, broken)) as { code: string; field: string }),
      { code: 'invalid_json', field: 'body' },
    );
    const wrongType = await fetch(`${eidhub.url}${SESSIONS}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: 'flow=redirect' });
    assert.equal(((await openapi.check('post', SESSIONS, wrongType)) as { status: number }).status, 415);
  });

  it('cancels a session (CANCELLED, final) and refuses to cancel it twice', async () => {
    const session = await create();
    const cancelled = (await openapi.check('post', CANCEL, await call('POST', `${SESSIONS}/${String(session.id)}/cancel`))) as { status: string };
    assert.equal(cancelled.status, 'CANCELLED');
    const again = (await openapi.check('post', CANCEL, await call('POST', `${SESSIONS}/${String(session.id)}/cancel`))) as { code: string };
    assert.equal(again.code, 'session_finished');
    const read = (await openapi.check('get', BY_ID, await call('GET', `${SESSIONS}/${String(session.id)}`))) as { status: string };
    assert.equal(read.status, 'CANCELLED');
  });

  it('reports expiry, and an expired session stays expired', async () => {
    const session = await create({ ...redirectSession, sessionLifetime: 60 });
    offset += 61_000;
    try {
      const read = (await openapi.check('get', BY_ID, await call('GET', `${SESSIONS}/${String(session.id)}`, undefined, await tokenOf(API)))) as {
        status: string;
        error: { code: string };
      };
      assert.equal(read.status, 'ERROR');
      assert.equal(read.error.code, 'expired');
      const page = await fetch(String(session.authenticationUrl));
      assert.equal(page.status, 410, 'the hosted page says the login expired');
    } finally {
      offset -= 61_000;
    }
    token = await tokenOf(API);
  });

  it('a page opened before its session ended answers its form with the ending, not a CSRF refusal', async () => {
    const expiring = await create({ ...redirectSession, sessionLifetime: 60 });
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(String(expiring.authenticationUrl));
    offset += 61_000;
    try {
      const posted = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone: '+447700900322' });
      assert.equal(posted.res.status, 410, 'expired');
      assert.match(posted.body, /This login has expired/);
    } finally {
      offset -= 61_000;
    }
    token = await tokenOf(API);

    const cancelled = await create();
    const opened = await agent.get(String(cancelled.authenticationUrl));
    await call('POST', `${SESSIONS}/${String(cancelled.id)}/cancel`);
    const after = await agent.post(`${opened.url}/phone`, { csrf: csrfOf(opened.body), phone: '+447700900322' }, 'https://example.com/');
    assert.ok(after.url.startsWith('https://example.com/abort?'), `the integrator's abort URL: ${after.url} ${after.res.status}`);
  });

  it('reads an embedded session only with its sessionNonce', async () => {
    const session = await create({ flow: 'iframe', returnUrl: 'https://shop.example.com/done', embeddedParentDomains: ['shop.example.com'] });
    const path = `${SESSIONS}/${String(session.id)}`;
    const missing = (await openapi.check('get', BY_ID, await call('GET', path))) as { code: string; status: number };
    assert.deepEqual([missing.status, missing.code], [400, 'session_nonce_required']);
    const wrong = (await openapi.check('get', BY_ID, await call('GET', `${path}?sessionNonce=${'A'.repeat(43)}`))) as { code: string; status: number };
    assert.deepEqual([wrong.status, wrong.code], [403, 'session_nonce_mismatch']);
  });

  it('runs a redirect login to SUCCESS and reports the subject', async () => {
    const session = await create({ ...redirectSession, prefilledInput: { mobile: '+447700900321' } });
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(String(session.authenticationUrl));
    assert.match(page.body, /value="\+447700900321"/, 'the prefilled number');
    const opened = (await openapi.check('get', BY_ID, await call('GET', `${SESSIONS}/${String(session.id)}`))) as { status: string };
    assert.equal(opened.status, 'CREATED', 'opening the page changes nothing');
    const codeStep = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone: '+447700900321' });
    const waiting = (await openapi.check('get', BY_ID, await call('GET', `${SESSIONS}/${String(session.id)}`))) as { status: string };
    assert.equal(waiting.status, 'WAITING_FOR_USER', 'the first form post binds the login');
    assert.equal(sms.sent.at(-1)?.from, 'Signicat AS', 'sender from additionalParameters');
    const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(codeStep.body), code: sms.lastCodeFor('+447700900321') }, 'https://example.com/');
    const callback = new URL(done.url);
    assert.equal(callback.origin + callback.pathname, 'https://example.com/success');
    assert.equal(callback.searchParams.get('sessionId'), session.id);
    assert.equal(callback.searchParams.get('externalReference'), 'order-42');
    const result = (await openapi.check('get', BY_ID, await call('GET', `${SESSIONS}/${String(session.id)}`))) as Record<string, unknown>;
    assert.equal(result.status, 'SUCCESS');
    assert.equal(result.provider, 'otp-sms');
    assert.equal(result.loa, 'low');
    const subject = result.subject as Record<string, string>;
    assert.deepEqual(Object.keys(subject).sort(), ['id', 'idpId', 'phoneNumber']);
    assert.equal(subject.idpId, '+447700900321');
    assert.equal(subject.phoneNumber, '+447700900321');
    assert.ok(!subject.id!.includes('7700900321'));
  });

  it('runs the headless flow: the integrator\'s own screens, the same rules', async () => {
    const SEND = '/auth/rest/sessions/{id}/otp-sms/send';
    const VERIFY = '/auth/rest/sessions/{id}/otp-sms/verify';
    const session = await create({ flow: 'headless', allowedProviders: ['otp-sms'], requestedAttributes: ['phoneNumber'] });
    assert.equal(session.authenticationUrl, undefined, 'no hosted page for a headless session');
    const id = String(session.id);
    assert.equal((await fetch(`${eidhub.url}/login/${id}`)).status, 404);

    const invalid = (await openapi.check('post', SEND, await call('POST', `${SESSIONS}/${id}/otp-sms/send`, { mobile: '+44 20 7946 0000' }))) as Record<string, unknown>;
    assert.deepEqual([invalid.status, invalid.code, invalid.field], [400, 'invalid_phone_number', 'mobile']);

    const phone = '+447700900333';
    const sent = (await openapi.check('post', SEND, await call('POST', `${SESSIONS}/${id}/otp-sms/send`, { mobile: phone }))) as Record<string, unknown>;
    assert.equal(sent.status, 'WAITING_FOR_USER');
    assert.deepEqual(sent.otp, { maskedPhone: '+44 ••••••0333', sendsLeft: 2, resendInSeconds: 30, attemptsLeft: 3 });
    const again = (await openapi.check('post', SEND, await call('POST', `${SESSIONS}/${id}/otp-sms/send`, { mobile: phone }))) as Record<string, unknown>;
    assert.deepEqual([again.status, again.code], [429, 'resend_too_soon']);

    const code = sms.lastCodeFor(phone);
    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = (await openapi.check('post', VERIFY, await call('POST', `${SESSIONS}/${id}/otp-sms/verify`, { code: wrongCode }))) as Record<string, unknown>;
    assert.deepEqual([wrong.status, wrong.code, wrong.field], [400, 'wrong_code', 'code']);
    assert.match(String(wrong.detail), /2 tries left/);

    const done = (await openapi.check('post', VERIFY, await call('POST', `${SESSIONS}/${id}/otp-sms/verify`, { code }))) as Record<string, unknown>;
    assert.equal(done.status, 'SUCCESS');
    assert.deepEqual(Object.keys(done.subject as object).sort(), ['id', 'phoneNumber']);
    const twice = (await openapi.check('post', VERIFY, await call('POST', `${SESSIONS}/${id}/otp-sms/verify`, { code }))) as Record<string, unknown>;
    assert.deepEqual([twice.status, twice.code], [409, 'session_finished']);

    const redirect = await create();
    const notHeadless = (await openapi.check('post', SEND, await call('POST', `${SESSIONS}/${String(redirect.id)}/otp-sms/send`, { mobile: phone }))) as Record<string, unknown>;
    assert.deepEqual([notHeadless.status, notHeadless.code], [409, 'not_headless']);
  });

  it('checked every answer against the OpenAPI document', () => {
    assert.ok(openapi.checked >= 30, `only ${openapi.checked} answers were checked`);
  });
});
