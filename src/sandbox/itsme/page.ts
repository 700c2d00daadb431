/**
 * The simulator's pages: the consent page a person confirms or rejects, and the error page. No
 * script at all and no external resource: the CSP is `default-src 'none'` with a nonce for the
 * one style element. Plain forms with labelled fields work with a keyboard, a screen reader and
 * on a phone.
 */
import { contentSecurityPolicy, newNonce } from '../../http/security.js';
import { escapeHtml } from '../../ui/i18n.js';
import { documentHead } from '../../ui/templates.js';
import { fullName, TEST_IDENTITIES, type TestIdentity } from './identities.js';
import { interactionPath } from './paths.js';

export interface SimulatorPage {
  html: string;
  headers: Record<string, string>;
}

/** Where a page's forms may lead: the simulator itself, and the client the answer goes back to (form-action holds for the redirects after a post). */
function page(title: string, body: string, formActionOrigins: string[]): SimulatorPage {
  const nonce = newNonce();
  const html = `${documentHead({ lang: 'en', titleHtml: `${escapeHtml(title)} · itsme® sandbox`, nonce, styles: STYLES })}
<body>
<main class="card" aria-labelledby="heading">
<p class="banner">itsme® sandbox: a simulator with test identities, for development only</p>
<h1 id="heading">${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': contentSecurityPolicy({ nonce, frameAncestors: ["'none'"], formActionOrigins }),
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    },
  };
}

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

function identityChoice(identity: TestIdentity, checked: boolean): string {
  const id = `identity-${identity.id}`;
  const born = DATE.format(new Date(`${identity.birthdate}T00:00:00Z`));
  return `<div class="choice">
<input type="radio" name="identity" id="${id}" value="${escapeHtml(identity.id)}"${checked ? ' checked' : ''}>
<label for="${id}"><span class="name">${escapeHtml(fullName(identity))}</span><span class="details">${identity.gender === 'female' ? 'Female' : 'Male'}, born ${escapeHtml(born)}</span></label>
</div>`;
}

/** What each scope shares, in the words of itsme's consent screen. */
const SHARED_DATA: Readonly<Record<string, string>> = {
  openid: 'an identifier of your itsme account',
  profile: 'your name, gender and date of birth',
};

export interface ConsentView {
  uid: string;
  clientId: string;
  /** The scopes the client asked for. */
  scopes: string[];
  /** The origin of the client's redirect URI, where the answer goes. */
  clientOrigin: string;
}

export function consentPage(view: ConsentView): SimulatorPage {
  const action = interactionPath(view.uid);
  const client = `<strong>${escapeHtml(view.clientId)}</strong>`;
  const shared = view.scopes.flatMap((scope) => SHARED_DATA[scope] ?? []);
  const body = `<p class="lead">${client} asks who you are. In itsme's test environment you pick a test identity and confirm, as a person would in the itsme app.</p>
<form method="post" action="${escapeHtml(`${action}/confirm`)}" class="consent">
<fieldset>
<legend>Test identity</legend>
${TEST_IDENTITIES.map((identity, i) => identityChoice(identity, i === 0)).join('\n')}
</fieldset>
${shared.length > 0 ? `<p class="shared">Shared with ${client}: ${escapeHtml(shared.join('; '))}.</p>` : ''}
<button type="submit" class="btn btn-primary">Confirm</button>
</form>
<form method="post" action="${escapeHtml(`${action}/reject`)}">
<button type="submit" class="btn btn-secondary">Reject</button>
</form>`;
  // The answer's redirects go on past the client (a broker such as eidhub sends the browser on to its
  // own relying party, whose origin the simulator cannot know), and form-action holds for every
  // redirect after the post; in itsme the person confirms in the app, so no form of theirs is in
  // that chain. The page has no script and no input but its own, so any destination is allowed.
  return page('Confirm in itsme®', body, [view.clientOrigin, '*']);
}

/** A refusal or failure, in words a person can act on, with the protocol's error for the developer. */
export function errorPage(message: string, technical?: string): SimulatorPage {
  const detail = technical ? `<p class="technical">${escapeHtml(technical)}</p>` : '';
  return page('Unable to continue', `<p class="lead" role="alert">${escapeHtml(message)}</p>${detail}`, []);
}

/*
 * Colours meet WCAG AA in both schemes: text ≥ 4.5:1 on its surface, the button's label on the
 * button ≥ 4.5:1, borders and focus rings ≥ 3:1. The accent is itsme's orange, darkened for contrast.
 */
const STYLES = `
:root{--bg:#f4f1ee;--surface:#fff;--text:#14171c;--muted:#4b5563;--line:#e5e0db;--field-line:#6b7280;--accent:#b8330b;--on-accent:#fff;
--chosen:#fff3ee;--banner:#fff3ee;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0f1115;--surface:#1a1d23;--text:#eef1f6;--muted:#a9b3c2;--line:#2c313b;--field-line:#7c8799;
--accent:#ff8a5c;--on-accent:#1a1d23;--chosen:#2a211d;--banner:#2a211d}}
*,*::before,*::after{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;justify-content:center;align-items:flex-start;padding:2rem 1rem;background:var(--bg);color:var(--text);
font:400 1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Noto Sans",Arial,sans-serif}
.card{width:100%;max-width:440px;background:var(--surface);border:1px solid var(--line);border-radius:16px;padding:1.5rem 1.5rem 1.25rem}
.banner{margin:0 0 1rem;padding:.5rem .75rem;border-radius:8px;background:var(--banner);color:var(--text);font-size:.875rem}
h1{margin:0 0 .5rem;font-size:1.5rem;line-height:1.25}
.lead{margin:0 0 1.25rem;color:var(--muted)}
.lead strong{color:var(--text)}
fieldset{margin:0 0 1rem;padding:0;border:0}
legend{padding:0;font-weight:650;margin-bottom:.5rem}
.choice{position:relative;margin-bottom:.5rem}
.choice input{position:absolute;left:1rem;top:1.1rem;width:1.25rem;height:1.25rem;margin:0;accent-color:var(--accent)}
.choice label{display:flex;flex-direction:column;min-height:48px;padding:.625rem .875rem .625rem 3rem;border:1px solid var(--field-line);border-radius:10px;cursor:pointer}
.choice input:checked+label{border:2px solid var(--accent);background:var(--chosen);padding:calc(.625rem - 1px) calc(.875rem - 1px) calc(.625rem - 1px) calc(3rem - 1px)}
.choice input:focus-visible+label{outline:3px solid var(--accent);outline-offset:2px}
.name{font-weight:600}
.details{color:var(--muted);font-size:.9375rem}
.shared{margin:0 0 1rem;color:var(--muted);font-size:.9375rem}
.btn{display:flex;width:100%;align-items:center;justify-content:center;min-height:48px;padding:.5rem 1rem;font:inherit;font-weight:600;border-radius:10px;cursor:pointer}
.btn:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.btn-primary{background:var(--accent);color:var(--on-accent);border:1px solid var(--accent)}
.btn-secondary{margin-top:.75rem;background:none;color:var(--text);border:1px solid var(--field-line)}
.technical{margin:0;color:var(--muted);font:.8125rem/1.4 ui-monospace,"SF Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
@media (max-width:480px){body{padding:0;background:var(--surface)}.card{border:0;border-radius:0;padding:1.25rem}}
@media (forced-colors:active){.choice input:checked+label{border-color:Highlight}.btn{border:1px solid ButtonText}}
`;
