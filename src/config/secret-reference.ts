/**
 * Secrets in the config file: a secret field takes the secret itself, or a reference to where it
 * is kept, `{"env": "TWILIO_AUTH_TOKEN"}` (an environment variable) or `{"file": "/run/secrets/x"}`
 * (a file's text, its trailing newlines removed; a relative path starts from the config file's
 * folder). References are resolved once, while the config is loaded (parseConfig); a problem
 * names the field's path and the reference, never a value.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { strictObject } from './unknown-keys.js';

/** Where a config's references are read from. */
export interface SecretSources {
  env: NodeJS.ProcessEnv;
  /** The folder a relative file path starts from: the config file's. */
  baseDir: string;
}

/** Why a file could not be read, in the words of a config problem. */
export function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'not a file';
  if (code === 'EACCES') return 'permission denied';
  return `cannot read the file (${code ?? 'error'})`;
}

/**
 * The sources of the parse under way. zod hands a transform no context of the caller's, so
 * parseConfig sets them around its (synchronous) parse; any other parse of a schema holding a
 * secret field (the Admin API's clients, the registry's stored clients) has none, and a
 * reference is refused there: only the config file may point at the environment or a file.
 */
let current: SecretSources | undefined;

/** Runs `parse`, which must be synchronous, with references resolved from `sources`. */
export function withSecretSources<T>(sources: SecretSources, parse: () => T): T {
  const prior = current;
  current = sources;
  try {
    return parse();
  } finally {
    current = prior;
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const envReference = strictObject({ env: z.string().regex(ENV_NAME, { message: 'must be the name of an environment variable (letters, digits and _, not beginning with a digit)' }).describe('The environment variable holding the secret.') });
const fileReference = strictObject({ file: z.string().min(1).describe('The file holding the secret (trailing newlines removed), relative to the config file\'s folder or absolute.') });

type Reference = z.output<typeof envReference> | z.output<typeof fileReference>;

/** The value a reference points to, or what is wrong with it. */
function read(ref: Reference, sources: SecretSources): { value: string } | { problem: string } {
  if ('env' in ref) {
    const value = sources.env[ref.env];
    if (value === undefined) return { problem: `environment variable ${ref.env} is not set` };
    return value === '' ? { problem: `environment variable ${ref.env} is empty` } : { value };
  }
  const path = resolve(sources.baseDir, ref.file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { problem: `cannot read ${path} (${unreadable(err)})` };
  }
  const value = text.replace(/[\r\n]+$/, '');
  return value === '' ? { problem: `file ${path} is empty` } : { value };
}

/**
 * A secret field of the config: the secret, `{"env": NAME}` or `{"file": PATH}`; what the
 * reference yields is then checked by `value` (its length, its form).
 */
export function secretString(value: z.ZodType<string, string> = z.string().min(1)) {
  return z
    .union([z.string(), envReference, fileReference], { error: () => 'must be the secret, {"env": "VARIABLE_NAME"} or {"file": "/path/to/file"} (exactly one key)' })
    .transform((input, ctx) => {
      if (typeof input === 'string') return input;
      const outcome = current ? read(input, current) : { problem: '{"env"} and {"file"} references are read from the config file only; give the secret itself' };
      if ('value' in outcome) return outcome.value;
      ctx.issues.push({ code: 'custom', message: outcome.problem, input: undefined });
      return z.NEVER;
    })
    .pipe(value);
}
