/**
 * A stand-in for the Twilio Messages API on 127.0.0.1 that speaks its wire protocol: the same path,
 * HTTP Basic, form fields, error shapes and message resource. Tests point `sms.baseUrl` at `url`,
 * then read what was "sent", or make the next requests fail to exercise retries.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeTwilioMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  body: string;
  dateCreated: Date;
}

export interface FakeTwilio {
  /** Base URL, e.g. `http://127.0.0.1:41234`; give it to the provider as `baseUrl`. */
  readonly url: string;
  /** Messages accepted, oldest first. */
  readonly messages: readonly FakeTwilioMessage[];
  /** Every request that arrived, including the ones answered with an error or dropped. */
  readonly requestCount: number;
  /** Resolves with the first message (already accepted or still to come) that matches. */
  waitForMessage(predicate: (message: FakeTwilioMessage) => boolean, timeoutMs?: number): Promise<FakeTwilioMessage>;
  /** The next `count` requests are answered with `status` and Twilio's error JSON, and not delivered. */
  failNext(count: number, status?: number): void;
  /** The next request's connection is closed without an answer (a network error to the client). */
  dropNextConnection(): void;
  /** The next `count` requests get no answer at all, until the client gives up or `close()`. */
  stallNext(count?: number): void;
  /**
   * The next message is accepted and delivered, but its 201 answer is cut off after the status
   * line and headers (the connection closes before the body): a send that succeeded, as the
   * client sees it fail.
   */
  truncateNextAnswer(): void;
  /** Calls `listener` with every message accepted from now on; returns the unsubscribe. */
  onMessage(listener: (message: FakeTwilioMessage) => void): () => void;
  close(): Promise<void>;
}

const E164 = /^\+[1-9]\d{6,14}$/;

export interface FakeTwilioOptions {
  /**
   * Keep accepted messages in `messages` (the default). Off for long load runs, where an ever
   * growing list would be the fake's own leak: read them through onMessage instead.
   */
  retainMessages?: boolean;
}

export async function startFakeTwilio(
  credentials: { accountSid: string; authToken: string },
  options: FakeTwilioOptions = {},
): Promise<FakeTwilio> {
  const retain = options.retainMessages ?? true;
  const messages: FakeTwilioMessage[] = [];
  const waiters = new Set<(message: FakeTwilioMessage) => void>();
  let requestCount = 0;
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let drops = 0;
  let truncations = 0;
  let stalls = 0;
  const expectedAuthorization = Buffer.from(`Basic ${Buffer.from(`${credentials.accountSid}:${credentials.authToken}`).toString('base64')}`);

  const server = createServer((req, res) => {
    requestCount++;
    if (drops > 0) {
      drops--;
      req.socket.destroy();
      return;
    }
    if (stalls > 0) {
      stalls--;
      return;
    }
    if (failures.count > 0) {
      failures.count--;
      return sendError(res, failures.status, 20500, 'Internal Server Error');
    }
    void handle(req, res);
  });
  // Connections from the provider under test are kept alive, as Twilio's are.
  server.keepAliveTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    const given = Buffer.from(req.headers.authorization ?? '');
    // Twilio checks credentials before anything else, on any path.
    if (given.length !== expectedAuthorization.length || !timingSafeEqual(given, expectedAuthorization)) {
      return sendError(res, 401, 20003, 'Authenticate');
    }
    if (!match || decodeURIComponent(match[1] ?? '') !== credentials.accountSid) {
      return sendError(res, 404, 20404, `The requested resource ${path} was not found`);
    }
    if (req.method !== 'POST') {
      return sendError(res, 405, 20004, 'Method not allowed');
    }
    const form = new URLSearchParams(await readBody(req));
    const to = form.get('To');
    const from = form.get('From');
    const body = form.get('Body');
    if (!to) return sendError(res, 400, 21604, "A 'To' phone number is required.");
    // Twilio quotes the number in this message; the provider must not pass it on.
    if (!E164.test(to)) return sendError(res, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (!from) return sendError(res, 400, 21603, "A 'From' phone number is required.");
    if (!body) return sendError(res, 400, 21602, 'Message body is required.');

    const message: FakeTwilioMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      accountSid: credentials.accountSid,
      to,
      from,
      body,
      dateCreated: new Date(),
    };
    if (retain) messages.push(message);
    for (const waiter of waiters) waiter(message);
    if (truncations > 0) {
      truncations--;
      const text = JSON.stringify(messageResource(message));
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.flushHeaders();
      res.socket?.destroy();
      return;
    }
    sendJson(res, 201, messageResource(message));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    get requestCount() {
      return requestCount;
    },
    waitForMessage(predicate, timeoutMs = 2000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (message: FakeTwilioMessage) => {
          if (!predicate(message)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          resolve(message);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`fake Twilio: no matching message within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    failNext(count, status = 500) {
      failures = { count, status };
    },
    dropNextConnection() {
      drops++;
    },
    stallNext(count = 1) {
      stalls += count;
    },
    truncateNextAnswer() {
      truncations++;
    },
    onMessage(listener) {
      waiters.add(listener);
      return () => waiters.delete(listener);
    },
    close() {
      // Stalled requests would otherwise keep the server open forever.
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Twilio's error shape. */
function sendError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

/** Twilio writes dates as RFC 2822 with a numeric zone. */
function twilioDate(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

function messageResource(m: FakeTwilioMessage): Record<string, unknown> {
  const uri = `/2010-04-01/Accounts/${m.accountSid}/Messages/${m.sid}`;
  return {
    account_sid: m.accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: twilioDate(m.dateCreated),
    date_sent: null,
    date_updated: twilioDate(m.dateCreated),
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: m.from,
    messaging_service_sid: null,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: 'queued',
    subresource_uris: { media: `${uri}/Media.json` },
    to: m.to,
    uri: `${uri}.json`,
  };
}
