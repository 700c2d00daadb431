/**
 * The client registry: OIDC and API clients of the config file, read-only, and clients added at
 * run time, kept in the Store and so shared by every process. Secrets are kept only as SHA-256
 * hashes (they are long random strings, so a fast hash is enough) and checked in constant time.
 *
 * Lookups are synchronous, from an in-memory snapshot, since every token request needs one. The
 * snapshot follows the store: a timer re-reads the stored clients whenever the store's clients
 * version changed, so another process's change is seen within `refreshMs`; and find() reads the
 * store for an id the snapshot lacks, so a client another process just added is usable at once.
 *
 * Protocol-neutral: how a protocol presents clients to its library (oidc-provider's client
 * metadata) stays in that protocol's folder.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { z } from 'zod';
import { formatIssues, formatPath } from '../config/load.js';
import {
  apiClientSchema,
  CLIENT_ID_PATTERN,
  oidcClientSchema,
  type ApiClientConfig,
  type ApiClientSettings,
  type OidcClientConfig,
  type OidcClientSettings,
} from '../config/schema.js';
import { badRequest, conflict } from '../core/errors.js';
import type { ClientStore, StoredClient } from '../store/types.js';

/** The scopes of an API client's access tokens; either one lets it call the REST API. */
export const API_SCOPES = ['signicat-api', 'auth-rest-api'] as const;

const DEFAULT_REFRESH_MS = 500;

export interface RegisteredClient {
  clientId: string;
  kind: 'oidc' | 'api';
  name: string | undefined;
  /** SHA-256 of each valid secret; empty for a public client. */
  secretHashes: Buffer[];
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
}

/** A client to add: its settings as the config file has them, and its secrets apart. */
export type NewClient =
  | { kind: 'oidc'; settings: OidcClientSettings; secrets: string[] }
  | { kind: 'api'; settings: ApiClientSettings; secrets: string[] };

type ClientSettings = { kind: 'oidc'; settings: OidcClientSettings } | { kind: 'api'; settings: ApiClientSettings };

/** What a stored client became when last read: registered, or skipped (`client` undefined). Kept to tell a change from a re-read. */
interface Admission {
  stored: StoredClient;
  client: RegisteredClient | undefined;
}

export interface ClientRegistryOptions {
  oidcClients: OidcClientConfig[];
  apiClients: ApiClientConfig[];
  /** The server key internal secrets are derived from. */
  internalSecretKey: Buffer;
  store: ClientStore;
  logger: Logger;
  /** How often the store's clients version is checked (default 500 ms). */
  refreshMs?: number;
  now?: () => number;
}

const sha256 = (value: string): Buffer => hash('sha256', value, 'buffer');
const SHA256_BYTES = 32;

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
  const result = apiClientSchema.safeParse(input);
  return result.success ? { kind, settings: withoutSecrets(result.data) } : result.error;
}

function withoutSecrets<T extends { secrets: string[] }>(client: T): Omit<T, 'secrets'> {
  const { secrets: _secrets, ...settings } = client;
  return settings;
}

function register(client: ClientSettings, secretHashes: Buffer[], readOnly: boolean, internalSecretKey: Buffer): RegisteredClient {
  const { clientId } = client.settings;
  return {
    clientId,
    kind: client.kind,
    name: client.kind === 'oidc' ? client.settings.clientName : undefined,
    secretHashes,
    internalSecret: createHmac('sha256', internalSecretKey).update(`client-secret:${clientId}`).digest('base64url'),
    readOnly,
    ...(client.kind === 'oidc' ? { oidc: client.settings } : { api: client.settings }),
  };
}

/** The clients of the config file (validated by its schema already), read-only, by clientId. */
function configClients(oidcClients: OidcClientConfig[], apiClients: ApiClientConfig[], internalSecretKey: Buffer): Map<string, RegisteredClient> {
  const clients = new Map<string, RegisteredClient>();
  for (const c of oidcClients) {
    clients.set(c.clientId, register({ kind: 'oidc', settings: withoutSecrets(c) }, c.secrets.map(sha256), true, internalSecretKey));
  }
  for (const c of apiClients) {
    clients.set(c.clientId, register({ kind: 'api', settings: withoutSecrets(c) }, c.secrets.map(sha256), true, internalSecretKey));
  }
  return clients;
}

/**
 * A client kept outside the registry: a realm's (src/protocols/ciba/), which the config file
 * holds until the registry manages realm clients too. Its secrets are hashed and checked as the
 * registry's are; its internal secret is derived from the same key under its realm, so it never
 * equals the secret of a registry client of the same id.
 */
export function realmClient(realm: string, clientId: string, name: string | undefined, secrets: readonly string[], internalSecretKey: Buffer): RegisteredClient {
  return {
    clientId,
    kind: 'oidc',
    name,
    secretHashes: secrets.map(sha256),
    internalSecret: createHmac('sha256', internalSecretKey).update(`realm-client-secret:${realm}:${clientId}`).digest('base64url'),
    readOnly: true,
  };
}

/** Constant-time check of a presented secret against every valid secret of the client (each one compared, match or not). */
export function verifyClientSecret(client: RegisteredClient, presented: string): boolean {
  const presentedHash = sha256(presented);
  let ok = false;
  for (const expected of client.secretHashes) ok = timingSafeEqual(expected, presentedHash) || ok;
  return ok;
}

/** PKCE: public clients always; confidential clients when configured `required`; an unknown client or an API client never gets past it. */
function clientNeedsPkce(client: RegisteredClient | undefined): boolean {
  if (!client || client.kind !== 'oidc') return true;
  return client.secretHashes.length === 0 || client.oidc?.pkce === 'required';
}

export class ClientRegistry {
  private readonly config: ReadonlyMap<string, RegisteredClient>;
  /** Every stored client as last read, by clientId, the skipped ones too. */
  private stored = new Map<string, Admission>();
  /** The store's clients version `stored` was read at; undefined before the first read. */
  private version: number | undefined;
  private readonly listeners = new Set<(clientIds: string[]) => void>();
  /** Advanced by every change of `stored` that add, remove and refresh make (see find). */
  private generation = 0;
  /**
   * Work that reads the store and then changes `stored` runs one at a time: otherwise a refresh
   * that listed the clients just before an add could replace the snapshot without the client
   * the add had put in.
   */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** A timer tick's refresh is still running: a slow store must not pile refreshes up. */
  private ticking = false;
  private readonly store: ClientStore;
  private readonly logger: Logger;
  private readonly internalSecretKey: Buffer;
  private readonly now: () => number;

  private constructor(opts: ClientRegistryOptions) {
    this.config = configClients(opts.oidcClients, opts.apiClients, opts.internalSecretKey);
    this.store = opts.store;
    this.logger = opts.logger;
    this.internalSecretKey = opts.internalSecretKey;
    this.now = opts.now ?? Date.now;
  }

  /** The config's clients and the store's; rejects if the store cannot be read, so a start fails rather than run without its clients. */
  static async open(opts: ClientRegistryOptions): Promise<ClientRegistry> {
    const registry = new ClientRegistry(opts);
    await registry.refresh();
    registry.timer = setInterval(() => registry.tick(), opts.refreshMs ?? DEFAULT_REFRESH_MS);
    // The registry never keeps a process alive by itself.
    registry.timer.unref();
    return registry;
  }

  /** From the snapshot: a config client, or a stored client as of the last refresh, add or find. */
  get(clientId: string): RegisteredClient | undefined {
    return this.config.get(clientId) ?? this.stored.get(clientId)?.client;
  }

  /**
   * As get, but an id the snapshot lacks is looked up in the store (and then kept in the
   * snapshot). The look-up is not queued behind add, remove and refresh, so that requests naming
   * made-up ids cannot hold those up; what it read is kept only if the snapshot did not change
   * meanwhile (a refresh may have read a newer state), and returned either way.
   */
  async find(clientId: string): Promise<RegisteredClient | undefined> {
    const known = this.get(clientId);
    if (known) return known;
    // An id no client can have (a NUL byte, which PostgreSQL refuses as a parameter) is not looked up.
    if (!CLIENT_ID_PATTERN.test(clientId)) return undefined;
    const generation = this.generation;
    const stored = await this.store.get(clientId);
    if (!stored) return undefined;
    const admission = this.admit(stored);
    if (generation === this.generation && !this.stored.has(clientId)) {
      this.stored.set(clientId, admission);
      if (admission.client) this.emit([clientId]);
    }
    return admission.client;
  }

  /** The config's clients, then the stored ones by clientId. */
  list(): RegisteredClient[] {
    const stored = [...this.stored.values()].flatMap((a) => (a.client ? [a.client] : []));
    return [...this.config.values(), ...stored.sort((a, b) => (a.clientId < b.clientId ? -1 : 1))];
  }

  verifySecret(client: RegisteredClient, presented: string): boolean {
    return verifyClientSecret(client, presented);
  }

  pkceRequired(clientId: string): boolean {
    return clientNeedsPkce(this.get(clientId));
  }

  /**
   * Validates the client with the config file's schema (EidhubError 400 naming the field), refuses
   * the id of a config client (409), and stores it: a stored client of the same id is replaced,
   * keeping when it was created, which is how a client's settings or secrets change. The client
   * is in the snapshot when the promise resolves.
   */
  async add(input: NewClient): Promise<RegisteredClient> {
    const parsed = parseClient(input.kind, input.settings, input.secrets);
    if (parsed instanceof z.ZodError) {
      throw badRequest('invalid_client_metadata', `invalid client: ${formatIssues(parsed).join('; ')}`, formatPath(parsed.issues[0]?.path ?? []));
    }
    const { clientId } = parsed.settings;
    this.refuseConfigClient(clientId, 'replaced');
    return this.exclusive(async () => {
      const at = this.now();
      const prior = await this.store.get(clientId);
      const secretHashes = input.secrets.map(sha256);
      const stored: StoredClient = {
        clientId,
        kind: parsed.kind,
        // As the store will give it back (JSON has no undefined), so a later refresh finds it unchanged.
        settings: JSON.parse(JSON.stringify(parsed.settings)) as Record<string, unknown>,
        secrets: secretHashes.map((h, i) => ({ name: `secret-${i + 1}`, sha256: h.toString('base64url'), createdAt: at })),
        createdAt: prior?.createdAt ?? at,
        updatedAt: at,
      };
      await this.store.put(stored);
      const client = register(parsed, secretHashes, false, this.internalSecretKey);
      this.stored.set(clientId, { stored, client });
      this.generation++;
      this.emit([clientId]);
      return client;
    });
  }

  /** Removes a stored client; false when the store had none. A config client is refused (409). */
  async remove(clientId: string): Promise<boolean> {
    this.refuseConfigClient(clientId, 'removed');
    return this.exclusive(async () => {
      const removed = await this.store.remove(clientId);
      const prior = this.stored.get(clientId);
      this.stored.delete(clientId);
      this.generation++;
      if (prior?.client) this.emit([clientId]);
      return removed;
    });
  }

  /** Re-reads the stored clients if the store's clients version changed; true when the snapshot changed. */
  refresh(): Promise<boolean> {
    return this.exclusive(async () => {
      const version = await this.store.version();
      if (version === this.version) return false;
      // Listed after reading the version: a change in between is in the list, and read again at the next version.
      const next = new Map<string, Admission>();
      for (const stored of await this.store.list()) next.set(stored.clientId, this.admit(stored));
      const ids = new Set([...this.stored.keys(), ...next.keys()]);
      const changed = [...ids].filter((id) => this.stored.get(id)?.client !== next.get(id)?.client);
      this.stored = next;
      this.generation++;
      this.version = version;
      this.emit(changed);
      return changed.length > 0;
    });
  }

  /** Calls `listener` with the ids of the clients that were added, replaced or removed in the snapshot; returns the unsubscribe. */
  onChange(listener: (clientIds: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the refresh timer. */
  close(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.ticking) return;
    this.ticking = true;
    this.refresh()
      .catch((err: unknown) => this.logger.error({ err }, 'clients: reading the stored clients failed; the last ones read stay in use'))
      .finally(() => {
        this.ticking = false;
      });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The stored client's admission: the one it had if it is unchanged, so it is neither registered nor warned about twice. */
  private admit(stored: StoredClient): Admission {
    const prior = this.stored.get(stored.clientId);
    if (prior && isDeepStrictEqual(prior.stored, stored)) return prior;
    return { stored, client: this.registerStored(stored) };
  }

  /** The stored client registered, or undefined (with a warning) when a config client has its id or it is not valid. */
  private registerStored(stored: StoredClient): RegisteredClient | undefined {
    const { clientId } = stored;
    if (this.config.has(clientId)) {
      this.logger.warn({ clientId }, 'clients: a stored client has the id of a config client and is ignored (the config file wins)');
      return undefined;
    }
    const skip = (problems: string[]) => {
      this.logger.warn({ clientId, problems }, 'clients: a stored client is not valid and is skipped');
      return undefined;
    };
    const parsed = parseClient(stored.kind, stored.settings, stored.secrets.map((s) => s.sha256));
    if (parsed instanceof z.ZodError) return skip(formatIssues(parsed));
    if (parsed.settings.clientId !== clientId) return skip([`clientId: the settings name another client, ${parsed.settings.clientId}`]);
    const secretHashes = stored.secrets.map((s) => Buffer.from(s.sha256, 'base64url'));
    if (secretHashes.some((h) => h.length !== SHA256_BYTES)) return skip(['secrets: a hash is not a SHA-256 hash in base64url']);
    return register(parsed, secretHashes, false, this.internalSecretKey);
  }

  private refuseConfigClient(clientId: string, change: 'replaced' | 'removed'): void {
    if (this.config.has(clientId)) throw conflict('client_read_only', `client ${clientId} comes from the config file and cannot be ${change} at run time`);
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
