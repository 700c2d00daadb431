import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LazyChildLogger } from '../src/http/logger.js';
import { captureLogs } from './support/logs.js';

describe('LazyChildLogger', () => {
  it("writes at the parent's level, with the child's bindings", () => {
    const { logger, messages, records } = captureLogs();
    const child = new LazyChildLogger(logger, { reqId: 'r1' }, undefined);
    child.debug('not written');
    child.info('written');
    assert.deepEqual(messages(), ['written']);
    assert.equal(records()[0]?.reqId, 'r1', "the line carries the child's bindings");
    assert.equal(child.level, 'info');
    // A child of the lazy child carries both sets of bindings.
    child.child({ step: 'phone' }).info('nested');
    assert.deepEqual(
      records().map(({ reqId, step }) => ({ reqId, step })),
      [
        { reqId: 'r1', step: undefined },
        { reqId: 'r1', step: 'phone' },
      ],
    );
  });

  it("follows a level of its own (a route's logLevel) before it writes anything", () => {
    const { logger, messages } = captureLogs();
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
