import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, LazyChildLogger } from '../src/http/logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger('info', sink), messages: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

describe('LazyChildLogger', () => {
  it("writes at the parent's level, with the child's bindings", () => {
    const { logger, messages } = capture();
    const child = new LazyChildLogger(logger, { reqId: 'r1' }, undefined);
    child.debug('not written');
    child.info('written');
    assert.deepEqual(messages(), ['written']);
    assert.equal(child.level, 'info');
  });

  it("follows a level of its own (a route's logLevel) before it writes anything", () => {
    const { logger, messages } = capture();
    const quiet = new LazyChildLogger(logger, {}, { level: 'warn' });
    assert.equal(quiet.isLevelEnabled('info'), false);
    quiet.info('not written');
    quiet.warn('written');
    const chatty = new LazyChildLogger(logger, {}, { level: 'debug' });
    chatty.debug('debug written');
    const silent = new LazyChildLogger(logger, {}, { level: 'silent' });
    silent.error('not written either');
    assert.deepEqual(messages(), ['written', 'debug written']);
    assert.equal(quiet.level, 'warn');
  });
});
