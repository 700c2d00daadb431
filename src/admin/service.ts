/**
 * What an administrator can do to the clients and the SAML service providers, whichever way they
 * came: the Admin API (routes.ts and saml-routes.ts, for an API client with the permission admin),
 * the console (console/, for a person whose number is in config `admins`) and the CLI all call
 * these, so a change is made, checked and audited one way. Every change goes through a registry,
 * so it reaches every process, and is written with an audit event (`admin.client.*`,
 * `admin.saml_sp.*`) naming who made it (`data.actor`): a client's in the same atomic unit.
 */
import {
  newSecretValue,
  realmClientKey,
  type ChangeAudit,
  type ClientRegistry,
  type ClientSettings,
  type NewClient,
  type RegisteredClient,
  type SecretInfo,
} from '../clients/registry.js';
import { EidhubError } from '../core/errors.js';
import { spNotFound, type RegisteredServiceProvider, type SamlServiceProviderRegistry } from '../protocols/saml/service-providers.js';
import type { AuditStore, StoredClient } from '../store/types.js';

export type { SecretInfo };

export type ClientKind = StoredClient['kind'];

/** A client named by its kind, its id and, for a realm's client, its realm. */
export interface ClientRef {
  kind: ClientKind;
  clientId: string;
  realm?: string | undefined;
}

/** How each kind of client is named in messages. */
export const CLIENT_NOUNS: Readonly<Record<ClientKind, string>> = { oidc: 'OIDC client', api: 'API client', realm: 'realm client' };

/** A secret just made: its value is shown this once. */
export interface NewSecret {
  name: string;
  createdAt: number;
  value: string;
}

export interface AdminServiceDeps {
  registry: ClientRegistry;
  /** Absent where only clients are managed (the CLI). */
  samlServiceProviders?: SamlServiceProviderRegistry | undefined;
  /** Where the SAML service providers' changes are audited (a client's change has the registry write its event); absent with them. */
  audit?: AuditStore | undefined;
  /** The configured realms' names: realm clients exist only in them. */
  realms: readonly string[];
  now: () => number;
}

/** A client's settings as an administrator sees them: never a secret nor a hash. */
export function clientSettings(client: RegisteredClient): Record<string, unknown> {
  return { ...(client.oidc ?? client.api ?? client.realm?.settings) };
}

export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  get realms(): readonly string[] {
    return this.deps.realms;
  }

  /** 404 for a realm that is not configured. */
  checkRealm(kind: ClientKind, realm: string | undefined): void {
    if (kind === 'realm' && !this.deps.realms.includes(realm ?? '')) throw new EidhubError(404, 'realm_not_found', `there is no realm ${realm}`);
  }

  /** The clients of a kind (of one realm for realm clients), the config file's first. */
  list(kind: ClientKind, realm?: string): RegisteredClient[] {
    this.checkRealm(kind, realm);
    return this.deps.registry.list().filter((c) => c.kind === kind && (kind !== 'realm' || c.realm?.name === realm));
  }

  /** The client named; EidhubError 404 when there is none of that kind. */
  async get(ref: ClientRef): Promise<RegisteredClient> {
    this.checkRealm(ref.kind, ref.realm);
    const client = ref.kind === 'realm' ? await this.deps.registry.findRealm(ref.realm!, ref.clientId) : await this.deps.registry.find(ref.clientId);
    if (client?.kind !== ref.kind) throw notFound(ref);
    return client;
  }

  /**
   * Creates a client (400 naming the field when its settings are refused, 409 when its id is in
   * use) with one secret, returned this once, unless it is an OIDC client created public.
   */
  async create(kind: ClientKind, realm: string | undefined, settings: Record<string, unknown>, options: { withSecret: boolean }, actor: string): Promise<{ client: RegisteredClient; secret: NewSecret | undefined }> {
    this.checkRealm(kind, realm);
    const value = kind !== 'oidc' || options.withSecret ? newSecretValue() : undefined;
    const input = { ...toSettings(kind, realm, settings), secrets: value === undefined ? [] : [value] } as NewClient;
    const client = await this.deps.registry.add(input, { onlyNew: true, audit: this.audit('admin.client.created', actor, { kind }) });
    if (value === undefined) return { client, secret: undefined };
    const first = (await this.deps.registry.secretsOf(client.key, kind))?.[0];
    return { client, secret: { name: first?.name ?? 'secret-1', createdAt: first?.createdAt ?? this.deps.now(), value } };
  }

  /** Replaces a stored client's settings (its secrets stay); 409 for a config client. */
  async update(kind: ClientKind, realm: string | undefined, settings: Record<string, unknown>, actor: string): Promise<RegisteredClient> {
    this.checkRealm(kind, realm);
    return this.deps.registry.update(toSettings(kind, realm, settings), this.audit('admin.client.updated', actor, { kind }));
  }

  /** Deletes a stored client; 404 when there is none, 409 for a config client. */
  async remove(ref: ClientRef, actor: string): Promise<void> {
    await this.get(ref);
    const removed = await this.deps.registry.remove(ref.clientId, ref.kind === 'realm' ? ref.realm : undefined, this.audit('admin.client.deleted', actor, { kind: ref.kind }));
    if (!removed) throw notFound(ref);
  }

  /** A client's secrets, names and dates only (their last use too); 404 when there is no such client. */
  async secrets(ref: ClientRef): Promise<SecretInfo[]> {
    const secrets = await this.deps.registry.secretsOf(this.keyOf(ref), ref.kind);
    if (!secrets) throw notFound(ref);
    return secrets;
  }

  /** Adds a new random secret; its value is returned this once. */
  async addSecret(ref: ClientRef, name: string, actor: string): Promise<NewSecret> {
    const key = this.keyOf(ref);
    return this.deps.registry.addSecret(key, ref.kind, name, this.audit('admin.client.secret.created', actor, { kind: ref.kind, secret: name }));
  }

  /** Revokes a secret by name: it fails at once, on every process. 404 when there is none of that name. */
  async revokeSecret(ref: ClientRef, name: string, actor: string): Promise<void> {
    const key = this.keyOf(ref);
    const revoked = await this.deps.registry.revokeSecret(key, ref.kind, name, this.audit('admin.client.secret.revoked', actor, { kind: ref.kind, secret: name }));
    if (!revoked) throw new EidhubError(404, 'secret_not_found', `the ${CLIENT_NOUNS[ref.kind]} ${ref.clientId} has no secret named ${name}`);
  }

  /** Every SAML service provider, the config file's first. */
  serviceProviders(): RegisteredServiceProvider[] {
    return this.sps().list();
  }

  /** The SAML service provider of `entityId`; EidhubError 404 when there is none. */
  async serviceProvider(entityId: string): Promise<RegisteredServiceProvider> {
    const found = await this.sps().find(entityId);
    if (!found) throw spNotFound(entityId);
    return found;
  }

  /** Adds a SAML service provider by its metadata and options, checked as the config file's are (400 naming the field; 409 when its entityID is in use). */
  async addServiceProvider(input: Record<string, unknown>, actor: string): Promise<RegisteredServiceProvider> {
    const registered = await this.sps().add(input, { onlyNew: true });
    await this.auditSp('admin.saml_sp.created', registered.entry.entityId, actor);
    return registered;
  }

  /** Replaces a stored SP's metadata and options; 404 when there is none, 409 for a config SP. */
  async updateServiceProvider(input: Record<string, unknown>, actor: string): Promise<RegisteredServiceProvider> {
    const registered = await this.sps().update(input);
    await this.auditSp('admin.saml_sp.updated', registered.entry.entityId, actor);
    return registered;
  }

  /** Removes a stored SP: its requests are refused at once. 404 when there is none, 409 for a config SP. */
  async removeServiceProvider(entityId: string, actor: string): Promise<void> {
    if (!(await this.sps().remove(entityId))) throw spNotFound(entityId);
    await this.auditSp('admin.saml_sp.deleted', entityId, actor);
  }

  /** An SP's change is written first, then its event (the SP store takes no event with a change). */
  private auditSp(type: string, entityId: string, actor: string): Promise<void> {
    if (!this.deps.audit) throw new Error('this AdminService was made without the audit store');
    return this.deps.audit.append({ type, at: this.deps.now(), clientId: entityId, data: { actor } });
  }

  private sps(): SamlServiceProviderRegistry {
    if (!this.deps.samlServiceProviders) throw new Error('this AdminService was made without the SAML service provider registry');
    return this.deps.samlServiceProviders;
  }

  /** The registry's key of the client named (its realm checked first). */
  private keyOf(ref: ClientRef): string {
    this.checkRealm(ref.kind, ref.realm);
    return ref.kind === 'realm' ? realmClientKey(ref.realm!, ref.clientId) : ref.clientId;
  }

  /** The audit event of a change, which the registry has the store write with the change. */
  private audit(type: string, actor: string, data: Record<string, unknown>): ChangeAudit {
    return (key) => ({ type, at: this.deps.now(), clientId: key, data: { actor, ...data } });
  }
}

function notFound(ref: ClientRef): EidhubError {
  return new EidhubError(404, 'client_not_found', `there is no ${CLIENT_NOUNS[ref.kind]} ${ref.clientId}`);
}

/** Settings as the registry takes a client of this kind. */
function toSettings(kind: ClientKind, realm: string | undefined, settings: Record<string, unknown>): ClientSettings {
  return (kind === 'realm' ? { kind, realm: realm!, settings } : { kind, settings }) as ClientSettings;
}
