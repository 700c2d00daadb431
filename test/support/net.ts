/**
 * A free loopback port, for servers that tests and the benchmark start. Kept free of other
 * imports so that anything may use it cheaply.
 */
import { createServer } from 'node:net';

/** Asks the kernel for a free port on `host` by listening on port 0, then lets it go. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
