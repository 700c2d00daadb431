/**
 * The config file: validation errors name their path, unknown keys are refused at every depth,
 * secrets may come from the environment or a file and never appear in messages, warnings for
 * what runs but is most likely not meant, SAML SP metadata is read and checked, the docs are current.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { CLIENT_SCHEMAS } from '../src/admin/schemas.js';
import { ConfigError, parseConfig } from '../src/config/load.js';
import { configSchema, oidcClientSchema } from '../src/config/schema.js';
import { configWarnings } from '../src/config/warnings.js';
import { selfSignedCertificate } from '../src/protocols/saml/keys.js';
import { parseSpMetadata } from '../src/protocols/saml/metadata.js';
import { CONFIG_DOCS } from '../scripts/config-docs.js';
import { startEidhub } from './support/eidhub.js';

const problemsOf = (input: unknown, env: NodeJS.ProcessEnv = {}) => {
  try {
    parseConfig(input, 'test', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('the config was accepted');
};

describe('config', () => {
  it('accepts the contract example and fills defaults', () => {
    const config = parseConfig(
      {
        publicUrl: 'http://127.0.0.1:4010',
        port: 4010,
        sandbox: false,
        storage: { driver: 'sqlite', path: './data/eidhub.db' },
        sms: { provider: 'twilio', accountSid: 'AC123', authToken: 'secret', from: 'eidhub', baseUrl: 'http://127.0.0.1:4099' },
        accountId: 'a-test-0001',
        oidcClients: [
          {
            clientId: 'dev-test-client-123',
            clientName: 'Demo shop',
            secrets: ['a-secret-of-sixteen-chars'],
            redirectUris: ['https://example.com/callback'],
            grantTypes: ['authorization_code'],
            scopes: ['openid', 'idp-id', 'phone'],
            pkce: 'required',
            idTokenClaims: ['idp_id', 'phone_number'],
          },
        ],
        apiClients: [{ clientId: 'api-client-1', secrets: ['another-long-secret'], permissions: ['authentication-rest-api'] }],
      },
      'example',
    );
    assert.equal(config.otp.codeTtlSeconds, 180);
    assert.equal(config.tokens.authorizationCodeTtlSeconds, 60);
    assert.equal(config.publicUrl, 'http://127.0.0.1:4010');
    assert.equal(config.audit.retentionDays, 90);
  });

  it('bounds the audit retention to 1–3650 whole days', () => {
    assert.equal(parseConfig({ audit: { retentionDays: 3650 } }, 'test', {}).audit.retentionDays, 3650);
    for (const retentionDays of [0, 3651, 1.5]) {
      assert.ok(problemsOf({ audit: { retentionDays } }).some((p) => p.startsWith('audit.retentionDays:')), String(retentionDays));
    }
  });

  it('names the path of every problem', () => {
    const problems = problemsOf({
      oidcClients: [{ clientId: 'c', secrets: [], redirectUris: ['https://ok.example/cb', 'http://example.com/cb'], pkce: 'optional' }],
      sms: { provider: 'twilio', accountSid: 'nope', authToken: 'x', from: 'eidhub' },
      unknownOption: 1,
    });
    assert.ok(problems.some((p) => p.startsWith('oidcClients[0].redirectUris[1]: must be an absolute https URL')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('oidcClients[0].pkce: a public client')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('sms.accountSid:')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('unknownOption')), problems.join('\n'));
  });

  it('refuses duplicate client ids and bad environment overrides', () => {
    const dup = problemsOf({
      oidcClients: [{ clientId: 'same', redirectUris: ['https://a.example/cb'] }],
      apiClients: [{ clientId: 'same', secrets: ['sixteen-characters!'] }],
    });
    assert.ok(dup.some((p) => p.startsWith('apiClients[0].clientId: duplicate clientId "same"')), dup.join('\n'));
    assert.deepEqual(problemsOf({}, { PORT: 'eighty' }), ['PORT: must be a whole number from 0 to 65535']);
    assert.deepEqual(problemsOf({}, { EIDHUB_DATABASE_URL: 'mysql://x' }), ['EIDHUB_DATABASE_URL: must be a postgres:// URL']);
  });

  it('stops `eidhub --config` with the problems and no secret in them', () => {
    const { EIDHUB_DATABASE_URL: _ignored, ...env } = process.env;
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ sms: { provider: 'twilio', accountSid: 'AC1', authToken: 'very-secret-token', from: 'this sender is far too long' } }));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file], { encoding: 'utf8', timeout: 30_000, env });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /sms\.from: must be an alphanumeric sender/);
    assert.ok(!run.stderr.includes('very-secret-token'));

    writeFileSync(file, '{ "port": 3000, }');
    const broken = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file], { encoding: 'utf8', timeout: 30_000, env });
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /not valid JSON/);
  });

  it('has a current docs/configuration.md', () => {
    assert.equal(readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8'), CONFIG_DOCS, 'run npm run docs:config');
  });
});

describe('config: SAML service providers', () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certBase64 = new X509Certificate(selfSignedCertificate(keys, { commonName: 'sp.example.com', notBefore: Date.now(), notAfter: Date.now() + 86_400_000 })).raw.toString('base64');
  const ENTITY = 'SAML Example SP';
  const spMetadata = (entityId = ENTITY, acs = true) =>
    `<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}">` +
    '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${certBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    (acs ? '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.example.com/saml/acs" index="1" isDefault="false"/>' : '') +
    '</md:SPSSODescriptor></md:EntityDescriptor>';
  const readers = { samlMetadata: parseSpMetadata };
  const samlProblems = (serviceProviders: unknown[], source = 'test', extra: Record<string, unknown> = {}) => {
    try {
      parseConfig({ samlServiceProviders: serviceProviders, ...extra }, source, {}, readers);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    assert.fail('the config was accepted');
  };
  /** A config file in a fresh folder, beside the given files. */
  const configDir = (files: Record<string, string>, config: unknown): string => {
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-config-saml-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'eidhub.json'), JSON.stringify(config));
    return join(dir, 'eidhub.json');
  };

  it('reads metadataFile from the config file\'s folder, keeps its text, and fills the defaults', () => {
    const file = configDir({ 'sp.xml': spMetadata() }, { samlServiceProviders: [{ entityId: ENTITY, metadataFile: './sp.xml' }] });
    // The tests run in the repository; the file is found from the config file's folder.
    const config = parseConfig(JSON.parse(readFileSync(file, 'utf8')), file, {}, readers);
    assert.deepEqual(config.samlServiceProviders, [
      { entityId: ENTITY, metadata: spMetadata(), metadataFile: join(dirname(file), 'sp.xml'), requireSignedRequests: false, signResponse: true },
    ]);
    assert.deepEqual(config.saml, { assertionLifetimeSeconds: 300, clockSkewSeconds: 180, requestMaxAgeSeconds: 300, sessionTtlSeconds: 28_800, keyRolloverSeconds: 604_800 });
    const inline = parseConfig({ samlServiceProviders: [{ entityId: ENTITY, metadata: spMetadata(), encryptAssertions: false, requireSignedRequests: true }] }, 'test', {}, readers);
    assert.deepEqual(inline.samlServiceProviders[0], { entityId: ENTITY, metadata: spMetadata(), encryptAssertions: false, requireSignedRequests: true, signResponse: true });
    assert.equal(parseConfig({ saml: { keyRolloverSeconds: 0 } }, 'test').saml.keyRolloverSeconds, 0, 'a rollover of 0 signs at once');
  });

  it('names the SP, its entityId and the problem', () => {
    const file = configDir({}, {});
    assert.deepEqual(samlProblems([{ entityId: ENTITY, metadataFile: './sp.xml' }], file), [`samlServiceProviders[0] ("${ENTITY}"): metadataFile ./sp.xml: file not found`]);
    assert.deepEqual(samlProblems([{ entityId: ENTITY, metadataFile: '.' }], file), [`samlServiceProviders[0] ("${ENTITY}"): metadataFile .: not a file`]);
    assert.match(samlProblems([{ entityId: ENTITY, metadata: spMetadata(ENTITY, false) }])[0]!, /^samlServiceProviders\[0\] \("SAML Example SP"\): metadata: no AssertionConsumerService/);
    assert.deepEqual(samlProblems([{ entityId: ENTITY, metadata: spMetadata('https://other.example.com') }]), [
      `samlServiceProviders[0] ("${ENTITY}"): metadata: its entityID is "https://other.example.com", not the configured entityId`,
    ]);
    assert.match(
      samlProblems([{ entityId: ENTITY, metadata: spMetadata(), encryptAssertions: true }])[0]!,
      /^samlServiceProviders\[0\] \("SAML Example SP"\): metadata: encryptAssertions is true, but no KeyDescriptor holds an RSA encryption certificate/,
    );
    assert.match(samlProblems([{ entityId: ENTITY, metadata: '<md:EntityDescriptor' }])[0]!, /^samlServiceProviders\[0\] \("SAML Example SP"\): metadata: the document is not well-formed XML/);
    assert.deepEqual(samlProblems([{ entityId: ENTITY }, { entityId: 'b', metadata: spMetadata('b'), metadataFile: 'b.xml' }]), [
      `samlServiceProviders[0] ("${ENTITY}"): give metadata or metadataFile`,
      'samlServiceProviders[1] ("b"): give metadata or metadataFile, not both',
    ]);
  });

  it('refuses duplicate entityIds, unknown SP options and out-of-bounds SAML rules', () => {
    const problems = samlProblems(
      [
        { entityId: ENTITY, metadata: spMetadata() },
        { entityId: ENTITY, metadata: spMetadata(), signResponses: false },
      ],
      'test',
      { saml: { assertionLifetimeSeconds: 301, clockSkewSeconds: 181, requestMaxAgeSeconds: 3601, keyRolloverSeconds: -1 } },
    );
    for (const expected of [
      /^samlServiceProviders\[1\]\.entityId: duplicate entityId "SAML Example SP" \(also at samlServiceProviders\[0\]\)$/,
      /^samlServiceProviders\[1\]\.signResponses: unknown key \(did you mean "signResponse"\?\)$/,
      /^saml\.assertionLifetimeSeconds: /,
      /^saml\.clockSkewSeconds: /,
      /^saml\.requestMaxAgeSeconds: /,
      /^saml\.keyRolloverSeconds: /,
    ]) {
      assert.ok(problems.some((p) => expected.test(p)), `${expected}\n${problems.join('\n')}`);
    }
  });

  it('stops `eidhub config check` on bad metadata, naming the SP', () => {
    const { EIDHUB_DATABASE_URL: _ignored, ...env } = process.env;
    const file = configDir({ 'sp.xml': spMetadata(ENTITY, false) }, { samlServiceProviders: [{ entityId: ENTITY, metadataFile: 'sp.xml' }] });
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'config', 'check', '--config', file], { encoding: 'utf8', timeout: 30_000, env });
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, /samlServiceProviders\[0\] \("SAML Example SP"\): metadataFile sp\.xml: no AssertionConsumerService/);
  });
});

describe('config: realms', () => {
  const client = { clientId: 'showcase', secrets: ['a-secret-of-sixteen-chars'] };

  it('accepts the contract example and fills the defaults', () => {
    const config = parseConfig({ realms: [{ name: 'ipification', clients: [client, { ...client, clientId: 'pinged', deliveryMode: 'ping', notificationEndpoint: 'http://127.0.0.1:4000/notify' }] }] }, 'test');
    const [realm] = config.realms;
    assert.equal(realm!.allowUrlsInMessage, false);
    assert.equal(realm!.pollIntervalSeconds, 5);
    assert.deepEqual(realm!.clients[0], { ...client, scopes: ['openid', 'ip:phone_verify'], deliveryMode: 'poll' });
    assert.equal(realm!.clients[1]!.notificationEndpoint, 'http://127.0.0.1:4000/notify');
  });

  it('names every problem of a realm and its clients', () => {
    const problems = problemsOf({
      realms: [
        { name: 'ipification', pollIntervalSeconds: 0, clients: [client, { ...client }] },
        { name: 'ipification', clients: [{ clientId: 'no-secret', secrets: [] }] },
        { name: 'Big Realm', clients: [{ ...client, deliveryMode: 'ping' }, { ...client, clientId: 'b', deliveryMode: 'ping', notificationEndpoint: 'http://backend.example/notify' }] },
        { name: 'poll', clients: [{ ...client, notificationEndpoint: 'https://backend.example/notify' }], unknown: true },
      ],
    });
    const expect = (prefix: string) => assert.ok(problems.some((p) => p.startsWith(prefix)), `${prefix}\n  in:\n${problems.join('\n')}`);
    expect('realms[0].pollIntervalSeconds:');
    expect('realms[0].clients[1].clientId: duplicate clientId "showcase" (also at clients[0])');
    expect('realms[1].name: duplicate name "ipification" (also at realms[0])');
    expect('realms[1].clients[0].secrets:');
    expect('realms[2].name: must be 1–64 of a–z 0–9 _ -');
    expect('realms[2].clients[0].notificationEndpoint: deliveryMode "ping" needs a notificationEndpoint');
    expect('realms[2].clients[1].notificationEndpoint: must be an absolute https URL');
    expect('realms[3].clients[0].notificationEndpoint: only a client with deliveryMode "ping" is notified');
    expect('realms[3].unknown: unknown key');
  });
});

describe('config: unknown keys', () => {
  it('refuses an unknown key at every depth, naming its path and the key it most likely means', () => {
    const problems = problemsOf({
      publicURL: 'https://login.example.com',
      oidcClients: [{ clientId: 'shop', secrets: ['a-secret-of-sixteen-chars'], redirectUris: ['https://shop.example/cb'], pcke: 'required' }],
      otp: { budgets: { perAddress: { limt: 5 } }, conversionGuard: { enabeld: false } },
      sms: { provider: 'twilio', accountSid: 'AC1', authToken: 'token-value', from: 'eidhub', timeout: 5000 },
      storage: { driver: 'postgres', url: 'postgres://db/eidhub', pool: 5 },
      rateLimits: { pages: { maxx: 10 }, clientAuthFailures: { perAdress: 3 } },
      tokens: { accessTokenTtl: 60 },
      audit: { retention: 30 },
      saml: { sessionTTLSeconds: 60 },
      samlServiceProviders: [{ entityId: 'sp', metadata: '<x/>', signResponses: false }],
      realms: [{ name: 'phones', clients: [{ clientId: 'app', secrets: ['a-secret-of-sixteen-chars'], scope: ['openid'] }] }],
      upstreamProviders: [{ id: 'itsme', issuer: 'https://idp.example', clientId: 'eidhub', scope: ['openid'] }],
      apiClients: [{ clientId: 'api', secrets: ['a-secret-of-sixteen-chars'], permission: [] }],
    });
    for (const expected of [
      'publicURL: unknown key (did you mean "publicUrl"?)',
      'oidcClients[0].pcke: unknown key (did you mean "pkce"?)',
      'otp.budgets.perAddress.limt: unknown key (did you mean "limit"?)',
      'otp.conversionGuard.enabeld: unknown key (did you mean "enabled"?)',
      'sms.timeout: unknown key (did you mean "timeoutMs"?)',
      'storage.pool: unknown key (did you mean "poolSize"?)',
      'rateLimits.pages.maxx: unknown key (did you mean "max"?)',
      'rateLimits.clientAuthFailures.perAdress: unknown key (did you mean "perAddress"?)',
      'tokens.accessTokenTtl: unknown key (did you mean "accessTokenTtlSeconds"?)',
      'audit.retention: unknown key (did you mean "retentionDays"?)',
      'saml.sessionTTLSeconds: unknown key (did you mean "sessionTtlSeconds"?)',
      'samlServiceProviders[0].signResponses: unknown key (did you mean "signResponse"?)',
      'realms[0].clients[0].scope: unknown key (did you mean "scopes"?)',
      'upstreamProviders[0].scope: unknown key (did you mean "scopes"?)',
      'apiClients[0].permission: unknown key (did you mean "permissions"?)',
    ]) {
      assert.ok(problems.includes(expected), `${expected}\n  in:\n${problems.join('\n')}`);
    }
    assert.deepEqual(problemsOf({ oidcClients: [{ clientId: 'shop', redirectUris: ['https://shop.example/cb'], public: true, colour: 'red', pcke: 'required' }] }), [
      'oidcClients[0]: unknown keys "colour", "pcke" (did you mean "pkce"?)',
    ]);
  });

  it('makes every object of the schema refuse unknown keys, so the Admin API\'s schemas do too', () => {
    const loose: string[] = [];
    const visit = (node: unknown, path: string) => {
      if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${path}[${i}]`));
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Record<string, unknown>;
      if (schema.type === 'object' && schema.properties && schema.additionalProperties !== false) loose.push(path);
      for (const [key, value] of Object.entries(schema)) visit(value, `${path}/${key}`);
    };
    for (const io of ['input', 'output'] as const) visit(z.toJSONSchema(configSchema, { io, unrepresentable: 'any' }), io);
    for (const [kind, schemas] of Object.entries(CLIENT_SCHEMAS)) {
      for (const [name, schema] of Object.entries(schemas)) if (name !== 'answer') visit(schema, `${kind}.${name}`);
    }
    assert.deepEqual(loose, []);
  });
});

describe('config: secrets from the environment or a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eidhub-config-secrets-'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'twilio'), 'token-from-a-file\n\n');
  writeFileSync(join(dir, 'client-secret'), 'client-secret-from-a-file-0001\r\n');
  writeFileSync(join(dir, 'empty'), '\n');
  const source = join(dir, 'eidhub.json');
  writeFileSync(source, '{}');
  const env = { TWILIO_AUTH_TOKEN: 'token-from-the-env', CLIENT_SECRET: 'client-secret-from-env-0001', DATABASE_URL: 'postgres://eidhub:pw-from-env@db/eidhub', EMPTY: '', SHORT: 'short-value' };
  const twilio = (authToken: unknown) => ({ provider: 'twilio', accountSid: 'AC1', authToken, from: 'eidhub' });
  const fileProblems = (input: unknown) => {
    try {
      parseConfig(input, source, env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    assert.fail('the config was accepted');
  };

  it('reads each kind of secret from an environment variable or a file, relative to the config file\'s folder or absolute', () => {
    const config = parseConfig(
      {
        storage: { driver: 'postgres', url: { env: 'DATABASE_URL' } },
        sms: twilio({ file: 'secrets/twilio' }),
        oidcClients: [{ clientId: 'shop', secrets: [{ env: 'CLIENT_SECRET' }, { file: join(dir, 'client-secret') }, 'a-plain-secret-of-16'], redirectUris: ['https://shop.example/cb'] }],
        apiClients: [{ clientId: 'api', secrets: [{ file: './client-secret' }] }],
        realms: [{ name: 'phones', clients: [{ clientId: 'app', secrets: [{ env: 'CLIENT_SECRET' }] }] }],
        upstreamProviders: [{ id: 'bank', issuer: 'https://idp.example', clientId: 'eidhub', clientSecret: { env: 'CLIENT_SECRET' } }],
      },
      source,
      env,
    );
    assert.deepEqual(config.storage, { driver: 'postgres', url: 'postgres://eidhub:pw-from-env@db/eidhub', poolSize: 10 });
    assert.equal(config.sms.provider === 'twilio' && config.sms.authToken, 'token-from-a-file', 'trailing newlines removed');
    assert.deepEqual(config.oidcClients[0]!.secrets, ['client-secret-from-env-0001', 'client-secret-from-a-file-0001', 'a-plain-secret-of-16']);
    assert.deepEqual(config.apiClients[0]!.secrets, ['client-secret-from-a-file-0001']);
    assert.deepEqual(config.realms[0]!.clients[0]!.secrets, ['client-secret-from-env-0001']);
    assert.equal(config.upstreamProviders[0]!.clientSecret, 'client-secret-from-env-0001');
    const webhook = parseConfig({ sms: { provider: 'webhook', url: 'https://hooks.example/sms', secret: { env: 'CLIENT_SECRET' } } }, source, env);
    assert.equal(webhook.sms.provider === 'webhook' && webhook.sms.secret, 'client-secret-from-env-0001');
  });

  it('names the path and the reference of a secret it cannot read, and never a value', () => {
    const problems = fileProblems({
      storage: { driver: 'postgres', url: { env: 'NO_SUCH_VARIABLE' } },
      sms: twilio({ file: '/run/secrets/no-such-file' }),
      oidcClients: [{ clientId: 'shop', secrets: [{ env: 'EMPTY' }, { file: 'empty' }, { file: 'missing' }, { file: 'secrets' }], redirectUris: ['https://shop.example/cb'] }],
      apiClients: [
        { clientId: 'api', secrets: [{ env: 'CLIENT_SECRET', file: 'client-secret' }, { env: 'CLIENT_SECRET', fallback: 'x' }, {}, { env: 42 }, { env: 'SHORT' }, { env: 'bad-name' }] },
      ],
    });
    assert.deepEqual(problems.sort(), [
      `apiClients[0].secrets[0]: must be the secret, {"env": "VARIABLE_NAME"} or {"file": "/path/to/file"} (exactly one key)`,
      'apiClients[0].secrets[1].fallback: unknown key',
      `apiClients[0].secrets[2]: must be the secret, {"env": "VARIABLE_NAME"} or {"file": "/path/to/file"} (exactly one key)`,
      `apiClients[0].secrets[3]: must be the secret, {"env": "VARIABLE_NAME"} or {"file": "/path/to/file"} (exactly one key)`,
      'apiClients[0].secrets[4]: must be at least 16 characters',
      'apiClients[0].secrets[5].env: must be the name of an environment variable (letters, digits and _, not beginning with a digit)',
      'oidcClients[0].secrets[0]: environment variable EMPTY is empty',
      `oidcClients[0].secrets[1]: file ${join(dir, 'empty')} is empty`,
      `oidcClients[0].secrets[2]: cannot read ${join(dir, 'missing')} (file not found)`,
      `oidcClients[0].secrets[3]: cannot read ${join(dir, 'secrets')} (not a file)`,
      'sms.authToken: cannot read /run/secrets/no-such-file (file not found)',
      'storage.url: environment variable NO_SUCH_VARIABLE is not set',
    ]);
    for (const value of [...Object.values(env).filter((v) => v !== ''), 'client-secret-from-a-file-0001', 'token-from-a-file']) {
      assert.ok(!problems.some((p) => p.includes(value)), `a message shows ${value}`);
    }
  });

  it('takes references from the config file only: the Admin API\'s client schemas refuse them and do not advertise secrets', () => {
    const viaApi = oidcClientSchema.safeParse({ clientId: 'shop', redirectUris: ['https://shop.example/cb'], secrets: [{ env: 'CLIENT_SECRET' }] });
    assert.equal(viaApi.success, false);
    assert.match(viaApi.error!.issues[0]!.message, /read from the config file only/);
    for (const schemas of Object.values(CLIENT_SCHEMAS)) {
      for (const schema of Object.values(schemas)) assert.ok(!JSON.stringify(schema).includes('"env"'), JSON.stringify(schema));
    }
  });

  it('serves a client whose secret is read from a file, and logs the config\'s warnings at start', async () => {
    const secretFile = join(dir, 'api-secret');
    writeFileSync(secretFile, 'api-secret-from-a-file-0001\n');
    const eidhub = await startEidhub({
      apiClients: [{ clientId: 'file-api', secrets: [{ file: secretFile }], permissions: ['authentication-rest-api'] }],
      oidcClients: [{ clientId: 'spa', redirectUris: ['https://spa.example/cb'] }],
    });
    try {
      const token = (secret: string) =>
        fetch(`${eidhub.issuer}/connect/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`file-api:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'auth-rest-api' }).toString(),
        });
      assert.equal((await token('api-secret-from-a-file-0001')).status, 200);
      assert.ok(!eidhub.logText().includes('api-secret-from-a-file'), 'the secret is not logged');
      const warnings = eidhub.logText().split('\n').filter((line) => line.includes('"msg":"config: '));
      assert.equal(warnings.length, 1, eidhub.logText());
      assert.match(warnings[0]!, /"level":40.*"msg":"config: oidcClients\[0\] \(spa\): no secrets/);
    } finally {
      await eidhub.close();
    }
  });
});

describe('config: warnings', () => {
  const client = { clientId: 'shop', redirectUris: ['https://shop.example/cb'] };
  const warningsOf = (input: Record<string, unknown>) => configWarnings(parseConfig(input, 'test'));

  it('warns of a public URL over http outside loopback, and of nothing over https or on loopback', () => {
    const [warning, ...rest] = warningsOf({ publicUrl: 'http://login.example.com' });
    assert.deepEqual(rest, []);
    assert.match(warning!, /^publicUrl: http on login\.example\.com, which is not loopback, so browsers and relying parties will send codes, cookies and tokens in clear .*use an https:\/\/ URL/);
    for (const publicUrl of ['https://login.example.com', 'http://localhost:3000', 'http://127.0.0.1:4010', 'http://127.1.2.3', 'http://[::1]:3000']) {
      assert.deepEqual(warningsOf({ publicUrl }), [], publicUrl);
    }
    assert.deepEqual(warningsOf({}), [], 'the default public URL is on localhost');
  });

  it('warns of sandbox mode with a provider that sends real SMS', () => {
    const twilio = { provider: 'twilio', accountSid: 'AC1', authToken: 'token-value', from: 'eidhub' };
    const [warning, ...rest] = warningsOf({ sandbox: true, sms: twilio });
    assert.deepEqual(rest, []);
    assert.match(warning!, /^sandbox: sandbox mode sends real SMS through sms\.provider "twilio": .*use sms\.provider "console" with sandbox mode, or set "sandbox": false$/);
    assert.match(warningsOf({ sandbox: true, sms: { provider: 'webhook', url: 'https://hooks.example/sms', secret: 'webhook-key-of-16-chars' } })[0]!, /sms\.provider "webhook"/);
    assert.deepEqual(warningsOf({ sandbox: true }), []);
    assert.deepEqual(warningsOf({ sms: twilio }), []);
  });

  it('warns of an OIDC client without secrets that does not say it is public; refuses "public": true with secrets', () => {
    const [warning, ...rest] = warningsOf({ oidcClients: [client, { ...client, clientId: 'spa', public: true }, { ...client, clientId: 'web', secrets: ['a-secret-of-sixteen-chars'] }] });
    assert.deepEqual(rest, []);
    assert.match(warning!, /^oidcClients\[0\] \(shop\): no secrets, so it is a public client .*"public": true.*give it a secret in "secrets"$/);
    assert.equal(warningsOf({ oidcClients: [{ ...client, public: false }] }).length, 1);
    assert.deepEqual(problemsOf({ oidcClients: [{ ...client, public: true, secrets: ['a-secret-of-sixteen-chars'] }] }), [
      'oidcClients[0].public: a public client has no secrets; remove "public": true or the secrets',
    ]);
    const config = parseConfig({ oidcClients: [client, { ...client, clientId: 'spa', public: true }] }, 'test');
    assert.deepEqual(
      config.oidcClients.map((c) => [c.clientId, c.public, c.secrets]),
      [
        ['shop', undefined, []],
        ['spa', true, []],
      ],
      'a client without secrets still starts, public either way',
    );
  });

  it('`eidhub config check` prints the warnings and exits 0; the sandbox defaults have none', () => {
    const { EIDHUB_DATABASE_URL: _ignored, EIDHUB_CONFIG: _config, ...env } = process.env;
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-config-check-'));
    writeFileSync(join(dir, 'token'), 'twilio-token-from-a-file\n');
    const file = join(dir, 'eidhub.json');
    writeFileSync(
      file,
      JSON.stringify({
        publicUrl: 'http://login.example.com',
        sandbox: true,
        sms: { provider: 'twilio', accountSid: 'AC1', authToken: { file: 'token' }, from: 'eidhub' },
        oidcClients: [client],
      }),
    );
    const check = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'config', 'check', ...args], { encoding: 'utf8', timeout: 30_000, env });
    const run = check(['--config', file]);
    assert.equal(run.status, 0, run.stderr);
    const warnings = run.stdout.split('\n').filter((line) => line.startsWith('  warning: '));
    assert.equal(warnings.length, 3, run.stdout);
    assert.match(warnings[0]!, /^ {2}warning: publicUrl: http on login\.example\.com/);
    assert.match(warnings[1]!, /^ {2}warning: sandbox: sandbox mode sends real SMS through sms\.provider "twilio"/);
    assert.match(warnings[2]!, /^ {2}warning: oidcClients\[0\] \(shop\): no secrets/);
    assert.ok(!run.stdout.includes('twilio-token-from-a-file') && !run.stderr.includes('twilio-token-from-a-file'));
    const sandbox = check([]);
    assert.equal(sandbox.status, 0, sandbox.stderr);
    assert.doesNotMatch(sandbox.stdout, /warning/);
  });
});
