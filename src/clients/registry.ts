/**
 * The client registry: OIDC and API clients of the `/auth/open` issuer and the clients of each
 * realm (src/protocols/ciba/), those of the config file read-only, and clients added at run time,
 * kept in the Store and so shared by every process. Secrets are kept only as SHA-256
 * hashes (they are long random strings, so a fast hash is enough) and checked in constant time.
 *
 * Lookups are synchronous, from an in-memory snapshot, since every token request needs one. The
 * snapshot follows the store: a timer re-reads the stored clients whenever the store's clients
 * version changed, so another process's change is seen within `refreshMs`; and find() reads the
 * store for an id the snapshot lacks, so a client another process just added is usable at once.
 *
 * When each secret last authenticated its client is recorded in memory and written in batches
 * (secret-uses.ts); secretsOf shows it.
 *
 * Protocol-neutral: how a protocol presents clients to its library (oidc-provider's client
 * metadata) stays in that protocol's folder.
 */
import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { formatIssues, issuePath } from '../config/load.js';
import {
  apiClientSchema,
  CLIENT_ID_PATTERN,
  oidcClientSchema,
  realmClientSchema,
  REALM_NAME_PATTERN,
  type ApiClientConfig,
  type ApiClientSettings,
  type ApiPermission,
  type OidcClientConfig,
  type OidcClientSettings,
  type RealmClientSettings,
  type RealmConfig,
} from '../config/schema.js';
import { badRequest, conflict, EidhubError } from '../core/errors.js';
import { EntrySnapshot } from '../store/entry-snapshot.js';
import { StoreConflictError, type AuditEvent, type ClientStore, type StoredClient, type StoredClientSecret } from '../store/types.js';
import { SecretUses } from './secret-uses.js';

/** The scopes of an API client's access tokens; either one lets it call the REST API. */
export const API_SCOPES = ['signicat-api', 'auth-rest-api'] as const;
/** The scope of an access token for the Admin API. */
export const ADMIN_SCOPE = 'eidhub-admin';

/** The scopes each permission lets an API client ask a token for. */
const PERMISSION_SCOPES: Record<ApiPermission, readonly string[]> = { 'authentication-rest-api': API_SCOPES, admin: [ADMIN_SCOPE] };

/** The scopes an API client may ask a token for: those of its permissions (none without one). */
export function apiClientScopes(settings: ApiClientSettings): string[] {
  return settings.permissions.flatMap((p) => PERMISSION_SCOPES[p]);
}

const DEFAULT_REFRESH_MS = 500;

export interface RegisteredClient {
  /** The client_id its requests carry. */
  clientId: string;
  /** Where the registry keeps it: the clientId, or `{realm}/{clientId}` for a realm's client (realmClientKey). */
  key: string;
  kind: 'oidc' | 'api' | 'realm';
  name: string | undefined;
  /** SHA-256 of each valid secret; empty for a public client. */
  secretHashes: Buffer[];
  /** The name of each secret, in the order of secretHashes (a config client's are `secret-N`). */
  secretNames: string[];
  /**
   * The secret oidc-provider knows the client by: derived from the server key, so every process
   * agrees on it, once per client, since the token endpoint needs it on every request.
   */
  internalSecret: string;
  /** A client of the config file: it cannot be replaced or removed at run time. */
  readOnly: boolean;
  /** The client's settings; never its secrets, which are kept only as secretHashes. */
  oidc?: OidcClientSettings | undefined;
  api?: ApiClientSettings | undefined;
  /** A realm's client: the realm's name and the client's settings. */
  realm?: { name: string; settings: RealmClientSettings } | undefined;
}

/** A client to add: its settings as the config file has them, and its secrets apart. */
export type NewClient =
  | { kind: 'oidc'; settings: OidcClientSettings; secrets: string[] }
  | { kind: 'api'; settings: ApiClientSettings; secrets: string[] }
  | { kind: 'realm'; realm: string; settings: RealmClientSettings; secrets: string[] };

/** A secret as an administrator sees it: a name and dates, never a value. */
export interface SecretInfo {
  name: string;
  /** Undefined for a config client's secrets. */
  createdAt: number | undefined;
  /** When it last authenticated its client; undefined if never (or not since it was created). */
  lastUsedAt: number | undefined;
}

/**
 * The audit event of a change, given the changed client's key: the store writes it in the same
 * atomic unit as the change, so neither is ever written without the other.
 */
export type ChangeAudit = (key: string) => AuditEvent;

/** A client's settings without its secrets (update keeps a stored client's). */
export type ClientSettings =
  | { kind: 'oidc'; settings: OidcClientSettings }
  | { kind: 'api'; settings: ApiClientSettings }
  | { kind: 'realm'; realm: string; settings: RealmClientSettings };

/**
 * Where the registry (and the store) keeps a realm's client. '/' is in neither a realm name nor a
 * client id, so the key never equals an `/auth/open` client's id, nor a client's of another realm.
 */
export function realmClientKey(realm: string, clientId: string): string {
  return `${realm}/${clientId}`;
}

const keyOf = (client: ClientSettings): string => (client.kind === 'realm' ? realmClientKey(client.realm, client.settings.clientId) : client.settings.clientId);

/** How a client is named in messages: its id, and its realm's name for a realm's. */
function describeKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? `client ${key}` : `client ${key.slice(slash + 1)} of realm ${key.slice(0, slash)}`;
}

export interface ClientRegistryOptions {
  oidcClients: OidcClientConfig[];
  apiClients: ApiClientConfig[];
  /** The configured realms (none when absent): their clients are config clients; a realm client can be added only to one of them. */
  realms?: RealmConfig[] | undefined;
  /** The server key internal secrets are derived from. */
  internalSecretKey: Buffer;
  store: ClientStore;
  logger: Logger;
  /** How often the store's clients version is checked (default 500 ms). */
  refreshMs?: number;
  /** How often the secrets' uses are written to the store (default 5 s). */
  secretUseFlushMs?: number;
  now?: () => number;
}

const sha256 = (value: string): Buffer => hash('sha256', value, 'buffer');

/** A new client secret: 256 random bits, base64url. */
export const newSecretValue = (): string => randomBytes(32).toString('base64url');
const SHA256_BYTES = 32;

/** A realm client's stored settings carry the realm's name beside the config file's settings. */
const realmNameSchema = z.string().regex(REALM_NAME_PATTERN, { message: 'must be a realm name (1–64 of a–z 0–9 _ -)' });

/**
 * Checks a client's settings and secrets with the config file's own schema. A stored client has
 * only the hashes of its secrets; they stand in for the secrets here, since the schema's rules on
 * secrets are about how many there are (and a hash is long enough for the length rule).
 */
function parseClient(kind: StoredClient['kind'], settings: object, secrets: string[]): ClientSettings | z.ZodError {
  const input = { ...settings, secrets };
  if (kind === 'oidc') {
    const result = oidcClientSchema.safeParse(input);
    return result.success ? { kind, settings: withoutSecrets(result.data) } : result.error;
  }
  if (kind === 'realm') {
    const { realm, ...client } = input as { realm?: unknown };
    const realmName = realmNameSchema.safeParse(realm);
    if (!realmName.success) return new z.ZodError(realmName.error.issues.map((issue) => ({ ...issue, path: ['realm', ...issue.path] })));
    const result = realmClientSchema.safeParse(client);
    return result.success ? { kind, realm: realmName.data, settings: withoutSecrets(result.data) } : result.error;
  }
  const result = apiClientSchema.safeParse(input);
  return result.success ? { kind, settings: withoutSecrets(result.data) } : result.error;
}

/** What the store keeps of a client's settings: a realm client's with its realm's name. */
const storedSettings = (client: ClientSettings): object => (client.kind === 'realm' ? { realm: client.realm, ...client.settings } : client.settings);

function withoutSecrets<T extends { secrets: string[] }>(client: T): Omit<T, 'secrets'> {
  const { secrets: _secrets, ...settings } = client;
  return settings;
}

/**
 * The client registered. Its internal secret is derived from the server key under its key (a
 * realm's client under its realm), so clients of the same id in two realms never share one.
 */
function register(client: ClientSettings, secretHashes: Buffer[], secretNames: string[], readOnly: boolean, internalSecretKey: Buffer): RegisteredClient {
  const { clientId } = client.settings;
  const derivation = client.kind === 'realm' ? `realm-client-secret:${client.realm}:${clientId}` : `client-secret:${clientId}`;
  const common = {
    clientId,
    key: keyOf(client),
    secretHashes,
    secretNames,
    internalSecret: createHmac('sha256', internalSecretKey).update(derivation).digest('base64url'),
    readOnly,
  };
  switch (client.kind) {
    case 'oidc':
      return { ...common, kind: 'oidc', name: client.settings.clientName, oidc: client.settings };
    case 'api':
      return { ...common, kind: 'api', name: undefined, api: client.settings };
    case 'realm':
      return { ...common, kind: 'realm', name: client.settings.clientName, realm: { name: client.realm, settings: client.settings } };
  }
}

/** The clients of the config file (validated by its schema already), read-only, by key. */
function configClients(opts: ClientRegistryOptions): Map<string, RegisteredClient> {
  const clients = new Map<string, RegisteredClient>();
  const add = (client: ClientSettings, secrets: string[]) =>
    clients.set(keyOf(client), register(client, secrets.map(sha256), secrets.map((_s, i) => `secret-${i + 1}`), true, opts.internalSecretKey));
  for (const c of opts.oidcClients) add({ kind: 'oidc', settings: withoutSecrets(c) }, c.secrets);
  for (const c of opts.apiClients) add({ kind: 'api', settings: withoutSecrets(c) }, c.secrets);
  for (const realm of opts.realms ?? []) {
    for (const c of realm.clients) add({ kind: 'realm', realm: realm.name, settings: withoutSecrets(c) }, c.secrets);
  }
  return clients;
}

/**
 * Constant-time check of a presented secret against every valid secret of the client (each one
 * compared, match or not): the index of the secret it is, or -1.
 */
function matchClientSecret(client: RegisteredClient, presented: string): number {
  const presentedHash = sha256(presented);
  const hashes = client.secretHashes;
  let matched = -1;
  for (let i = 0; i < hashes.length; i++) if (timingSafeEqual(hashes[i]!, presentedHash)) matched = i;
  return matched;
}

/** PKCE: public clients always; confidential clients when configured `required`; an unknown client or an API client never gets past it. */
function clientNeedsPkce(client: RegisteredClient | undefined): boolean {
  if (!client || client.kind !== 'oidc') return true;
  return client.secretHashes.length === 0 || client.oidc?.pkce === 'required';
}

export class ClientRegistry {
  /** The config file's clients, by key. */
  private readonly config: ReadonlyMap<string, RegisteredClient>;
  /** The names of the configured realms. */
  private readonly realms: ReadonlySet<string>;
  /** Every stored client as last read, by key, and what it became (registered, or skipped). */
  private readonly stored: EntrySnapshot<StoredClient, RegisteredClient>;
  private readonly listeners = new Set<(clientIds: string[]) => void>();
  private readonly store: ClientStore;
  private readonly logger: Logger;
  private readonly internalSecretKey: Buffer;
  private readonly now: () => number;
  private readonly uses: SecretUses;

  private constructor(opts: ClientRegistryOptions) {
    this.config = configClients(opts);
    this.realms = new Set((opts.realms ?? []).map((r) => r.name));
    this.store = opts.store;
    this.logger = opts.logger;
    this.internalSecretKey = opts.internalSecretKey;
    this.now = opts.now ?? Date.now;
    this.stored = new EntrySnapshot({
      store: opts.store,
      keyOf: (c) => c.clientId,
      admit: (c) => this.registerStored(c),
      onRefreshed: (changed) => this.emit(changed),
      onRefreshError: (err) => this.logger.error({ err }, 'clients: reading the stored clients failed; the last ones read stay in use'),
    });
    this.uses = new SecretUses({
      store: opts.store,
      logger: opts.logger,
      current: (key, name) => this.known(key)?.secretNames.includes(name) ?? false,
      flushMs: opts.secretUseFlushMs,
    });
  }

  /**
   * The config's clients and the store's; rejects if the store cannot be read, so a start fails
   * rather than run without its clients. The recorded uses of secrets no client has (any more)
   * are purged first; a failure to purge is only logged, as a start does not need it.
   */
  static async open(opts: ClientRegistryOptions): Promise<ClientRegistry> {
    const registry = new ClientRegistry(opts);
    const configSecrets = [...registry.config.values()].flatMap((c) => c.secretNames.map((secretName) => ({ clientKey: c.key, secretName })));
    await opts.store.purgeSecretUses(configSecrets).catch((err: unknown) => opts.logger.warn({ err }, 'clients: purging the uses of secrets no client has failed'));
    await registry.refresh();
    registry.stored.start(opts.refreshMs ?? DEFAULT_REFRESH_MS);
    registry.uses.start();
    return registry;
  }

  /** An `/auth/open` client from the snapshot: a config client, or a stored client as of the last refresh, add or find. */
  get(clientId: string): RegisteredClient | undefined {
    const client = this.known(clientId);
    // A realm's key (it holds a '/') presented as a client_id is no client of this issuer.
    return client?.kind === 'realm' ? undefined : client;
  }

  /** A realm's client from the snapshot. */
  getRealm(realm: string, clientId: string): RegisteredClient | undefined {
    const client = this.known(realmClientKey(realm, clientId));
    return client?.kind === 'realm' ? client : undefined;
  }

  /**
   * As get, but an id the snapshot lacks is looked up in the store (and then kept in the
   * snapshot). The look-up is not queued behind add, remove and refresh, so that requests naming
   * made-up ids cannot hold those up; what it read is kept only if the snapshot did not change
   * meanwhile (a refresh may have read a newer state), and returned either way.
   */
  async find(clientId: string): Promise<RegisteredClient | undefined> {
    // An id no client can have (a NUL byte, which PostgreSQL refuses as a parameter; a realm's key) is not looked up.
    const client = await this.findKey(clientId, CLIENT_ID_PATTERN.test(clientId));
    return client?.kind === 'realm' ? undefined : client;
  }

  /** As getRealm, looking up in the store as find does. */
  async findRealm(realm: string, clientId: string): Promise<RegisteredClient | undefined> {
    const valid = this.realms.has(realm) && CLIENT_ID_PATTERN.test(clientId);
    const client = await this.findKey(realmClientKey(realm, clientId), valid);
    return client?.kind === 'realm' ? client : undefined;
  }

  /** Every client: the config's, then the stored ones by key. */
  list(): RegisteredClient[] {
    return [...this.config.values(), ...this.stored.entries().sort((a, b) => (a.key < b.key ? -1 : 1))];
  }

  /** Whether `presented` is one of the client's secrets (constant time); a match is recorded as that secret's use. */
  verifySecret(client: RegisteredClient, presented: string): boolean {
    const matched = matchClientSecret(client, presented);
    if (matched < 0) return false;
    this.uses.record(client, matched, this.now());
    return true;
  }

  pkceRequired(clientId: string): boolean {
    return clientNeedsPkce(this.get(clientId));
  }

  /**
   * Validates the client with the config file's schema (EidhubError 400 naming the field; a realm
   * client's realm must be configured), refuses the id of a config client (409), and stores it: a
   * stored client of the same id (in the same realm) is replaced, keeping when it was created,
   * which is how a client's settings or secrets change, unless `onlyNew` (then 409, decided by
   * the store's insert, so of two processes adding one id at once, one gets the 409). `audit` is
   * written with the client. The client is in the snapshot when the promise resolves.
   */
  async add(input: NewClient, opts: { onlyNew?: boolean; audit?: ChangeAudit } = {}): Promise<RegisteredClient> {
    const parsed = this.parseNew(input.kind === 'realm' ? { ...input.settings, realm: input.realm } : input.settings, input.kind, input.secrets);
    return this.stored.exclusive(async () => {
      const at = this.now();
      const prior = opts.onlyNew ? null : await this.store.get(keyOf(parsed));
      const secrets = input.secrets.map((value, i) => ({ name: `secret-${i + 1}`, sha256: sha256(value).toString('base64url'), createdAt: at }));
      return this.write(parsed, secrets, prior?.createdAt ?? at, at, { onlyNew: opts.onlyNew ?? false, audit: opts.audit });
    });
  }

  /**
   * Replaces the settings of a stored client, keeping its secrets; validated as add validates.
   * EidhubError 404 when there is no such stored client, 409 for a config client. `audit` is
   * written with the change.
   */
  async update(input: ClientSettings, audit?: ChangeAudit): Promise<RegisteredClient> {
    const key = input.kind === 'realm' ? realmClientKey(input.realm, input.settings.clientId) : input.settings.clientId;
    this.refuseConfigClient(key, 'replaced');
    return this.stored.exclusive(async () => {
      const prior = await this.storedOf(key, input.kind);
      const parsed = this.parseNew(input.kind === 'realm' ? { ...input.settings, realm: input.realm } : input.settings, input.kind, prior.secrets.map((s) => s.sha256));
      return this.write(parsed, prior.secrets, prior.createdAt, this.now(), { onlyNew: false, audit });
    });
  }

  /**
   * A client's secrets: names, creation times (a config client's are `secret-N`, of unknown time)
   * and last uses, those of every process written so far and this process's not yet written;
   * undefined when there is no such client.
   */
  async secretsOf(key: string, kind: StoredClient['kind']): Promise<SecretInfo[] | undefined> {
    const secrets = await this.secretDatesOf(key, kind);
    if (!secrets) return undefined;
    const written = await this.store.secretUses(key);
    const unwritten = this.uses.unwrittenOf(key);
    return secrets.map(({ name, createdAt }) => {
      const lastUsedAt = Math.max(written.get(name) ?? -Infinity, unwritten.get(name) ?? -Infinity);
      // A use from before the secret was made was of an earlier secret of that name, revoked since.
      const used = lastUsedAt > -Infinity && lastUsedAt >= (createdAt ?? -Infinity);
      return { name, createdAt, lastUsedAt: used ? lastUsedAt : undefined };
    });
  }

  /** The names and creation times of a client's secrets; undefined when there is no such client. */
  private async secretDatesOf(key: string, kind: StoredClient['kind']): Promise<{ name: string; createdAt: number | undefined }[] | undefined> {
    const config = this.config.get(key);
    if (config) return config.kind === kind ? config.secretNames.map((name) => ({ name, createdAt: undefined })) : undefined;
    const stored = await this.store.get(key);
    return stored?.kind === kind ? stored.secrets : undefined;
  }

  /**
   * Adds a new random secret named `name` to a stored client and returns its value, which is
   * kept only as its hash. EidhubError 404 without such a client, 409 for a config client or a
   * name in use, 400 when the client would have too many secrets. `audit` is written with it.
   */
  async addSecret(key: string, kind: StoredClient['kind'], name: string, audit?: ChangeAudit): Promise<{ name: string; createdAt: number; value: string }> {
    this.refuseConfigClient(key, 'changed');
    return this.stored.exclusive(async () => {
      const prior = await this.storedOf(key, kind);
      if (prior.secrets.some((s) => s.name === name)) throw conflict('secret_name_taken', `${describeKey(key)} has a secret named ${name} already`);
      const value = newSecretValue();
      const at = this.now();
      const secrets = [...prior.secrets, { name, sha256: sha256(value).toString('base64url'), createdAt: at }];
      await this.write(this.parseNew(prior.settings, kind, secrets.map((s) => s.sha256)), secrets, prior.createdAt, at, { onlyNew: false, audit });
      return { name, createdAt: at, value };
    });
  }

  /**
   * Revokes a stored client's secret by name: it fails at once, on every process. False when the
   * client has no secret of that name; EidhubError 404 without such a client, 409 for a config
   * client, 400 when the client may not be left without it (an API or realm client's last
   * secret; a confidential client with `pkce: optional` would become public). `audit` is written
   * with the revocation, only when there was one.
   */
  async revokeSecret(key: string, kind: StoredClient['kind'], name: string, audit?: ChangeAudit): Promise<boolean> {
    this.refuseConfigClient(key, 'changed');
    return this.stored.exclusive(async () => {
      const prior = await this.storedOf(key, kind);
      const secrets = prior.secrets.filter((s) => s.name !== name);
      if (secrets.length === prior.secrets.length) return false;
      await this.write(this.parseNew(prior.settings, kind, secrets.map((s) => s.sha256)), secrets, prior.createdAt, this.now(), { onlyNew: false, audit });
      return true;
    });
  }

  /** Validates a client's settings with the config file's schema (EidhubError 400 naming the field); a realm client's realm must be configured. */
  private parseNew(settings: object, kind: StoredClient['kind'], secrets: string[]): ClientSettings {
    const parsed = parseClient(kind, settings, secrets);
    if (parsed instanceof z.ZodError) {
      const issues = parsed.issues.map((issue) => ({ field: issuePath(issue), message: issue.message }));
      throw new EidhubError(400, 'invalid_client_metadata', `invalid client: ${formatIssues(parsed).join('; ')}`, { field: issues[0]?.field, issues });
    }
    if (parsed.kind === 'realm' && !this.realms.has(parsed.realm)) {
      throw badRequest('invalid_client_metadata', `invalid client: realm: no realm "${parsed.realm}" is configured`, 'realm');
    }
    this.refuseConfigClient(keyOf(parsed), 'replaced');
    return parsed;
  }

  /** The stored client of `key` and `kind`; EidhubError 404 when there is none. */
  private async storedOf(key: string, kind: StoredClient['kind']): Promise<StoredClient> {
    const stored = await this.store.get(key);
    if (!stored || stored.kind !== kind) throw new EidhubError(404, 'client_not_found', `there is no ${describeKey(key)}`);
    return stored;
  }

  /**
   * Stores the client (run inside exclusive), with its audit event if any; it is in the snapshot
   * when this resolves. `onlyNew`: inserted only if its key is free, else EidhubError 409.
   */
  private async write(
    parsed: ClientSettings,
    secrets: StoredClientSecret[],
    createdAt: number,
    at: number,
    how: { onlyNew: boolean; audit: ChangeAudit | undefined },
  ): Promise<RegisteredClient> {
    const key = keyOf(parsed);
    const stored: StoredClient = {
      clientId: key,
      kind: parsed.kind,
      // As the store will give it back (JSON has no undefined), so a later refresh finds it unchanged.
      settings: JSON.parse(JSON.stringify(storedSettings(parsed))) as Record<string, unknown>,
      secrets,
      createdAt,
      updatedAt: at,
    };
    const event = how.audit?.(key);
    if (!how.onlyNew) await this.store.put(stored, event);
    else {
      try {
        await this.store.insert(stored, event);
      } catch (err) {
        throw err instanceof StoreConflictError ? conflict('client_exists', `${describeKey(key)} exists already`) : err;
      }
    }
    const client = register(parsed, secrets.map((s) => Buffer.from(s.sha256, 'base64url')), secrets.map((s) => s.name), false, this.internalSecretKey);
    this.stored.set(stored, client);
    this.emit([key]);
    return client;
  }

  /**
   * Removes a stored client (of `realm` when given), with `audit`; false when the store had none
   * (and then no event is written). A config client is refused (409).
   */
  async remove(clientId: string, realm?: string, audit?: ChangeAudit): Promise<boolean> {
    const key = realm === undefined ? clientId : realmClientKey(realm, clientId);
    this.refuseConfigClient(key, 'removed');
    return this.stored.exclusive(async () => {
      const removed = await this.store.remove(key, audit?.(key));
      if (this.stored.delete(key)) this.emit([key]);
      return removed;
    });
  }

  /** Re-reads the stored clients if the store's clients version changed; true when the snapshot changed. */
  async refresh(): Promise<boolean> {
    return ((await this.stored.refresh())?.length ?? 0) > 0;
  }

  /** Calls `listener` with the keys of the clients that were added, replaced or removed in the snapshot; returns the unsubscribe. */
  onChange(listener: (clientIds: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the refresh timer and writes the secrets' uses not written yet (call it before closing the store). */
  async close(): Promise<void> {
    this.stored.stop();
    await this.uses.close();
  }

  /** The client of `key` in the snapshot: a config client, or a stored client as of the last refresh, add or find. */
  private known(key: string): RegisteredClient | undefined {
    return this.config.get(key) ?? this.stored.get(key);
  }

  /** The client of `key` from the snapshot, else from the store when the key is one a client can have (`valid`). */
  private async findKey(key: string, valid: boolean): Promise<RegisteredClient | undefined> {
    const known = this.known(key);
    if (known || !valid) return known;
    const { entry, kept } = await this.stored.find(key);
    if (kept && entry) this.emit([key]);
    return entry;
  }

  /**
   * The stored client registered, or undefined (with a warning) when a config client has its id,
   * it is not valid, or it belongs to a realm that is not configured (any more).
   */
  private registerStored(stored: StoredClient): RegisteredClient | undefined {
    const { clientId: key } = stored;
    if (this.config.has(key)) {
      this.logger.warn({ clientId: key }, 'clients: a stored client has the id of a config client and is ignored (the config file wins)');
      return undefined;
    }
    const skip = (problems: string[]) => {
      this.logger.warn({ clientId: key, problems }, 'clients: a stored client is not valid and is skipped');
      return undefined;
    };
    const parsed = parseClient(stored.kind, stored.settings, stored.secrets.map((s) => s.sha256));
    if (parsed instanceof z.ZodError) return skip(formatIssues(parsed));
    if (keyOf(parsed) !== key) return skip([`clientId: the settings name another client, ${describeKey(keyOf(parsed))}`]);
    if (parsed.kind === 'realm' && !this.realms.has(parsed.realm)) {
      this.logger.warn({ clientId: key }, `clients: a stored client belongs to realm ${parsed.realm}, which is not configured, and is ignored`);
      return undefined;
    }
    const secretHashes = stored.secrets.map((s) => Buffer.from(s.sha256, 'base64url'));
    if (secretHashes.some((h) => h.length !== SHA256_BYTES)) return skip(['secrets: a hash is not a SHA-256 hash in base64url']);
    return register(parsed, secretHashes, stored.secrets.map((s) => s.name), false, this.internalSecretKey);
  }

  private refuseConfigClient(key: string, change: 'replaced' | 'removed' | 'changed'): void {
    if (this.config.has(key)) throw conflict('client_read_only', `${describeKey(key)} comes from the config file and cannot be ${change} at run time`);
  }

  private emit(clientIds: string[]): void {
    if (clientIds.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(clientIds);
      } catch (err) {
        // One listener's bug must neither stop the others nor fail the change, which is made already.
        this.logger.error({ err, clientIds }, 'clients: a change listener failed');
      }
    }
  }
}
