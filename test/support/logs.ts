/** A logger like eidhub's own (its level, its redaction) whose lines a test can read back. */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/http/logger.js';

export function captureLogs() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string });
  return { logger: createLogger('info', sink), records, messages: () => records().map((r) => r.msg) };
}
