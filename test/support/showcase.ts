/**
 * The showcase app (apps/showcase) as its own process, started as `npm run showcase` starts it
 * (node --import tsx apps/showcase/src/main.ts, config from apps/showcase/config), with the
 * test's settings given the way an operator overrides them: NODE_CONFIG as JSON.
 */
import { spawnUntilReady, stopChild } from './child-eidhub.js';
import { freePort } from './net.js';

export interface RunningShowcase {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Everything the app wrote to stdout and stderr so far (its log). */
  output(): string;
  close(): Promise<void>;
}

/** Where a showcase will listen, chosen before it starts (eidhub's clients must name its URLs). */
export async function showcaseAddress(hostname = '127.0.0.1'): Promise<{ hostname: string; port: number; url: string }> {
  const port = await freePort(hostname);
  return { hostname, port, url: `http://${hostname}:${port}` };
}

export async function startShowcase(config: Record<string, unknown>, address?: { hostname: string; port: number; url: string }): Promise<RunningShowcase> {
  const { hostname, port, url } = address ?? (await showcaseAddress());
  const { child, output } = await spawnUntilReady(['--import', 'tsx', 'apps/showcase/src/main.ts'], {
    what: 'showcase app',
    ready: /^showcase listening on /m,
    readyTimeoutMs: 20_000,
    env: { NODE_CONFIG_DIR: 'apps/showcase/config', NODE_CONFIG: JSON.stringify({ port, host: hostname, public_url: url, ...config }) },
  });
  return { url, output, close: () => stopChild(child, 5000) };
}
