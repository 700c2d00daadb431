/**
 * Starts eidhub in this process for end-to-end tests, with a config built like an operator's
 * file, on a free loopback port, and a log that tests can search (e.g. for leaked codes).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/http/logger.js';
import { buildEidhub, type Eidhub } from '../../src/main.js';
import type { SmsProvider } from '../../src/sms/types.js';
import { freePort } from './net.js';

/** Tests take their free ports from here too. */
export { freePort };

export interface RunningEidhub extends Eidhub {
  url: string;
  issuer: string;
  /** Every log line written so far, as text. */
  logText(): string;
}

export function tempSqlitePath(): string {
  return join(mkdtempSync(join(tmpdir(), 'eidhub-test-')), 'eidhub.db');
}

export async function startEidhub(
  config: Omit<ConfigInput, 'port' | 'publicUrl'> & { hostname?: string; now?: () => number; smsProvider?: SmsProvider },
): Promise<RunningEidhub> {
  const port = await freePort();
  const { hostname = "127.0.0.1", now, smsProvider, ...rest } = config;
  const publicUrl = `http://${hostname}:${port}`;
  const parsed = parseConfig({ logLevel: 'info', storage: { driver: 'sqlite', path: tempSqlitePath() }, ...rest, port, publicUrl, host: '127.0.0.1' }, 'test');
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger(parsed.logLevel, sink);
  const eidhub = await buildEidhub(parsed, { logger, timers: false, ...(now ? { now } : {}), ...(smsProvider ? { sms: smsProvider } : {}) });
  await eidhub.app.listen({ port, host: '127.0.0.1' });
  return { ...eidhub, url: publicUrl, issuer: `${publicUrl}/auth/open`, logText: () => lines.join('') };
}
