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
import type { AuthenticatorPlugin } from '../../src/authenticators/types.js';
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

/**
 * `EIDHUB_TEST_OIDC_FAST_PATHS=off` starts every test server with `oidcFastPaths: false`, so a
 * suite can be run again on oidc-provider's own paths (test/oidc.e2e.plain.test.ts).
 */
const fastPathsOff = process.env.EIDHUB_TEST_OIDC_FAST_PATHS === 'off';

export async function startEidhub(
  config: Omit<ConfigInput, 'port' | 'publicUrl'> & {
    hostname?: string;
    now?: () => number;
    smsProvider?: SmsProvider;
    /** Authenticators to register besides the built-in ones. */
    authenticators?: readonly AuthenticatorPlugin[];
  },
): Promise<RunningEidhub> {
  const port = await freePort();
  const { hostname = '127.0.0.1', now, smsProvider, authenticators, ...rest } = config;
  const publicUrl = `http://${hostname}:${port}`;
  const parsed = parseConfig(
    { logLevel: 'info', storage: { driver: 'sqlite', path: tempSqlitePath() }, ...(fastPathsOff ? { oidcFastPaths: false } : {}), ...rest, port, publicUrl, host: '127.0.0.1' },
    'test',
  );
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger(parsed.logLevel, sink);
  const eidhub = await buildEidhub(parsed, {
    logger,
    timers: false,
    ...(now ? { now } : {}),
    ...(smsProvider ? { sms: smsProvider } : {}),
    ...(authenticators ? { authenticators } : {}),
  });
  await eidhub.app.listen({ port, host: '127.0.0.1' });
  return { ...eidhub, url: publicUrl, issuer: `${publicUrl}/auth/open`, logText: () => lines.join('') };
}
