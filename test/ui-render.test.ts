import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OtpMessageKey, OtpView } from '../src/authenticators/otp-sms/views.js';
import { renderStep } from '../src/authenticators/otp-sms/views.js';
import { loadCatalogs, loadLocales, mergeCatalogs, missingKeys, negotiateLanguage, placeholders, SafeHtml, translator, type Locales } from '../src/ui/i18n.js';
import { LANGUAGES, type Language } from '../src/ui/languages.js';
import { renderErrorPage, renderPage } from '../src/ui/templates.js';
import type { PageMessageKey, PageModel, PageStep } from '../src/ui/view.js';

/** `satisfies` makes tsc fail when a key union gains or loses a key this list does not match. */
const MESSAGE_KEYS = [
  ...Object.keys({
    'phone.error.required': true,
    'phone.error.invalid': true,
    'phone.error.notMobile': true,
    'phone.error.premium': true,
    'phone.error.countryNotAllowed': true,
    'phone.error.tooManyForNumber': true,
    'sms.error.sendFailed': true,
    'code.error.required': true,
    'code.error.format': true,
    'code.error.wrong': true,
    'code.error.expired': true,
    'code.error.tooManyAttempts': true,
    'code.error.tooManySends': true,
    'code.notice.sent': true,
    'code.notice.resent': true,
    'code.error.resendTooSoon': true,
    'phone.error.prefixNotAllowed': true,
    'sms.error.budgetExceeded': true,
  } satisfies Record<OtpMessageKey, true>),
  ...Object.keys({
    'error.expired': true,
    'error.finished': true,
    'error.notFound': true,
    'error.otherBrowser': true,
    'error.invalidRequest': true,
    'error.csrf': true,
    'error.internal': true,
    'error.tooManyRequests': true,
  } satisfies Record<PageMessageKey, true>),
];

const PAGE_LOCALES = loadLocales();
const OTP_LOCALES = loadCatalogs(new URL('../src/authenticators/otp-sms/locales/', import.meta.url));
/** What the hosted pages speak with the SMS code authenticator registered. */
const LOCALES = mergeCatalogs([
  { source: 'the hosted pages', locales: PAGE_LOCALES },
  { source: 'otp-sms', locales: OTP_LOCALES },
]);

const HIDDEN = { csrf: 'csrf-token-1', binding: 'b"<x>' };

/** A step of the SMS code authenticator, or one of the pages' own. */
type Shown = OtpView | Exclude<PageStep, { kind: 'step' }>;

function pageStep(shown: Shown): PageStep {
  return shown.kind === 'phone' || shown.kind === 'code' ? { kind: 'step', render: (kit) => renderStep(shown, kit) } : shown;
}

function model(step: Shown, overrides: Partial<PageModel> = {}): PageModel {
  return {
    lang: 'en',
    clientName: 'Acme Bank',
    step: pageStep(step),
    actionBase: '/login/tx1',
    hidden: HIDDEN,
    cspNonce: 'nonce123',
    publicHost: 'id.example.com',
    embedded: false,
    ...overrides,
  };
}

function render(step: Shown, overrides: Partial<PageModel> = {}): string {
  const m = model(step, overrides);
  return renderPage(m, translator(m.lang, { locales: LOCALES }));
}

const phoneStep: OtpView = { kind: 'phone', phone: '+447700900000' };
const codeStep = {
  kind: 'code',
  maskedPhone: '+44 •••• ••0000',
  resendInSeconds: 0,
  sendsLeft: 2,
  attemptsLeft: 3,
} as const satisfies OtpView;

type Attributes = Map<string, string>;

const ENTITIES: Readonly<Record<string, string>> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** Start tags of one element name with their attributes, values unescaped. Enough for our own markup. */
function tags(html: string, name: string): Attributes[] {
  const result: Attributes[] = [];
  for (const match of html.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'gi'))) {
    const attributes: Attributes = new Map();
    for (const attr of (match[1] ?? '').matchAll(/([\w-]+)(?:="([^"]*)")?/g)) {
      attributes.set(attr[1] ?? '', (attr[2] ?? '').replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e));
    }
    result.push(attributes);
  }
  return result;
}

function byId(html: string, name: string, id: string): Attributes {
  const found = tags(html, name).find((a) => a.get('id') === id);
  assert.ok(found, `<${name} id="${id}"> not found`);
  return found;
}

function forms(html: string): string[] {
  return Array.from(html.matchAll(/<form\b[\s\S]*?<\/form>/g), (m) => m[0]);
}

function formAction(form: string): string {
  return tags(form, 'form')[0]?.get('action') ?? '';
}

function hiddenFields(form: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const input of tags(form, 'input').filter((a) => a.get('type') === 'hidden')) {
    fields[input.get('name') ?? ''] = input.get('value') ?? '';
  }
  return fields;
}

for (const [name, locales] of [
  ['the hosted pages', PAGE_LOCALES],
  ['otp-sms', OTP_LOCALES],
] as const satisfies ReadonlyArray<readonly [string, Locales]>) {
  describe(`locales of ${name}`, () => {
    const enKeys = Object.keys(locales.en).sort();

    it('every language has exactly the keys of en.json, none empty', () => {
      for (const lang of LANGUAGES) {
        assert.deepEqual(Object.keys(locales[lang]).sort(), enKeys, lang);
        assert.deepEqual(missingKeys(lang, locales), [], lang);
        for (const [key, value] of Object.entries(locales[lang])) assert.ok(value.trim() !== '', `${lang} ${key} is empty`);
      }
    });

    it("placeholders match en's", () => {
      for (const lang of LANGUAGES) {
        for (const key of enKeys) {
          const expected = placeholders(locales.en[key] ?? '').sort();
          assert.deepEqual(placeholders(locales[lang][key] ?? '').sort(), expected, `${lang} ${key}`);
        }
      }
    });

    it('no other language leaves a message in English', () => {
      for (const lang of LANGUAGES.filter((l) => l !== 'en')) {
        for (const key of enKeys) assert.notEqual(locales[lang][key], locales.en[key], `${lang} ${key}`);
      }
    });
  });
}

describe('locales', () => {
  it('every message key of the pages and of otp-sms has a message', () => {
    for (const key of MESSAGE_KEYS) assert.ok(key in LOCALES.en, key);
  });

  it('names each language in itself for a language picker', () => {
    assert.equal(LOCALES.el['meta.lang_name'], 'Ελληνικά');
    assert.equal(LOCALES.no['meta.lang_name'], 'Norsk');
  });

  it('refuses two catalogues that define one key, naming both', () => {
    assert.throws(
      () => mergeCatalogs([{ source: 'the hosted pages', locales: PAGE_LOCALES }, { source: 'a copy', locales: PAGE_LOCALES }]),
      /message key "meta.lang_name" is defined by both the hosted pages and a copy/,
    );
  });
});

describe('translator', () => {
  it('escapes interpolated values and passes SafeHtml through', () => {
    const t = translator('en', { locales: LOCALES });
    assert.equal(t('page.loginTo', { clientName: '<b>&"' }), 'Log in to &lt;b&gt;&amp;&quot;');
    assert.equal(t('code.intro', { phone: new SafeHtml('<strong>+44</strong>') }), 'We sent a code to <strong>+44</strong>.');
  });

  it('is strict by default under the test runner', { skip: process.env.NODE_TEST_CONTEXT === undefined }, () => {
    assert.throws(() => translator('da')('no.such.key'), /unknown key/);
  });

  it('escapes the message text itself', () => {
    assert.equal(translator('en', { locales: LOCALES })('code.resendPrompt'), 'Didn&#39;t get a code?');
  });

  it('throws on an unknown key or a missing value when strict, degrades otherwise', () => {
    const strict = translator('en', { strict: true });
    assert.throws(() => strict('no.such.key'), /unknown key/);
    assert.throws(() => strict('page.loginTo'), /missing value/);
    const lenient = translator('en', { strict: false });
    assert.equal(lenient('no.such.key'), 'no.such.key');
    assert.equal(lenient('page.loginTo'), 'Log in to {clientName}');
  });
});

describe('negotiateLanguage', () => {
  const cases: Array<[string, Parameters<typeof negotiateLanguage>[0], Language]> = [
    ['ui_locales el', { requested: 'el', acceptLanguage: 'da', fallback: 'en' }, 'el'],
    ['first supported of ui_locales', { requested: 'xx el', acceptLanguage: undefined, fallback: 'en' }, 'el'],
    ['ui_locales with region', { requested: 'sv-FI fi', acceptLanguage: undefined, fallback: 'en' }, 'sv'],
    ['REST language, upper case', { requested: 'DA', acceptLanguage: undefined, fallback: 'en' }, 'da'],
    ['Bokmål from Accept-Language', { requested: null, acceptLanguage: 'nb-NO,en;q=0.5', fallback: 'en' }, 'no'],
    ['Nynorsk', { requested: 'nn', acceptLanguage: undefined, fallback: 'en' }, 'no'],
    ['Accept-Language by q, not by order', { requested: undefined, acceptLanguage: 'en;q=0.2, fi;q=0.9', fallback: 'da' }, 'fi'],
    ['q=0 means not acceptable', { requested: undefined, acceptLanguage: 'nl;q=0, de', fallback: 'sv' }, 'sv'],
    ['unsupported requested falls to Accept-Language', { requested: 'de', acceptLanguage: 'de-DE, nl;q=0.8', fallback: 'en' }, 'nl'],
    ['nothing known: fallback', { requested: 'xx', acceptLanguage: 'de-DE,*;q=0.1', fallback: 'en' }, 'en'],
    ['empty inputs: fallback', { requested: '', acceptLanguage: '', fallback: 'da' }, 'da'],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(negotiateLanguage(input), expected));
  }
});

describe('renderPage', () => {
  it('phone step: contract markup', () => {
    const html = render(phoneStep);
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.ok(tags(html, 'meta').some((m) => m.get('name') === 'viewport'));
    const input = byId(html, 'input', 'phone');
    assert.equal(input.get('name'), 'phone');
    assert.equal(input.get('type'), 'tel');
    assert.equal(input.get('autocomplete'), 'tel');
    assert.ok(input.has('required'));
    assert.equal(input.get('value'), '+447700900000');
    assert.ok(tags(html, 'label').some((l) => l.get('for') === 'phone'));
    assert.match(html, /<label for="phone">Mobile number<\/label>/);
    assert.deepEqual(forms(html).map(formAction), ['/login/tx1/phone', '/login/tx1/cancel']);
    assert.match(html, /Log in to Acme Bank/);
  });

  it('code step: contract markup, masked number and separate small forms', () => {
    const html = render(codeStep);
    const input = byId(html, 'input', 'code');
    assert.equal(input.get('name'), 'code');
    assert.equal(input.get('autocomplete'), 'one-time-code');
    assert.equal(input.get('inputmode'), 'numeric');
    assert.equal(input.get('pattern'), '[0-9]{6}');
    assert.equal(input.get('maxlength'), '6');
    assert.ok(input.has('required'));
    assert.match(html, /<label for="code">Code from SMS<\/label>/);
    assert.match(html, /\+44 •••• ••0000/);
    assert.deepEqual(forms(html).map(formAction), [
      '/login/tx1/code',
      '/login/tx1/resend',
      '/login/tx1/change-number',
      '/login/tx1/cancel',
    ]);
  });

  it('every form has exactly one submit button, every POST form the hidden fields', () => {
    const pages = [
      render(phoneStep),
      render({ ...codeStep, resendInSeconds: 30, error: 'code.error.wrong', notice: 'code.notice.resent' }),
      render({ kind: 'continue', method: 'get', url: 'https://rp.example/cb?code=a&state=b', outcome: 'success' }),
      render({ kind: 'choose', providers: [{ id: 'otp-sms', name: 'sms.displayName' }, { id: 'other', name: undefined }] }),
    ];
    for (const html of pages) {
      const all = forms(html);
      assert.ok(all.length > 0);
      assert.equal(tags(html, 'button').length, all.length, 'no button outside a form');
      for (const form of all) {
        const buttons = tags(form, 'button');
        assert.equal(buttons.length, 1, form);
        assert.equal(buttons[0]?.get('type'), 'submit');
        if (tags(form, 'form')[0]?.get('method') === 'post') assert.deepEqual(hiddenFields(form), HIDDEN);
      }
    }
  });

  it('shows a field error next to its field, linked for screen readers', () => {
    const html = render({ ...phoneStep, error: 'phone.error.invalid' }, { lang: 'nl' });
    const input = byId(html, 'input', 'phone');
    assert.equal(input.get('aria-invalid'), 'true');
    const error = byId(html, 'p', 'phone-error');
    assert.equal(error.get('class'), 'field-error');
    assert.equal(error.get('role'), 'alert');
    assert.ok(input.get('aria-describedby')?.split(' ').includes('phone-error'));
    assert.match(html, /class="field-error"[^>]*>.*Dit is geen geldig telefoonnummer/);
    // The error directly follows its input: nothing else sits between them.
    assert.match(html, /<input id="phone"[^>]*>\s*<p class="field-error"/);
  });

  it('tells attempts left after a wrong code, with the plural form', () => {
    const one = render({ ...codeStep, error: 'code.error.wrong', attemptsLeft: 1 });
    assert.match(one, /class="field-error"[\s\S]*1 attempt left for this code/);
    const two = render({ ...codeStep, error: 'code.error.wrong', attemptsLeft: 2 }, { lang: 'el' });
    assert.match(two, /Απομένουν 2 προσπάθειες/);
    assert.equal(byId(two, 'input', 'code').get('aria-invalid'), 'true');
  });

  it('shows notices as status', () => {
    const html = render({ ...codeStep, notice: 'code.notice.sent' });
    assert.match(html, /<p class="notice" role="status">[\s\S]*Code sent\./);
  });

  it('resend: countdown while waiting, hidden when no codes are left', () => {
    const waiting = render({ ...codeStep, resendInSeconds: 42 });
    assert.match(waiting, /You can ask for a new code in <span id="resend-seconds">42<\/span>\u00a0s\./);
    assert.equal(byId(waiting, 'p', 'resend-wait').get('data-seconds'), '42');
    const resend = byId(waiting, 'button', 'resend');
    assert.equal(resend.get('aria-describedby'), 'resend-wait');
    // Enabled in the markup so it works without JavaScript; the script disables it during the wait.
    assert.ok(!resend.has('disabled'));
    const ready = render(codeStep);
    assert.doesNotMatch(ready, /id="resend-wait"/);
    assert.ok(!byId(ready, 'button', 'resend').has('disabled'));
    const spent = render({ ...codeStep, sendsLeft: 0 });
    assert.ok(!forms(spent).some((f) => formAction(f).endsWith('/resend')));
    assert.match(spent, /No more codes can be sent for this login\./);
  });

  it('continue step: GET form carrying the URL parameters, not the CSRF fields', () => {
    const html = render({ kind: 'continue', method: 'get', url: 'https://rp.example/cb?code=a%20b&state=x%26y#frag', outcome: 'success' });
    const [form] = forms(html);
    assert.ok(form);
    const attributes = tags(form, 'form')[0];
    assert.equal(attributes?.get('method'), 'get');
    assert.equal(attributes?.get('action'), 'https://rp.example/cb#frag');
    assert.deepEqual(hiddenFields(form), { code: 'a b', state: 'x&y' });
    assert.match(html, /You are logged in/);
    assert.match(html, /<noscript>.*JavaScript is off: press Continue\./);
    assert.match(html, /continueForm\.submit\(\)/);
  });

  it('continue step by POST: a form that submits itself carrying the fields, with a button, and no CSRF fields', () => {
    const html = render({ kind: 'continue', method: 'post', url: 'https://sp.example/acs', fields: { SAMLResponse: 'PHNhbWw+', RelayState: 'r"<1>' }, outcome: 'success' });
    const all = forms(html);
    assert.equal(all.length, 1);
    const attributes = tags(all[0]!, 'form')[0];
    assert.equal(attributes?.get('method'), 'post');
    assert.equal(attributes?.get('action'), 'https://sp.example/acs');
    assert.equal(attributes?.get('id'), 'continue-form', 'the script submits it');
    assert.deepEqual(hiddenFields(all[0]!), { SAMLResponse: 'PHNhbWw+', RelayState: 'r"<1>' });
    assert.equal(tags(all[0]!, 'button')[0]?.get('type'), 'submit', 'and without JavaScript the person presses its button');
    assert.match(html, /<noscript>.*JavaScript is off: press Continue\./);
  });

  it('done step: the answer went by the back channel; no form, the outcome and where to go', () => {
    const html = render({ kind: 'done', outcome: 'success' }, { lang: 'sv' });
    assert.deepEqual(forms(html), []);
    assert.match(html, /<h1 id="heading">[^<]+<\/h1>/);
    assert.match(html, /Du kan stänga den här sidan/);
  });

  it('continue step: abort and error outcomes have their own heading', () => {
    assert.match(render({ kind: 'continue', method: 'get', url: '/cb', outcome: 'abort' }), /<h1 id="heading">Login cancelled<\/h1>/);
    assert.match(render({ kind: 'continue', method: 'get', url: '/cb', outcome: 'error' }, { lang: 'fi' }), /Kirjautuminen ei onnistunut/);
  });

  it('error step: message and back link only for web addresses', () => {
    const html = render({ kind: 'error', message: 'error.expired', backUrl: 'https://rp.example/start?a=1&b=2' });
    assert.match(html, /This login has expired\./);
    assert.ok(tags(html, 'a').some((a) => a.get('href') === 'https://rp.example/start?a=1&b=2'));
    assert.match(html, />Back to Acme Bank<\/a>/);
    assert.equal(forms(html).length, 0);
    const hostile = render({ kind: 'error', message: 'error.internal', backUrl: 'javascript:alert(1)' });
    assert.equal(tags(hostile, 'a').length, 0);
    assert.doesNotMatch(hostile, /javascript:/);
  });

  it('renderErrorPage renders without a transaction', () => {
    const html = renderErrorPage({ lang: 'sv', message: 'error.notFound', cspNonce: 'n1' }, translator('sv'));
    assert.match(html, /<html lang="sv">/);
    assert.match(html, /Vi hittar inte den här inloggningen/);
    assert.match(html, />Logga in</);
  });

  it('escapes hostile input everywhere', () => {
    const html = render(
      { kind: 'phone', phone: '"><img src=x onerror=alert(1)>', error: 'phone.error.invalid' },
      { clientName: '<script>alert(1)</script>', actionBase: '/login/"><x', hidden: { '"a': '<b>' } },
    );
    assert.doesNotMatch(html, /<script>alert/);
    assert.doesNotMatch(html, /<img/);
    assert.doesNotMatch(html, /<x/);
    assert.match(html, /Log in to &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.equal(byId(html, 'input', 'phone').get('value'), '"><img src=x onerror=alert(1)>');
    const masked = render({ ...codeStep, maskedPhone: '<i>+44</i>' });
    assert.match(masked, /&lt;i&gt;\+44&lt;\/i&gt;/);
  });

  it('sets <html lang> and speaks the page language', () => {
    const html = render(codeStep, { lang: 'el' });
    assert.match(html, /<html lang="el">/);
    assert.match(html, /Εισαγάγετε τον κωδικό/);
    assert.doesNotMatch(html, />Log in</);
  });

  it('one inline script and one style, both with the nonce; nothing external', () => {
    const html = render(codeStep, { cspNonce: 'abc"def' });
    const scripts = tags(html, 'script');
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0]?.get('nonce'), 'abc"def');
    assert.equal(tags(html, 'style')[0]?.get('nonce'), 'abc"def');
    assert.doesNotMatch(html, /\ssrc=|https?:\/\/|url\(/);
    assert.match(html, /navigator\.credentials\.get\(\{ otp: \{ transport: \['sms'\] \}/);
  });

  it('embedded pages drop the footer; standalone pages show it', () => {
    assert.match(render(phoneStep), /Powered by eidhub/);
    const embedded = render(phoneStep, { embedded: true });
    assert.doesNotMatch(embedded, /Powered by/);
    assert.match(embedded, /<body class="embedded">/);
  });

  it('uses a generic context line without a client name', () => {
    const html = render(phoneStep, { clientName: undefined });
    assert.match(html, /<p class="context">Log in<\/p>/);
  });

  it('chooser: a labelled list of one form per provider, posting its id to choose, named in the page language; escaped', () => {
    const html = render(
      { kind: 'choose', providers: [{ id: 'otp-sms', name: 'sms.displayName' }, { id: '<b>"x', name: undefined }, { id: 'itsme', name: 'sms.displayName', text: 'itsme® <&>' }] },
      { lang: 'da' },
    );
    assert.match(html, /<h1 id="heading">Vælg, hvordan du vil logge ind<\/h1>/);
    assert.equal(tags(html, 'ul')[0]?.get('aria-label'), 'Måder at logge ind på');
    const choices = forms(html).filter((f) => formAction(f) === '/login/tx1/choose');
    assert.equal(choices.length, 3);
    assert.deepEqual(choices.map((f) => tags(f, 'button').map((b) => [b.get('name'), b.get('value')])), [[['provider', 'otp-sms']], [['provider', '<b>"x']], [['provider', 'itsme']]]);
    assert.match(choices[0]!, />Kode på sms<\/button>/, "the provider's display name");
    assert.match(choices[1]!, />&lt;b&gt;&quot;x<\/button>/, 'its id, escaped, without one');
    assert.match(choices[2]!, />itsme® &lt;&amp;&gt;<\/button>/, 'a name the same in every language, as is (escaped), before a message key');
    assert.equal(Array.from(html.matchAll(/<li>/g)).length, 3, 'each choice its own list item');
  });
});
