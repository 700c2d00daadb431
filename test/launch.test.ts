/**
 * How eidhub is started: `npm start` and the `eidhub` command (dist/main.js run as a program, its
 * first line) must give Node the same environment and flags, which the benchmark measures and the
 * README documents.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../', import.meta.url);
const start = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
const firstLine = readFileSync(new URL('src/main.ts', root), 'utf8').split('\n', 1)[0] ?? '';

describe('launch', () => {
  it('npm start and the eidhub command run Node with the same environment and flags', () => {
    const startPrefix = /^(.*) dist\/main\.js$/.exec(start)?.[1];
    const commandPrefix = /^#!\/usr\/bin\/env -S (.*)$/.exec(firstLine)?.[1];
    assert.ok(startPrefix, `package.json "start" ends with dist/main.js: ${start}`);
    assert.ok(commandPrefix, `src/main.ts starts with a #!/usr/bin/env -S line: ${firstLine}`);
    assert.equal(commandPrefix, startPrefix);
    assert.match(startPrefix, /^MALLOC_ARENA_MAX=2 node --max-semi-space-size=4 --max-old-space-size=128$/);
  });

  it('the first line, as env runs it, gives Node that environment and those flags', () => {
    const commandPrefix = firstLine.replace(/^#!\/usr\/bin\/env -S /, '');
    const env = { ...process.env };
    delete env.MALLOC_ARENA_MAX;
    const run = spawnSync('/usr/bin/env', ['-S', commandPrefix, '-e', 'process.stdout.write(JSON.stringify({ arenas: process.env.MALLOC_ARENA_MAX, flags: process.execArgv }))'], {
      env,
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const seen = JSON.parse(run.stdout) as { arenas?: string; flags: string[] };
    assert.equal(seen.arenas, '2');
    assert.deepEqual(
      seen.flags.filter((f) => f.startsWith('--max-')),
      ['--max-semi-space-size=4', '--max-old-space-size=128'],
    );
  });
});
