/**
 * The command line: `--version` and `--help` per command answer without reading a config or
 * starting a server; an option a command does not take is refused with exit code 2 and a message
 * naming it, rather than ignored.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { helpFor, readCommandLine } from '../src/cli/args.js';

const root = new URL('..', import.meta.url);
const version = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string }).version;

/** Runs `eidhub ARGS` as a process, with no config in its environment, and a time bound that a started server would overrun. */
function eidhub(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', EIDHUB_DATA_DIR: '/nonexistent-eidhub-data' },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.replace(/^.*Unsupported runtime.*\n/m, '') };
}

describe('the eidhub command line', () => {
  it('--version and -v print the version and exit 0, without starting a server', () => {
    for (const flag of ['--version', '-v']) {
      const run = eidhub(flag);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, `eidhub ${version}\n`);
    }
  });

  it('--help of a command shows that command', () => {
    const keys = eidhub('keys', '--help');
    assert.equal(keys.status, 0);
    assert.match(keys.stdout, /^usage:\n {2}eidhub keys rotate/);
    assert.doesNotMatch(keys.stdout, /eidhub clients/);
    const whole = eidhub('--help');
    assert.match(whole.stdout, /eidhub keys rotate[\s\S]*eidhub clients list[\s\S]*eidhub --version/);
  });

  it('refuses an option the command does not take, naming it, with exit code 2', () => {
    const server = eidhub('--confg', 'eidhub.json');
    assert.equal(server.status, 2);
    assert.match(server.stderr, /^eidhub: unknown option --confg for eidhub; see eidhub --help\n$/);
    const add = eidhub('clients', 'add', '--kinf', 'oidc', 'client.json');
    assert.equal(add.status, 2);
    assert.match(add.stderr, /unknown option --kinf for eidhub clients add/);
    // --name belongs to secrets add, not to clients remove.
    const remove = eidhub('clients', 'remove', 'shop', '--name', 'x');
    assert.equal(remove.status, 2);
    assert.match(remove.stderr, /unknown option --name for eidhub clients remove/);
  });

  it('config check says what it checked: the file, or the sandbox defaults when none is given', () => {
    const bare = eidhub('config', 'check');
    assert.equal(bare.status, 0, bare.stderr);
    assert.match(bare.stdout, /^configuration is valid: no file given \(neither --config FILE nor EIDHUB_CONFIG\), so the sandbox defaults were checked/);
    const dir = mkdtempSync(join(tmpdir(), 'eidhub-cli-'));
    const file = join(dir, 'eidhub.json');
    writeFileSync(file, JSON.stringify({ apiClients: [{ clientId: 'shop', secrets: ['s'.repeat(32)], permissions: ['authentication-rest-api'] }] }));
    const checked = eidhub('config', 'check', '--config', file);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stdout, new RegExp(`^configuration is valid: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n {2}0 OIDC client\\(s\\), 1 API client\\(s\\)`));
  });

  it('reads the commands and their own options', () => {
    assert.deepEqual(readCommandLine(['secrets', 'add', 'shop', '--name', '2026-12', '--config', 'f.json']), { kind: 'run', command: 'secrets add' });
    assert.deepEqual(readCommandLine(['clients', 'add', '--kind', 'api', '-', '--confidential']), { kind: 'run', command: 'clients add' });
    assert.deepEqual(readCommandLine(['--config', 'f.json']), { kind: 'run', command: '' });
    assert.equal(readCommandLine(['config', 'check', '--verbose']).kind, 'refused');
    assert.equal(helpFor('usage:\n  eidhub a\n      more\n  eidhub b', 'b'), 'usage:\n  eidhub b');
  });
});
