/** The config file: validation errors name their path, secrets never appear in them, SAML SP metadata is read and checked, the docs are current. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../src/config/load.js';
import { selfSignedCertificate } from '../src/protocols/saml/keys.js';
import { parseSpMetadata } from '../src/protocols/saml/metadata.js';
import { CONFIG_DOCS } from '../scripts/config-docs.js';

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
      /^samlServiceProviders\[1\]: .*signResponses/,
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
    expect('realms[3]: Unrecognized key: "unknown"');
  });
});
