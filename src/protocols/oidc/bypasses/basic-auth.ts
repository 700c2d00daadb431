/**
 * Bypass (bench/FINDINGS.md, "Fix 4" and "Fix 12"): a token, introspection or revocation request
 * with HTTP Basic goes to oidc-provider with its header restated and its body unread, instead of
 * being read and replayed; only an API client's plain token request is read, and eidhub may
 * answer it itself (client-credentials.ts). Off with `oidcFastPaths: false` (mount.ts then reads
 * and replays every such body).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { CheckedCredentials } from '../client-auth.js';
import { replayRequest } from '../client-auth.js';
import { OIDC_ROUTES } from '../provider.js';
import { answerClientCredentials, mayBeClientCredentials } from './client-credentials.js';

/**
 * The request to hand oidc-provider (the original, its body unread, or a replay of the body this
 * had to read), or null when eidhub answered it. `readBody` answers 413 itself and gives null.
 */
export async function basicAuthFastPath(
  raw: IncomingMessage,
  res: ServerResponse,
  path: string,
  credentials: CheckedCredentials | null,
  provider: Provider,
  readBody: (req: IncomingMessage, res: ServerResponse) => Promise<Buffer | null>,
): Promise<IncomingMessage | null> {
  if (path !== OIDC_ROUTES.token || !mayBeClientCredentials(raw, credentials)) return raw;
  const body = await readBody(raw, res);
  if (body === null) return null;
  if (await answerClientCredentials(provider, credentials, body, res)) return null;
  return replayRequest(raw, raw.headers, body);
}
