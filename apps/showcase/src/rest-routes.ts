/**
 * eidhub's Authentication REST API with the embedded flow: the page asks POST /rest/sessions,
 * the backend creates a session (client-credentials token, flow "embedded", this app as the only
 * parent allowed to frame it) and the page frames its authenticationUrl. At the end eidhub sends
 * the frame to /rest/return?state=…&sessionNonce=…; the backend reads the result with the
 * sessionNonce and the frame takes the whole window to /user/info. That request comes without
 * the session cookie (a cross-site page navigated the frame, and the cookie is SameSite=Lax), so
 * the unguessable, single-use `state` in the returnUrl names the session instead. Registered
 * only when eidhub.rest.client_secret is configured.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { badRequest } from './errors.js';
import { toShowcaseError, type EidhubClient } from './eidhub-client.js';
import { sendPage } from './pages.js';
import type { SessionStore } from './sessions.js';

const FLOW = 'rest';
/** Embedded logins started and not yet back, at most; the oldest is dropped first. */
const MAX_PENDING = 10_000;

interface PendingSession {
  /** eidhub's session id. */
  id: string;
  /** The showcase session that started it. */
  sessionId: string;
  expiresAt: number;
}

export function registerRestRoutes(app: FastifyInstance, deps: { eidhub: EidhubClient; sessions: SessionStore; publicUrl: string }): void {
  const { eidhub, sessions } = deps;
  const pendingByState = new Map<string, PendingSession>();

  app.post('/rest/sessions', async (req, reply) => {
    const state = randomBytes(24).toString('base64url');
    const created = await eidhub.createEmbeddedSession({ returnUrl: `${deps.publicUrl}/rest/return?state=${state}`, parentOrigin: new URL(deps.publicUrl).origin });
    const expiresAt = Date.parse(String(created.expiresAt)) || Date.now() + 15 * 60_000;
    for (const [key, p] of pendingByState) {
      if (p.expiresAt > Date.now() && pendingByState.size < MAX_PENDING) break;
      pendingByState.delete(key);
    }
    pendingByState.set(state, { id: created.id, sessionId: sessions.obtain(req, reply).id, expiresAt });
    return { authenticationUrl: created.authenticationUrl };
  });

  app.get<{ Querystring: { state?: string; sessionNonce?: string } }>('/rest/return', async (req, reply) => {
    const { state, sessionNonce } = req.query;
    const pending = state ? pendingByState.get(state) : undefined;
    if (state) pendingByState.delete(state);
    const session = pending && pending.expiresAt > Date.now() ? sessions.byId(pending.sessionId) : undefined;
    if (!pending || !session || !sessionNonce) throw badRequest('no_login_in_progress', 'no embedded REST login is in progress with this state; start again');
    try {
      const result = await eidhub.readSession(pending.id, sessionNonce);
      const subject = (result.subject ?? {}) as Record<string, unknown>;
      session.outcome =
        result.status === 'SUCCESS'
          ? { kind: 'verified', via: FLOW, server: `${eidhub.settings.url}/auth/rest`, claims: { sub: subject.id, phone_number: subject.phoneNumber }, raw: result, at: Date.now() }
          : { kind: 'failed', via: FLOW, error: { error: String(result.status).toLowerCase(), status: 200, message: `the REST session ended ${String(result.status)}`, data: result }, at: Date.now() };
    } catch (err) {
      session.outcome = { kind: 'failed', via: FLOW, error: toShowcaseError(err).toJSON(), at: Date.now() };
    }
    return sendPage(
      reply,
      'Done',
      `<p><a id="continue" href="/user/info" target="_top">See the result</a></p><script src="/assets/rest-return.js"></script>`,
      { framedBySelf: true },
    );
  });
}
