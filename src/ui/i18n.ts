/**
 * Texts of the hosted pages: the pages' own catalogues in ui/locales/<lang>.json, each
 * authenticator's catalogues (its folder's locales/<lang>.json) merged with them, the choice of
 * language for a request, and `t()`, which turns a key into HTML-safe text.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LANGUAGES, type Language } from './languages.js';

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
 * tsc does not copy JSON into dist/, so next to a compiled module there may be no catalogues; its
 * twin under src/ (found from the package root) serves both `tsx src/…` and `node dist/…`.
 */
function catalogDirectories(dir: URL): string[] {
  const own = fileURLToPath(dir);
  const dirs = [own];
  let root = path.dirname(own);
  for (;;) {
    if (existsSync(path.join(root, 'package.json'))) {
      const relative = path.relative(root, own).split(path.sep);
      if (relative[0] === 'dist') dirs.push(path.join(root, 'src', ...relative.slice(1)));
      break;
    }
    const parent = path.dirname(root);
    if (parent === root) break;
    root = parent;
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

/**
 * The catalogues `<lang>.json` of every language in `dir` (a URL relative to the calling module,
 * e.g. `new URL('./locales/', import.meta.url)`). English is required; another language may
 * leave keys out (they fall back to English) but not have keys English lacks.
 */
export function loadCatalogs(dir: URL): Locales {
  const candidates = catalogDirectories(dir);
  const found = candidates.find((d) => existsSync(path.join(d, 'en.json')));
  if (!found) throw new Error(`message catalogues not found; looked in ${candidates.join(', ')}`);
  const entries = LANGUAGES.map((lang) => {
    const file = path.join(found, `${lang}.json`);
    return [lang, existsSync(file) ? readCatalog(file) : {}] as const;
  });
  return Object.fromEntries(entries) as Record<Language, Catalog>;
}

let pages: Locales | undefined;

/** The pages' own catalogues (page frame, outcomes, errors), read once. */
export function loadLocales(): Locales {
  pages ??= loadCatalogs(new URL('./locales/', import.meta.url));
  return pages;
}

/**
 * One set of catalogues from several sources (the pages' own, then each authenticator's). A key
 * two sources define is a mistake that would show one of them the other's text: it throws,
 * naming both.
 */
export function mergeCatalogs(sources: ReadonlyArray<{ source: string; locales: Locales }>): Locales {
  const owner = new Map<string, string>();
  const merged = Object.fromEntries(LANGUAGES.map((lang) => [lang, {} as Record<string, string>])) as Record<Language, Record<string, string>>;
  for (const { source, locales } of sources) {
    for (const key of Object.keys(locales.en)) {
      const prior = owner.get(key);
      if (prior !== undefined) throw new Error(`message key "${key}" is defined by both ${prior} and ${source}`);
      owner.set(key, source);
    }
    for (const lang of LANGUAGES) {
      for (const [key, value] of Object.entries(locales[lang])) {
        if (!owner.has(key)) throw new Error(`${source}: ${lang} has the key "${key}", which en lacks`);
        merged[lang][key] = value;
      }
    }
  }
  return merged;
}

/** Keys that English has and `lang` lacks; English is the reference catalogue. */
export function missingKeys(lang: Language, locales: Locales = loadLocales()): string[] {
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
 * `t` for one language, over `locales` (default: the pages' own catalogues). A key missing from the language falls back to English. An unknown key
 * or a missing value throws under the test runner (NODE_TEST_CONTEXT, which a server spawned by a
 * test inherits) or with NODE_ENV=test, so tests catch typos; a live page degrades to the key.
 */
export function translator(lang: Language, options: { strict?: boolean; locales?: Locales } = {}): Translate {
  const strict = options.strict ?? (process.env.NODE_TEST_CONTEXT !== undefined || process.env.NODE_ENV === 'test');
  const locales = options.locales ?? loadLocales();
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
