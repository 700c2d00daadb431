/**
 * The Twilio Messages API provider, and the HTTP delivery rules every HTTP provider shares
 * (`postWithOneRetry`).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { SmsConfig } from '../config/schema.js';
import { SmsSendError, type SmsProvider } from './types.js';

export type TwilioConfig = Extract<SmsConfig, { provider: 'twilio' }>;

export interface HttpPost {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * POSTs `request` and resolves with the body of a 2xx answer. Each try is cut off after
 * `timeoutMs`. One retry, and only after a network error, a timeout or a 5xx: then the first try
 * did not reach the provider or the provider failed, whereas a 4xx will not change on a second
 * try. A timeout may hide a request that did arrive, so a retry can duplicate a message; a person
 * waiting for a code is better served by a rare second SMS than by none. Once a 2xx status is in,
 * nothing is retried, not even when reading its body fails.
 *
 * @param describeRefusal turns a non-2xx answer into the error text; it must not echo the answer
 *   body, which may quote the number or the message.
 */
export async function postWithOneRetry(
  provider: string,
  request: HttpPost,
  timeoutMs: number,
  describeRefusal: (status: number, responseText: string) => string,
): Promise<string> {
  let failure = '';
  let cause: unknown;
  for (let attempt = 1; attempt <= 2; attempt++) {
    let response: { status: number; text: string };
    try {
      response = await post(request, timeoutMs);
    } catch (error) {
      if (error instanceof AnsweredError) {
        // The status line came in: it decides, as below (a 2xx is never retried), without the body.
        response = { status: error.status, text: '' };
      } else {
        failure = describeNetworkError(error, timeoutMs);
        cause = error;
        continue;
      }
    }
    if (response.status >= 200 && response.status < 300) return response.text;
    if (response.status < 500) throw new SmsSendError(`${provider}: ${describeRefusal(response.status, response.text)}`, provider, false);
    failure = describeRefusal(response.status, response.text);
    cause = undefined;
  }
  throw new SmsSendError(`${provider}: ${failure} (after one retry)`, provider, true, { cause });
}

/** Keep-alive connections to the provider: one TLS handshake per connection, not per message. */
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };

/** The response was under way (status known) when the try failed. */
class AnsweredError extends Error {
  constructor(readonly status: number, options: ErrorOptions) {
    super(`the answer (HTTP ${status}) was cut off`, options);
  }
}

class NoAnswerError extends Error {}

/**
 * One POST with node:http(s). Redirects are not followed: following one would send the code
 * (and credentials) to a place nobody configured; a 3xx is a refusal like any other 4xx.
 */
function post(request: HttpPost, timeoutMs: number): Promise<{ status: number; text: string }> {
  const url = new URL(request.url);
  const secure = url.protocol === 'https:';
  const body = Buffer.from(request.body, 'utf8');
  return new Promise((resolve, reject) => {
    let status: number | undefined;
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      { method: 'POST', agent: secure ? agents.https : agents.http, headers: { ...request.headers, 'content-length': String(body.length) } },
      (res) => {
        status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // An SMS API answers in a few hundred bytes; more is kept to the first 64 KiB.
          if (size <= 64 * 1024) chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: status!, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => fail(err));
      },
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(status === undefined ? err : new AnsweredError(status, { cause: err }));
    };
    const timer = setTimeout(() => req.destroy(new NoAnswerError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof NoAnswerError) return `no answer within ${timeoutMs} ms`;
  const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return `network error${code ? ` (${code})` : ''}`;
}

export function createTwilioProvider(config: TwilioConfig): SmsProvider {
  const url = `${config.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64')}`;
  return {
    name: 'twilio',
    async send(message) {
      const text = await postWithOneRetry(
        'twilio',
        {
          url,
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ To: message.to, From: message.from, Body: message.body }).toString(),
        },
        config.timeoutMs,
        describeTwilioRefusal,
      );
      return { providerMessageId: jsonField(text, 'sid') };
    },
  };
}

/** Twilio answers errors as `{code, message, more_info, status}`; `message` may quote the number, so only the code is kept. */
function describeTwilioRefusal(status: number, responseText: string): string {
  const code = jsonField(responseText, 'code');
  return `HTTP ${status}${code === undefined ? '' : `, Twilio error ${code}`}`;
}

function jsonField(text: string, field: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !(field in parsed)) return undefined;
  const value: unknown = (parsed as Record<string, unknown>)[field];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}
