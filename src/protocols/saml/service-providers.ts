/**
 * The SAML service providers the IdP answers: those of the config file (`samlServiceProviders`),
 * read-only, and those added at run time (the Admin API), kept in the Store and so shared by every
 * process. As the client registry (src/clients/registry.ts), its snapshot in memory follows the
 * store (src/store/entry-snapshot.ts): another process's change is seen within `refreshMs`, and
 * find() reads the store for an entityID the snapshot lacks, so an SP another process just added
 * answers at once.
 *
 * Every SP is checked as the config file's are (src/config/load.ts): the config entry's schema,
 * its metadata read by parseSpMetadata, and the metadata's entityID equal to `entityId`.
 */
import type { Logger } from 'pino';
import { formatIssues, issuePath } from '../../config/load.js';
import { samlServiceProviderEntrySchema, type SamlServiceProviderConfig, type SamlServiceProviderEntry } from '../../config/schema.js';
import { badRequest, conflict, EidhubError } from '../../core/errors.js';
import { EntrySnapshot } from '../../store/entry-snapshot.js';
import type { SamlServiceProviderStore, StoredSamlServiceProvider } from '../../store/types.js';
import { parseSpMetadata, type SpOptions } from './metadata.js';
import { SamlError, type ServiceProvider } from './model.js';

const DEFAULT_REFRESH_MS = 500;
/** SAML core §8.3.6: an entityID has at most 1024 characters. */
const ENTITY_ID_MAX = 1024;

export interface RegisteredServiceProvider {
  /** Its settings as given: the metadata's text and the options. */
  entry: SamlServiceProviderEntry;
  /** What eidhub read from them. */
  sp: ServiceProvider;
  /** An SP of the config file: it cannot be replaced or removed at run time. */
  readOnly: boolean;
  /** When it was stored; undefined for a config SP. */
  createdAt: number | undefined;
  updatedAt: number | undefined;
}

/** Why an SP is refused: the field at fault and what is wrong with it. */
interface Problem {
  field: string;
  message: string;
}

/**
 * Reads an SP's settings as the config file's loader does. The metadata is read first without the
 * options that need a certificate, then with each of them, so that a refusal names the metadata
 * or the option at fault.
 */
function readEntry(input: unknown): { entry: SamlServiceProviderEntry; sp: ServiceProvider } | Problem {
  const parsed = samlServiceProviderEntrySchema.safeParse(input);
  if (!parsed.success) return { field: parsed.error.issues[0] ? issuePath(parsed.error.issues[0]) : '(root)', message: formatIssues(parsed.error).join('; ') };
  const entry = parsed.data;
  const base = { requireSignedRequests: false, signResponse: entry.signResponse, encryptAssertions: undefined };
  const steps: [string, SpOptions][] = [
    ['metadata', base],
    ['requireSignedRequests', { ...base, requireSignedRequests: entry.requireSignedRequests }],
    ['encryptAssertions', { ...base, requireSignedRequests: entry.requireSignedRequests, encryptAssertions: entry.encryptAssertions }],
  ];
  let sp: ServiceProvider | undefined;
  for (const [field, options] of steps) {
    try {
      sp = parseSpMetadata(entry.metadata, options);
    } catch (err) {
      if (!(err instanceof SamlError)) throw err;
      return { field, message: `${field}: ${err.message}` };
    }
  }
  if (sp!.entityId !== entry.entityId) return { field: 'entityId', message: `entityId: the metadata's entityID is ${JSON.stringify(sp!.entityId)}, not ${JSON.stringify(entry.entityId)}` };
  return { entry, sp: sp! };
}

const isProblem = (read: ReturnType<typeof readEntry>): read is Problem => 'field' in read;

/** An entityID worth looking up in the store: not too long, and without NUL (which PostgreSQL refuses as a parameter). */
const mayBeEntityId = (entityId: string): boolean => entityId.length > 0 && entityId.length <= ENTITY_ID_MAX && !entityId.includes('\0');

/** The config file's SPs (its loader checked them already when eidhub started from a file; a config built in code is checked here). */
function configServiceProviders(sps: readonly SamlServiceProviderConfig[]): Map<string, RegisteredServiceProvider> {
  const config = new Map<string, RegisteredServiceProvider>();
  sps.forEach((sp, i) => {
    const { metadataFile: _file, ...entry } = sp;
    const read = readEntry(entry);
    if (isProblem(read)) throw new Error(`samlServiceProviders[${i}] ("${sp.entityId}"): ${read.message}`);
    config.set(sp.entityId, { ...read, readOnly: true, createdAt: undefined, updatedAt: undefined });
  });
  return config;
}

export interface SamlServiceProviderRegistryOptions {
  config: readonly SamlServiceProviderConfig[];
  store: SamlServiceProviderStore;
  logger: Logger;
  /** How often the store's version is checked (default 500 ms). */
  refreshMs?: number;
  now?: () => number;
}

export class SamlServiceProviderRegistry {
  private readonly config: ReadonlyMap<string, RegisteredServiceProvider>;
  /** Every stored SP as last read, by entityId, and what it became (registered, or skipped). */
  private readonly stored: EntrySnapshot<StoredSamlServiceProvider, RegisteredServiceProvider>;
  private readonly store: SamlServiceProviderStore;
  private readonly logger: Logger;
  private readonly now: () => number;

  private constructor(opts: SamlServiceProviderRegistryOptions) {
    this.config = configServiceProviders(opts.config);
    this.store = opts.store;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.stored = new EntrySnapshot({
      store: opts.store,
      keyOf: (sp) => sp.entityId,
      admit: (sp) => this.registerStored(sp),
      onRefreshError: (err) => this.logger.error({ err }, 'saml: reading the stored service providers failed; the last ones read stay in use'),
    });
  }

  /** The config's SPs and the store's; rejects on a bad config SP or an unreadable store, so a start fails rather than run without them. */
  static async open(opts: SamlServiceProviderRegistryOptions): Promise<SamlServiceProviderRegistry> {
    const registry = new SamlServiceProviderRegistry(opts);
    await registry.refresh();
    registry.stored.start(opts.refreshMs ?? DEFAULT_REFRESH_MS);
    return registry;
  }

  /** Every SP: the config's, then the stored ones by entityId. */
  list(): RegisteredServiceProvider[] {
    return [...this.config.values(), ...this.stored.entries().sort((a, b) => (a.entry.entityId < b.entry.entityId ? -1 : 1))];
  }

  /** The SP of `entityId`: from the snapshot, else from the store (see EntrySnapshot.find). */
  async find(entityId: string): Promise<RegisteredServiceProvider | undefined> {
    const known = this.config.get(entityId) ?? this.stored.get(entityId);
    if (known || !mayBeEntityId(entityId)) return known;
    return (await this.stored.find(entityId)).entry;
  }

  /**
   * Checks an SP as the config file's are (EidhubError 400 naming the field), refuses a config
   * SP's entityID (409) and, with `onlyNew`, one stored already (409), and stores it; a stored SP
   * of the same entityID is replaced, keeping when it was created. It is in the snapshot when the
   * promise resolves.
   */
  async add(input: unknown, opts: { onlyNew?: boolean } = {}): Promise<RegisteredServiceProvider> {
    const read = this.check(input);
    return this.stored.exclusive(async () => {
      const prior = await this.store.get(read.entry.entityId);
      if (prior && opts.onlyNew) throw conflict('saml_sp_exists', `SAML service provider ${read.entry.entityId} exists already`);
      return this.write(read, prior?.createdAt);
    });
  }

  /** Replaces a stored SP's settings, checked as add checks them; EidhubError 404 without such a stored SP, 409 for a config SP. */
  async update(input: unknown): Promise<RegisteredServiceProvider> {
    const read = this.check(input);
    return this.stored.exclusive(async () => {
      const prior = await this.store.get(read.entry.entityId);
      if (!prior) throw spNotFound(read.entry.entityId);
      return this.write(read, prior.createdAt);
    });
  }

  /** Removes a stored SP: its requests are refused at once here, and within the refresh on other processes. False when there was none; 409 for a config SP. */
  async remove(entityId: string): Promise<boolean> {
    this.refuseConfig(entityId, 'removed');
    return this.stored.exclusive(async () => {
      const removed = await this.store.remove(entityId);
      this.stored.delete(entityId);
      return removed;
    });
  }

  /** Re-reads the stored SPs if the store's version changed. */
  async refresh(): Promise<void> {
    await this.stored.refresh();
  }

  /** Stops the refresh timer. */
  close(): void {
    this.stored.stop();
  }

  private check(input: unknown): { entry: SamlServiceProviderEntry; sp: ServiceProvider } {
    const read = readEntry(input);
    if (isProblem(read)) throw badRequest('invalid_saml_metadata', `invalid SAML service provider: ${read.message}`, read.field);
    this.refuseConfig(read.entry.entityId, 'replaced');
    return read;
  }

  /** Stores the SP (run inside exclusive); it is in the snapshot when this resolves. */
  private async write(read: { entry: SamlServiceProviderEntry; sp: ServiceProvider }, createdAt: number | undefined): Promise<RegisteredServiceProvider> {
    const { metadata, entityId, ...settings } = read.entry;
    const at = this.now();
    const stored: StoredSamlServiceProvider = {
      entityId,
      metadata,
      // As the store will give it back (JSON has no undefined), so a later refresh finds it unchanged.
      settings: JSON.parse(JSON.stringify(settings)) as Record<string, unknown>,
      createdAt: createdAt ?? at,
      updatedAt: at,
    };
    await this.store.put(stored);
    const registered = { ...read, readOnly: false, createdAt: stored.createdAt, updatedAt: at };
    this.stored.set(stored, registered);
    return registered;
  }

  /** The stored SP registered, or undefined (with a warning) when a config SP has its entityID or it is not valid (any more). */
  private registerStored(stored: StoredSamlServiceProvider): RegisteredServiceProvider | undefined {
    const { entityId } = stored;
    if (this.config.has(entityId)) {
      this.logger.warn({ entityId }, 'saml: a stored service provider has the entityID of a config one and is ignored (the config file wins)');
      return undefined;
    }
    const read = readEntry({ ...stored.settings, entityId, metadata: stored.metadata });
    if (isProblem(read)) {
      this.logger.warn({ entityId, problem: read.message }, 'saml: a stored service provider is not valid and is skipped');
      return undefined;
    }
    return { ...read, readOnly: false, createdAt: stored.createdAt, updatedAt: stored.updatedAt };
  }

  private refuseConfig(entityId: string, change: 'replaced' | 'removed'): void {
    if (this.config.has(entityId)) throw conflict('saml_sp_read_only', `SAML service provider ${entityId} comes from the config file and cannot be ${change} at run time`);
  }
}

/** EidhubError 404 for an entityID without a (stored) SP. */
export function spNotFound(entityId: string): EidhubError {
  return new EidhubError(404, 'saml_sp_not_found', `there is no SAML service provider ${entityId}`);
}
