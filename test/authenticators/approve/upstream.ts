/**
 * The upstream the approve authenticator sends browsers to, for tests: it sends the browser back
 * at once to the `return` URL it was given, with `answer=no` when reached at `/no` and
 * `answer=yes` anywhere else, as an upstream identity provider answers at its callback.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApproveUpstream {
  /** Its address that answers yes (`{origin}/yes`). */
  url: string;
  close(): void;
}

export async function startApproveUpstream(): Promise<ApproveUpstream> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    const back = new URL(url.searchParams.get('return') ?? '');
    back.searchParams.set('answer', url.pathname === '/no' ? 'no' : 'yes');
    res.writeHead(303, { location: back.href }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/yes`, close: () => server.close() };
}
