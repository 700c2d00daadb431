/**
 * eidhub's OpenID Connect redirect login, as a relying party does it: /oidc/login sends the
 * browser to eidhub's authorization endpoint with PKCE (S256), state and nonce kept in the
 * session; /oidc/callback redeems the code, checks the ID token, reads UserInfo and shows the
 * result at /user/info. Registered only when eidhub.oidc.client_secret is configured.
 */
import type { FastifyInstance } from 'fastify';
import * as oidc from 'openid-client';
import { badRequest } from './errors.js';
import { toShowcaseError, type EidhubClient } from './eidhub-client.js';
import type { SessionStore } from './sessions.js';
import { E164 } from './sms-routes.js';

const FLOW = 'oidc';

interface PendingLogin {
  verifier: string;
  state: string;
  nonce: string;
}

export function registerOidcRoutes(app: FastifyInstance, deps: { eidhub: EidhubClient; sessions: SessionStore; publicUrl: string; clientSecret: string }): void {
  const { eidhub, sessions } = deps;
  const { client_id: clientId, scope } = eidhub.settings.oidc;
  const redirectUri = `${deps.publicUrl}/oidc/callback`;
  const configuration = () => eidhub.configuration(clientId, deps.clientSecret);

  app.get<{ Querystring: { login_hint?: string } }>('/oidc/login', async (req, reply) => {
    const config = await configuration();
    const pending: PendingLogin = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
    sessions.obtain(req, reply).flows.set(FLOW, pending);
    const hint = req.query.login_hint?.trim();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      ...(hint && E164.test(hint) ? { login_hint: `mobile:${hint}` } : {}),
    });
    return reply.redirect(url.href);
  });

  app.get('/oidc/callback', async (req, reply) => {
    const session = sessions.find(req);
    const pending = session?.flows.get(FLOW) as PendingLogin | undefined;
    if (!session || !pending) throw badRequest('no_login_in_progress', 'this browser has no OpenID Connect login in progress; start again');
    session.flows.delete(FLOW);
    try {
      const config = await configuration();
      const tokens = await oidc.authorizationCodeGrant(config, new URL(req.url, deps.publicUrl), {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      const userInfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      session.outcome = { kind: 'verified', via: FLOW, server: eidhub.issuer, claims: userInfo, raw: { id_token_claims: claims, userinfo: userInfo }, at: Date.now() };
    } catch (err) {
      session.outcome = { kind: 'failed', via: FLOW, error: toShowcaseError(err).toJSON(), at: Date.now() };
    }
    return reply.redirect('/user/info');
  });
}
