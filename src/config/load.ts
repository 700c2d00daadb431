/**
 * Loads the config: a JSON file (optional), environment overrides, then the zod schema. A bad
 * config stops the start with one line per problem, each naming its path; secrets never appear
 * in these messages because zod issues carry the path and our message, never the value.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema, type Config, type ConfigInput } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
}

/** Reads a JSON config file; the message says where the JSON is broken. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(path, [code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? 'error'})`]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
}

/** Applies the documented environment overrides (CONTRACT §1) on top of the file's values. */
export function applyEnvironment(input: Record<string, unknown>, env: NodeJS.ProcessEnv): { value: Record<string, unknown>; problems: string[] } {
  const value: Record<string, unknown> = { ...input };
  const problems: string[] = [];
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) problems.push('PORT: must be a whole number from 0 to 65535');
    else value.port = port;
  }
  if (env.HOST) value.host = env.HOST;
  if (env.EIDHUB_PUBLIC_URL) value.publicUrl = env.EIDHUB_PUBLIC_URL;
  if (env.EIDHUB_DATABASE_URL) {
    if (!/^postgres(ql)?:\/\//.test(env.EIDHUB_DATABASE_URL)) problems.push('EIDHUB_DATABASE_URL: must be a postgres:// URL');
    else value.storage = { driver: 'postgres', url: env.EIDHUB_DATABASE_URL };
  } else if (env.EIDHUB_DATA_DIR) {
    const storage = (value.storage ?? {}) as Record<string, unknown>;
    if (storage.driver === undefined || storage.driver === 'sqlite') {
      value.storage = { driver: 'sqlite', path: `${env.EIDHUB_DATA_DIR.replace(/\/+$/, '')}/eidhub.db` };
    }
  }
  if (env.EIDHUB_LOG_LEVEL) value.logLevel = env.EIDHUB_LOG_LEVEL;
  return { value, problems };
}

/** Validates a config object; throws ConfigError listing every problem with its path. */
export function parseConfig(input: unknown, source: string, env: NodeJS.ProcessEnv = {}): Config {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(source, ['(root): must be a JSON object']);
  }
  const { value, problems } = applyEnvironment(input as Record<string, unknown>, env);
  const result = configSchema.safeParse(value as ConfigInput);
  if (!result.success) problems.push(...formatIssues(result.error));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  const parsed = result.data;
  const publicUrl = (parsed.publicUrl ?? `http://localhost:${parsed.port}`).replace(/\/+$/, '');
  const url = new URL(publicUrl);
  if (url.search || url.hash) throw new ConfigError(source, ['publicUrl: must not have a query or fragment']);
  return { ...parsed, publicUrl };
}
