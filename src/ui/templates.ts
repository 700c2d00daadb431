/**
 * HTML of the hosted pages, rendered from a `PageModel`. Every page works without JavaScript:
 * each step is a plain form; the one inline script only adds conveniences (WebOTP, the resend
 * countdown, auto-continue). No external resources, so the CSP can stay `default-src 'none'`.
 */
import { escapeHtml, type Translate } from './i18n.js';
import { hiddenInputs, icon, stepKit, submitButton, type IconName, type StepContent, type Tone } from './kit.js';
import type { Language } from './languages.js';
import type { Outcome, PageMessageKey, PageModel, PageStep } from './view.js';

type Step<K extends PageStep['kind']> = Extract<PageStep, { kind: K }>;

const PRODUCT_NAME = 'eidhub';

/**
 * A GET form replaces the action's query with its fields, so the target's query parameters
 * travel as hidden inputs; the fragment stays on the action. Only the URL's own parameters are
 * sent: the page's CSRF fields must not leak to the relying party.
 */
function continueForm(url: string, button: string): string {
  const hashAt = url.indexOf('#');
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const hash = hashAt === -1 ? '' : url.slice(hashAt);
  const queryAt = beforeHash.indexOf('?');
  const action = (queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt)) + hash;
  const query = new URLSearchParams(queryAt === -1 ? '' : beforeHash.slice(queryAt + 1));
  const inputs = Array.from(query, ([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`);
  return `<form method="get" action="${escapeHtml(action)}" id="continue-form" class="main-form">${inputs.join('')}${button}</form>`;
}

/**
 * A POST form that carries `fields` to `url` (a protocol's answer by HTTP-POST, e.g. a SAML
 * Response): the script submits it, and without JavaScript the person presses its button.
 */
function continuePostForm(url: string, fields: Readonly<Record<string, string>>, button: string): string {
  return `<form method="post" action="${escapeHtml(url)}" id="continue-form" class="main-form">${hiddenInputs(fields)}${button}</form>`;
}

const OUTCOME_LOOK = {
  success: { icon: 'check', tone: 'success' },
  abort: { icon: 'cross', tone: 'neutral' },
  error: { icon: 'alert', tone: 'danger' },
} as const satisfies Record<Outcome, { icon: IconName; tone: Tone }>;

function continueStep(model: PageModel, step: Step<'continue'>, t: Translate): StepContent {
  const returning = model.clientName
    ? t('continue.returning', { clientName: model.clientName })
    : t('continue.returningGeneric');
  const button = submitButton(t('continue.submit'), 'btn-primary');
  const form = step.method === 'post' ? continuePostForm(step.url, step.fields ?? {}, button) : continueForm(step.url, button);
  return {
    heading: t(`continue.${step.outcome}.heading`),
    ...OUTCOME_LOOK[step.outcome],
    body: `<p class="lead returning"><span class="spinner" aria-hidden="true"></span><span>${returning}</span></p>
<noscript><p class="hint">${t('continue.noscript')}</p></noscript>
${form}${notifyData(step.notify)}`,
  };
}

/**
 * The provider chooser: a list with one form per provider, each with one button naming it (and
 * sending its id as `provider`), so each choice is its own list item, reached by Tab and pressed
 * with Enter, without JavaScript.
 */
function chooseStep(model: PageModel, step: Step<'choose'>, t: Translate): StepContent {
  const kit = stepKit({ lang: model.lang, t, actionBase: model.actionBase, hidden: model.hidden });
  const items = step.providers.map((p) => {
    // The name alone: a sentence around it would need each language's grammatical case.
    const name = p.text !== undefined ? escapeHtml(p.text) : p.name ? t(p.name) : escapeHtml(p.id);
    const button = submitButton(name, 'btn-choice', ` name="provider" value="${escapeHtml(p.id)}"`);
    return `<li>${kit.postForm('choose', button)}</li>`;
  });
  return {
    heading: t('choose.heading'),
    icon: 'user',
    tone: 'brand',
    body: `<p class="lead">${t('choose.intro')}</p>
<ul class="choices" role="list" aria-label="${t('choose.list')}">
${items.join('\n')}
</ul>
<div class="card-foot">${kit.cancelForm()}</div>`,
  };
}

/** The answer went by the back channel (e.g. to the service's server): the person is told they are done here. */
function doneStep(step: Step<'done'>, t: Translate): StepContent {
  return { heading: t(`continue.${step.outcome}.heading`), ...OUTCOME_LOOK[step.outcome], body: `<p class="lead">${t('done.body')}</p>` };
}

/**
 * What the script posts to the parent frame, as inert JSON data (`<` escaped, so the text can
 * never close the script element).
 */
function notifyData(notify: Step<'continue'>['notify']): string {
  if (!notify || notify.targetOrigins.length === 0) return '';
  const json = JSON.stringify(notify).replace(/</g, '\\u003c');
  return `<script type="application/json" id="notify">${json}</script>`;
}

/** Only web addresses may become a link; anything else (e.g. `javascript:`) is dropped. */
function isWebUrl(url: string): boolean {
  return /^(https?:\/\/|\/(?!\/))/i.test(url);
}

function errorStep(model: PageModel, step: Step<'error'>, t: Translate): StepContent {
  const label = model.clientName ? t('error.back', { clientName: model.clientName }) : t('error.backGeneric');
  const back =
    step.backUrl && isWebUrl(step.backUrl) ? `<a class="btn btn-primary" href="${escapeHtml(step.backUrl)}">${label}</a>` : '';
  return {
    heading: t('error.heading'),
    icon: 'alert',
    tone: 'danger',
    body: `<p class="lead">${t(step.message)}</p>${back}`,
  };
}

/**
 * The logout confirmation: "yes" sends `logout=yes` with oidc-provider's form, "no" the form alone
 * (oidc-provider then keeps the session and still returns to the relying party).
 */
function logoutStep(step: Step<'logout'>, t: Translate): StepContent {
  const form = escapeHtml(step.formId);
  return {
    heading: t('logout.heading'),
    icon: 'user',
    tone: 'neutral',
    body: `<p class="lead">${t('logout.intro', { host: step.host })}</p>
${step.formHtml}
<div class="main-form">${submitButton(t('logout.confirm'), 'btn-primary', ` form="${form}" name="logout" value="yes" autofocus`)}${submitButton(t('logout.stay'), 'btn-quiet', ` form="${form}"`)}</div>`,
  };
}

function loggedOutStep(model: PageModel, t: Translate): StepContent {
  const body = model.clientName ? t('loggedOut.body', { clientName: model.clientName }) : t('loggedOut.bodyGeneric');
  return { heading: t('loggedOut.heading'), icon: 'check', tone: 'success', body: `<p class="lead">${body}</p>` };
}

function stepContent(model: PageModel, t: Translate): StepContent {
  const step = model.step;
  switch (step.kind) {
    case 'step':
      return step.render(stepKit({ lang: model.lang, t, actionBase: model.actionBase, hidden: model.hidden }));
    case 'continue':
      return continueStep(model, step, t);
    case 'choose':
      return chooseStep(model, step, t);
    case 'done':
      return doneStep(step, t);
    case 'logout':
      return logoutStep(step, t);
    case 'loggedOut':
      return loggedOutStep(model, t);
    case 'error':
      return errorStep(model, step, t);
  }
}

/**
 * The start of an HTML5 document of eidhub's pages, up to `</head>`: no external resources, the
 * styles inline under the CSP's nonce, kept out of search engines. `titleHtml` is HTML (escaped).
 */
export function documentHead(options: { lang: string; titleHtml: string; nonce: string; styles: string }): string {
  return `<!doctype html>
<html lang="${escapeHtml(options.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex, nofollow">
<title>${options.titleHtml}</title>
<link rel="icon" href="data:,">
<style nonce="${escapeHtml(options.nonce)}">${options.styles}</style>
</head>`;
}

/** A complete HTML5 document for one step of the hosted login. */
export function renderPage(model: PageModel, t: Translate): string {
  const content = stepContent(model, t);
  const loggingOut = model.step.kind === 'logout' || model.step.kind === 'loggedOut';
  const context = loggingOut ? t('logout.context') : model.clientName ? t('page.loginTo', { clientName: model.clientName }) : t('page.login');
  const nonce = escapeHtml(model.cspNonce);
  // A frame sits inside the relying party's own page, which already names the service, and may be
  // as small as 350×600: the form steps leave out the header; outcome pages keep their status icon.
  const head =
    model.embedded && content.tone === 'brand'
      ? ''
      : `<div class="card-head">
<span class="badge badge-${content.tone}">${icon(content.icon, 'badge-icon')}</span>
<p class="context">${context}</p>
</div>
`;
  const footer = model.embedded
    ? ''
    : `<footer class="footer">${icon('lock', 'footer-icon')}<span>${t('page.poweredBy', { product: PRODUCT_NAME })}</span></footer>`;
  return `${documentHead({ lang: model.lang, titleHtml: `${content.heading} · ${context}`, nonce: model.cspNonce, styles: PAGE_STYLES })}
<body class="${model.embedded ? 'embedded' : 'standalone'}">
<div class="page">
<main class="card" aria-labelledby="heading">
${head}<h1 id="heading">${content.heading}</h1>
${content.body}
</main>
${footer}
</div>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

/**
 * An error page for requests that have no login to show (unknown or expired link, rate limit,
 * internal error): the same frame as `renderPage` without forms.
 */
export function renderErrorPage(
  options: {
    lang: Language;
    message: PageMessageKey;
    cspNonce: string;
    clientName?: string | undefined;
    backUrl?: string | undefined;
    embedded?: boolean | undefined;
  },
  t: Translate,
): string {
  return renderPage(
    {
      lang: options.lang,
      clientName: options.clientName,
      step: { kind: 'error', message: options.message, backUrl: options.backUrl },
      actionBase: '',
      hidden: {},
      cspNonce: options.cspNonce,
      publicHost: '',
      embedded: options.embedded ?? false,
    },
    t,
  );
}

/*
 * Colours are chosen for WCAG AA: body and muted text ≥ 4.5:1 on their surface, field borders
 * and focus rings ≥ 3:1 (checked for both schemes). The admin console builds on these too, so it
 * has the hosted pages' look.
 */
export const PAGE_STYLES = `
:root{--bg:#eef1f5;--surface:#fff;--text:#111827;--muted:#4b5563;--line:#e3e7ee;--field:#fff;--field-line:#6b7280;
--primary:#1d4ed8;--primary-hover:#1e40af;--on-primary:#fff;--link:#1d4ed8;--focus:#1d4ed8;
--brand-soft:#e8efff;--danger:#b91c1c;--danger-soft:#fdeeee;--success:#047857;--success-soft:#e3f6ee;--neutral-soft:#eef0f3;
--shadow:0 1px 2px rgba(15,23,42,.05),0 12px 32px -12px rgba(15,23,42,.18);color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0b1018;--surface:#151c27;--text:#eef1f6;--muted:#a9b3c2;--line:#273142;--field:#0f151f;
--field-line:#7c8799;--primary:#8db4ff;--primary-hover:#b0cbff;--on-primary:#0b1530;--link:#9dbfff;--focus:#9dbfff;
--brand-soft:#1c2a45;--danger:#ff9b95;--danger-soft:#3a1d22;--success:#6fdcaa;--success-soft:#15332a;--neutral-soft:#222b38;
--shadow:0 1px 2px rgba(0,0,0,.4),0 16px 40px -16px rgba(0,0,0,.6)}}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:400 1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Noto Sans",Arial,sans-serif}
.page{min-height:100vh;min-height:100dvh;display:flex;flex-direction:column;align-items:center;justify-content:center;padding:2rem 1rem 1.5rem;gap:1.25rem}
.card{width:100%;max-width:420px;background:var(--surface);border:1px solid var(--line);border-radius:16px;box-shadow:var(--shadow);padding:2rem 2rem 1.25rem}
.card-head{display:flex;align-items:center;gap:.75rem;margin-bottom:1.25rem}
.badge{flex:none;display:inline-flex;align-items:center;justify-content:center;width:44px;height:44px;border-radius:12px}
.badge-brand{background:var(--brand-soft);color:var(--primary)}
.badge-success{background:var(--success-soft);color:var(--success)}
.badge-neutral{background:var(--neutral-soft);color:var(--muted)}
.badge-danger{background:var(--danger-soft);color:var(--danger)}
.badge-icon{width:24px;height:24px}
.context{margin:0;color:var(--muted);font-size:.9375rem;font-weight:500;overflow-wrap:anywhere}
h1{margin:0 0 .5rem;font-size:1.5rem;line-height:1.25;font-weight:650;letter-spacing:-.01em;overflow-wrap:break-word}
.lead{margin:0 0 1.5rem;color:var(--muted)}
.phone-number{color:var(--text);font-weight:600;white-space:nowrap;font-variant-numeric:tabular-nums}
.main-form{display:flex;flex-direction:column;gap:1.25rem}
.field{display:flex;flex-direction:column}
label{font-weight:600;margin-bottom:.125rem}
.hint{margin:0 0 .5rem;color:var(--muted);font-size:.875rem}
input{width:100%;min-height:48px;padding:.625rem .875rem;font:inherit;font-size:1.0625rem;color:var(--text);background:var(--field);border:1px solid var(--field-line);border-radius:10px;transition:border-color .15s,box-shadow .15s}
input:focus{outline:3px solid var(--focus);outline-offset:1px;border-color:var(--focus)}
#code{font-size:1.5rem;font-weight:600;letter-spacing:.4em;font-variant-numeric:tabular-nums;font-family:ui-monospace,"SF Mono","Cascadia Mono","Roboto Mono",Menlo,Consolas,monospace;padding-left:1rem}
.has-error input{border-color:var(--danger);border-width:2px}
.has-error input:focus{outline-color:var(--danger)}
.field-error{display:flex;gap:.375rem;align-items:flex-start;margin:.5rem 0 0;color:var(--danger);font-size:.9375rem;font-weight:500}
.attempts{display:block;font-weight:600}
.field-error-icon{flex:none;width:18px;height:18px;margin-top:.15em}
.notice{display:flex;gap:.5rem;align-items:flex-start;margin:-.5rem 0 1.25rem;padding:.75rem .875rem;border-radius:10px;background:var(--success-soft);color:var(--text);font-size:.9375rem}
.notice-icon{flex:none;width:20px;height:20px;color:var(--success);margin-top:.1em}
.btn{display:inline-flex;align-items:center;justify-content:center;gap:.5rem;min-height:44px;padding:.5rem 1rem;font:inherit;font-weight:600;border-radius:10px;border:1px solid transparent;cursor:pointer;text-decoration:none;transition:background-color .15s,color .15s}
.btn:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.btn-primary{width:100%;min-height:48px;background:var(--primary);color:var(--on-primary)}
.btn-primary:hover{background:var(--primary-hover)}
.btn-link{padding:.5rem .25rem;font-weight:500;background:none;color:var(--link);text-decoration:underline;text-decoration-thickness:1px;text-underline-offset:3px}
.btn-link:hover{text-decoration-thickness:2px}
.btn-link:disabled{color:var(--muted);text-decoration:none;cursor:not-allowed}
.choices{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:.75rem}
.btn-choice{width:100%;min-height:52px;justify-content:flex-start;padding:.625rem 1rem;background:var(--surface);color:var(--text);border-color:var(--field-line);text-align:left}
.btn-choice:hover{border-color:var(--primary);background:var(--brand-soft)}
.btn-quiet{background:none;color:var(--muted);font-weight:500}
.btn-quiet:hover{color:var(--text);background:var(--neutral-soft)}
form.is-sending .btn-primary{opacity:.75;cursor:progress}
.more{margin-top:1.5rem;padding-top:1.25rem;border-top:1px solid var(--line)}
.more-title{margin:0;font-weight:600;font-size:.9375rem}
.more-actions{display:flex;flex-wrap:wrap;column-gap:1rem;margin-left:-.25rem}
.more-actions form{display:contents}
.more-actions .btn-link{font-size:.9375rem}
.more-hint{margin:0}
#resend-seconds{font-variant-numeric:tabular-nums}
.card-foot{display:flex;justify-content:center;margin-top:1rem}
.returning{display:flex;align-items:center;gap:.625rem}
.spinner{display:none;flex:none;width:18px;height:18px;border-radius:50%;border:2px solid var(--line);border-top-color:var(--primary);animation:spin .8s linear infinite}
.js .spinner{display:inline-block}
@keyframes spin{to{transform:rotate(360deg)}}
.card > .btn-primary{margin-top:.25rem}
.footer{display:flex;align-items:center;gap:.375rem;color:var(--muted);font-size:.8125rem}
.footer-icon{width:14px;height:14px}
@media (max-width:480px){
body.standalone{background:var(--surface)}
.standalone .page{justify-content:flex-start;padding:1.5rem 1.25rem 1.25rem}
.standalone .card{border:0;box-shadow:none;border-radius:0;padding:.5rem 0 0}
.standalone .footer{margin-top:auto}
}
body.embedded{background:var(--surface)}
.embedded .page{min-height:0;justify-content:flex-start;padding:1rem}
.embedded .card{max-width:none;border:0;box-shadow:none;border-radius:0;padding:0}
.embedded .card-head{margin-bottom:.875rem}
.embedded .badge{width:32px;height:32px;border-radius:9px}
.embedded .badge-icon{width:20px;height:20px}
.embedded h1{font-size:1.3125rem}
.embedded .lead{margin-bottom:1.125rem}
.embedded .main-form{gap:1rem}
.embedded .more{margin-top:1.125rem;padding-top:.875rem}
.embedded .card-foot{margin-top:.5rem}
@media (prefers-reduced-motion:reduce){*,*::before,*::after{transition:none!important;animation:none!important}
.js .spinner{display:none}}
@media (forced-colors:active){.btn-primary{border-color:ButtonText}.badge{border:1px solid CanvasText}}
`;

/*
 * One script for every page; each part looks for its elements, so pages without them skip it.
 * It is not transpiled, so it sticks to syntax that older phone browsers still parse.
 */
const SCRIPT = `
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  var continueForm = document.getElementById('continue-form');
  var notify = document.getElementById('notify');
  if (notify && window.parent !== window) {
    var data = JSON.parse(notify.textContent);
    data.targetOrigins.forEach(function (origin) { window.parent.postMessage(data.message, origin); });
  }
  if (continueForm) { continueForm.submit(); return; }

  // The native validation bubble speaks the browser's language; give it the page's instead.
  document.querySelectorAll('input[data-msg-required]').forEach(function (input) {
    input.addEventListener('invalid', function () {
      var v = input.validity;
      input.setCustomValidity(v.valueMissing ? input.dataset.msgRequired : (input.dataset.msgPattern || ''));
    });
    input.addEventListener('input', function () { input.setCustomValidity(''); });
  });

  // One click, one request: a double submit would spend an attempt or a code.
  document.querySelectorAll('form[method="post"]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (form.classList.contains('is-sending')) { event.preventDefault(); return; }
      form.classList.add('is-sending');
    });
  });
  window.addEventListener('pageshow', function (event) {
    if (!event.persisted) return;
    document.querySelectorAll('form.is-sending').forEach(function (form) { form.classList.remove('is-sending'); });
  });

  var code = document.getElementById('code');
  if (code) {
    // maxlength would cut a pasted "123 456" to "123 45"; keep the digits instead.
    code.addEventListener('paste', function (event) {
      var text = event.clipboardData && event.clipboardData.getData('text');
      if (!text) return;
      event.preventDefault();
      code.value = text.replace(/\\D+/g, '').slice(0, 6);
      code.setCustomValidity('');
    });
    code.addEventListener('input', function () {
      var digits = code.value.replace(/\\D+/g, '');
      if (digits !== code.value) code.value = digits;
    });
    if ('OTPCredential' in window && window.AbortController) {
      var webOtp = new AbortController();
      code.form.addEventListener('submit', function () { webOtp.abort(); });
      navigator.credentials.get({ otp: { transport: ['sms'] }, signal: webOtp.signal }).then(function (otp) {
        if (!otp || !otp.code) return;
        code.value = otp.code;
        code.form.requestSubmit ? code.form.requestSubmit() : code.form.submit();
      }).catch(function () { /* refused or aborted: typing the code still works */ });
    }
  }

  var wait = document.getElementById('resend-wait');
  var resend = document.getElementById('resend');
  if (wait && resend) {
    var seconds = document.getElementById('resend-seconds');
    var end = Date.now() + Number(wait.dataset.seconds) * 1000;
    resend.disabled = true;
    var tick = function () {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) {
        resend.disabled = false;
        resend.removeAttribute('aria-describedby');
        wait.hidden = true;
        return;
      }
      seconds.textContent = String(left);
      setTimeout(tick, ((end - Date.now()) % 1000) || 1000);
    };
    tick();
  }
})();
`;
