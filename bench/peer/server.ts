/**
 * The peer baseline: a bare oidc-provider (its own in-memory adapter, nothing durable) on
 * node:http, with one OIDC client, one API client (client_credentials), and a minimal SMS login
 * of the same steps as eidhub's: a phone form, a code sent through the same (fake) Twilio API and
 * kept in memory, a code form, then the login result. A minimal REST sessions endpoint (bearer
 * check against the provider's ClientCredentials tokens, sessions in a Map) gives the REST
 * scenario something to compare with.
 *
 * It does what an integrator who wires oidc-provider themselves would at least do (a CSRF field,
 * a CSPRNG code compared in constant time, three attempts) and nothing more: no store, no rate
 * limits, no audit, no translations. It is the floor eidhub is measured against.
 *
 *   node --import tsx bench/peer/server.ts --config FILE     (FILE: PeerConfig as JSON; the
 *   benchmark runs it transpiled to plain JavaScript, see lib/servers.ts)
 */
import { createHmac, generateKeyPairSync, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Provider, { type Configuration, type Grant, type KoaContextWithOIDC } from 'oidc-provider';

export interface PeerConfig {
  port: number;
  oidcClient: { clientId: string; secret: string; redirectUri: string };
  apiClient: { clientId: string; secret: string };
  twilio: { baseUrl: string; accountSid: string; authToken: string; from: string };
}

/** Paths the driver uses, as in eidhub but without its /auth/open mount. */
const PEER_ROUTES = { authorization: '/connect/authorize', token: '/connect/token', userinfo: '/connect/userinfo' } as const;

/** The login window: oidc-provider's Interaction lifetime, and how long a pending login is kept. */
const LOGIN_WINDOW_MS = 600_000;
const CODE_TTL_MS = 180_000;
const MAX_ATTEMPTS = 3;
const SESSION_LIFETIME_MS = 1_200_000;
const API_SCOPES = ['signicat-api', 'auth-rest-api'];

function configFromArgs(): PeerConfig {
  const i = process.argv.indexOf('--config');
  const file = i >= 0 ? process.argv[i + 1] : undefined;
  if (!file) throw new Error('usage: server.ts --config FILE');
  return JSON.parse(readFileSync(file, 'utf8')) as PeerConfig;
}

const config = configFromArgs();
const issuer = `http://127.0.0.1:${config.port}`;
const subjectKey = randomBytes(32);
/** The same key type eidhub signs ID tokens with by default (RS256, 2048 bits). */
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

/** Logins in progress, by interaction uid; removed when the login ends, or by the sweep once expired. */
interface PendingLogin {
  csrf: string;
  phone?: string;
  code?: string;
  /** The end of the login window from the phone form on; once a code is sent, the code's expiry. */
  expiresAt: number;
  attempts: number;
}
const pending = new Map<string, PendingLogin>();
/** People who logged in, by sub (the driver reuses 1000 numbers, so this stays small). */
const accounts = new Map<string, string>();

interface PeerSession {
  id: string;
  clientId: string;
  status: 'CREATED';
  body: Record<string, unknown>;
  expiresAt: number;
}
const sessions = new Map<string, PeerSession>();
// Sessions are forgotten after their lifetime, as a store's purge would; insertion order is expiry order.
setInterval(() => {
  const now = Date.now();
  for (const [id, s] of sessions) {
    if (s.expiresAt > now) break;
    sessions.delete(id);
  }
  // Abandoned logins too: one left at the phone form expires with its login window.
  for (const [uid, p] of pending) if (p.expiresAt < now) pending.delete(uid);
}, 10_000).unref();

/** As eidhub: every client is first-party, so the grant is what the client asked for, without a consent step. */
async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { client, session, provider } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  const grant = existing ?? new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
  await grant.save();
  return grant;
}

const configuration: Configuration = {
  clients: [
    {
      client_id: config.oidcClient.clientId,
      client_secret: config.oidcClient.secret,
      redirect_uris: [config.oidcClient.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid idp-id phone',
    },
    {
      client_id: config.apiClient.clientId,
      client_secret: config.apiClient.secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: API_SCOPES.join(' '),
    },
  ],
  jwks: { keys: [{ ...signingKey, alg: 'RS256', use: 'sig', kid: 'peer-rs256' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  routes: PEER_ROUTES,
  scopes: ['openid', 'idp-id', 'phone', ...API_SCOPES],
  claims: { openid: ['sub'], 'idp-id': ['idp_id', 'idp_issuer'], phone: ['phone_number', 'phone_number_verified'] },
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    userinfo: { enabled: true },
  },
  ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 3600, ClientCredentials: 600, Interaction: LOGIN_WINDOW_MS / 1000, Session: 3600, Grant: 3600 },
  loadExistingGrant,
  findAccount: (_ctx, sub) => {
    const phone = accounts.get(sub);
    if (!phone) return undefined;
    return { accountId: sub, claims: () => ({ sub, idp_id: phone, idp_issuer: 'otp-sms', phone_number: phone }) };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
};

const provider = new Provider(issuer, configuration);
const oidcCallback = provider.callback();
const twilioUrl = `${config.twilio.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(config.twilio.accountSid)}/Messages.json`;
const twilioAuth = `Basic ${Buffer.from(`${config.twilio.accountSid}:${config.twilio.authToken}`).toString('base64')}`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: ServerResponse, status: number, title: string, form: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${form}</body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

const STEPS = {
  phone: { title: 'Your mobile number', input: '<input name="phone" type="tel" autocomplete="tel">', button: 'Send code' },
  code: { title: 'Enter the code', input: '<input name="code" inputmode="numeric" autocomplete="one-time-code">', button: 'Log in' },
} as const;

/** The phone or code form, with an error above the field when there is one. */
function stepForm(res: ServerResponse, step: keyof typeof STEPS, uid: string, login: PendingLogin, error = ''): void {
  const { title, input, button } = STEPS[step];
  page(
    res,
    error ? 422 : 200,
    title,
    `<form method="post" action="/interaction/${uid}/${step}"><input type="hidden" name="csrf" value="${login.csrf}">${error ? `<p>${escapeHtml(error)}</p>` : ''}${input}<button>${button}</button></form>`,
  );
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) req.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, 'This login has expired', '');
  if (req.method === 'GET' && action === undefined) {
    const login: PendingLogin = { csrf: randomBytes(32).toString('base64url'), expiresAt: Date.now() + LOGIN_WINDOW_MS, attempts: 0 };
    pending.set(uid, login);
    return stepForm(res, 'phone', uid, login);
  }
  const login = pending.get(uid);
  if (req.method !== 'POST' || !login) return page(res, 400, 'This login has expired', '');
  const form = new URLSearchParams(await readBody(req));
  if (!sameString(form.get('csrf') ?? '', login.csrf)) return page(res, 403, 'Reload the page', '');

  if (action === 'phone') {
    const phone = (form.get('phone') ?? '').replace(/[\s\-.()]/g, '');
    if (!/^\+[1-9]\d{6,14}$/.test(phone)) return stepForm(res, 'phone', uid, login, 'Not a valid international number');
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    Object.assign(login, { phone, code, expiresAt: Date.now() + CODE_TTL_MS, attempts: 0 });
    const sent = await fetch(twilioUrl, {
      method: 'POST',
      headers: { authorization: twilioAuth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ To: phone, From: config.twilio.from, Body: `Your login code is ${code}.\n\n@127.0.0.1 #${code}` }).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    await sent.text();
    if (!sent.ok) return stepForm(res, 'phone', uid, login, 'The code could not be sent');
    return stepForm(res, 'code', uid, login);
  }
  if (action === 'code') {
    if (!login.phone || !login.code || login.expiresAt < Date.now() || login.attempts >= MAX_ATTEMPTS) {
      return stepForm(res, 'code', uid, login, 'The code has expired');
    }
    login.attempts++;
    if (!sameString((form.get('code') ?? '').trim(), login.code)) return stepForm(res, 'code', uid, login, 'Wrong code');
    pending.delete(uid);
    const sub = createHmac('sha256', subjectKey).update(`otp-sms:${login.phone}`).digest('base64url');
    accounts.set(sub, login.phone);
    const url = await provider.interactionResult(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    res.writeHead(303, { location: url, 'content-length': 0 });
    res.end();
    return;
  }
  page(res, 404, 'No such step', '');
}

async function apiClient(req: IncomingMessage): Promise<string | null> {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  const token = match?.[1] ? await provider.ClientCredentials.find(match[1]) : undefined;
  if (!token || token.isExpired || token.clientId !== config.apiClient.clientId) return null;
  const scopes = String(token.scope ?? '').split(' ');
  return API_SCOPES.some((s) => scopes.includes(s)) ? token.clientId : null;
}

async function rest(req: IncomingMessage, res: ServerResponse, id: string | undefined): Promise<void> {
  const clientId = await apiClient(req);
  if (!clientId) return json(res, 401, { status: 401, code: 'invalid_token' });
  if (req.method === 'POST' && id === undefined) {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return json(res, 415, { status: 415, code: 'unsupported_media_type' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    } catch {
      return json(res, 400, { status: 400, code: 'invalid_json' });
    }
    const callbacks = body.callbackUrls as Record<string, unknown> | undefined;
    if (body.flow !== 'redirect' || typeof callbacks?.success !== 'string' || typeof callbacks.abort !== 'string' || typeof callbacks.error !== 'string') {
      return json(res, 400, { status: 400, code: 'invalid_request' });
    }
    const session: PeerSession = { id: randomUUID(), clientId, status: 'CREATED', body, expiresAt: Date.now() + SESSION_LIFETIME_MS };
    sessions.set(session.id, session);
    res.setHeader('location', `/auth/rest/sessions/${session.id}`);
    return json(res, 201, present(session));
  }
  const session = id ? sessions.get(id) : undefined;
  if (req.method !== 'GET' || !session || session.clientId !== clientId) return json(res, 404, { status: 404, code: 'session_not_found' });
  return json(res, 200, present(session));
}

function present(s: PeerSession): Record<string, unknown> {
  return { ...s.body, id: s.id, status: s.status, authenticationUrl: `${issuer}/login/${s.id}`, expiresAt: new Date(s.expiresAt).toISOString() };
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(phone|code))?$/;
const SESSIONS = /^\/auth\/rest\/sessions(?:\/([0-9a-f-]{36}))?$/;

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const i = INTERACTION.exec(path);
  const s = i ? null : SESSIONS.exec(path);
  const handled = i ? interaction(req, res, i[1]!, i[2]) : s ? rest(req, res, s[1]) : oidcCallback(req, res);
  Promise.resolve(handled).catch((err: unknown) => {
    process.stderr.write(`peer: ${(err as Error).stack ?? String(err)}\n`);
    if (!res.headersSent) json(res, 500, { status: 500, code: 'internal' });
    else res.destroy();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`peer listening on ${issuer}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
