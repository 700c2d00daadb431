/**
 * The Twilio Messages API on 127.0.0.1, for load. It speaks the same wire protocol as the
 * test suite's fake (test/fakes/twilio.ts: path, HTTP Basic, form fields, 201 with a message
 * resource) but keeps only the latest code per number, and forgets it once read: the suite's fake
 * keeps every message and searches them from the oldest, which in a 60 s soak grows without bound
 * and, with numbers reused across logins, would find an old code.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchTwilio {
  readonly url: string;
  /** Messages accepted since start. */
  readonly accepted: number;
  /** The 6-digit code last sent to `to`, removed from the fake once taken; undefined if none. */
  takeCode(to: string): string | undefined;
  close(): Promise<void>;
}

export const TWILIO_ACCOUNT = { accountSid: 'ACbench0000000000000000000000000000', authToken: 'bench-twilio-auth-token-0001' };

/** Both servers end the SMS with `… #123456`; the peer uses eidhub's format on purpose. */
const CODE_AT_END = /#(\d{6})\s*$/;

export async function startBenchTwilio(): Promise<BenchTwilio> {
  const codes = new Map<string, string>();
  let accepted = 0;
  const expected = `Basic ${Buffer.from(`${TWILIO_ACCOUNT.accountSid}:${TWILIO_ACCOUNT.authToken}`).toString('base64')}`;
  const path = `/2010-04-01/Accounts/${TWILIO_ACCOUNT.accountSid}/Messages.json`;

  const server = createServer((req, res) => void handle(req, res));
  // Connections from the servers under test are kept alive, as Twilio's are.
  server.keepAliveTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== expected) return reply(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== path) return reply(res, 404, { code: 20404, message: 'Not found', status: 404 });
    const form = new URLSearchParams(await readBody(req));
    const to = form.get('To');
    const body = form.get('Body');
    const code = body ? CODE_AT_END.exec(body)?.[1] : undefined;
    if (!to || !form.get('From') || !code) return reply(res, 400, { code: 21602, message: 'Message body is required.', status: 400 });
    codes.set(to, code);
    accepted++;
    reply(res, 201, { sid: `SM${randomBytes(16).toString('hex')}`, account_sid: TWILIO_ACCOUNT.accountSid, to, status: 'queued', num_segments: '1' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    takeCode(to) {
      const code = codes.get(to);
      codes.delete(to);
      return code;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
