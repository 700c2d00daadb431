/**
 * Loads the config: a JSON file (optional), environment overrides, then the zod schema, which
 * also resolves the secrets given as `{"env"}` or `{"file"}` (secret-reference.ts). A bad
 * config stops the start with one line per problem, each naming its path; secrets never appear
 * in these messages because zod issues carry the path and our message, never the value.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { unreadable, withSecretSources } from './secret-reference.js';
import { configSchema, type Config, type ConfigInput, type SamlServiceProviderConfig, type SamlServiceProviderInput } from './schema.js';

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

/** Where an issue is: its path, and a single unknown key's path its own (`oidcClients[0].pcke`, not `oidcClients[0]`). */
export function issuePath(issue: z.core.$ZodIssue): string {
  return formatPath(issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? [...issue.path, ...issue.keys] : issue.path);
}

/** One line per issue, each naming where it is. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issuePath(issue)}: ${issue.message}`);
}

/** Reads a JSON config file; the message says where the JSON is broken. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [unreadable(err)]);
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

/**
 * Reads a SAML SP's metadata the way the IdP will (parseSpMetadata in src/protocols/saml/), and
 * throws an Error saying what is wrong. The composition root hands it in: src/protocols/ builds
 * on the config, so the config cannot import it.
 */
export type SamlMetadataReader = (
  xml: string,
  options: { requireSignedRequests: boolean; signResponse: boolean; encryptAssertions?: boolean | undefined },
) => { entityId: string };

export interface ConfigReaders {
  /** Without it, SP metadata files are read but the metadata is not parsed (the SAML IdP still parses it when it starts). */
  samlMetadata?: SamlMetadataReader;
}

/** The folder a config's relative paths start from: the config file's, else the working directory. */
function baseDirOf(source: string): string {
  return statSync(source, { throwIfNoEntry: false })?.isFile() ? dirname(resolve(source)) : process.cwd();
}

/** Reads each SP's metadata (inline or from its file) and checks it; problems name the SP's path and entityId. */
function loadServiceProviders(sps: SamlServiceProviderInput[], baseDir: string, readers: ConfigReaders, problems: string[]): SamlServiceProviderConfig[] {
  const loaded: SamlServiceProviderConfig[] = [];
  sps.forEach((sp, i) => {
    const problem = (message: string) => problems.push(`samlServiceProviders[${i}] (${JSON.stringify(sp.entityId)}): ${message}`);
    const { metadata: inline, metadataFile, ...options } = sp;
    let metadata: string;
    let label = 'metadata';
    let file: string | undefined;
    if (metadataFile === undefined) {
      if (inline === undefined) return problem('give metadata or metadataFile');
      metadata = inline;
    } else {
      if (inline !== undefined) return problem('give metadata or metadataFile, not both');
      label = `metadataFile ${metadataFile}`;
      file = resolve(baseDir, metadataFile);
      try {
        if (!statSync(file).isFile()) return problem(`${label}: not a file`);
        metadata = readFileSync(file, 'utf8');
      } catch (err) {
        return problem(`${label}: ${unreadable(err)}`);
      }
    }
    if (readers.samlMetadata) {
      let entityId: string;
      try {
        entityId = readers.samlMetadata(metadata, options).entityId;
      } catch (err) {
        return problem(`${label}: ${(err as Error).message}`);
      }
      if (entityId !== sp.entityId) return problem(`${label}: its entityID is ${JSON.stringify(entityId)}, not the configured entityId`);
    }
    loaded.push({ ...options, metadata, ...(file === undefined ? {} : { metadataFile: file }) });
  });
  return loaded;
}

/**
 * Validates a config object; throws ConfigError listing every problem with its path. `source` is
 * the config file (relative paths in it start from its folder) or a name for where the values
 * came from. `readers` check what the config points to (see SamlMetadataReader).
 */
export function parseConfig(input: unknown, source: string, env: NodeJS.ProcessEnv = {}, readers: ConfigReaders = {}): Config {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(source, ['(root): must be a JSON object']);
  }
  const { value, problems } = applyEnvironment(input as Record<string, unknown>, env);
  const baseDir = baseDirOf(source);
  const result = withSecretSources({ env, baseDir }, () => configSchema.safeParse(value as ConfigInput));
  if (!result.success) problems.push(...formatIssues(result.error));
  const samlServiceProviders = result.success ? loadServiceProviders(result.data.samlServiceProviders, baseDir, readers, problems) : [];
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  const parsed = result.data;
  const publicUrl = (parsed.publicUrl ?? `http://localhost:${parsed.port}`).replace(/\/+$/, '');
  const url = new URL(publicUrl);
  if (url.search || url.hash) throw new ConfigError(source, ['publicUrl: must not have a query or fragment']);
  return { ...parsed, publicUrl, samlServiceProviders };
}
