import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeOrderedUuid } from '../src/core/ids.js';

describe('timeOrderedUuid', () => {
  it('is an RFC 9562 version 7 UUID carrying the millisecond time', () => {
    const at = Date.UTC(2026, 10, 26, 12, 0, 0, 123);
    const id = timeOrderedUuid(at);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at);
  });

  it('sorts by time, and ids of the same millisecond differ', () => {
    const ids = [timeOrderedUuid(1_000), timeOrderedUuid(2_000), timeOrderedUuid(3_000)];
    assert.deepEqual([...ids].sort(), ids);
    const same = new Set(Array.from({ length: 10_000 }, () => timeOrderedUuid(5_000)));
    assert.equal(same.size, 10_000);
  });
});
