/**
 * Everything below an issuer's mount is oidc-provider's: its Koa app parses, answers and reports
 * errors itself. Before it, eidhub authenticates clients (client-auth.ts: several hashed secrets
 * per client, basic or post) and restates the request for oidc-provider, and, with the fast
 * paths on, answers API clients' token requests itself (bypasses/).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { sendJson } from '../../http/server.js';
import { basicAuthFastPath } from './bypasses/index.js';
import { refuseClientAuth, type ClientAuthLimits } from './client-auth-limits.js';
import { CLIENT_AUTH_PATHS, encodeForm, hasBasicAuth, parseForm, replayRequest, restateBasicHeader, restateClientAuth, type CheckedCredentials, type ClientLookup } from './client-auth.js';

/** Room in a request body: oidc-provider's own limit is 56 KiB. */
const BODY_LIMIT = 56 * 1024;

/**
 * The body, read up to BODY_LIMIT; over it, the request is answered 413 (the rest is not read)
 * and the result is null.
 */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        req.off('data', onData);
        req.resume();
        sendJson(res, 413, { error: 'invalid_request', error_description: `request body too large (at most ${BODY_LIMIT} bytes)` }, { connection: 'close' });
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export interface MountOptions {
  mount: string;
  /** The current provider of the mount; replaced when signing keys change. */
  provider: () => Provider;
  registry: ClientLookup;
  /** The bypasses (bypasses/index.ts): off, every request takes oidc-provider's own path. */
  fastPaths: boolean;
  /** Paths below the mount where clients authenticate, in lower case (default CLIENT_AUTH_PATHS, the seeds' issuer's). */
  clientAuthPaths?: ReadonlySet<string>;
  /** Failed client authentications, limited (a mount where no client authenticates has none). */
  limits?: ClientAuthLimits;
}

/** The handler of every request below the mount. */
export function mountHandler(options: MountOptions): (raw: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { mount, registry, fastPaths, clientAuthPaths = CLIENT_AUTH_PATHS, limits } = options;
  /** Whether the attempt was refused (and answered) by the limits of failed authentications. */
  const refused = async (raw: IncomingMessage, res: ServerResponse, credentials: CheckedCredentials | null): Promise<boolean> => {
    if (credentials === null || limits === undefined) return false;
    const retryAfter = await limits.check(raw, credentials);
    if (retryAfter === null) return false;
    refuseClientAuth(res, retryAfter);
    return true;
  };
  /**
   * For a POST to an endpoint where clients authenticate: that endpoint's path below the mount;
   * else null. oidc-provider's router matches paths without regard to case or a trailing slash,
   * so the check does too.
   */
  const authenticatesClient = (raw: IncomingMessage): string | null => {
    if (raw.method !== 'POST') return null;
    const path = ((raw.url ?? '').slice(mount.length).split('?')[0] ?? '').toLowerCase().replace(/\/+$/, '');
    return clientAuthPaths.has(path) ? path : null;
  };
  // Koa composes its middleware in callback(); do it once per provider instance.
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();

  return async (raw, res) => {
    let req = raw;
    const provider = options.provider();
    const path = authenticatesClient(raw);
    if (path !== null) {
      if (hasBasicAuth(raw.headers)) {
        // client_secret_basic: the header is restated. A request that also posts `client_secret`
        // uses two methods at once, which oidc-provider refuses whatever the header says.
        const credentials = await restateBasicHeader(raw.headers.authorization, registry);
        if (await refused(raw, res, credentials)) return;
        if (credentials !== null) raw.headers.authorization = credentials.authorization;
        if (fastPaths) {
          const handedOn = await basicAuthFastPath(raw, res, path, credentials, provider, readBody);
          if (handedOn === null) return;
          req = handedOn;
        } else {
          const body = await readBody(raw, res);
          if (body === null) return;
          req = replayRequest(raw, raw.headers, body);
        }
      } else if (/^application\/x-www-form-urlencoded/i.test(raw.headers['content-type'] ?? '')) {
        // client_secret_post: the body is read, so it is replayed, with the secret moved to the header.
        const body = await readBody(raw, res);
        if (body === null) return;
        const restated = await restateClientAuth(raw.headers, parseForm(body), registry);
        if (await refused(raw, res, restated?.checked ?? null)) return;
        req = restated ? replayRequest(raw, restated.headers, encodeForm(restated.body)) : replayRequest(raw, raw.headers, body);
      }
    }
    const originalUrl = req.url ?? '/';
    Object.assign(req, { originalUrl, url: originalUrl.slice(mount.length) || '/' });
    let callback = callbacks.get(provider);
    if (!callback) {
      callback = provider.callback();
      callbacks.set(provider, callback);
    }
    await callback(req, res);
  };
}
