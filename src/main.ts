#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4 --max-old-space-size=128
/**
 * The composition root: config → store → keys → sms → authenticators → protocols → http.
 * Everything eidhub is made of is wired here, in one visible place. Run directly, it is the
 * `eidhub` command (see `eidhub --help`).
 */
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { purgeStore } from './audit/retention.js';
import { ensureRpKeys, rotateRpKeys } from './authenticators/itsme/rp-keys.js';
import { withSandboxItsme } from './authenticators/itsme/sandbox.js';
import { otpSmsPlugin } from './authenticators/otp-sms/index.js';
import type { Authenticator, AuthenticatorPlugin } from './authenticators/types.js';
import { ClientRegistry } from './clients/registry.js';
import { ConfigError, parseConfig, readConfigFile } from './config/load.js';
import type { Config, OidcClientConfig, ApiClientConfig, RealmConfig } from './config/schema.js';
import { configWarnings } from './config/warnings.js';
import { EidhubError } from './core/errors.js';
import { deriveSubject } from './core/subject.js';
import type { Protocol } from './core/transaction.js';
import { TransactionService } from './core/transactions.js';
import { createLogger } from './http/logger.js';
import { createServer } from './http/server.js';
import { ensureSigningKeys, keySetFingerprint, rotateSigningKeys, toPrivateJwks } from './keys/signing-keys.js';
import { cibaPlugin } from './protocols/ciba/index.js';
import { createApiTokenVerifier, oidcPlugin } from './protocols/oidc/index.js';
import { restPlugin } from './protocols/rest/index.js';
import { samlPlugin } from './protocols/saml/index.js';
import { ensureSamlSigningKey, rotateSamlSigningKey, samlCertificateSubject } from './protocols/saml/keys.js';
import { parseSpMetadata } from './protocols/saml/metadata.js';
import { SamlServiceProviderRegistry } from './protocols/saml/service-providers.js';
import type { ProtocolContext, ProtocolInstance, ProtocolPlugin } from './protocols/types.js';
import {
  registerSandbox,
  SANDBOX_API_CLIENT_ID,
  SANDBOX_API_CLIENT_SECRET,
  SANDBOX_CIBA_CLIENT_ID,
  SANDBOX_CIBA_CLIENT_SECRET,
  SANDBOX_OIDC_CLIENT_ID,
  SANDBOX_OIDC_CLIENT_SECRET,
  SANDBOX_REALM,
  SANDBOX_SHOWCASE_URL,
} from './sandbox/routes.js';
import { createSmsProvider } from './sms/index.js';
import { SandboxInbox } from './sms/sandbox-inbox.js';
import type { SmsProvider } from './sms/types.js';
import { openStore } from './store/index.js';
import type { Store } from './store/types.js';
import { loadLocales, mergeCatalogs } from './ui/i18n.js';
import { HostedPages, hostedPageUrl, registerHostedPages } from './pages/hosted-pages.js';
import { CLI_HELP, runClientsCli } from './admin/cli.js';
import { registerAdminApi } from './admin/index.js';
import { AdminService } from './admin/service.js';
import { helpFor, readCommandLine } from './cli/args.js';
import { registerConsole } from './admin/console/index.js';
import { cookiesCanBeSecure } from './http/security.js';
import { consoleClient, consoleClientSecret } from './admin/console/login.js';

/**
 * The authenticators eidhub has: SMS OTP, and one per configured upstream OpenID Provider (itsme).
 * The upstream authenticator (with openid-client) is loaded only when an upstream is configured,
 * and the sandbox's itsme simulator only when it is one.
 */
async function authenticatorPlugins(config: Config): Promise<readonly AuthenticatorPlugin[]> {
  if (config.upstreamProviders.length === 0) return [otpSmsPlugin];
  const { upstreamPlugins } = await import('./authenticators/itsme/index.js');
  return [otpSmsPlugin, ...upstreamPlugins(config)];
}

/** The protocols eidhub speaks, each registering its own routes. */
const PROTOCOLS: readonly ProtocolPlugin[] = [oidcPlugin, restPlugin, samlPlugin, cibaPlugin];

const KEY_CHECK_INTERVAL_MS = 60_000;
const PURGE_INTERVAL_MS = 10 * 60_000;

export interface Eidhub {
  app: FastifyInstance;
  config: Config;
  store: Store;
  /** The OIDC and API clients: the config file's and those added at run time. */
  clients: ClientRegistry;
  /** The SAML service providers: the config file's and those added at run time. */
  samlServiceProviders: SamlServiceProviderRegistry;
  inbox: SandboxInbox | undefined;
  /** Re-reads signing keys from the store and rebuilds the OpenID Provider if they changed. */
  reloadKeys(): Promise<boolean>;
  close(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
  /** Use this store instead of opening the configured one (tests); it is closed with eidhub. */
  store?: Store;
  /** Replaces the configured SMS provider (tests that need to inspect what is sent). */
  sms?: SmsProvider;
  now?: () => number;
  /** Start the timers for key reloads and purging (default true). */
  timers?: boolean;
  /** Authenticators to enable besides the built-in ones (tests; later, extensions). */
  authenticators?: readonly AuthenticatorPlugin[];
}

/** Server keys: created once, kept in the store, shared by every process. */
async function serverKey(store: Store, name: string): Promise<Buffer> {
  return Buffer.from(await store.secrets.getOrCreate(name, randomBytes(32).toString('base64url')), 'base64url');
}

/** Whether SMS never leave this machine (the console provider): the sandbox's published secrets are safe only then. */
const smsStayLocal = (config: Config): boolean => config.sms.provider === 'console';

/**
 * Sandbox mode adds a demo OIDC client, a demo API client and the realm `ipification` with a demo
 * CIBA client (for the showcase app). Each has a random secret, made once and kept in the store,
 * that `npm start` prints. While SMS go to the console provider, and so never leave the machine,
 * each also accepts its published secret (SANDBOX_*_CLIENT_SECRET, which the showcase's
 * config/default.json holds), so that `npm start` and `npm run showcase` work together with no
 * config. With any other provider a published secret would let anyone who reaches eidhub send
 * real SMS, so the demo clients then have their stored secrets only. The OIDC client also accepts
 * the showcase's callback at its default address.
 */
async function withSandboxClients(config: Config, store: Store): Promise<Config> {
  if (!config.sandbox) return config;
  const publish = smsStayLocal(config);
  // The stored secret first: the sandbox's own demo relying party uses the first one.
  const secretsOf = async (name: string, published: string): Promise<string[]> => {
    const stored = await store.secrets.getOrCreate(name, randomBytes(24).toString('base64url'));
    return publish ? [stored, published] : [stored];
  };
  const oidcSecrets = await secretsOf('sandbox:oidc-client-secret', SANDBOX_OIDC_CLIENT_SECRET);
  const apiSecrets = await secretsOf('sandbox:api-client-secret', SANDBOX_API_CLIENT_SECRET);
  // Not 'sandbox:ciba-client-secret': older stores hold the published secret under that name.
  const cibaSecrets = await secretsOf('sandbox:realm-client-secret', SANDBOX_CIBA_CLIENT_SECRET);
  const demoOidc: OidcClientConfig = {
    clientId: SANDBOX_OIDC_CLIENT_ID,
    clientName: 'eidhub demo app',
    secrets: oidcSecrets,
    redirectUris: [`${config.publicUrl}/sandbox/callback`, `${SANDBOX_SHOWCASE_URL}/oidc/callback`],
    postLogoutRedirectUris: [`${config.publicUrl}/sandbox`],
    grantTypes: ['authorization_code', 'refresh_token'],
    // idp-id and phone for SMS logins, name and profile for itsme (the sandbox's simulator).
    scopes: ['openid', 'idp-id', 'phone', 'name', 'profile'],
    pkce: 'optional',
    idTokenClaims: ['idp_id', 'phone_number', 'name', 'family_name', 'given_name', 'gender', 'birthdate', 'idp_issuer'],
    idTokenSigningAlg: 'RS256',
  };
  const demoApi: ApiClientConfig = { clientId: SANDBOX_API_CLIENT_ID, secrets: apiSecrets, permissions: ['authentication-rest-api'] };
  const demoRealm: RealmConfig = {
    name: SANDBOX_REALM,
    allowUrlsInMessage: false,
    pollIntervalSeconds: 5,
    clients: [{ clientId: SANDBOX_CIBA_CLIENT_ID, clientName: 'eidhub showcase', secrets: cibaSecrets, scopes: ['openid', 'ip:phone_verify'], deliveryMode: 'poll' }],
  };
  const has = (id: string) => config.oidcClients.some((c) => c.clientId === id) || config.apiClients.some((c) => c.clientId === id);
  return {
    ...config,
    oidcClients: has(demoOidc.clientId) ? config.oidcClients : [...config.oidcClients, demoOidc],
    apiClients: has(demoApi.clientId) ? config.apiClients : [...config.apiClients, demoApi],
    realms: config.realms.some((r) => r.name === SANDBOX_REALM) ? config.realms : [...config.realms, demoRealm],
  };
}

export async function buildEidhub(baseConfig: Config, options: BuildOptions = {}): Promise<Eidhub> {
  const logger = options.logger ?? createLogger(baseConfig.logLevel);
  for (const warning of configWarnings(baseConfig)) logger.warn(`config: ${warning}`);
  const now = options.now ?? Date.now;
  const store = options.store ?? (await openStore(baseConfig.storage));
  const withClients = await withSandboxClients(baseConfig, store);
  const config = withSandboxItsme(withClients);
  const keyOf = (name: string) => serverKey(store, name);

  const [subjectKey, clientSecretKey] = await Promise.all([keyOf('subject'), keyOf('client-secret')]);
  let keys = await ensureSigningKeys(store.keys, store.secrets, now());

  const inbox = config.sandbox ? new SandboxInbox() : undefined;
  const sms = options.sms ?? createSmsProvider(config.sms, { logger: logger.child({ module: 'sms' }), ...(inbox ? { inbox } : {}) });
  const transactions = new TransactionService(store, now, (err, tx) => logger.error({ err, tx: tx.id }, 'a listener of finished transactions failed'));

  const authenticators = new Map<string, Authenticator>();
  for (const plugin of [...(await authenticatorPlugins(config)), ...(options.authenticators ?? [])]) {
    if (authenticators.has(plugin.id)) throw new Error(`two authenticators are called ${plugin.id}`);
    const authenticator = await plugin.create({
      config,
      store,
      transactions,
      sms,
      serverKey: keyOf,
      subjectOf: (providerUserId) => deriveSubject(subjectKey, plugin.id, providerUserId),
      logger: logger.child({ module: plugin.id }),
      now,
    });
    authenticators.set(authenticator.id, authenticator);
  }
  const locales = mergeCatalogs([
    { source: 'the hosted pages', locales: loadLocales() },
    ...[...authenticators.values()].map((a) => ({ source: `authenticator ${a.id}`, locales: a.messages })),
  ]);
  // The admin console's own OIDC client, when someone may open the console.
  const consoleKey = config.admins.length > 0 ? await keyOf('admin-console') : undefined;
  const clients = await ClientRegistry.open({
    oidcClients: consoleKey ? [...config.oidcClients, consoleClient(config.publicUrl, consoleKey)] : config.oidcClients,
    apiClients: config.apiClients,
    realms: config.realms,
    internalSecretKey: clientSecretKey,
    store: store.clients,
    logger: logger.child({ module: 'clients' }),
    now,
  });
  const samlServiceProviders = await SamlServiceProviderRegistry.open({
    config: config.samlServiceProviders,
    store: store.samlServiceProviders,
    logger: logger.child({ module: 'saml' }),
    now,
  });
  const protocols = new Map<Protocol, ProtocolInstance>();
  const pages = new HostedPages({ transactions, authenticators, protocols, locales, publicUrl: config.publicUrl, defaultLanguage: config.defaultLanguage, logger });
  // Each protocol hears of the transactions of its own that this process ends.
  transactions.onFinal((tx) => protocols.get(tx.protocol)?.finished?.(tx));

  const context: ProtocolContext = {
    config,
    store,
    transactions,
    authenticators,
    clients,
    samlServiceProviders,
    apiTokens: createApiTokenVerifier(store.oidc, now),
    serverKey: keyOf,
    jwks: toPrivateJwks(keys),
    hostedPageUrl,
    errorPage: (acceptLanguage, requested) => pages.standaloneError(acceptLanguage, requested, 'error.invalidRequest'),
    postPage: (acceptLanguage, requested, answer, outcome) => pages.standalonePost(acceptLanguage, requested, answer, outcome),
    logoutPage: (acceptLanguage, requested, form) => pages.standaloneLogout(acceptLanguage, requested, form),
    loggedOutPage: (acceptLanguage, clientName) => pages.standaloneLoggedOut(acceptLanguage, clientName),
    logger,
    now,
  };
  for (const plugin of PROTOCOLS) protocols.set(plugin.protocol, await plugin.create(context));

  const app = await createServer({
    logger,
    trustProxy: config.trustProxy,
    store,
    now,
    renderHtmlError: (req, reply, err) => pages.renderError(req, reply, err),
  });
  for (const protocol of protocols.values()) await protocol.register(app);
  for (const authenticator of authenticators.values()) await authenticator.register?.(app);
  registerHostedPages(app, pages, config.rateLimits.pages);
  const admin = new AdminService({ registry: clients, samlServiceProviders, audit: store.audit, realms: config.realms.map((r) => r.name), now });
  const consoleAuth = registerConsole(app, {
    service: admin,
    registry: clients,
    audit: store.audit,
    sessions: store.oidc,
    admins: config.admins,
    publicUrl: config.publicUrl,
    secureCookies: cookiesCanBeSecure(config.publicUrl),
    clientSecret: consoleKey ? consoleClientSecret(consoleKey) : '',
    providers: [...authenticators.keys()],
    logger: logger.child({ module: 'console' }),
    now,
  });
  await registerAdminApi(app, { service: admin, registry: clients, apiTokens: context.apiTokens, audit: store.audit, consoleAuth, publicUrl: config.publicUrl, now });
  if (config.sandbox) registerSandbox(app, { config, inbox: inbox!, logger });
  // The sandbox's itsme (src/sandbox/itsme/), for the providers configured with `simulator: true`;
  // loaded only then.
  if (config.upstreamProviders.some((p) => p.simulator)) {
    const { registerSandboxItsme } = await import('./sandbox/itsme/index.js');
    await registerSandboxItsme(app, { config, store, logger: logger.child({ module: 'itsme-simulator' }), now, cookieKey: await keyOf('itsme-simulator-cookies') });
  }

  let fingerprint = keySetFingerprint(keys);
  const reloadKeys = async () => {
    const latest = await ensureSigningKeys(store.keys, store.secrets, now());
    const next = keySetFingerprint(latest);
    if (next === fingerprint) return false;
    keys = latest;
    fingerprint = next;
    const jwks = toPrivateJwks(latest);
    for (const protocol of protocols.values()) protocol.keysChanged?.(jwks);
    logger.info({ kids: latest.map((k) => k.kid) }, 'signing keys changed; now signing with the newest');
    return true;
  };

  const timers: NodeJS.Timeout[] = [];
  if (options.timers !== false) {
    timers.push(
      setInterval(() => {
        reloadKeys().catch((err: unknown) => logger.error({ err }, 'could not reload signing keys'));
      }, KEY_CHECK_INTERVAL_MS).unref(),
      setInterval(() => {
        purgeStore(store, now(), config.audit.retentionDays)
          .then((n) => (n.expired > 0 || n.auditEvents > 0) && logger.debug({ removed: n.expired, auditEvents: n.auditEvents }, 'purged expired rows and old audit events'))
          .catch((err: unknown) => logger.error({ err }, 'could not purge expired rows or old audit events'));
      }, PURGE_INTERVAL_MS).unref(),
    );
  }

  return {
    app,
    config,
    store,
    clients,
    samlServiceProviders,
    inbox,
    reloadKeys,
    async close() {
      for (const t of timers) clearInterval(t);
      await app.close();
      samlServiceProviders.close();
      // After the server's last request, so the secrets' last uses are written, and before the store closes.
      await clients.close();
      await store.close();
    },
  };
}

const HELP = `eidhub: identity broker (SMS one-time codes and itsme® over OpenID Connect, REST and SAML 2.0; phone verification by CIBA)

usage:
  eidhub                      serve in sandbox mode (embedded SQLite, SMS in the log)
  eidhub --config FILE        serve with a config file (or set EIDHUB_CONFIG)
  eidhub keys rotate [--config FILE]
                              add new signing keys; the old ones stay published until
                              what they signed has expired. The new SAML certificate is
                              published at once but signs only after saml.keyRolloverSeconds
                              (default 7 days): SPs must load the new IdP metadata before then.
                              The new keys eidhub uses with upstream providers (itsme) are
                              in {publicUrl}/auth/upstream/jwks at once; the new signing key
                              signs after upstreamKeyRolloverSeconds (default 1 day), the new
                              encryption key is offered first at once, and the old one still
                              decrypts until the upstreams have read the JWKS again
${CLI_HELP}
  eidhub config check --config FILE
                              validate a config file and exit
  eidhub --help | COMMAND --help  this help, or a command's
  eidhub --version            print eidhub's version and exit

environment: PORT, HOST, EIDHUB_PUBLIC_URL, EIDHUB_DATABASE_URL, EIDHUB_DATA_DIR, EIDHUB_LOG_LEVEL`;

/** The config file the command line or EIDHUB_CONFIG names, if any. */
function configSourceOf(args: string[], env: NodeJS.ProcessEnv): string | undefined {
  const i = args.indexOf('--config');
  if (i >= 0 && !args[i + 1]) throw new ConfigError('--config', ['--config needs a file name']);
  return i >= 0 ? args[i + 1] : env.EIDHUB_CONFIG;
}

function loadConfigFromArgs(args: string[], env: NodeJS.ProcessEnv): Config {
  const file = configSourceOf(args, env);
  const readers = { samlMetadata: parseSpMetadata };
  if (file) return parseConfig(readConfigFile(file), file, env, readers);
  return parseConfig({ sandbox: true }, 'sandbox defaults', env, readers);
}

async function run(args: string[]): Promise<number> {
  const line = readCommandLine(args);
  switch (line.kind) {
    case 'version':
      process.stdout.write(`${line.text}\n`);
      return 0;
    case 'help':
      process.stdout.write(`${helpFor(HELP, line.command)}\n`);
      return 0;
    case 'refused':
      process.stderr.write(`eidhub: ${line.message}\n`);
      return 2;
    case 'run':
      break;
  }
  const config = loadConfigFromArgs(args, process.env);
  const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--config');

  if (positional[0] === 'config' && positional[1] === 'check') {
    const source = configSourceOf(args, process.env);
    const what = [
      `${config.oidcClients.length} OIDC client(s)`,
      `${config.apiClients.length} API client(s)`,
      `${config.samlServiceProviders.length} SAML service provider(s)`,
      `${config.realms.length} realm(s)`,
      `${config.upstreamProviders.length} upstream provider(s)`,
      `store ${config.storage.driver}`,
      `SMS ${config.sms.provider}`,
    ].join(', ');
    const warnings = configWarnings(config).map((w) => `  warning: ${w}\n`);
    process.stdout.write(`configuration is valid: ${source ?? 'no file given (neither --config FILE nor EIDHUB_CONFIG), so the sandbox defaults were checked'}${config.sandbox ? ' (sandbox mode)' : ''}\n  ${what}\n${warnings.join('')}`);
    return 0;
  }
  if (positional[0] === 'clients' || positional[0] === 'secrets') {
    const group = positional[0];
    const store = await openStore(config.storage);
    try {
      return await runClientsCli(group, args.slice(args.indexOf(group) + 1), {
        config,
        store,
        internalSecretKey: await serverKey(store, 'client-secret'),
        logger: createLogger('warn'),
        out: (line) => process.stdout.write(`${line}\n`),
      });
    } catch (err) {
      if (!(err instanceof EidhubError)) throw err;
      process.stderr.write(`eidhub: ${err.message}\n`);
      return err.status >= 500 ? 1 : 2;
    } finally {
      await store.close();
    }
  }
  if (positional[0] === 'keys' && positional[1] === 'rotate') {
    const store = await openStore(config.storage);
    try {
      const now = Date.now();
      await ensureSigningKeys(store.keys, store.secrets, now);
      const publishFor = (config.tokens.idTokenTtlSeconds + 3600) * 1000;
      const added = await rotateSigningKeys(store.keys, now, publishFor);
      const subject = samlCertificateSubject(config.publicUrl);
      await ensureSamlSigningKey(store.keys, store.secrets, now, subject);
      const rollover = config.saml.keyRolloverSeconds * 1000;
      const samlPublishFor = rollover + (config.saml.assertionLifetimeSeconds + 3600) * 1000;
      const saml = await rotateSamlSigningKey(store.keys, now, rollover, samlPublishFor, subject);
      const switchAt = new Date(now + rollover).toISOString();
      await ensureRpKeys(store, now);
      const rpRollover = config.upstreamKeyRolloverSeconds * 1000;
      const rp = await rotateRpKeys(store.keys, now, rpRollover);
      process.stdout.write(
        `new signing keys: ${added.map((k) => `${k.alg} ${k.kid}`).join(', ')}\n` +
          `running servers switch to them within ${KEY_CHECK_INTERVAL_MS / 1000} s; the old keys stay in the JWKS until ${new Date(now + publishFor).toISOString()}\n` +
          `new SAML signing certificate ${saml.kid}: in the IdP metadata (${config.publicUrl}/auth/saml/metadata) now, ` +
          (rollover === 0
            ? 'signing at once: SPs that have not loaded it will refuse assertions until they do\n'
            : `signing from ${switchAt}: every SP must load the new metadata before then\n`) +
          `the old SAML certificate signs until ${switchAt} and stays in the metadata until ${new Date(now + rollover + samlPublishFor).toISOString()}\n` +
          `new upstream RP keys (${config.publicUrl}/auth/upstream/jwks): signing ${rp.signing.kid}, encryption ${rp.encryption.kid}; ` +
          `the new encryption key is offered first now, the new signing key signs from ${new Date(now + rpRollover).toISOString()}; the old encryption key leaves the JWKS then\n`,
      );
    } finally {
      await store.close();
    }
    return 0;
  }
  if (positional.length > 0) {
    process.stderr.write(`unknown command: ${positional.join(' ')}\n\n${HELP}\n`);
    return 2;
  }

  const started = Date.now();
  const eidhub = await buildEidhub(config);
  await eidhub.app.listen({ port: config.port, host: config.host });
  const where = config.storage.driver === 'sqlite' ? `sqlite ${config.storage.path}` : 'postgres';
  process.stdout.write(`eidhub ${config.sandbox ? '(sandbox) ' : ''}listening on ${config.publicUrl} (store: ${where}) in ${Date.now() - started} ms\n`);
  if (config.sandbox) {
    // Either is absent when the config file has a client of that id of its own.
    const demo = eidhub.config.oidcClients.find((c) => c.clientId === SANDBOX_OIDC_CLIENT_ID);
    const api = eidhub.config.apiClients.find((c) => c.clientId === SANDBOX_API_CLIENT_ID);
    // Absent when the config file has a realm of that name of its own.
    const cibaDemo = eidhub.config.realms.find((r) => r.name === SANDBOX_REALM)?.clients.find((c) => c.clientId === SANDBOX_CIBA_CLIENT_ID);
    // The stored secret, and the published one when the client accepts it.
    const secrets = (client: { secrets: string[] }, published: string) =>
      `secret ${client.secrets[0]}${client.secrets.includes(published) ? ` or the published ${published}` : ''}`;
    const local = smsStayLocal(config);
    process.stdout.write(
      [
        ...[
          ...(demo ? [`demo OIDC client id ${demo.clientId}, ${secrets(demo, SANDBOX_OIDC_CLIENT_SECRET)}`, `redirect URI ${demo.redirectUris[0]}`] : []),
          ...(api ? [`demo API client id ${api.clientId}, ${secrets(api, SANDBOX_API_CLIENT_SECRET)}`] : []),
        ].map((line, i) => `${i === 0 ? '  sandbox: ' : '           '}${line}`),
        ...(cibaDemo ? [`           CIBA realm ${config.publicUrl}/auth/realms/${SANDBOX_REALM}: client id ${cibaDemo.clientId}, ${secrets(cibaDemo, SANDBOX_CIBA_CLIENT_SECRET)}`] : []),
        local
          ? '           SMS go to the console only, so the published secrets work too: `npm run showcase` needs no config'
          : `           SMS go out through ${config.sms.provider}, so the published secrets are refused: give the showcase the secrets above`,
        `  log in:  ${config.publicUrl}/sandbox/login`,
        ...(eidhub.config.upstreamProviders.some((p) => p.id === 'itsme' && p.simulator)
          ? [`  itsme®:  ${config.publicUrl}/sandbox/login?service=itsme-authentication (the simulator at ${config.publicUrl}/sandbox/itsme, with test identities)`]
          : []),
        local
          ? `  SMS:     ${config.publicUrl}/sandbox/sms (codes are also printed in this log)`
          : `  SMS:     sent by ${config.sms.provider} (${config.publicUrl}/sandbox/sms shows only what the console provider sends)`,
        '',
      ].join('\n'),
    );
  }
  const stop = async (signal: string) => {
    eidhub.app.log.info({ signal }, 'shutting down');
    await eidhub.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return -1;
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  run(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      if (err instanceof ConfigError) process.stderr.write(`eidhub: ${err.message}\n`);
      else if (err instanceof EidhubError) process.stderr.write(`eidhub: ${err.message}\n`);
      else process.stderr.write(`eidhub: could not start: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
