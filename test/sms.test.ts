import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createConsoleProvider } from '../src/sms/console.js';
import { createSmsProvider } from '../src/sms/index.js';
import { SandboxInbox } from '../src/sms/sandbox-inbox.js';
import { createTwilioProvider, type TwilioConfig } from '../src/sms/twilio.js';
import { SmsSendError, type SmsMessage } from '../src/sms/types.js';
import { createWebhookProvider, signWebhookPayload, verifyWebhookSignature, type WebhookConfig } from '../src/sms/webhook.js';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-auth-token-0123456789';
const CODE = '482913';
const MESSAGE: SmsMessage = {
  to: '+447700900123',
  from: 'Signicat AS',
  body: `Din kode er ${CODE}. Æ Ø Å & = + %\n\n@localhost #${CODE}`,
};

/** What an SmsSendError may never reveal. */
function assertNothingSecret(error: SmsSendError, ...secrets: string[]): void {
  for (const secret of [CODE, MESSAGE.to, MESSAGE.to.slice(3), AUTH_TOKEN, ...secrets]) {
    assert.ok(!error.message.includes(secret), `error message "${error.message}" reveals ${secret}`);
  }
}

async function sendError(promise: Promise<unknown>): Promise<SmsSendError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SmsSendError, `expected SmsSendError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the send to fail');
}

describe('twilio provider', () => {
  let fake: FakeTwilio;
  const config = (overrides: Partial<TwilioConfig> = {}): TwilioConfig => ({
    provider: 'twilio',
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    from: 'eidhub',
    baseUrl: fake.url,
    timeoutMs: 2000,
    ...overrides,
  });

  beforeEach(async () => {
    fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  });
  afterEach(() => fake.close());

  it('sends To, From and Body and returns the message sid', async () => {
    const result = await createTwilioProvider(config()).send(MESSAGE);
    const delivered = await fake.waitForMessage((m) => m.to === MESSAGE.to);
    assert.match(delivered.sid, /^SM[0-9a-f]{32}$/);
    assert.equal(result.providerMessageId, delivered.sid);
    assert.deepEqual({ to: delivered.to, from: delivered.from, body: delivered.body }, MESSAGE);
    assert.equal(fake.requestCount, 1);
  });

  it('accepts a base URL with a trailing slash', async () => {
    await createTwilioProvider(config({ baseUrl: `${fake.url}/` })).send(MESSAGE);
    assert.equal(fake.messages.length, 1);
  });

  it('fails on wrong credentials (401, Twilio 20003) without a retry', async () => {
    const error = await sendError(createTwilioProvider(config({ authToken: 'wrong-token' })).send(MESSAGE));
    assert.equal(error.provider, 'twilio');
    assert.equal(error.retryable, false);
    assert.match(error.message, /^twilio: HTTP 401, Twilio error 20003$/);
    assertNothingSecret(error, 'wrong-token');
    assert.equal(fake.requestCount, 1);
    assert.equal(fake.messages.length, 0);
  });

  it('fails on an invalid To (400, Twilio 21211) without a retry or echoing the number', async () => {
    const error = await sendError(createTwilioProvider(config()).send({ ...MESSAGE, to: '+0447700900123' }));
    assert.match(error.message, /HTTP 400, Twilio error 21211/);
    assertNothingSecret(error, '0447700900123');
    assert.equal(fake.requestCount, 1);
  });

  it('retries once after a 500 and delivers exactly one message', async () => {
    fake.failNext(1, 500);
    const result = await createTwilioProvider(config()).send(MESSAGE);
    assert.equal(fake.requestCount, 2);
    assert.equal(fake.messages.length, 1);
    assert.equal(result.providerMessageId, fake.messages[0]?.sid);
  });

  it('gives up after two 5xx answers', async () => {
    fake.failNext(2, 503);
    const error = await sendError(createTwilioProvider(config()).send(MESSAGE));
    assert.equal(error.retryable, true);
    assert.match(error.message, /^twilio: HTTP 503, Twilio error 20500 \(after one retry\)$/);
    assertNothingSecret(error);
    assert.equal(fake.requestCount, 2);
    assert.equal(fake.messages.length, 0);
  });

  it('retries once after a dropped connection', async () => {
    fake.dropNextConnection();
    await createTwilioProvider(config()).send(MESSAGE);
    assert.equal(fake.requestCount, 2);
    assert.equal(fake.messages.length, 1);
  });

  it('does not retry a send whose 201 answer was cut off: the message went out once', async () => {
    fake.truncateNextAnswer();
    const result = await createTwilioProvider(config()).send(MESSAGE);
    assert.equal(result.providerMessageId, undefined, 'no sid: the answer body never arrived');
    assert.equal(fake.requestCount, 1);
    assert.equal(fake.messages.length, 1);
  });

  it('retries once after a timeout', async () => {
    fake.stallNext(1);
    await createTwilioProvider(config({ timeoutMs: 400 })).send(MESSAGE);
    assert.equal(fake.requestCount, 2);
    assert.equal(fake.messages.length, 1);
  });

  it('fails after two timeouts', async () => {
    fake.stallNext(2);
    const error = await sendError(createTwilioProvider(config({ timeoutMs: 400 })).send(MESSAGE));
    assert.equal(error.message, 'twilio: no answer within 400 ms (after one retry)');
    assert.equal(error.retryable, true);
    assert.equal(fake.requestCount, 2);
  });

  it('reports a refused connection as a network error', async () => {
    const url = fake.url;
    await fake.close();
    const error = await sendError(createTwilioProvider(config({ baseUrl: url })).send(MESSAGE));
    assert.equal(error.message, 'twilio: network error (ECONNREFUSED) (after one retry)');
    fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  });
});

interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  rawBody: string;
}

/** A webhook receiver on 127.0.0.1 that answers each request with the next status of `answers` (then 204). */
async function startReceiver(answers: (number | 'drop')[] = []) {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8') });
      const answer = answers.shift() ?? 204;
      if (answer === 'drop') req.socket.destroy();
      // A redirect points back here, so following it would show up as a second request.
      else res.writeHead(answer, answer >= 300 && answer < 400 ? { location: '/elsewhere' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sms`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('webhook provider', () => {
  const SECRET = 'webhook-secret-0123456789';
  const config = (url: string): WebhookConfig => ({ provider: 'webhook', url, secret: SECRET, from: 'eidhub', timeoutMs: 2000 });

  it('POSTs the message as signed JSON with an Idempotency-Key', async () => {
    const receiver = await startReceiver();
    try {
      const result = await createWebhookProvider(config(receiver.url)).send(MESSAGE);
      assert.equal(receiver.received.length, 1);
      const [request] = receiver.received;
      assert.ok(request);
      const payload: unknown = JSON.parse(request.rawBody);
      const timestamp = request.headers['x-eidhub-timestamp'];
      const signature = request.headers['x-eidhub-signature'];
      assert.equal(typeof timestamp, 'string');
      assert.equal(typeof signature, 'string');
      assert.match(String(request.headers['content-type']), /^application\/json/);
      assert.deepEqual(payload, { id: result.providerMessageId, ...MESSAGE, timestamp: Number(timestamp) });
      assert.equal(request.headers['idempotency-key'], result.providerMessageId);
      assert.match(String(signature), /^v1=[0-9a-f]{64}$/);

      assert.equal(verifyWebhookSignature(SECRET, String(timestamp), request.rawBody, String(signature), 300), true);
      assert.equal(verifyWebhookSignature(SECRET, String(timestamp), Buffer.from(request.rawBody), String(signature), 300), true);
      assert.equal(verifyWebhookSignature('another-secret-0123456', String(timestamp), request.rawBody, String(signature), 300), false);
      assert.equal(verifyWebhookSignature(SECRET, String(timestamp), request.rawBody.replace(CODE, '000000'), String(signature), 300), false);
      assert.equal(verifyWebhookSignature(SECRET, String(Number(timestamp) + 1), request.rawBody, String(signature), 300), false);
      assert.equal(verifyWebhookSignature(SECRET, String(timestamp), request.rawBody, undefined, 300), false);
      assert.equal(verifyWebhookSignature(SECRET, undefined, request.rawBody, String(signature), 300), false);
      assert.equal(verifyWebhookSignature(SECRET, String(timestamp), request.rawBody, 'v1=abc', 300), false);
    } finally {
      await receiver.close();
    }
  });

  it('refuses a correctly signed request that is too old', () => {
    const old = String(Math.floor(Date.now() / 1000) - 600);
    const body = '{"id":"x"}';
    assert.equal(verifyWebhookSignature(SECRET, old, body, signWebhookPayload(SECRET, old, body), 300), false);
    assert.equal(verifyWebhookSignature(SECRET, old, body, signWebhookPayload(SECRET, old, body), 900), true);
  });

  it('retries a 5xx and a dropped connection once with the very same request', async () => {
    for (const failure of [500, 'drop'] as const) {
      const receiver = await startReceiver([failure]);
      try {
        const result = await createWebhookProvider(config(receiver.url)).send(MESSAGE);
        const [first, second] = receiver.received;
        assert.equal(receiver.received.length, 2, `after ${failure}`);
        assert.ok(first && second);
        assert.equal(second.headers['idempotency-key'], result.providerMessageId);
        assert.equal(second.headers['idempotency-key'], first.headers['idempotency-key']);
        assert.equal(second.headers['x-eidhub-signature'], first.headers['x-eidhub-signature']);
        assert.equal(second.rawBody, first.rawBody);
      } finally {
        await receiver.close();
      }
    }
  });

  it('fails on a 4xx or a redirect without a retry, and follows no redirect', async () => {
    for (const status of [400, 307]) {
      const receiver = await startReceiver([status]);
      try {
        const error = await sendError(createWebhookProvider(config(receiver.url)).send(MESSAGE));
        assert.equal(error.message, `webhook: HTTP ${status}`);
        assert.equal(error.retryable, false);
        assert.equal(receiver.received.length, 1);
      } finally {
        await receiver.close();
      }
    }
  });
});

describe('console provider', () => {
  const recordingLogger = () => {
    const lines: { obj: object; msg: string }[] = [];
    return { lines, info: (obj: object, msg: string) => void lines.push({ obj, msg }) };
  };

  it('prints the text with a masked number, and keeps the whole message in the inbox', async () => {
    const logger = recordingLogger();
    const inbox = new SandboxInbox();
    const result = await createConsoleProvider({ logger, inbox }).send(MESSAGE);

    const logged = JSON.stringify(logger.lines);
    assert.equal(logger.lines.length, 1);
    assert.ok(logged.includes(CODE), 'the development provider prints the code for the developer');
    assert.ok(!logged.includes(MESSAGE.to.slice(3)), 'the full number is logged');
    assert.ok(logged.includes('+44 ••••••0123'), logged);

    const [entry] = inbox.list();
    assert.ok(entry);
    assert.deepEqual({ to: entry.to, from: entry.from, body: entry.body }, MESSAGE);
    assert.equal(result.providerMessageId, entry.id);
    assert.ok(logged.includes(entry.id), 'the log line names the inbox entry');
  });

  it('prints without an inbox, still masking the number', async () => {
    const logger = recordingLogger();
    const result = await createConsoleProvider({ logger }).send(MESSAGE);
    assert.equal(result.providerMessageId, undefined);
    assert.equal(logger.lines.length, 1);
    assert.ok(!JSON.stringify(logger.lines).includes(MESSAGE.to.slice(3)));
  });
});

describe('SandboxInbox', () => {
  it('keeps the newest messages up to its capacity, newest first', () => {
    const inbox = new SandboxInbox(3);
    assert.deepEqual(inbox.list(), []);
    for (let i = 1; i <= 5; i++) inbox.add({ ...MESSAGE, body: `message ${i}` }, new Date(i * 1000));
    assert.deepEqual(
      inbox.list().map((e) => [e.body, e.at.getTime()]),
      [
        ['message 5', 5000],
        ['message 4', 4000],
        ['message 3', 3000],
      ],
    );
  });

  it('holds 50 messages by default', () => {
    const inbox = new SandboxInbox();
    for (let i = 0; i < 60; i++) inbox.add(MESSAGE);
    assert.equal(inbox.list().length, 50);
    assert.equal(new Set(inbox.list().map((e) => e.id)).size, 50);
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new SandboxInbox(0), RangeError);
  });
});

describe('createSmsProvider', () => {
  it('makes the provider the config names', () => {
    const logger = { info: () => undefined };
    assert.equal(createSmsProvider({ provider: 'console', from: 'eidhub' }, { logger }).name, 'console');
    assert.equal(
      createSmsProvider(
        { provider: 'twilio', accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: 'eidhub', baseUrl: 'http://127.0.0.1:1', timeoutMs: 1000 },
        { logger },
      ).name,
      'twilio',
    );
    assert.equal(
      createSmsProvider({ provider: 'webhook', url: 'http://127.0.0.1:1/sms', secret: 'webhook-secret-0123456789', from: 'eidhub', timeoutMs: 1000 }, { logger }).name,
      'webhook',
    );
  });
});
