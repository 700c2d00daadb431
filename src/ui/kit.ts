/**
 * The page kit: what an authenticator's step is made of. An authenticator renders its own steps
 * (views it defines, texts from its own message catalogue) with these pieces, so that every step
 * has the hosted pages' markup (CONTRACT §4: a `<form>` per step with one submit button, labelled
 * fields, errors next to their field) and its look, without the authenticator knowing the page
 * around it. ui/templates.ts builds one kit per page and frames what the step returns.
 */
import { escapeHtml, SafeHtml, type Translate } from './i18n.js';
import type { Language } from './languages.js';

export type Tone = 'brand' | 'success' | 'neutral' | 'danger';

/** Inline, stroke-only icons (24×24); they take the text colour of their badge. */
export const ICON_PATHS = {
  phone: '<rect x="6.5" y="2.5" width="11" height="19" rx="2.5"/><path d="M10.5 18.5h3"/>',
  message:
    '<path d="M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v9a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4h0A2.5 2.5 0 0 1 4 14.5z"/><path d="M8.5 10h.01M12 10h.01M15.5 10h.01" stroke-width="2.4"/>',
  check: '<circle cx="12" cy="12" r="9"/><path d="m8 12.5 2.8 2.8L16.5 9"/>',
  cross: '<circle cx="12" cy="12" r="9"/><path d="m9 9 6 6M15 9l-6 6"/>',
  alert: '<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5M12 16.5v.01"/>',
  lock: '<rect x="5" y="10.5" width="14" height="10" rx="2"/><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3"/>',
  user: '<circle cx="12" cy="8" r="4"/><path d="M4.5 20.5a7.5 7.5 0 0 1 15 0"/>',
} as const;
export type IconName = keyof typeof ICON_PATHS;

/** What a step contributes to the page frame. */
export interface StepContent {
  heading: string;
  icon: IconName;
  tone: Tone;
  /** HTML: built with the kit, every text escaped. */
  body: string;
}

export interface FieldOptions {
  /** The input's id and name. */
  id: string;
  label: string;
  hint: string;
  /** The error shown under the field (HTML from t()), or undefined. */
  error: string | undefined;
  /** Further attributes of the input, already escaped (type, autocomplete, value…). */
  inputAttributes: string;
}

/** The pieces of one page, bound to its language, its form target and its hidden fields. */
export interface StepKit {
  readonly lang: Language;
  /** The page's translator: the authenticator's keys and the pages' own. */
  readonly t: Translate;
  /** HTML-escapes text for element content and quoted attribute values. */
  escape(text: string): string;
  /** Marks HTML as safe to interpolate as is into a message (e.g. `<strong>` around a number). */
  html(markup: string): SafeHtml;
  icon(name: IconName, className: string): string;
  /** A POST form to the step `action` of this login, carrying the page's hidden fields. */
  postForm(action: string, content: string, options?: { id?: string; className?: string }): string;
  submitButton(label: string, className: string, extra?: string): string;
  /** A labelled text field with its hint and error (linked for screen readers). */
  field(options: FieldOptions): string;
  /** The "cancel" form every step offers. */
  cancelForm(): string;
}

export function icon(name: IconName, className: string): string {
  return `<svg class="${className}" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">${ICON_PATHS[name]}</svg>`;
}

export function hiddenInputs(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
}

export function submitButton(label: string, className: string, extra = ''): string {
  return `<button type="submit" class="btn ${className}"${extra}>${label}</button>`;
}

/**
 * A text input with its label, hint and error. The error sits right under the field and is
 * referenced by aria-describedby, so screen readers read it with the field.
 */
export function field(options: FieldOptions): string {
  const { id, error } = options;
  const describedBy = error ? `${id}-hint ${id}-error` : `${id}-hint`;
  const invalid = error ? ' aria-invalid="true"' : '';
  const errorHtml = error
    ? `<p class="field-error" id="${id}-error" role="alert">${icon('alert', 'field-error-icon')}<span>${error}</span></p>`
    : '';
  return `<div class="field${error ? ' has-error' : ''}">
<label for="${id}">${options.label}</label>
<p class="hint" id="${id}-hint">${options.hint}</p>
<input id="${id}" name="${id}" ${options.inputAttributes} aria-describedby="${describedBy}"${invalid}>
${errorHtml}
</div>`;
}

/** The kit of one page: forms post to `${actionBase}/<action>` with `hidden` (CSRF) fields. */
export function stepKit(page: { lang: Language; t: Translate; actionBase: string; hidden: Readonly<Record<string, string>> }): StepKit {
  const postForm = (action: string, content: string, options: { id?: string; className?: string } = {}) => {
    const id = options.id ? ` id="${options.id}"` : '';
    const className = options.className ? ` class="${options.className}"` : '';
    return `<form method="post" action="${escapeHtml(`${page.actionBase}/${action}`)}"${id}${className}>${hiddenInputs(page.hidden)}${content}</form>`;
  };
  return {
    lang: page.lang,
    t: page.t,
    escape: escapeHtml,
    html: (markup) => new SafeHtml(markup),
    icon,
    postForm,
    submitButton,
    field,
    cancelForm: () => postForm('cancel', submitButton(page.t('action.cancel'), 'btn-quiet')),
  };
}
