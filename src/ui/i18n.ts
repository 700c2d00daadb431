/**
 * Texts of the hosted pages: the seven catalogues in ui/locales/<lang>.json, the choice of
 * language for a request, and `t()`, which turns a key into HTML-safe text.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LANGUAGES, type Language } from './view.js';

export type Catalog = Readonly<Record<string, string>>;
export type Locales = Readonly<Record<Language, Catalog>>;

/** HTML that is already safe to embed, so `t()` inserts it as is (e.g. `<strong>` around a number). */
export class SafeHtml {
  readonly html: string;
  constructor(html: string) {
    this.html = html;
  }
}

export type MessageVars = Readonly<Record<string, string | number | SafeHtml>>;
/** Returns the message as HTML: the catalogue text and every interpolated value are escaped. */
export type Translate = (key: string, vars?: MessageVars) => string;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for element content and for double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Names of the `{name}` placeholders of a message, in order of appearance. */
export function placeholders(message: string): string[] {
  return Array.from(message.matchAll(PLACEHOLDER), (m) => m[1] ?? '');
}

function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}

/**
 * tsc does not copy JSON into dist/, so next to the compiled module there may be no catalogues;
 * the source folder, found from the package root, serves both `tsx src/…` and `node dist/…`.
 */
function localeDirectories(): string[] {
  const dirs = [fileURLToPath(new URL('./locales/', import.meta.url))];
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) {
      dirs.push(path.join(dir, 'src', 'ui', 'locales'));
      break;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return dirs;
}

function readCatalog(file: string): Catalog {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: expected an object of messages`);
  }
  const catalog: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') throw new Error(`${file}: message ${key} is not a string`);
    catalog[key] = value;
  }
  return catalog;
}

let loaded: Locales | undefined;

/** Reads every catalogue once (at start-up) and keeps them; later calls return the same object. */
export function loadLocales(): Locales {
  if (loaded) return loaded;
  const candidates = localeDirectories();
  // A folder counts only if it holds every language: a partial copy must not hide the full one.
  const dir = candidates.find((d) => LANGUAGES.every((lang) => existsSync(path.join(d, `${lang}.json`))));
  if (!dir) throw new Error(`UI locales not found; looked in ${candidates.join(', ')}`);
  const entries = LANGUAGES.map((lang) => [lang, readCatalog(path.join(dir, `${lang}.json`))] as const);
  loaded = Object.fromEntries(entries) as Record<Language, Catalog>;
  return loaded;
}

/** Keys that English has and `lang` lacks; English is the reference catalogue. */
export function missingKeys(lang: Language): string[] {
  const locales = loadLocales();
  return Object.keys(locales.en).filter((key) => !(key in locales[lang]));
}

function matchLanguage(tag: string): Language | undefined {
  const primary = tag.trim().split(/[-_]/)[0]?.toLowerCase() ?? '';
  // Norwegian is offered as one language; browsers ask for it as Bokmål or Nynorsk.
  const normalized = primary === 'nb' || primary === 'nn' ? 'no' : primary;
  return isLanguage(normalized) ? normalized : undefined;
}

/** Accept-Language tags, best first; entries with q=0 or a malformed q are dropped. */
function acceptedTags(header: string): string[] {
  const ranked: Array<{ tag: string; q: number; index: number }> = [];
  header.split(',').forEach((part, index) => {
    const [rawTag, ...params] = part.split(';');
    const tag = rawTag?.trim() ?? '';
    if (!tag || tag === '*') return;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((s) => s.trim());
      if (name?.toLowerCase() === 'q') q = value !== undefined && /^[01](\.\d{0,3})?$/.test(value) ? Number(value) : 0;
    }
    if (q > 0) ranked.push({ tag, q, index });
  });
  ranked.sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked.map((r) => r.tag);
}

/**
 * The page language: the first supported entry of `requested` (`ui_locales`, space-separated,
 * or the REST `language`), then the browser's Accept-Language by preference, then `fallback`.
 */
export function negotiateLanguage(input: {
  requested: string | null | undefined;
  acceptLanguage: string | undefined;
  fallback: Language;
}): Language {
  const requested = (input.requested ?? '').split(/[\s,]+/).filter(Boolean);
  const accepted = input.acceptLanguage ? acceptedTags(input.acceptLanguage) : [];
  for (const tag of [...requested, ...accepted]) {
    const lang = matchLanguage(tag);
    if (lang) return lang;
  }
  return input.fallback;
}

function interpolate(message: string, vars: MessageVars | undefined, fail: (problem: string) => void): string {
  let html = '';
  let last = 0;
  for (const match of message.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    const value = vars?.[name];
    html += escapeHtml(message.slice(last, match.index));
    if (value === undefined) {
      fail(`missing value for {${name}}`);
      html += escapeHtml(match[0]);
    } else {
      html += value instanceof SafeHtml ? value.html : escapeHtml(String(value));
    }
    last = match.index + match[0].length;
  }
  return html + escapeHtml(message.slice(last));
}

/**
 * `t` for one language. A key missing from the language falls back to English. An unknown key
 * or a missing value throws under the test runner (NODE_TEST_CONTEXT, which a server spawned by a
 * test inherits) or with NODE_ENV=test, so tests catch typos; a live page degrades to the key.
 */
export function translator(lang: Language, options: { strict?: boolean } = {}): Translate {
  const strict = options.strict ?? (process.env.NODE_TEST_CONTEXT !== undefined || process.env.NODE_ENV === 'test');
  const locales = loadLocales();
  const catalog = locales[lang];
  return (key, vars) => {
    const fail = (problem: string): void => {
      if (strict) throw new Error(`i18n ${lang} ${key}: ${problem}`);
    };
    const message = catalog[key] ?? locales.en[key];
    if (message === undefined) {
      fail('unknown key');
      return escapeHtml(key);
    }
    return interpolate(message, vars, fail);
  };
}
