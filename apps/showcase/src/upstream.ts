/**
 * One JSON call to a server this app relies on (an auth server, eidhub's REST API). A success
 * is its JSON object; anything else becomes a ShowcaseError with the server's status and body,
 * which the routes pass on as `{error, status, data}` (seed 004). Nothing here logs: requests
 * carry secrets.
 */
import { ShowcaseError } from './errors.js';

export type Json = Record<string, unknown>;

export async function callJson(name: string, url: string, init: RequestInit, timeoutMs: number): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? 'did not answer in time' : 'could not be reached';
    throw new ShowcaseError(502, 'auth_server_unreachable', `${name} ${reason}`);
  }
  const text = await res.text();
  const data = parseJson(text);
  // A success without a JSON object is fine where the answer has nothing to read (the SMS
  // callback); the other calls find their fields missing.
  if (res.ok) return isObject(data) ? data : {};
  if (res.status < 400) throw invalidAnswer(`${name} answered ${res.status}`);
  const error = isObject(data) && typeof data.error === 'string' ? data.error : isObject(data) && typeof data.code === 'string' ? data.code : 'auth_server_error';
  const description = isObject(data) ? (data.error_description ?? data.detail) : undefined;
  throw new ShowcaseError(res.status, error, typeof description === 'string' ? description : `${name} answered ${res.status}`, data ?? text);
}

export function invalidAnswer(message: string): ShowcaseError {
  return new ShowcaseError(502, 'invalid_auth_server_answer', message);
}

function isObject(value: unknown): value is Json {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
