/**
 * The scenarios, each against any server that has what it needs, through the same driver:
 *
 * - client_credentials: POST {oidc}/connect/token, HTTP Basic, keep-alive (autocannon);
 * - login: the whole OTP login as a browser without JavaScript and its relying party do it:
 *   authorize → (redirects) → phone form → POST phone (the server sends the SMS to the fake
 *   Twilio) → POST code → (redirects) → callback URL with the code → token exchange → UserInfo;
 * - saml_login (eidhub only): the same OTP login started by a SAML service provider: an unsigned
 *   AuthnRequest over HTTP-Redirect → phone form → POST phone → POST code, answered with the
 *   self-posting form that carries the signed Response to the SP's ACS (not posted);
 * - ciba (eidhub only): a relying party's backend verifying a phone number over SMS with CIBA at
 *   Keycloak's paths (CONTRACT §7): auth (eidhub sends the SMS to the fake Twilio) → callback with
 *   the code the fake Twilio got → token (CIBA grant, polled once) → UserInfo;
 * - itsme (eidhub in sandbox mode only): an OIDC login with itsme® (`acr_values=idp:itsme`) through
 *   the simulator eidhub serves itself: authorize → eidhub's redirect to the simulator (signed
 *   request object, PKCE) → consent page → confirm → the simulator's answer at eidhub's fixed
 *   callback → the login's callback (eidhub redeems the upstream code) → the relying party's code →
 *   token exchange → UserInfo;
 * - rest: POST /auth/rest/sessions, then GET /auth/rest/sessions/{id}.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import autocannon, { type AutocannonResult } from 'autocannon';
import { CookieJar, csrfOf } from '../../test/support/http-login.js';
import type { Flow, FlowLoop, StepTimes, DriveResult } from './driver.js';
import type { BenchTwilio } from './fake-twilio.js';
import { basicAuth, keepAliveAgent, REQUEST_TIMEOUT_MS, send, type HttpAnswer, type Target } from './http.js';
import { round, Samples } from './measure.js';
import { API_CLIENT, CIBA_CLIENT, ITSME_CLIENT, OIDC_CLIENT, SAML_SP, type RunningServer } from './servers.js';

const HOST = '127.0.0.1';
const FORM = 'application/x-www-form-urlencoded';

function expect(step: string, answer: HttpAnswer, statuses: number[]): void {
  if (!statuses.includes(answer.status)) {
    throw new Error(`${step}: HTTP ${answer.status} (expected ${statuses.join('/')}): ${answer.body.replace(/\s+/g, ' ').slice(0, 160)}`);
  }
}

/**
 * The 1000 numbers of Ofcom's drama range (+44 7700 900000–900999). A number is held by one
 * login at a time, because the fake Twilio keeps one code per number.
 */
export class PhonePool {
  private readonly free: string[] = Array.from({ length: 1000 }, (_, i) => `+447700900${String(i).padStart(3, '0')}`);
  take(): string {
    const n = this.free.shift();
    if (!n) throw new Error('more logins in flight than phone numbers');
    return n;
  }
  give(n: string): void {
    this.free.push(n);
  }
}

/**
 * A client address per simulated person, sent as X-Forwarded-For (eidhub runs with trustProxy,
 * as behind its reverse proxy). Only a header value: every connection is to 127.0.0.1.
 */
let personCounter = 0;
function nextPersonAddress(): string {
  const n = ++personCounter % 16_000_000;
  return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function formOf(html: string, action: 'phone' | 'code'): { action: string; csrf: string } {
  const target = new RegExp(`<form method="post" action="([^"]*/${action})"`).exec(html)?.[1];
  if (!target) throw new Error(`no ${action} form on the page: ${html.replace(/\s+/g, ' ').slice(0, 160)}`);
  return { action: target.replace(/&amp;/g, '&'), csrf: csrfOf(html) };
}

export interface LoginDeps {
  server: RunningServer;
  twilio: BenchTwilio;
  phones: PhonePool;
}

/** The step name of an answer, known once it is in (a redirect hop is named by where it led). */
type StepName = string | ((answer: HttpAnswer) => string);

/**
 * One simulated person's browser for one login: a fresh cookie jar (no single sign-on) and a
 * client address of its own. Each request is a step, timed and recorded under its name.
 */
function personBrowser(loop: FlowLoop, times: StepTimes, target: Target) {
  const jar = new CookieJar();
  const person = nextPersonAddress();
  return async (step: StepName, method: string, path: string, form?: Record<string, string>): Promise<HttpAnswer> => {
    const headers: Record<string, string> = { 'x-forwarded-for': person, accept: 'text/html', 'accept-language': 'en' };
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    const body = form ? new URLSearchParams(form).toString() : undefined;
    if (body !== undefined) headers['content-type'] = FORM;
    const answer = await send(loop.agent, target, method, path, headers, body);
    jar.take(answer.headers['set-cookie'] ?? []);
    times.record(typeof step === 'string' ? step : step(answer), answer.ms);
    return answer;
  };
}
type BrowserCall = ReturnType<typeof personBrowser>;

/**
 * The hosted page's two forms: `phone` (the server sends the SMS to the fake Twilio before it
 * answers with the code form), then `code` with the code the fake Twilio got. Returns the code
 * step's answer, which each protocol checks its own way.
 */
async function phoneAndCode(call: BrowserCall, twilio: BenchTwilio, pageHtml: string, phone: string): Promise<HttpAnswer> {
  const phoneForm = formOf(pageHtml, 'phone');
  const afterPhone = await call('phone', 'POST', phoneForm.action, { csrf: phoneForm.csrf, phone });
  expect('phone', afterPhone, [200]);
  const code = twilio.takeCode(phone);
  if (!code) throw new Error('phone: no SMS reached the fake Twilio');
  const codeForm = formOf(afterPhone.body, 'code');
  return call('code', 'POST', codeForm.action, { csrf: codeForm.csrf, code });
}

/** An OIDC client of the benchmark: confidential, one redirect URI. */
interface RelyingPartyClient {
  clientId: string;
  secret: string;
  redirectUri: string;
}

/**
 * The relying party once the login has sent the browser back: the redirect must lead to its
 * redirect URI with its state and a code; its backend exchanges the code (steps `token`, HTTP
 * Basic, and `userinfo`, on the flow's connection: its own would do as well). Returns the ID
 * token and UserInfo's claims, which each scenario checks its own way. `endedAt` says where the
 * login ended, for the error when that is not the redirect URI.
 */
function relyingParty(server: RunningServer, client: RelyingPartyClient) {
  const target: Target = { host: HOST, port: server.port };
  const auth = basicAuth(client.clientId, client.secret);
  return async (loop: FlowLoop, times: StepTimes, callback: URL | undefined, state: string, endedAt: string) => {
    if (!callback || `${callback.origin}${callback.pathname}` !== client.redirectUri) throw new Error(`callback: the login ended at ${endedAt}`);
    if (callback.searchParams.get('state') !== state) throw new Error('callback: state mismatch');
    const authCode = callback.searchParams.get('code');
    if (!authCode) throw new Error(`callback: no code (${callback.searchParams.get('error') ?? '?'}: ${callback.searchParams.get('error_description') ?? ''})`);

    const token = await send(
      loop.agent,
      target,
      'POST',
      `${server.oidcBase}/connect/token`,
      { authorization: auth, 'content-type': FORM, accept: 'application/json' },
      new URLSearchParams({ grant_type: 'authorization_code', code: authCode, redirect_uri: client.redirectUri }).toString(),
    );
    times.record('token', token.ms);
    expect('token', token, [200]);
    const { access_token: accessToken, id_token: idToken } = jsonOf<{ access_token?: string; id_token?: string }>('token', token);
    if (!accessToken || !idToken) throw new Error('token: no access_token or id_token');

    const userinfo = await send(loop.agent, target, 'GET', `${server.oidcBase}/connect/userinfo`, { authorization: `Bearer ${accessToken}`, accept: 'application/json' });
    times.record('userinfo', userinfo.ms);
    expect('userinfo', userinfo, [200]);
    return { idToken, userinfo: jsonOf<Record<string, unknown>>('userinfo', userinfo), userinfoBody: userinfo.body };
  };
}

/** One complete login; each HTTP request is a step named by what it is in the flow. */
export function loginFlow({ server, twilio, phones }: LoginDeps): Flow {
  const target: Target = { host: HOST, port: server.port };
  const origin = `http://${HOST}:${server.port}`;
  const redeem = relyingParty(server, OIDC_CLIENT);

  return async (loop: FlowLoop, times: StepTimes) => {
    const call = personBrowser(loop, times, target);
    /** Follows redirects on the server; returns the last answer and, if it left the server, where to. */
    const follow = async (first: HttpAnswer): Promise<{ answer: HttpAnswer; leftTo?: URL }> => {
      let answer = first;
      for (let hops = 0; hops < 8; hops++) {
        if (answer.status < 300 || answer.status >= 400) return { answer };
        const next = new URL(answer.headers.location ?? '', origin);
        if (next.origin !== origin) return { answer, leftTo: next };
        const path = `${next.pathname}${next.search}`;
        // A GET that shows a page is the hosted page, whichever path served it (eidhub's /login/{id},
        // the peer's /interaction/{uid}).
        answer = await call((a) => hopName(path, a), 'GET', path);
      }
      throw new Error('too many redirects');
    };

    const phone = phones.take();
    try {
      const state = randomBytes(12).toString('base64url');
      const query = new URLSearchParams({
        client_id: OIDC_CLIENT.clientId,
        response_type: 'code',
        redirect_uri: OIDC_CLIENT.redirectUri,
        scope: 'openid idp-id phone',
        state,
        nonce: randomBytes(12).toString('base64url'),
      });
      const authorize = await call('authorize', 'GET', `${server.oidcBase}/connect/authorize?${query.toString()}`);
      expect('authorize', authorize, [302, 303]);
      const landing = await follow(authorize);
      expect('page', landing.answer, [200]);

      const afterCode = await phoneAndCode(call, twilio, landing.answer.body, phone);
      expect('code', afterCode, [302, 303]);
      const done = await follow(afterCode);
      const { userinfo, userinfoBody } = await redeem(loop, times, done.leftTo, state, `${done.answer.status} ${done.leftTo?.href ?? ''}`);
      if (userinfo.phone_number !== phone || !userinfo.sub) throw new Error(`userinfo: wrong claims ${userinfoBody.slice(0, 120)}`);
    } finally {
      phones.give(phone);
    }
  };
}

/**
 * The bench SP's AuthnRequest as a service provider sends it over HTTP-Redirect (unsigned):
 * a fresh ID and the current IssueInstant, deflated, base64, URL-encoded, with a RelayState.
 */
function authnRequestQuery(destination: string, relayState: string): string {
  const xml =
    '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' +
    ` ID="_${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${destination}"` +
    ` AssertionConsumerServiceURL="${SAML_SP.acsUrl}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${SAML_SP.entityId}</saml:Issuer>` +
    '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/>' +
    '</samlp:AuthnRequest>';
  return new URLSearchParams({ SAMLRequest: deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'), RelayState: relayState }).toString();
}

/**
 * One complete SAML login (eidhub only): authnrequest (answered 303 to the hosted page) → page →
 * phone → code, whose answer is the page that posts the signed Response and the RelayState to the
 * ACS. That page is checked for both fields (a plain text search: the Response is not decoded or
 * verified, which the SAML tests do) and not posted.
 */
export function samlLoginFlow({ server, twilio, phones }: LoginDeps): Flow {
  if (!server.samlBase) throw new Error(`${server.kind} has no SAML identity provider`);
  const target: Target = { host: HOST, port: server.port };
  const origin = `http://${HOST}:${server.port}`;
  const ssoPath = `${server.samlBase}/login`;

  return async (loop: FlowLoop, times: StepTimes) => {
    const call = personBrowser(loop, times, target);
    const phone = phones.take();
    try {
      const relayState = randomBytes(12).toString('base64url');
      const start = await call('authnrequest', 'GET', `${ssoPath}?${authnRequestQuery(`${origin}${ssoPath}`, relayState)}`);
      expect('authnrequest', start, [303]);
      const hosted = new URL(start.headers.location ?? '', origin);
      if (hosted.origin !== origin) throw new Error(`authnrequest: redirected off eidhub to ${hosted.href}`);
      const page = await call('page', 'GET', `${hosted.pathname}${hosted.search}`);
      expect('page', page, [200]);

      const afterCode = await phoneAndCode(call, twilio, page.body, phone);
      expect('code', afterCode, [200]);
      if (!afterCode.body.includes('name="SAMLResponse"')) throw new Error(`code: no SAMLResponse field: ${afterCode.body.replace(/\s+/g, ' ').slice(0, 160)}`);
      if (!afterCode.body.includes(`value="${relayState}"`)) throw new Error('code: the RelayState did not come back');
    } finally {
      phones.give(phone);
    }
  };
}

/** The SMS template the relying party sends with each CIBA request, as in seed 004. */
export const CIBA_MESSAGE = 'Your verification PIN is: {{code}}';
const [CIBA_MESSAGE_HEAD, CIBA_MESSAGE_TAIL] = CIBA_MESSAGE.split('{{code}}') as [string, string];
/** How long the flow waits for an SMS that eidhub sends after answering the auth request. */
const CIBA_SMS_WAIT_MS = 5000;

/** The JSON body of an answer, or an error naming the step. */
function jsonOf<T>(step: string, answer: HttpAnswer): T {
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    throw new Error(`${step}: not JSON: ${answer.body.replace(/\s+/g, ' ').slice(0, 160)}`);
  }
}

/**
 * One phone number verification over CIBA (eidhub only), as seed 004's backend makes it, with
 * no browser: `auth` (client_secret_post, `channel=sms`, the message template; eidhub sends the
 * SMS) → the code read from the fake Twilio, whose SMS body must be exactly the template with the
 * code in it → `callback` (the code, bearer `auth_req_id`) → `token` (the CIBA grant, asked once,
 * right after the callback: `authorization_pending` or `slow_down` there counts as an error) →
 * `userinfo` (the verified number must be the one asked for). A backend is one client of eidhub:
 * no per-flow `X-Forwarded-For`. If eidhub answers `auth` before the SMS is sent, the time until it
 * reaches the fake Twilio is the step `sms`.
 */
export function cibaFlow({ server, twilio, phones }: LoginDeps): Flow {
  if (!server.cibaBase) throw new Error(`${server.kind} has no CIBA realm`);
  const target: Target = { host: HOST, port: server.port };
  const oidc = `${server.cibaBase}/protocol/openid-connect`;
  const client = { client_id: CIBA_CLIENT.clientId, client_secret: CIBA_CLIENT.secret };
  const formHeaders = { 'content-type': FORM, accept: 'application/json' };

  return async (loop: FlowLoop, times: StepTimes) => {
    const step = async (name: string, method: string, path: string, headers: Record<string, string>, body?: string) => {
      const answer = await send(loop.agent, target, method, path, headers, body);
      times.record(name, answer.ms);
      return answer;
    };
    const phone = phones.take();
    try {
      const auth = await step(
        'auth',
        'POST',
        `${oidc}/ext/ciba/auth`,
        formHeaders,
        new URLSearchParams({ ...client, scope: CIBA_CLIENT.scopes.join(' '), login_hint: phone, channel: 'sms', message: CIBA_MESSAGE }).toString(),
      );
      expect('auth', auth, [200]);
      const { auth_req_id: authReqId, expires_in: expiresIn, interval } = jsonOf<{ auth_req_id?: string; expires_in?: number; interval?: number }>('auth', auth);
      if (!authReqId || typeof expiresIn !== 'number' || typeof interval !== 'number') throw new Error(`auth: not {auth_req_id, expires_in, interval}: ${auth.body.slice(0, 160)}`);

      const sms = await twilio.takeMessage(phone, CIBA_SMS_WAIT_MS);
      if (!sms) throw new Error(`sms: none reached the fake Twilio within ${CIBA_SMS_WAIT_MS} ms of the auth answer`);
      if (sms.waitedMs > 0) times.record('sms', sms.waitedMs);
      const code = sms.body.startsWith(CIBA_MESSAGE_HEAD) && sms.body.endsWith(CIBA_MESSAGE_TAIL) ? sms.body.slice(CIBA_MESSAGE_HEAD.length, sms.body.length - CIBA_MESSAGE_TAIL.length) : '';
      if (!/^\d{4,10}$/.test(code)) throw new Error(`sms: not the template with a code: ${JSON.stringify(sms.body.slice(0, 120))}`);

      const callback = await step('callback', 'POST', `${oidc}/ext/bc/sms/callback`, { authorization: `Bearer ${authReqId}`, 'content-type': 'application/json', accept: 'application/json' }, JSON.stringify({ code }));
      expect('callback', callback, [200, 204]);

      const token = await step('token', 'POST', `${oidc}/token`, formHeaders, new URLSearchParams({ ...client, grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: authReqId }).toString());
      if (token.status === 400) {
        const { error } = jsonOf<{ error?: string }>('token', token);
        if (error === 'authorization_pending' || error === 'slow_down') throw new Error(`token: ${error} right after a successful callback`);
      }
      expect('token', token, [200]);
      const { access_token: accessToken, id_token: idToken } = jsonOf<{ access_token?: string; id_token?: string }>('token', token);
      if (!accessToken || !idToken) throw new Error('token: no access_token or id_token');

      const userinfo = await step('userinfo', 'GET', `${oidc}/userinfo`, { authorization: `Bearer ${accessToken}`, accept: 'application/json' });
      expect('userinfo', userinfo, [200]);
      const claims = jsonOf<{ sub?: string; phone_number?: string; phone_number_verified?: boolean }>('userinfo', userinfo);
      if (!claims.sub || claims.phone_number !== phone || claims.phone_number_verified !== true) throw new Error(`userinfo: wrong claims ${userinfo.body.slice(0, 120)}`);
    } finally {
      phones.give(phone);
    }
  };
}

/** The JSON payload of a compact JWS (not verified: the tests check signatures, the bench what the RP is told). */
function jwtPayload(step: string, jwt: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new Error(`${step}: the ID token is not a JWT`);
  }
}

const unescapeHtml = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The consent page's confirm form and its test identities (form value and the name shown). */
function consentOf(html: string): { confirm: string; identities: { value: string; name: string }[] } {
  const confirm = /<form method="post" action="([^"]*\/confirm)"/.exec(html)?.[1];
  if (!confirm) throw new Error(`consent: no confirm form on the page: ${html.replace(/\s+/g, ' ').slice(0, 160)}`);
  const identities = [...html.matchAll(/<input type="radio" name="identity" id="([^"]+)" value="([^"]+)"[^>]*>\s*<label for="\1"><span class="name">([^<]+)<\/span>/g)].map((m) => ({
    value: unescapeHtml(m[2]!),
    name: unescapeHtml(m[3]!),
  }));
  if (identities.length === 0) throw new Error('consent: no test identity on the page');
  return { confirm: unescapeHtml(confirm), identities };
}

/** A login's test identities in turn, so that the name checked at the end is the one confirmed. */
let itsmeLogins = 0;

/**
 * One itsme® login (eidhub in sandbox mode only), as seed 002's Authentication: a relying party
 * sends the person to eidhub with `acr_values=idp:itsme` and `scope=openid name`; eidhub, which is
 * also the upstream here (its simulator at /sandbox/itsme), does the rest. Each request is a step:
 * `authorize` (→ the login page) → `enter` (eidhub's redirect to the simulator with a signed request
 * object and PKCE) → `itsme authorize` (the simulator's authorization endpoint, → its consent page)
 * → `consent` (the page, with the test identities) → `confirm` (POST the chosen identity) → `itsme
 * resume` (the simulator's answer, a code, to eidhub's fixed redirect URI) → `upstream callback`
 * (`/auth/upstream/itsme/callback`, → the login's callback) → `login callback` (eidhub redeems the
 * upstream code: client assertion, token, encrypted ID token and UserInfo, all from itself over
 * loopback, inside this step) → `callback` (oidc-provider's resume, → the relying party with a code)
 * → `token` (client secret) → `userinfo`. The ID token's `name` must be the confirmed identity's and
 * its `amr` `["external"]`; UserInfo's `name` the same. A fresh cookie jar and client address per
 * login, as for the OTP login.
 */
export function itsmeLoginFlow(server: RunningServer): Flow {
  if (!server.itsme) throw new Error(`${server.kind} was not started in sandbox mode with the itsme client`);
  const target: Target = { host: HOST, port: server.port };
  const origin = `http://${HOST}:${server.port}`;
  const redeem = relyingParty(server, ITSME_CLIENT);

  return async (loop: FlowLoop, times: StepTimes) => {
    const call = personBrowser(loop, times, target);
    /** The redirect of `answer`, which must stay on eidhub and lead to a path `to` matches. */
    const redirect = (step: string, answer: HttpAnswer, to: RegExp): string => {
      expect(step, answer, [302, 303]);
      const next = new URL(answer.headers.location ?? '', origin);
      if (next.origin !== origin || !to.test(next.pathname)) throw new Error(`${step}: redirected to ${next.origin}${next.pathname}, not ${to.source}`);
      return `${next.pathname}${next.search}`;
    };

    const state = randomBytes(12).toString('base64url');
    const query = new URLSearchParams({
      client_id: ITSME_CLIENT.clientId,
      response_type: 'code',
      redirect_uri: ITSME_CLIENT.redirectUri,
      scope: ITSME_CLIENT.scopes.join(' '),
      acr_values: 'idp:itsme',
      state,
      nonce: randomBytes(12).toString('base64url'),
    });
    const authorize = await call('authorize', 'GET', `${server.oidcBase}/connect/authorize?${query.toString()}`);
    const loginPage = redirect('authorize', authorize, /^\/login\/[^/]+$/);
    const enter = await call('enter', 'GET', loginPage);
    const upstream = redirect('enter', enter, /^\/sandbox\/itsme\/oidc\/authorization$/);
    const upstreamAuthorize = await call('itsme authorize', 'GET', upstream);
    const consentPath = redirect('itsme authorize', upstreamAuthorize, /^\/sandbox\/itsme\/interaction\/[^/]+$/);
    const consent = await call('consent', 'GET', consentPath);
    expect('consent', consent, [200]);
    const { confirm, identities } = consentOf(consent.body);
    const person = identities[itsmeLogins++ % identities.length]!;
    const confirmed = await call('confirm', 'POST', confirm, { identity: person.value });
    const resume = redirect('confirm', confirmed, /^\/sandbox\/itsme\/oidc\/authorization\/[^/]+$/);
    const upstreamAnswer = await call('itsme resume', 'GET', resume);
    const fixedCallback = redirect('itsme resume', upstreamAnswer, /^\/auth\/upstream\/itsme\/callback$/);
    const returned = await call('upstream callback', 'GET', fixedCallback);
    const loginCallback = redirect('upstream callback', returned, /^\/login\/[^/]+\/callback$/);
    const ended = await call('login callback', 'GET', loginCallback);
    const oidcResume = redirect('login callback', ended, /\/connect\/authorize\/[^/]+$/);
    const resumed = await call('callback', 'GET', oidcResume);
    expect('callback', resumed, [302, 303]);
    const callback = new URL(resumed.headers.location ?? '', origin);
    const redeemed = await redeem(loop, times, callback, state, callback.href);
    const { userinfo, userinfoBody } = redeemed;
    const idToken = jwtPayload('token', redeemed.idToken);
    if (idToken.name !== person.name) throw new Error(`token: the ID token's name is ${JSON.stringify(idToken.name)}, not ${person.name}, who was confirmed`);
    if (JSON.stringify(idToken.amr) !== '["external"]') throw new Error(`token: the ID token's amr is ${JSON.stringify(idToken.amr)}, not ["external"]`);
    if (!idToken.sub || userinfo.sub !== idToken.sub || userinfo.name !== person.name) throw new Error(`userinfo: wrong claims ${userinfoBody.slice(0, 120)}`);
  };
}

function hopName(path: string, answer: HttpAnswer): string {
  if (answer.status === 200) return 'page';
  if (/\/connect\/authorize\/[^/?]+/.test(path)) return 'callback';
  return `hop ${path.split('?')[0]}`;
}

/** Login steps in flow order, for tables; a server shows the ones it has. */
export const LOGIN_STEPS = ['authorize', 'page', 'phone', 'code', 'callback', 'token', 'userinfo'] as const;
/** SAML login steps in flow order. */
export const SAML_LOGIN_STEPS = ['authnrequest', 'page', 'phone', 'code'] as const;
/** CIBA verification steps in flow order (`sms` only when eidhub answered `auth` before sending it). */
export const CIBA_STEPS = ['auth', 'sms', 'callback', 'token', 'userinfo'] as const;
/** itsme® login steps in flow order. */
export const ITSME_STEPS = ['authorize', 'enter', 'itsme authorize', 'consent', 'confirm', 'itsme resume', 'upstream callback', 'login callback', 'callback', 'token', 'userinfo'] as const;

export async function apiToken(server: RunningServer): Promise<string> {
  const agent = keepAliveAgent();
  const answer = await send(
    agent,
    { host: HOST, port: server.port },
    'POST',
    `${server.oidcBase}/connect/token`,
    { authorization: basicAuth(API_CLIENT.clientId, API_CLIENT.secret), 'content-type': FORM },
    'grant_type=client_credentials&scope=signicat-api',
  );
  agent.destroy();
  expect('token', answer, [200]);
  return (JSON.parse(answer.body) as { access_token: string }).access_token;
}

const SESSION_BODY = JSON.stringify({
  allowedProviders: ['otp-sms'],
  flow: 'redirect',
  language: 'en',
  requestedAttributes: ['idpId', 'phoneNumber'],
  callbackUrls: { success: 'https://rp.example/success', abort: 'https://rp.example/abort', error: 'https://rp.example/error' },
  externalReference: 'bench',
});

/** One REST session: create, then read its status. */
export function restFlow(server: RunningServer, token: string): Flow {
  const target: Target = { host: HOST, port: server.port };
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  return async (loop, times) => {
    const created = await send(loop.agent, target, 'POST', '/auth/rest/sessions', { ...headers, 'content-type': 'application/json' }, SESSION_BODY);
    times.record('create', created.ms);
    expect('create', created, [201]);
    const { id, status } = JSON.parse(created.body) as { id?: string; status?: string };
    if (!id || status !== 'CREATED') throw new Error(`create: unexpected session ${created.body.slice(0, 120)}`);
    const read = await send(loop.agent, target, 'GET', `/auth/rest/sessions/${id}`, headers);
    times.record('status', read.ms);
    expect('status', read, [200]);
    if ((JSON.parse(read.body) as { status?: string }).status !== 'CREATED') throw new Error('status: unexpected status');
  };
}

/** client_credentials tokens with autocannon: `connections` keep-alive connections for `seconds`. */
export async function clientCredentials(server: RunningServer, connections: number, seconds: number): Promise<DriveResult> {
  const latency = new Samples();
  const started = performance.now();
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://${HOST}:${server.port}${server.oidcBase}/connect/token`,
        method: 'POST',
        headers: { authorization: basicAuth(API_CLIENT.clientId, API_CLIENT.secret), 'content-type': FORM, accept: 'application/json' },
        body: 'grant_type=client_credentials&scope=signicat-api',
        connections,
        duration: seconds,
        pipelining: 1,
        timeout: REQUEST_TIMEOUT_MS / 1000,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      if (statusCode === 200) latency.add(ms);
    });
  });
  const elapsed = performance.now() - started;
  const ok = result['2xx'];
  // autocannon counts a timeout in `errors` too.
  const errors = result.non2xx + result.errors;
  const summary = latency.summary();
  return {
    ops: ok,
    errors,
    errorSamples: errors > 0 ? [`status codes: ${JSON.stringify(result.statusCodeStats)}, errors ${result.errors} (${result.timeouts} of them timeouts)`] : [],
    elapsedMs: Math.round(elapsed),
    opsPerSec: round((ok * 1000) / elapsed, 1),
    steps: { token: summary },
    flow: summary,
  };
}
