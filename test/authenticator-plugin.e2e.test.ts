/**
 * An authenticator is one folder: test/authenticators/approve/ (a test-only authenticator with an
 * "Approve" step), registered by this test alone, logs a person in over OpenID Connect (openid-client
 * as the relying party) and over the REST API (redirect flow through the hosted page, and its own
 * headless step), with its own texts, amr, level of assurance and attribute mapping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { APPROVE, APPROVED_PERSON, approveWithUpstream } from './authenticators/approve/index.js';
import { startApproveUpstream, type ApproveUpstream } from './authenticators/approve/upstream.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { callRestApi } from './support/rest-api.js';
import { Browserless, csrfOf } from './support/http-login.js';

const CLIENT_ID = 'plugin-test-client';
const SECRET = 'a-long-client-secret-plugin-01';
const API_ID = 'plugin-test-api';
const API_SECRET = 'a-long-api-secret-plugin-0001';
const REDIRECT = 'https://rp.example/callback';

describe('an authenticator registered from its own folder', () => {
  let eidhub: RunningEidhub;
  let config: oidc.Configuration;
  let token: string;
  /** An upstream that answers `answer` (yes or no, from its own path) at the `return` URL it was given. */
  let upstream: ApproveUpstream;
  let upstreamUrl: string;

  before(async () => {
    upstream = await startApproveUpstream();
    upstreamUrl = upstream.url;
    eidhub = await startEidhub({
      authenticators: [approveWithUpstream(upstreamUrl)],
      oidcClients: [{ clientId: CLIENT_ID, secrets: [SECRET], redirectUris: [REDIRECT], scopes: ['openid', 'idp-id'], idTokenClaims: ['idp_id'] }],
      apiClients: [{ clientId: API_ID, secrets: [API_SECRET], permissions: ['authentication-rest-api'] }],
    });
    config = await oidc.discovery(new URL(eidhub.issuer), CLIENT_ID, SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const tokens = await oidc.clientCredentialsGrant(
      await oidc.discovery(new URL(eidhub.issuer), API_ID, API_SECRET, undefined, { execute: [oidc.allowInsecureRequests] }),
      { scope: 'auth-rest-api' },
    );
    token = tokens.access_token;
  });

  after(async () => {
    await eidhub?.close();
    upstream?.close();
  });

  const api = (method: string, path: string, body?: unknown) => callRestApi(eidhub.url, token, method, path, body);

  it('logs a person in over OpenID Connect with acr_values=idp:approve', async () => {
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid idp-id', state, nonce, acr_values: `idp:${APPROVE}` });
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(url.href);
    assert.equal(page.res.status, 200);
    assert.match(page.body, /<h1 id="heading">Approve the login<\/h1>/, 'its own step, in its own words');
    assert.match(page.body, /action="\/login\/[0-9a-f-]{36}\/approve"/);
    const refused = await agent.post(`${page.url}/approve`, { csrf: csrfOf(page.body) });
    assert.equal(refused.res.status, 422, 'its own validation error');
    assert.match(refused.body, /Tick the box to confirm who you are\./);
    const done = await agent.post(`${page.url}/approve`, { csrf: csrfOf(refused.body), confirm: 'yes' }, REDIRECT);
    assert.ok(done.url.startsWith(REDIRECT), `back at the relying party: ${done.url}`);

    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    assert.deepEqual(claims.amr, ['user'], 'its amr');
    assert.equal(claims.acr, 'loa:substantial', 'its level of assurance');
    assert.equal(claims.idp_id, APPROVED_PERSON.id, 'its mapping to OIDC claims');
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.deepEqual(
      { ...userinfo, sub: 'sub' },
      { sub: 'sub', idp_id: APPROVED_PERSON.id, idp_issuer: 'https://approve.test' },
      'UserInfo for openid idp-id: the claims its mapping gives those scopes',
    );
  });

  it('logs a person in over the REST API (redirect flow) and reports its attributes and loa', async () => {
    const created = await api('POST', '/sessions', {
      flow: 'redirect',
      allowedProviders: [APPROVE],
      callbackUrls: { success: 'https://shop.example/ok', abort: 'https://shop.example/abort', error: 'https://shop.example/error' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.requestedAttributes, ['approvedId', 'name'], 'its attributes');
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(String(created.body.authenticationUrl));
    const done = await agent.post(`${page.url}/approve`, { csrf: csrfOf(page.body), confirm: 'yes' }, 'https://shop.example/');
    assert.ok(done.url.startsWith('https://shop.example/ok?'), done.url);
    const session = await api('GET', `/sessions/${String(created.body.id)}`);
    assert.equal(session.body.status, 'SUCCESS');
    assert.equal(session.body.provider, APPROVE);
    assert.equal(session.body.loa, 'substantial');
    const subject = session.body.subject as Record<string, string>;
    assert.deepEqual({ ...subject, id: 'id' }, { id: 'id', approvedId: APPROVED_PERSON.id, name: APPROVED_PERSON.name });
  });

  it('runs its headless step at /auth/rest/sessions/{id}/approve/approve, with its own refusal', async () => {
    const created = await api('POST', '/sessions', { flow: 'headless', allowedProviders: [APPROVE] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = String(created.body.id);
    const refused = await api('POST', `/sessions/${id}/approve/approve`, { confirm: false });
    assert.deepEqual([refused.status, refused.body.code, refused.body.field], [400, 'not_confirmed', 'confirm']);
    const other = await api('POST', `/sessions/${id}/otp-sms/send`, { mobile: '+447700900555' });
    assert.deepEqual([other.status, other.body.code], [409, 'not_headless'], "another authenticator's step does not run this session");
    const done = await api('POST', `/sessions/${id}/approve/approve`, { confirm: true });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.status, 'SUCCESS');
    const doc = (await (await fetch(`${eidhub.url}/auth/rest/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/auth/rest/sessions/{id}/approve/approve'], 'its step is in the OpenAPI document');
    const docs = await (await fetch(`${eidhub.url}/auth/rest/docs`)).text();
    assert.match(docs, /id="problem-not_confirmed"/, 'its problem code is in the reference');
  });

  it('sends the browser to an upstream and takes it back at /login/{id}/callback (a redirect action)', async () => {
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state, acr_values: `idp:${APPROVE}` });
    const agent = new Browserless(eidhub.url);
    const page = await agent.get(url.href);
    const csp = page.res.headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`form-action 'self'[^;]* ${new URL(upstreamUrl).origin}`), `its upstream may be reached from its form: ${csp}`);
    const away = await agent.post(`${page.url}/elsewhere`, { csrf: csrfOf(page.body) }, upstreamUrl);
    assert.equal(away.res.status, 303);
    assert.ok(away.url.startsWith(`${upstreamUrl}?`), `to the upstream: ${away.url}`);
    // The upstream answers at the callback; the browser's binding cookie travels with it.
    const done = await agent.get(away.url, REDIRECT);
    assert.ok(done.url.startsWith(REDIRECT), `back at the relying party: ${done.url}`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { expectedState: state });
    assert.equal(tokens.claims()?.acr, 'loa:substantial');

    // Another browser cannot use the callback of a login bound to the first.
    const stranger = await new Browserless(eidhub.url).get(`${new URL(page.url).pathname}/callback?answer=yes`);
    assert.equal(stranger.res.status, 403);
  });

  it('still offers the built-in SMS authenticator beside it', async () => {
    const created = await api('POST', '/sessions', { flow: 'headless', allowedProviders: ['otp-sms'] });
    assert.equal(created.status, 201);
    const discovery = (await (await fetch(`${eidhub.issuer}/.well-known/openid-configuration`)).json()) as { scopes_supported: string[]; claims_supported: string[] };
    assert.ok(discovery.scopes_supported.includes('phone') && discovery.scopes_supported.includes('profile'), 'scopes of both authenticators');
    assert.ok(discovery.claims_supported.includes('name') && discovery.claims_supported.includes('phone_number'));
  });
});
