/** The config file: validation errors name their path, secrets never appear in them, the docs are current. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../src/config/load.js';
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
