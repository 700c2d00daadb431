/**
 * Writes docs/configuration.md from the config schema (src/config/schema.ts), so the reference
 * can never disagree with the defaults the server applies. `npm run docs:config`; a test checks
 * that the committed file is current.
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  required?: string[];
  minimum?: number;
  maximum?: number;
}

/** An object variant without a `const` key (a secret's `{"env": …}`), as opposed to a tagged union's option. */
const untagged = (v: JsonSchema): boolean => !Object.values(v.properties ?? {}).some((p) => p.const !== undefined);

function variantType(v: JsonSchema): string {
  if (v.type !== 'object') return typeOf(v);
  return `\`{${Object.entries(v.properties ?? {}).map(([key, p]) => `"${key}": ${p.type ?? 'value'}`).join(', ')}}\``;
}

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.type === 'array' && s.items) return `array of ${typeOf(s.items)}`;
  // A choice of plain types (trustProxy: a boolean, a hop count or a list) reads as that choice,
  // and so does a secret's: the secret, or an object of one key that says where it is kept.
  const variants = s.anyOf ?? s.oneOf;
  if (s.type === undefined && variants?.every((v) => v.type !== undefined && (v.type !== 'object' || untagged(v)))) return variants.map(variantType).join(' \\| ');
  const range = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ''}–${s.maximum ?? ''})` : '';
  return `${Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'object')}${range}`;
}

function rows(schema: JsonSchema, prefix: string, out: string[]): void {
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    const variants = prop.oneOf ?? prop.anyOf;
    const required = schema.required?.includes(name) && prop.default === undefined ? ' (required)' : '';
    const def = prop.default === undefined ? '' : `\`${JSON.stringify(prop.default)}\``;
    out.push(`| \`${path}\` | ${typeOf(prop)}${required} | ${def} | ${(prop.description ?? '').replace(/\|/g, '\\|')} |`);
    if (variants && !variants.every(untagged)) {
      for (const v of variants) {
        const tag = Object.entries(v.properties ?? {}).find(([, p]) => p.const !== undefined);
        rows(v, tag ? `${path}[${tag[0]}=${JSON.stringify(tag[1].const)}]` : path, out);
      }
    } else if (prop.type === 'object') rows(prop, path, out);
    else if (prop.type === 'array' && prop.items?.type === 'object') rows(prop.items, `${path}[]`, out);
  }
}

const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
const out = [
  '# Configuration reference',
  '',
  'Generated from `src/config/schema.ts` by `npm run docs:config`; do not edit by hand.',
  'The config file is JSON, validated at start; every error names its path, and a key that names no option is refused (`oidcClients[0].pcke: unknown key (did you mean "pkce"?)`).',
  'A secret (a type that lists `{"env": string}` and `{"file": string}`) is given itself, or read once at start from an environment variable (`{"env": "TWILIO_AUTH_TOKEN"}`) or a file (`{"file": "/run/secrets/twilio-token"}`: its text without trailing newlines; a relative path starts from the config file\'s folder).',
  'Environment overrides: `PORT`, `HOST`, `EIDHUB_PUBLIC_URL`, `EIDHUB_DATABASE_URL`, `EIDHUB_DATA_DIR`, `EIDHUB_LOG_LEVEL`.',
  '',
  '| option | type | default | meaning |',
  '|---|---|---|---|',
];
rows(schema, '', out);
export const CONFIG_DOCS = `${out.join('\n')}\n`;
if (process.argv[2] === '--write') writeFileSync(new URL('../docs/configuration.md', import.meta.url), CONFIG_DOCS);
