/**
 * The webhook provider: each message is POSTed as JSON to your own endpoint, which sends it on.
 *
 * What the endpoint receives:
 *
 *   POST {url}
 *   Content-Type: application/json
 *   Idempotency-Key: <id>
 *   X-Eidhub-Timestamp: <unix seconds>
 *   X-Eidhub-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>", keyed with `secret`>
 *
 *   {"id": "<uuid>", "to": "+447700900000", "from": "eidhub", "body": "…", "timestamp": <unix seconds>}
 *
 * Answer 2xx once you have taken the message. A network error, a timeout or a 5xx is retried once
 * with the very same request (same id, timestamp and signature), so drop a second request whose
 * Idempotency-Key you have already handled. Any other answer fails the send without a retry.
 *
 * To check a request, compute the HMAC over the raw body bytes as received (not re-serialised
 * JSON), compare in constant time, and refuse a timestamp far from your clock so a captured request
 * cannot be replayed later: `verifyWebhookSignature` does all three.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { SmsConfig } from '../config/schema.js';
import { postWithOneRetry } from './twilio.js';
import type { SmsProvider } from './types.js';

export type WebhookConfig = Extract<SmsConfig, { provider: 'webhook' }>;

const SIGNATURE_HEADER_VALUE = /^v1=([0-9a-f]{64})$/;

/** The `X-Eidhub-Signature` value for a request: `v1=` and the hex HMAC-SHA256 of `<timestamp>.<raw body>`. */
export function signWebhookPayload(secret: string, timestamp: string, rawBody: string | Uint8Array): string {
  return `v1=${hmac(secret, timestamp, rawBody).toString('hex')}`;
}

/**
 * For receivers: true when `header` (X-Eidhub-Signature) signs `rawBody` at `timestamp`
 * (X-Eidhub-Timestamp) under `secret`, and `timestamp` is at most `toleranceSeconds` from now.
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string | undefined,
  rawBody: string | Uint8Array,
  header: string | undefined,
  toleranceSeconds: number,
): boolean {
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp) || header === undefined) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const given = SIGNATURE_HEADER_VALUE.exec(header.trim().toLowerCase())?.[1];
  if (given === undefined) return false;
  // Both are 32 bytes (the pattern fixes 64 hex digits), as timingSafeEqual requires.
  return timingSafeEqual(hmac(secret, timestamp, rawBody), Buffer.from(given, 'hex'));
}

function hmac(secret: string, timestamp: string, rawBody: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

export function createWebhookProvider(config: WebhookConfig): SmsProvider {
  return {
    name: 'webhook',
    async send(message) {
      const id = randomUUID();
      const timestamp = Math.floor(Date.now() / 1000);
      const body = JSON.stringify({ id, to: message.to, from: message.from, body: message.body, timestamp });
      await postWithOneRetry(
        'webhook',
        {
          url: config.url,
          headers: {
            'content-type': 'application/json',
            'idempotency-key': id,
            'x-eidhub-timestamp': String(timestamp),
            'x-eidhub-signature': signWebhookPayload(config.secret, String(timestamp), body),
          },
          body,
        },
        config.timeoutMs,
        (status) => `HTTP ${status}`,
      );
      return { providerMessageId: id };
    },
  };
}
