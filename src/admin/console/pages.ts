/**
 * The console's pages, rendered on the server with the hosted pages' styles (ui/templates.ts)
 * and a layout of their own: a bar with the sections and the admin's masked number, wide tables
 * that scroll sideways on a phone, forms with their errors beside the fields. Every change is a
 * plain POST form carrying the session's CSRF token, so the console works without JavaScript;
 * the one script adds the copy button of a new secret and asks before a deletion.
 */
import type { AuditEvent } from '../../store/types.js';
import { escapeHtml } from '../../ui/i18n.js';
import { icon } from '../../ui/kit.js';
import { documentHead, PAGE_STYLES } from '../../ui/templates.js';
import type { RegisteredClient } from '../../clients/registry.js';
import type { CertificateView, ServiceProviderView } from '../saml-routes.js';
import { CLIENT_NOUNS, type ClientKind, type ClientRef, type NewSecret, type SecretInfo } from '../service.js';
import { CONSOLE_CLIENT_ID, CONSOLE_PATH } from './login.js';

const esc = escapeHtml;
const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

export type Section = 'overview' | 'clients' | 'saml' | 'audit' | 'none';

export interface Frame {
  title: string;
  nonce: string;
  section: Section;
  /** The signed-in admin: their masked number and the session's CSRF token; absent on the login pages. */
  admin?: { label: string; csrf: string } | undefined;
  /** A line of feedback above the content (e.g. "Saved."). */
  notice?: string | undefined;
}

/** Where a client's page is. */
export function clientPath(ref: ClientRef): string {
  const id = encodeURIComponent(ref.clientId);
  return ref.kind === 'realm' ? `${CONSOLE_PATH}/clients/realm/${encodeURIComponent(ref.realm!)}/${id}` : `${CONSOLE_PATH}/clients/${ref.kind}/${id}`;
}

/** Why a client cannot be changed here, if it cannot. */
export const readOnlyReason = (client: RegisteredClient): 'config' | 'built-in' | false => (client.readOnly ? (isConsoleClient(client) ? 'built-in' : 'config') : false);

export const refOf = (client: RegisteredClient): ClientRef => ({ kind: client.kind, clientId: client.clientId, realm: client.realm?.name });

/** A POST form of the console, with the session's CSRF token. */
export function postForm(action: string, csrf: string, content: string, attributes = ''): string {
  return `<form method="post" action="${esc(action)}"${attributes}><input type="hidden" name="csrf" value="${esc(csrf)}">${content}</form>`;
}

const NAV: readonly { section: Section; href: string; label: string }[] = [
  { section: 'overview', href: CONSOLE_PATH, label: 'Overview' },
  { section: 'clients', href: `${CONSOLE_PATH}/clients`, label: 'Clients' },
  { section: 'saml', href: `${CONSOLE_PATH}/saml`, label: 'SAML SPs' },
  { section: 'audit', href: `${CONSOLE_PATH}/audit`, label: 'Audit log' },
];

/** A whole console page. */
export function layout(frame: Frame, body: string): string {
  const nav = frame.admin
    ? `<nav class="nav" aria-label="Console">${NAV.map((n) => `<a href="${n.href}"${n.section === frame.section ? ' aria-current="page"' : ''}>${n.label}</a>`).join('')}</nav>
<div class="who"><span class="muted">${esc(frame.admin.label)}</span>${postForm(`${CONSOLE_PATH}/logout`, frame.admin.csrf, '<button type="submit" class="btn btn-quiet">Log out</button>')}</div>`
    : '';
  const notice = frame.notice ? `<p class="notice" role="status">${icon('check', 'notice-icon')}<span>${esc(frame.notice)}</span></p>` : '';
  return `${documentHead({ lang: 'en', titleHtml: `${esc(frame.title)} · eidhub console`, nonce: frame.nonce, styles: PAGE_STYLES + CONSOLE_STYLES })}
<body class="console">
<header class="bar"><a class="brand" href="${CONSOLE_PATH}">${icon('lock', 'brand-icon')}<span>eidhub console</span></a>${nav}</header>
<main class="content" id="main">
<h1>${esc(frame.title)}</h1>
${notice}${body}
</main>
<script nonce="${esc(frame.nonce)}">${CONSOLE_SCRIPT}</script>
</body>
</html>
`;
}

/** The page of someone not signed in: why, if there is a reason, and the way in. */
export function loginBody(message: string | undefined): string {
  return `<section class="panel narrow">
${message ? `<p class="alert alert-danger" role="alert">${esc(message)}</p>` : ''}
<p class="lead">Administrators log in with a code sent by SMS to their phone.</p>
<form method="get" action="${CONSOLE_PATH}/login" class="main-form"><button type="submit" class="btn btn-primary">Log in with SMS</button></form>
</section>`;
}

/** A table that scrolls sideways on a small screen rather than squeezing its columns. */
function table(head: readonly string[], rows: readonly string[], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  return `<div class="table-wrap"><table><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const badge = (text: string, tone: 'neutral' | 'brand' | 'danger' = 'neutral') => `<span class="tag tag-${tone}">${esc(text)}</span>`;

/** What sets a client apart in a list, by kind. */
function summary(client: RegisteredClient): string {
  if (client.oidc) return client.oidc.redirectUris.map((u) => `<code>${esc(u)}</code>`).join('<br>');
  if (client.api) return client.api.permissions.length > 0 ? client.api.permissions.map((p) => `<code>${esc(p)}</code>`).join(' ') : '<span class="muted">no permission</span>';
  const realm = client.realm!.settings;
  return `<code>${esc(realm.deliveryMode)}</code>${realm.notificationEndpoint ? ` → <code>${esc(realm.notificationEndpoint)}</code>` : ''}`;
}

/** Every client, by kind: the config file's marked read-only. */
export function clientsBody(groups: readonly { kind: ClientKind; realm?: string | undefined; clients: readonly RegisteredClient[] }[]): string {
  return groups
    .map((g) => {
      const title = g.kind === 'realm' ? `Clients of realm ${g.realm}` : `${CLIENT_NOUNS[g.kind]}s`;
      const newHref = `${CONSOLE_PATH}/clients/new?kind=${g.kind}${g.realm ? `&realm=${encodeURIComponent(g.realm)}` : ''}`;
      const rows = g.clients.map(
        (c) =>
          `<tr><td><a href="${esc(clientPath(refOf(c)))}"><code>${esc(c.clientId)}</code></a>${c.name ? `<br><span class="muted">${esc(c.name)}</span>` : ''}</td><td>${summary(c)}</td><td>${c.secretHashes.length === 0 ? badge('public', 'brand') : `${c.secretHashes.length}`}</td><td>${c.readOnly ? badge(`${isConsoleClient(c) ? 'built-in' : 'config file'} · read-only`) : badge('stored', 'brand')}</td></tr>`,
      );
      const what = g.kind === 'oidc' ? 'Redirect URIs' : g.kind === 'api' ? 'Permissions' : 'Delivery';
      return `<section class="panel"><div class="panel-head"><h2>${esc(title)}</h2><a class="btn btn-secondary" href="${esc(newHref)}">New ${esc(CLIENT_NOUNS[g.kind])}</a></div>
${table(['Client ID', what, 'Secrets', 'Source'], rows, 'None yet.')}</section>`;
    })
    .join('\n');
}

/** The console's own OIDC client: read-only like the config file's, but made by eidhub. */
const isConsoleClient = (c: RegisteredClient) => c.kind === 'oidc' && c.clientId === CONSOLE_CLIENT_ID;

/** The form of a new client or SP, or of its settings (`readOnly`: why it cannot be changed). */
export function settingsFormBody(options: { action: string; csrf: string; fields: string; readOnly: 'config' | 'built-in' | false; submit: string }): string {
  if (options.readOnly) {
    const why = options.readOnly === 'built-in' ? 'This is the console\'s own client, which eidhub makes while config <code>admins</code> lists someone.' : 'This comes from the config file: it is shown here, and changed only in the file.';
    return `<p class="alert">${why}</p><fieldset class="form-grid" disabled>${options.fields}</fieldset>`;
  }
  return postForm(options.action, options.csrf, `<div class="form-grid">${options.fields}</div><div class="actions"><button type="submit" class="btn btn-primary btn-inline">${esc(options.submit)}</button></div>`, ' class="main-form" novalidate');
}

/** A client's page: its settings form, its secrets, and its deletion. */
export function clientBody(options: { client: RegisteredClient; form: string; secrets: readonly SecretInfo[]; csrf: string }): string {
  const { client, csrf } = options;
  const path = clientPath(refOf(client));
  const rows = options.secrets.map(
    (s) =>
      `<tr><td><code>${esc(s.name)}</code></td><td>${s.createdAt === undefined ? '<span class="muted">config file</span>' : esc(iso(s.createdAt))}</td><td>${s.lastUsedAt === undefined ? '<span class="muted">never</span>' : esc(iso(s.lastUsedAt))}</td><td>${
        client.readOnly ? '' : postForm(`${path}/secrets/${encodeURIComponent(s.name)}/revoke`, csrf, `<button type="submit" class="btn btn-danger-quiet" data-confirm="Revoke secret ${esc(s.name)}? It stops working at once.">Revoke</button>`)
      }</td></tr>`,
  );
  const addSecret = client.readOnly
    ? ''
    : postForm(
        `${path}/secrets`,
        csrf,
        `<div class="field inline-field"><label for="secret-name">New secret's name</label><p class="hint" id="secret-name-hint">A label that tells the secrets apart, e.g. 2026-12. The value is shown once.</p><div class="row"><input id="secret-name" name="name" required pattern="[A-Za-z0-9._\\-]{1,64}" aria-describedby="secret-name-hint" autocomplete="off"><button type="submit" class="btn btn-secondary">Create secret</button></div></div>`,
        ' class="main-form"',
      );
  const danger = client.readOnly
    ? ''
    : `<section class="panel danger-zone"><h2>Delete this client</h2><p class="muted">Its secrets stop working and its logins are refused, at once, on every server.</p>${postForm(
        `${path}/delete`,
        csrf,
        `<button type="submit" class="btn btn-danger" data-confirm="Delete ${esc(client.clientId)}? This cannot be undone.">Delete ${esc(client.clientId)}</button>`,
      )}</section>`;
  return `<section class="panel"><h2>Settings</h2>${options.form}</section>
<section class="panel"><h2>Secrets</h2>${client.secretHashes.length === 0 && options.secrets.length === 0 ? '<p class="muted">A public client: it has no secret, and PKCE is always required.</p>' : ''}
${table(['Name', 'Created', 'Last used', ''], rows, 'No secrets.')}${addSecret}</section>
${danger}`;
}

/** A secret just made: its value, this once, with a copy button. */
export function secretBody(client: ClientRef, secret: NewSecret): string {
  return `<section class="panel narrow">
<p class="alert alert-warning" role="alert"><strong>Copy this secret now.</strong> It is shown this once: eidhub keeps only its hash.</p>
<div class="field"><label for="secret-value">Secret <code>${esc(secret.name)}</code> of <code>${esc(client.clientId)}</code></label>
<div class="row"><input id="secret-value" class="secret" value="${esc(secret.value)}" readonly spellcheck="false" autocomplete="off"><button type="button" class="btn btn-secondary" id="copy-secret" data-copy="secret-value" hidden>Copy</button></div>
<p class="hint" id="copy-status" role="status"></p></div>
<p><a class="btn btn-primary btn-inline" href="${esc(clientPath(client))}">I have copied it</a></p>
</section>`;
}

/** Where a SAML service provider's page is (its entityID, a URL itself, goes in the query). */
export const spPath = (entityId: string, action = '') => `${CONSOLE_PATH}/saml/sp${action}?entityId=${encodeURIComponent(entityId)}`;

/** When the first of an SP's certificates ends, and whether that is soon (30 days). */
function certificateEnd(sp: ServiceProviderView, now: number): string {
  const ends = [...sp.signingCertificates, ...sp.encryptionCertificates].map((c) => Date.parse(c.notAfter));
  if (ends.length === 0) return '<span class="muted">none</span>';
  const first = Math.min(...ends);
  const text = esc(new Date(first).toISOString().slice(0, 10));
  return first < now ? badge(`expired ${new Date(first).toISOString().slice(0, 10)}`, 'danger') : first - now < 30 * 86_400_000 ? badge(`ends ${text}`, 'danger') : text;
}

/** Every SAML service provider: the config file's marked read-only. */
export function spsBody(sps: readonly ServiceProviderView[], now: number): string {
  const rows = sps.map(
    (sp) =>
      `<tr><td><a href="${esc(spPath(sp.entityId))}"><code>${esc(sp.entityId)}</code></a></td><td>${sp.assertionConsumerServices.map((a) => `<code>${esc(a.location)}</code>`).join('<br>')}</td><td>${certificateEnd(sp, now)}</td><td>${
        sp.readOnly ? badge('config file · read-only') : badge('stored', 'brand')
      }</td></tr>`,
  );
  return `<section class="panel"><div class="panel-head"><h2>Service providers</h2><a class="btn btn-secondary" href="${CONSOLE_PATH}/saml/new">New service provider</a></div>
${table(['Entity ID', 'Assertion consumer services', 'Certificates until', 'Source'], rows, 'None yet.')}
<p class="hint">eidhub's own metadata, to give a service provider: <a href="/auth/saml/metadata"><code>/auth/saml/metadata</code></a></p></section>`;
}

/** A SAML SP's page: its settings form, what its metadata says, and its removal. */
export function spBody(options: { sp: ServiceProviderView; form: string; csrf: string }): string {
  const { sp, csrf } = options;
  const certs = (list: readonly CertificateView[]) =>
    list.map((c) => `<tr><td>${esc(c.subject)}</td><td>${esc(c.notAfter.slice(0, 10))}</td><td><code>${esc(c.sha256Fingerprint)}</code></td></tr>`);
  const danger = sp.readOnly
    ? ''
    : `<section class="panel danger-zone"><h2>Remove this service provider</h2><p class="muted">Its requests are refused at once, on every server.</p>${postForm(
        spPath(sp.entityId, '/delete'),
        csrf,
        `<button type="submit" class="btn btn-danger" data-confirm="Remove ${esc(sp.entityId)}?">Remove</button>`,
      )}</section>`;
  return `<section class="panel"><h2>What its metadata says</h2>
<p><strong>Assertion consumer services</strong></p>${table(['Location'], sp.assertionConsumerServices.map((a) => `<tr><td><code>${esc(a.location)}</code></td></tr>`), 'None.')}
<p><strong>Single logout</strong></p>${table(['Binding', 'Location'], sp.singleLogoutServices.map((l) => `<tr><td><code>${esc(l.binding.replace(/^urn:oasis:names:tc:SAML:2\.0:bindings:/, ''))}</code></td><td><code>${esc(l.location)}</code></td></tr>`), 'None.')}
<p><strong>Signing certificates</strong></p>${table(['Subject', 'Until', 'SHA-256'], certs(sp.signingCertificates), 'None: its requests cannot be signed.')}
<p><strong>Encryption certificates</strong></p>${table(['Subject', 'Until', 'SHA-256'], certs(sp.encryptionCertificates), 'None: assertions go unencrypted.')}
</section>
<section class="panel"><h2>Settings</h2>${options.form}</section>
${danger}`;
}

/** The overview: the charts and the totals per country. */
export function overviewBody(options: { smsChart: string; loginChart: string; totals: readonly { country: string; sent: number; failed: number; logins: number }[]; days: number }): string {
  const rows = options.totals.map((t) => `<tr><td>${esc(t.country)}</td><td class="num">${t.sent}</td><td class="num">${t.failed}</td><td class="num">${t.logins}</td></tr>`);
  return `<p class="muted">The last ${options.days} days, per UTC day and country. Figures come from the audit log.</p>
<section class="panel">${options.smsChart}</section>
<section class="panel">${options.loginChart}</section>
<section class="panel"><h2>By country</h2>${table(['Country', 'SMS sent', 'SMS failed', 'Successful logins'], rows, 'No SMS and no logins in this period.')}</section>`;
}

/** The audit log viewer: its filters, a page of events, the next page and the CSV export. */
export function auditBody(options: { filters: Readonly<Record<'from' | 'to' | 'clientId' | 'type', string>>; events: readonly AuditEvent[]; nextHref: string | undefined; csvHref: string; error: string | undefined }): string {
  const f = options.filters;
  const input = (name: keyof typeof f, label: string, hint: string, type = 'text') =>
    `<div class="field"><label for="q-${name}">${label}</label><p class="hint">${hint}</p><input id="q-${name}" name="${name}" type="${type}" value="${esc(f[name])}" autocomplete="off" spellcheck="false"></div>`;
  const rows = options.events.map((e) => {
    const data = e.data && Object.keys(e.data).length > 0 ? `<code class="data">${esc(JSON.stringify(e.data))}</code>` : '';
    return `<tr><td class="nowrap">${esc(iso(e.at))}</td><td><code>${esc(e.type)}</code></td><td>${e.clientId ? `<code>${esc(e.clientId)}</code>` : ''}</td><td>${data}</td></tr>`;
  });
  return `<section class="panel"><form method="get" action="${CONSOLE_PATH}/audit" class="filters">
${input('from', 'From', 'Date or date-time (UTC)')}${input('to', 'To', 'Exclusive')}${input('clientId', 'Client ID', 'A realm client: realm/id')}${input('type', 'Event types', 'Comma-separated')}
<div class="actions"><button type="submit" class="btn btn-secondary">Filter</button><a class="btn btn-quiet" href="${CONSOLE_PATH}/audit">Clear</a><a class="btn btn-quiet" href="${esc(options.csvHref)}" download>Export CSV</a></div>
</form>${options.error ? `<p class="alert alert-danger" role="alert">${esc(options.error)}</p>` : ''}</section>
<section class="panel">${table(['Time', 'Event', 'Client', 'Details'], rows, 'No events match.')}
${options.nextHref ? `<p><a class="btn btn-secondary" href="${esc(options.nextHref)}">Older events</a></p>` : ''}</section>`;
}

const CONSOLE_STYLES = `
body.console{background:var(--bg)}
.bar{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.75rem 1.25rem;background:var(--surface);border-bottom:1px solid var(--line)}
.brand{display:inline-flex;align-items:center;gap:.5rem;color:var(--text);font-weight:650;text-decoration:none}
.brand-icon{width:22px;height:22px;color:var(--primary)}
.nav{display:flex;flex-wrap:wrap;gap:.25rem;flex:1}
.nav a{padding:.5rem .75rem;border-radius:8px;color:var(--text);text-decoration:none;font-weight:500}
.nav a:hover{background:var(--neutral-soft)}
.nav a[aria-current=page]{background:var(--brand-soft);color:var(--primary)}
.who{display:flex;align-items:center;gap:.5rem;font-size:.9375rem}
.content{max-width:1100px;margin:0 auto;padding:1.5rem 1.25rem 3rem}
.content h1{margin:0 0 1rem}
.panel{background:var(--surface);border:1px solid var(--line);border-radius:14px;box-shadow:var(--shadow);padding:1.25rem 1.25rem 1rem;margin:0 0 1.25rem}
.panel.narrow{max-width:560px}
.panel h2{margin:0 0 .75rem;font-size:1.125rem}
.panel-head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem;margin-bottom:.75rem}
.panel-head h2{margin:0}
.muted{color:var(--muted)}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{width:100%;border-collapse:collapse;font-size:.9375rem}
th,td{text-align:left;vertical-align:top;padding:.5rem .625rem;border-bottom:1px solid var(--line)}
th{font-weight:600;color:var(--muted);font-size:.8125rem;text-transform:uppercase;letter-spacing:.03em}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.nowrap{white-space:nowrap}
code{font-family:ui-monospace,"SF Mono","Cascadia Mono","Roboto Mono",Menlo,Consolas,monospace;font-size:.875em;overflow-wrap:anywhere}
code.data{font-size:.8125rem;color:var(--muted)}
.tag{display:inline-block;padding:.125rem .5rem;border-radius:999px;font-size:.8125rem;font-weight:500;white-space:nowrap}
.tag-neutral{background:var(--neutral-soft);color:var(--muted)}
.tag-brand{background:var(--brand-soft);color:var(--primary)}
.form-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:1.25rem 1.5rem;border:0;margin:0;padding:0;min-width:0}
fieldset.field{border:0;margin:0;padding:0;min-width:0}
legend{font-weight:600;padding:0;margin-bottom:.125rem}
.optional{font-weight:400;color:var(--muted);font-size:.875rem}
textarea,select{width:100%;padding:.625rem .875rem;font:inherit;color:var(--text);background:var(--field);border:1px solid var(--field-line);border-radius:10px}
textarea{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.875rem;min-height:5.5rem;resize:vertical}
select{min-height:48px}
textarea:focus,select:focus{outline:3px solid var(--focus);outline-offset:1px;border-color:var(--focus)}
.has-error textarea,.has-error select{border-color:var(--danger);border-width:2px}
input[readonly]{background:var(--neutral-soft)}
input[type=checkbox]{width:1.125rem;height:1.125rem;min-height:0;margin:0;accent-color:var(--primary)}
.check label,.choice{display:inline-flex;align-items:center;gap:.5rem;font-weight:500}
.choices-row{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem}
.field-error{display:block}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-top:.5rem}
.btn-inline{width:auto;padding-left:1.5rem;padding-right:1.5rem}
.btn-secondary{background:var(--surface);color:var(--primary);border-color:var(--field-line)}
.btn-secondary:hover{background:var(--brand-soft)}
.btn-danger{background:var(--danger);color:var(--surface)}
.btn-danger-quiet{background:none;color:var(--danger);font-weight:500;min-height:36px}
.btn-danger-quiet:hover{background:var(--danger-soft)}
.danger-zone{border-color:var(--danger)}
.row{display:flex;gap:.5rem;align-items:stretch}
.row input{flex:1}
.inline-field{margin-top:1rem;max-width:560px}
.secret{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1rem}
.alert{padding:.75rem 1rem;border-radius:10px;background:var(--neutral-soft);margin:0 0 1rem}
.alert-danger{background:var(--danger-soft);color:var(--danger);font-weight:500}
.alert-warning{background:var(--brand-soft)}
.notice{margin:0 0 1rem}
.wide{grid-column:1/-1}
.file-pick input[type=file]{min-height:0;border:0;padding:.25rem 0;background:none;font-size:.875rem}
.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:1rem}
.filters .actions{grid-column:1/-1}
.chart{margin:0}
.chart figcaption{margin-bottom:.5rem}
.chart > svg{width:100%;height:220px;display:block}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .axis{fill:var(--muted);font-size:11px}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;padding:0;margin:.5rem 0 0;font-size:.875rem}
.legend li{display:inline-flex;align-items:center;gap:.375rem}
.legend .swatch{width:12px;height:12px;flex:none}
@media (max-width:600px){.bar{padding:.5rem .75rem}.nav{order:3;flex-basis:100%;flex-wrap:nowrap;overflow-x:auto}.who{margin-left:auto}
.content{padding:1rem .75rem 2rem}.panel{padding:1rem .875rem;border-radius:12px}.form-grid{grid-template-columns:1fr}}
`;

/* Not transpiled: syntax older phone browsers still parse. */
const CONSOLE_SCRIPT = `
(function () {
  'use strict';
  var copy = document.getElementById('copy-secret');
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      var input = document.getElementById(copy.getAttribute('data-copy'));
      var status = document.getElementById('copy-status');
      navigator.clipboard.writeText(input.value).then(function () { status.textContent = 'Copied.'; copy.textContent = 'Copied'; },
        function () { input.select(); status.textContent = 'Select the secret and copy it.'; });
    });
  }
  document.querySelectorAll('input[type=file][data-into]').forEach(function (input) {
    input.closest('.file-pick').hidden = false;
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      if (!file) return;
      file.text().then(function (text) { document.getElementById(input.getAttribute('data-into')).value = text; });
    });
  });
  document.querySelectorAll('[data-confirm]').forEach(function (button) {
    button.addEventListener('click', function (event) { if (!window.confirm(button.getAttribute('data-confirm'))) event.preventDefault(); });
  });
})();
`;
