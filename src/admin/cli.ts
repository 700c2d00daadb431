/**
 * The Admin API's mirrors for scripts: `eidhub clients list|add|remove` and `eidhub secrets
 * add|revoke`, on the store the config file names, through the client registry (so running
 * processes see a change at once, as they do the Admin API's). Every change is an audit event
 * with the actor `cli`. A new secret's value is printed once, on standard output; nothing else
 * ever prints a secret.
 */
import { readFileSync } from 'node:fs';
import { ClientRegistry, type RegisteredClient } from '../clients/registry.js';
import type { Config } from '../config/schema.js';
import { EidhubError } from '../core/errors.js';
import type { Store } from '../store/types.js';
import type { Logger } from 'pino';
import { AdminService, type ClientRef } from './service.js';

export const CLI_HELP = `  eidhub clients list [--config FILE]
                              every client: kind, id (a realm's as realm/id), name, read-only, secrets
  eidhub clients add --kind oidc|api|realm [--realm NAME] [--confidential] FILE|- [--config FILE]
                              add a client from a JSON file (the config file's client object
                              without secrets; - reads standard input). API and realm clients,
                              and OIDC clients with --confidential, get one secret, printed once
  eidhub clients remove CLIENT_ID [--realm NAME] [--config FILE]
  eidhub secrets add CLIENT_ID --name NAME [--realm NAME] [--config FILE]
                              add a secret; its value is printed once
  eidhub secrets revoke CLIENT_ID NAME [--realm NAME] [--config FILE]
                              revoke a secret: it fails at once`;

const ACTOR = 'cli';

export interface CliDeps {
  config: Config;
  store: Store;
  internalSecretKey: Buffer;
  logger: Logger;
  out: (line: string) => void;
  now?: () => number;
}

/** The value after `--name` in args, if any. */
function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new EidhubError(400, 'invalid_request', `${name} needs a value`);
  return value;
}

/** The arguments that are neither options nor their values. */
function operands(args: readonly string[], withValues: readonly string[]): string[] {
  return args.filter((a, i) => !a.startsWith('--') && !withValues.includes(args[i - 1] ?? ''));
}

const describe = (c: RegisteredClient) =>
  [c.kind, c.key, c.name ?? '-', c.readOnly ? 'read-only' : 'stored', `${c.secretHashes.length} secret${c.secretHashes.length === 1 ? '' : 's'}`].join('\t');

/** Runs `eidhub clients …` or `eidhub secrets …`; `args` are the words after the command's group. */
export async function runClientsCli(group: 'clients' | 'secrets', args: readonly string[], deps: CliDeps): Promise<number> {
  const { config, store, out } = deps;
  const now = deps.now ?? Date.now;
  const registry = await ClientRegistry.open({
    oidcClients: config.oidcClients,
    apiClients: config.apiClients,
    realms: config.realms,
    internalSecretKey: deps.internalSecretKey,
    store: store.clients,
    logger: deps.logger,
    now,
  });
  const service = new AdminService({ registry, realms: config.realms.map((r) => r.name), now });
  try {
    const [action, ...rest] = operands(args, ['--kind', '--realm', '--name', '--config']);
    const realm = option(args, '--realm');
    /** The client the command names: a realm's with --realm, else an /auth/open one. */
    const clientOf = async (clientId: string | undefined): Promise<RegisteredClient & { ref: ClientRef }> => {
      if (!clientId) throw new EidhubError(400, 'invalid_request', 'name the client: CLIENT_ID');
      const client = realm === undefined ? await registry.find(clientId) : await registry.findRealm(realm, clientId);
      if (!client) throw new EidhubError(404, 'client_not_found', `there is no client ${clientId}${realm === undefined ? '' : ` in realm ${realm}`}`);
      return { ...client, ref: { kind: client.kind, clientId, realm } };
    };

    if (group === 'clients' && action === 'list') {
      for (const client of registry.list()) out(describe(client));
      return 0;
    }
    if (group === 'clients' && action === 'add') {
      const kind = option(args, '--kind');
      if (kind !== 'oidc' && kind !== 'api' && kind !== 'realm') throw new EidhubError(400, 'invalid_request', '--kind must be oidc, api or realm');
      if ((kind === 'realm') !== (realm !== undefined)) throw new EidhubError(400, 'invalid_request', kind === 'realm' ? 'a realm client needs --realm NAME' : '--realm is for --kind realm only');
      const file = rest[0];
      if (!file) throw new EidhubError(400, 'invalid_request', 'name the JSON file of the client (or - for standard input)');
      let settings: Record<string, unknown>;
      try {
        settings = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new EidhubError(400, 'invalid_request', `${file}: not a JSON file (${err instanceof Error ? err.message : String(err)})`);
      }
      if ('secrets' in settings) throw new EidhubError(400, 'invalid_request', 'secrets: leave them out; eidhub makes the first one and prints it once', { field: 'secrets' });
      const { client, secret } = await service.create(kind, realm, settings, { withSecret: args.includes('--confidential') }, ACTOR);
      out(`created ${describe(client)}`);
      if (secret !== undefined) out(`secret ${secret.name}: ${secret.value}   (shown this once)`);
      return 0;
    }
    if (group === 'clients' && action === 'remove') {
      const client = await clientOf(rest[0]);
      await service.remove(client.ref, ACTOR);
      out(`removed ${client.key}`);
      return 0;
    }
    if (group === 'secrets' && action === 'add') {
      const client = await clientOf(rest[0]);
      const name = option(args, '--name');
      if (!name) throw new EidhubError(400, 'invalid_request', 'name the secret: --name NAME');
      const secret = await service.addSecret(client.ref, name, ACTOR);
      out(`secret ${secret.name}: ${secret.value}   (shown this once)`);
      return 0;
    }
    if (group === 'secrets' && action === 'revoke') {
      const client = await clientOf(rest[0]);
      const name = rest[1];
      if (!name) throw new EidhubError(400, 'invalid_request', 'name the secret to revoke: CLIENT_ID NAME');
      await service.revokeSecret(client.ref, name, ACTOR);
      out(`revoked ${name} of ${client.key}`);
      return 0;
    }
    throw new EidhubError(400, 'invalid_request', `unknown command: eidhub ${group} ${action ?? ''}`.trim());
  } finally {
    await registry.close();
  }
}
