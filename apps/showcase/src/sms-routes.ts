/**
 * Seed 004's backend routes for phone number verification by SMS (CIBA with channel=sms):
 *   POST /sms/auth  → start CIBA; answers {auth_server, auth_req_id, nonce}
 *   POST /sms/token → code to the callback, CIBA token, UserInfo; answers {auth_server, ...UserInfo}
 *   POST /sms/log   → logs what the page reports; answers "OK"
 * The nonce binds a verification to the browser session that started it: /sms/token accepts an
 * auth_req_id only with the nonce /sms/auth gave this session, for the same client and server.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CibaClient, type UserInfo } from './ciba-client.js';
import { badRequest, ShowcaseError } from './errors.js';
import { sameText, type SessionStore } from './sessions.js';
import type { AuthServer, FlowClient, Settings } from './settings.js';

export const PVN_SMS = 'pvn_sms';
/** A phone number as CIBA's login_hint carries it. */
export const E164 = /^\+[1-9]\d{6,14}$/;

interface AuthBody {
  client_id: string;
  server_id?: string;
  login_hint: string;
  scope?: string;
}

interface TokenBody {
  code: string;
  auth_req_id: string;
  client_id: string;
  nonce: string;
  server_id?: string;
}

const str = { type: 'string', minLength: 1, maxLength: 2048 } as const;

const authSchema = {
  body: { type: 'object', required: ['client_id', 'login_hint'], properties: { client_id: str, server_id: str, login_hint: str, scope: str } },
} as const;

const tokenSchema = {
  body: {
    type: 'object',
    required: ['code', 'auth_req_id', 'client_id', 'nonce'],
    properties: { code: { type: 'string', minLength: 1, maxLength: 16 }, auth_req_id: str, client_id: str, nonce: str, server_id: str },
  },
} as const;

/** Keys whose values never reach the log, at any depth of what the page reports. */
const SECRET_KEYS = new Set(['access_token', 'id_token', 'refresh_token', 'client_secret', 'code', 'auth_req_id', 'nonce']);
const PHONE_KEYS = new Set(['phone_number', 'login_hint']);

export interface SmsRoutesDeps {
  settings: Settings;
  clients: readonly FlowClient[];
  sessions: SessionStore;
  now?: () => number;
}

export function registerSmsRoutes(app: FastifyInstance, deps: SmsRoutesDeps): void {
  const { settings, sessions } = deps;
  const now = deps.now ?? Date.now;

  /** 400 for a server_id that names no configured server, or when there is none at all. */
  function serverOf(serverId: string | undefined): AuthServer {
    const first = settings.auth_servers[0];
    if (!first) throw badRequest('no_auth_servers', 'no auth servers are configured (auth_servers)');
    if (serverId === undefined) return first;
    const server = settings.auth_servers.find((s) => s.id === serverId);
    if (!server) throw badRequest('invalid_server_id', `server_id ${JSON.stringify(serverId)} names no configured auth server`);
    return server;
  }

  /** 401 for a client_id that no pvn_sms client of the config has. */
  function clientOf(clientId: string): FlowClient {
    const client = deps.clients.find((c) => c.userFlow === PVN_SMS && c.clientId === clientId);
    if (!client) throw new ShowcaseError(401, 'invalid_client', 'client_id names no configured pvn_sms client');
    return client;
  }

  const ciba = (server: AuthServer) => new CibaClient(server, settings.realm, settings.upstream_timeout_ms);
  const serverView = (server: AuthServer) => ({ id: server.id, url: server.url });

  app.post<{ Body: AuthBody }>('/sms/auth', { schema: authSchema }, async (req, reply) => {
    const server = serverOf(req.body.server_id);
    const client = clientOf(req.body.client_id);
    const loginHint = req.body.login_hint.trim();
    if (!E164.test(loginHint)) throw badRequest('invalid_login_hint', 'login_hint must be a phone number in E.164 format, e.g. +447700900123');

    const started = await ciba(server).startSms(client, { scope: req.body.scope ?? client.scope, loginHint, message: settings.sms_message });
    const nonce = randomUUID();
    const session = sessions.obtain(req, reply);
    const lifetimeMs = (started.expires_in > 0 ? started.expires_in : 300) * 1000;
    sessions.addPending(session, started.auth_req_id, { nonce, clientId: client.clientId, serverId: server.id, loginHint, expiresAt: now() + lifetimeMs });
    return { auth_server: serverView(server), auth_req_id: started.auth_req_id, nonce };
  });

  app.post<{ Body: TokenBody }>('/sms/token', { schema: tokenSchema }, async (req) => {
    const server = serverOf(req.body.server_id);
    const client = clientOf(req.body.client_id);
    const session = sessions.find(req);
    const pending = session?.pending.get(req.body.auth_req_id);
    if (!session || !pending || pending.expiresAt <= now() || !sameText(pending.nonce, req.body.nonce) || pending.clientId !== client.clientId || pending.serverId !== server.id) {
      throw badRequest('invalid_nonce', 'this auth_req_id was not started by this browser with this nonce, client and server (or it has expired)');
    }

    const auth = ciba(server);
    let userInfo: UserInfo;
    try {
      await auth.submitSmsCode(req.body.auth_req_id, req.body.code.trim());
      const tokens = await auth.redeem(client, req.body.auth_req_id);
      userInfo = await auth.userInfo(tokens.access_token);
      if (userInfo.phone_number !== undefined && userInfo.phone_number !== pending.loginHint) {
        throw new ShowcaseError(502, 'phone_number_mismatch', 'the auth server verified another number than the one this browser asked about');
      }
    } catch (err) {
      // The seed keeps the error for /user/info to show; a wrong code leaves the request open.
      if (err instanceof ShowcaseError) session.outcome = { kind: 'failed', via: PVN_SMS, error: err.toJSON(), at: now() };
      throw err;
    }
    session.pending.delete(req.body.auth_req_id);
    session.outcome = { kind: 'verified', via: PVN_SMS, server: `${server.id} (${server.url})`, claims: userInfo, raw: userInfo, at: now() };
    return { auth_server: serverView(server), ...userInfo };
  });

  app.post<{ Body: { data?: unknown } }>('/sms/log', { bodyLimit: 16_384 }, async (req, reply) => {
    req.log.info({ sms_flow: redact(req.body?.data) }, 'sms flow reported by the page');
    return reply.type('text/plain; charset=utf-8').send('OK');
  });
}

/** A copy fit for the log: secrets replaced, phone numbers cut to their last three digits. */
function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (SECRET_KEYS.has(k)) return [k, '[redacted]'];
      if (PHONE_KEYS.has(k) && typeof v === 'string') return [k, `…${v.slice(-3)}`];
      return [k, redact(v, depth + 1)];
    }),
  );
}
