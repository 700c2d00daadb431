/**
 * The showcase's two HTML pages: the start page (seed 004's phone input and `pvn_sms` button, and
 * the other eidhub flows) and /user/info (what the session verified). No inline script or style:
 * the CSP allows this app's own files only, plus eidhub's pages in a frame where asked.
 */
import type { FastifyReply } from 'fastify';
import type { Outcome, Via } from './sessions.js';
import type { AuthServer, FlowClient } from './settings.js';

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface PageOptions {
  /** Origins whose pages this page may frame (the REST embedded flow). */
  frameOrigins?: readonly string[];
  /** The page may be framed by this app itself (the REST flow's return page, inside the frame). */
  framedBySelf?: boolean;
}

export function sendPage(reply: FastifyReply, title: string, body: string, options: PageOptions = {}, head = ''): FastifyReply {
  // A frame of eidhub's ends on this app's return page, so 'self' is framed too.
  const frames = options.frameOrigins?.length ? `'self' ${options.frameOrigins.join(' ')}` : "'none'";
  reply.header(
    'content-security-policy',
    [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "form-action 'self'",
      `frame-src ${frames}`,
      "base-uri 'none'",
      `frame-ancestors ${options.framedBySelf ? "'self'" : "'none'"}`,
    ].join('; '),
  );
  reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
  return reply.type('text/html; charset=utf-8').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · eidhub showcase</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/showcase.css">${head}
</head><body><header><p class="brand"><a href="/">eidhub showcase</a></p></header><main>
<h1>${esc(title)}</h1>
${body}
</main></body></html>`);
}

export interface StartPageModel {
  servers: readonly AuthServer[];
  realm: string;
  smsClients: readonly FlowClient[];
  /** Extra sections (other eidhub flows), already HTML. */
  sections: readonly string[];
}

function serverChooser(servers: readonly AuthServer[]): string {
  if (servers.length === 1) return `<input type="hidden" id="server_id" value="${esc(servers[0]!.id)}">`;
  const options = servers.map((s) => `<option value="${esc(s.id)}">${esc(s.title ?? s.id)} (${esc(s.url)})</option>`).join('');
  return `<label for="server_id">Auth server</label><select id="server_id">${options}</select>`;
}

function smsSection(m: StartPageModel): string {
  const intro = `<h2 id="pvn_sms_title">Phone number verification by SMS</h2>
<p class="note">CIBA with <code>channel=sms</code>: this app's backend asks the auth server to text a code to the number, you type the code here, and the backend completes the request and reads the verified number from UserInfo.</p>`;
  if (m.servers.length === 0) return `<section class="card" aria-labelledby="pvn_sms_title">${intro}<p class="problem">No auth server is configured (<code>auth_servers</code>).</p></section>`;
  if (m.smsClients.length === 0) return `<section class="card" aria-labelledby="pvn_sms_title">${intro}<p class="problem">No client has <code>user_flow: "pvn_sms"</code> in <code>clients</code>.</p></section>`;
  const buttons = m.smsClients
    .map(
      (c, i) =>
        `<button id="${i === 0 ? 'pvn_sms' : `pvn_sms_${i + 1}`}" class="btn btn_sms" type="button" data-user-flow="pvn_sms" data-client-id="${esc(c.clientId)}" data-scope="${esc(c.scope)}">${esc(c.title)}</button>`,
    )
    .join('\n');
  return `<section class="card" aria-labelledby="pvn_sms_title">${intro}
${serverChooser(m.servers)}
<label for="phone">Mobile phone number</label>
<input id="phone" name="phone" type="tel" autocomplete="tel" required>
<p id="phone_error" class="field-error" role="alert" hidden></p>
<div class="actions">${buttons}</div>
<p class="note">Realm <code>${esc(m.realm)}</code>. With <code>npm start</code>'s sandbox the code is in eidhub's log and at <code>/sandbox/sms</code>.</p>
</section>`;
}

export interface EidhubSectionsModel {
  eidhubUrl: string;
  oidcClientId: string;
  oidc: boolean;
  restClientId: string;
  rest: boolean;
}

/** The OIDC redirect login and the REST embedded flow, or how to turn them on. */
export function eidhubSections(m: EidhubSectionsModel): string[] {
  const missing = (what: string, key: string, id: string) =>
    `<p class="note">Set <code>${key}</code> (the ${what} <code>${esc(id)}</code>; <code>npm start</code> prints the sandbox's) in <code>apps/showcase/config/local.json</code> or <code>NODE_CONFIG</code> to try it.</p>`;
  const oidc = `<section class="card" aria-labelledby="oidc_title"><h2 id="oidc_title">Log in with OpenID Connect</h2>
<p class="note">A redirect to eidhub (<code>${esc(m.eidhubUrl)}/auth/open</code>) with PKCE, state and nonce; the code is redeemed by this backend, which reads UserInfo.</p>
${m.oidc ? '<p class="actions"><a id="oidc_login" class="btn" href="/oidc/login">Log in with eidhub</a></p>' : missing('secret of the OIDC client', 'eidhub.oidc.client_secret', m.oidcClientId)}</section>`;
  const rest = `<section class="card" aria-labelledby="rest_title"><h2 id="rest_title">Log in inside this page (REST API, embedded)</h2>
<p class="note">This backend creates an authentication session with eidhub's REST API; eidhub's pages run in a frame here and hand the result back.</p>
${m.rest ? '<p class="actions"><button id="rest_embedded" class="btn" type="button">Start an embedded login</button></p><div id="rest_frame"></div>' : missing('secret of the API client', 'eidhub.rest.client_secret', m.restClientId)}</section>`;
  return [oidc, rest];
}

export function startPage(reply: FastifyReply, m: StartPageModel, options: PageOptions = {}): FastifyReply {
  const head = `
<link rel="stylesheet" href="/vendor/intl-tel-input/css/intlTelInput.min.css">
<link rel="stylesheet" href="/vendor/sweetalert2/sweetalert2.min.css">
<script src="/vendor/intl-tel-input/js/intlTelInputWithUtils.min.js" defer></script>
<script src="/vendor/sweetalert2/sweetalert2.min.js" defer></script>
<script src="/assets/showcase.js" defer></script>`;
  const body = `<p class="lead">One page, every way an app can use eidhub.</p>
${smsSection(m)}
${m.sections.join('\n')}`;
  return sendPage(reply, 'Verify a phone number', body, options, head);
}

const TITLES: Record<Via, string> = {
  pvn_sms: 'Phone number verified',
  oidc: 'Logged in with OpenID Connect',
  rest: 'Logged in with the REST API (embedded)',
};

function describe(claims: Record<string, unknown>): string {
  const rows: [string, string, unknown][] = [
    ['phone_number', 'Phone number', claims.phone_number],
    ['phone_number_verified', 'Verified', claims.phone_number_verified === true ? 'yes' : claims.phone_number_verified],
    ['sub', 'Subject (sub)', claims.sub],
  ];
  return rows
    .filter(([, , v]) => v !== undefined)
    .map(([id, label, v]) => `<dt>${esc(label)}</dt><dd id="${id}">${esc(String(v))}</dd>`)
    .join('');
}

export function userInfoPage(reply: FastifyReply, outcome: Outcome | undefined): FastifyReply {
  const again = '<p><a class="btn" href="/">Start again</a></p>';
  if (!outcome) return sendPage(reply, 'User info', `<p>Nothing has been verified in this browser session yet.</p>${again}`);
  if (outcome.kind === 'failed') {
    return sendPage(
      reply,
      'Verification failed',
      `<p class="problem" id="error">${esc(String(outcome.error.message ?? outcome.error.error))}</p>
<details><summary>The error as the backend answered it</summary><pre>${esc(JSON.stringify(outcome.error, null, 2))}</pre></details>${again}`,
    );
  }
  return sendPage(
    reply,
    TITLES[outcome.via],
    `<dl class="claims">${describe(outcome.claims)}<dt>Flow</dt><dd id="via">${esc(outcome.via)}</dd><dt>Server</dt><dd>${esc(outcome.server)}</dd></dl>
<details><summary>Everything the server said</summary><pre id="raw">${esc(JSON.stringify(outcome.raw, null, 2))}</pre></details>${again}`,
  );
}
