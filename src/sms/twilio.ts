/**
 * The Twilio Messages API provider, and the HTTP delivery rules every HTTP provider shares
 * (`postWithOneRetry`).
 */
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
    let response: Response;
    try {
      response = await fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        // Following a redirect would send the code (and credentials) to a place nobody configured.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      failure = describeFetchError(error, timeoutMs);
      cause = error;
      continue;
    }
    const text = await response.text().catch(() => '');
    if (response.ok) return text;
    if (response.status < 500) throw new SmsSendError(`${provider}: ${describeRefusal(response.status, text)}`, provider, false);
    failure = describeRefusal(response.status, text);
    cause = undefined;
  }
  throw new SmsSendError(`${provider}: ${failure} (after one retry)`, provider, true, { cause });
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // undici reports "fetch failed" and keeps the reason (ECONNREFUSED, ECONNRESET, …) in `cause`.
  const reason = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = reason instanceof Error && 'code' in reason && typeof reason.code === 'string' ? reason.code : undefined;
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
