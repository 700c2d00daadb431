/**
 * Sandbox mode only: a demo relying party (`/sandbox/login` → eidhub → `/sandbox/callback`, which
 * redeems the code and shows the ID token and UserInfo) and the SMS inbox (`/sandbox/sms`). It
 * speaks to eidhub's own endpoints as any relying party would, with PKCE, state and nonce.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { EidhubError } from '../core/errors.js';
import { newNonce, setPageHeaders } from '../http/security.js';
import { OIDC_MOUNT, OIDC_ROUTES } from '../protocols/oidc/provider.js';
import type { SandboxInbox } from '../sms/sandbox-inbox.js';

export const SANDBOX_OIDC_CLIENT_ID = 'demo-oidc-client';
export const SANDBOX_API_CLIENT_ID = 'demo-api-client';
/** The realm of seed 004's showcase app, and its demo CIBA client. */
export const SANDBOX_REALM = 'ipification';
export const SANDBOX_CIBA_CLIENT_ID = 'showcase';
/**
 * The published secrets of the sandbox's demo clients (apps/showcase's config/default.json holds
 * them), so that `npm start` and `npm run showcase` work together with no config. Each demo client
 * has a random secret of its own, kept in the store and printed at start; it also accepts its
 * published secret only while SMS go to the console provider, that is, while a published secret
 * cannot make eidhub send a real SMS (see withSandboxClients in src/main.ts).
 */
export const SANDBOX_OIDC_CLIENT_SECRET = 'sandbox-demo-oidc-secret';
export const SANDBOX_API_CLIENT_SECRET = 'sandbox-demo-api-secret';
export const SANDBOX_CIBA_CLIENT_SECRET = 'sandbox-showcase-secret';
/** Where `npm run showcase` serves by default; the demo OIDC client accepts its callback. */
export const SANDBOX_SHOWCASE_URL = 'http://localhost:3001';
const STATE_COOKIE = 'eidhub-sandbox-rp';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(reply: FastifyReply, title: string, body: string, refreshSeconds?: number) {
  const nonce = newNonce();
  setPageHeaders(reply, { nonce, frameAncestors: ["'none'"], formActionOrigins: [] });
  return reply.send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : ''}<title>${esc(title)} · eidhub sandbox</title>
<style nonce="${nonce}">body{font:16px/1.5 system-ui,sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}code,pre{font:13px/1.4 ui-monospace,monospace;background:#f3f4f6;border-radius:6px}pre{padding:.8rem;overflow:auto}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:.4rem;text-align:left;vertical-align:top}
a.button{display:inline-block;background:#1849a9;color:#fff;padding:.6rem 1rem;border-radius:8px;text-decoration:none}
.note{color:#4b5563}@media (prefers-color-scheme:dark){body{background:#0f1115;color:#e5e7eb}code,pre{background:#1f2330}td,th{border-color:#2a2f3a}.note{color:#9ca3af}}</style>
</head><body><p class="note">eidhub sandbox: for development only</p><h1>${esc(title)}</h1>${body}</body></html>`);
}

export function registerSandbox(app: FastifyInstance, deps: { config: Config; inbox: SandboxInbox; logger: Logger }) {
  const { config, inbox } = deps;
  const client = config.oidcClients.find((c) => c.clientId === SANDBOX_OIDC_CLIENT_ID)!;
  const redirectUri = client.redirectUris[0]!;
  const secret = client.secrets[0]!;
  const secureCookie = new URL(config.publicUrl).protocol === 'https:';
  const itsmeSimulated = config.upstreamProviders.some((p) => p.id === 'itsme' && p.simulator);

  app.get('/sandbox', async (_req, reply) =>
    page(
      reply,
      'Sandbox',
      `<p>Log in as a relying party would, with the demo client <code>${esc(client.clientId)}</code>.</p>
<p><a class="button" href="/sandbox/login">Log in with SMS</a></p>
<p><a class="button" href="/sandbox/login?service=itsme-authentication">Log in with itsme® (Authentication: <code>openid name</code>)</a>
<a class="button" href="/sandbox/login?service=itsme-identification">itsme® Identification (<code>openid profile</code>)</a></p>
${itsmeSimulated ? '<p class="note">itsme® here is the sandbox\'s simulator at <a href="/sandbox/itsme/.well-known/openid-configuration">/sandbox/itsme</a>, with test identities.</p>' : ''}
<p>Codes appear in the <a href="/sandbox/sms">SMS inbox</a> and in the server log.</p>
<p>Discovery: <a href="${OIDC_MOUNT}/.well-known/openid-configuration">${esc(config.publicUrl + OIDC_MOUNT)}/.well-known/openid-configuration</a></p>`,
    ),
  );

  app.get('/sandbox/sms', async (_req, reply) => {
    const rows = inbox
      .list()
      .map((m) => `<tr><td>${esc(m.at.toISOString().slice(11, 19))}</td><td>${esc(m.to)}</td><td>${esc(m.from)}</td><td><pre>${esc(m.body)}</pre></td></tr>`)
      .join('');
    return page(
      reply,
      'SMS inbox',
      `<p class="note">Messages the console provider would have sent, newest first. This page refreshes every 3 seconds.</p>
<table><thead><tr><th>time (UTC)</th><th>to</th><th>from</th><th>text</th></tr></thead><tbody>${rows || '<tr><td colspan="4">No messages yet.</td></tr>'}</tbody></table>`,
      3,
    );
  });

  /** What the demo relying party asks for: an SMS login, or itsme's Authentication or Identification service (seed 002). */
  const LOGINS: Readonly<Record<string, { scope: string; acr: string }>> = {
    sms: { scope: 'openid idp-id phone', acr: 'idp:otp-sms' },
    'itsme-authentication': { scope: 'openid name', acr: 'idp:itsme' },
    'itsme-identification': { scope: 'openid profile', acr: 'idp:itsme' },
  };

  app.get<{ Querystring: { login_hint?: string; ui_locales?: string; service?: string } }>('/sandbox/login', async (req, reply) => {
    const login = LOGINS[req.query.service ?? 'sms'];
    if (!login) throw new EidhubError(400, 'invalid_request', `service: one of ${Object.keys(LOGINS).join(', ')}`);
    const state = randomBytes(16).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    reply.setCookie(STATE_COOKIE, `${state}.${nonce}.${verifier}`, { path: '/sandbox', httpOnly: true, sameSite: 'lax', secure: secureCookie, maxAge: 900 });
    const params = new URLSearchParams({
      client_id: client.clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: login.scope,
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      acr_values: login.acr,
      prompt: 'login',
    });
    if (req.query.login_hint) params.set('login_hint', req.query.login_hint);
    if (req.query.ui_locales) params.set('ui_locales', req.query.ui_locales);
    return reply.redirect(`${OIDC_MOUNT}${OIDC_ROUTES.authorization}?${params}`, 303);
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/sandbox/callback', async (req, reply) => {
    const q = req.query;
    const [state, nonce, verifier] = (req.cookies[STATE_COOKIE] ?? '').split('.');
    reply.clearCookie(STATE_COOKIE, { path: '/sandbox' });
    const sameState = state && q.state && state.length === q.state.length && timingSafeEqual(Buffer.from(state), Buffer.from(q.state));
    if (!sameState) throw new EidhubError(400, 'invalid_request', 'the state does not match this browser; start again at /sandbox/login');
    if (q.error) {
      return page(reply, 'Login did not complete', `<p>The relying party received <code>error=${esc(q.error)}</code>: ${esc(q.error_description ?? '')}</p><p><a href="/sandbox/login">Try again</a></p>`);
    }
    const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(secret)}`).toString('base64');
    const tokenRes = await app.inject({
      method: 'POST',
      url: `${OIDC_MOUNT}${OIDC_ROUTES.token}`,
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'authorization_code', code: q.code ?? '', redirect_uri: redirectUri, code_verifier: verifier ?? '' }).toString(),
    });
    const tokens = tokenRes.json<{ id_token?: string; access_token?: string; error?: string; error_description?: string }>();
    if (tokenRes.statusCode !== 200 || !tokens.id_token || !tokens.access_token) {
      return page(reply, 'Code exchange failed', `<pre>${esc(JSON.stringify(tokens, null, 2))}</pre>`);
    }
    const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    if (claims.nonce !== nonce) throw new EidhubError(400, 'invalid_request', 'the ID token nonce does not match');
    const userinfo = await app.inject({ method: 'GET', url: `${OIDC_MOUNT}${OIDC_ROUTES.userinfo}`, headers: { authorization: `Bearer ${tokens.access_token}` } });
    return page(
      reply,
      'Logged in',
      `<p>The demo relying party redeemed the code (PKCE, state and nonce checked) and called UserInfo.</p>
<h2>ID token claims</h2><pre>${esc(JSON.stringify(claims, null, 2))}</pre>
<h2>UserInfo</h2><pre>${esc(JSON.stringify(userinfo.json(), null, 2))}</pre>
<p><a class="button" href="/sandbox/login">Log in again</a></p>`,
    );
  });
}
