/**
 * The OpenID Connect protocol: one OpenID Provider per issuer (today `{publicUrl}/auth/open`),
 * each built by createProvider, its routes, and its interaction with the hosted pages.
 */
import type Provider from 'oidc-provider';
import { addRawRoute } from '../../http/server.js';
import { tokenKeysWatcher } from '../../keys/signing-keys.js';
import { escapeHtml } from '../../ui/i18n.js';
import { subjectRetentionMs } from '../subjects.js';
import type { ProtocolContext, ProtocolInstance, ProtocolPlugin } from '../types.js';
import { checkAllowedProviders } from './allowed-providers.js';
import { clientAuthLimits } from './client-auth-limits.js';
import { mountHandler } from './mount.js';
import { OidcProtocol } from './protocol.js';
import { createProvider, OIDC_MOUNT } from './provider.js';

export { createApiTokenVerifier } from './api-tokens.js';

/** The id of the form oidc-provider hands logoutSource (lib/actions/end_session.js); the page's buttons submit it by `form=`. */
const LOGOUT_FORM_ID = 'op.logoutForm';

/** The claims each scope gives, as the authenticators declare them (a claim may come from several). */
function scopeClaims(context: ProtocolContext): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const authenticator of context.authenticators.values()) {
    for (const [scope, claims] of Object.entries(authenticator.oidcScopes)) for (const c of claims) (out[scope] ??= new Set()).add(c);
  }
  return Object.fromEntries(Object.entries(out).map(([scope, claims]) => [scope, [...claims]]));
}

/** The OpenID Provider of one issuer, mounted at `mount` below publicUrl. */
export async function createOidcIssuer(context: ProtocolContext, mount: string): Promise<ProtocolInstance> {
  const { config, store, clients: registry, logger } = context;
  checkAllowedProviders(config.oidcClients, context.authenticators);
  const fastPaths = config.oidcFastPaths;
  const claims = scopeClaims(context);
  const cookieKey = await context.serverKey('cookie');
  const make = (jwks: ProtocolContext['jwks']) =>
    createProvider({
      config,
      mount,
      store,
      registry,
      scopeClaims: claims,
      jwks,
      cookieKeys: [cookieKey.toString('base64url')],
      interactionUrl: (interaction) => protocol.interactionUrl(interaction),
      now: context.now,
      logoutPages: {
        logoutSource: (ctx, formHtml) => {
          const returnTo = ctx.oidc.params?.post_logout_redirect_uri;
          const page = context.logoutPage(ctx.get('accept-language') || undefined, ctx.oidc.params?.ui_locales as string | undefined, {
            host: ctx.host,
            formHtml,
            formId: LOGOUT_FORM_ID,
            // Registered for the client: oidc-provider checked it before this page.
            returnOrigins: typeof returnTo === 'string' ? [new URL(returnTo).origin] : [],
          });
          ctx.set(page.headers);
          ctx.type = 'html';
          ctx.body = page.html;
        },
        postLogoutSuccessSource: (ctx) => {
          const client = ctx.oidc.client;
          const page = context.loggedOutPage(ctx.get('accept-language') || undefined, client ? (client.clientName ?? client.clientId) : undefined);
          ctx.set(page.headers);
          ctx.type = 'html';
          ctx.body = page.html;
        },
      },
      renderError: (ctx, out) => {
        const page = context.errorPage(ctx.get('accept-language') || undefined, ctx.oidc?.params?.ui_locales as string | undefined);
        logger.info({ error: out.error, description: out.error_description }, 'oidc: error page shown');
        ctx.set(page.headers);
        ctx.type = 'html';
        ctx.body = page.html.replace('</main>', `<p class="technical">${escapeHtml(String(out.error))}: ${escapeHtml(String(out.error_description ?? ''))}</p></main>`);
      },
    });
  let provider: Provider = make(context.jwks);
  const tokenKeysChanged = tokenKeysWatcher(context.jwks);
  const protocol = new OidcProtocol({
    mount,
    provider: () => provider,
    registry,
    transactions: context.transactions,
    authenticators: context.authenticators,
    store,
    accountId: config.accountId,
    loginWindowMs: config.otp.loginWindowSeconds * 1000,
    subjectRetentionMs: subjectRetentionMs(config.tokens),
    hostedPageUrl: context.hostedPageUrl,
    fastPaths,
    now: context.now,
  });
  const prefix = `${mount}/`;
  const interactionPrefix = `${protocol.interactionPath}/`;
  return Object.assign(protocol, {
    async register(app: Parameters<ProtocolInstance['register']>[0]) {
      app.get<{ Params: { uid: string } }>(`${protocol.interactionPath}/:uid`, (req, reply) => protocol.start(req, reply));
      // Everything else below the mount is oidc-provider's (mount.ts); with the fast paths on it
      // is served before Fastify routes anything (a RawRoute; bypasses/index.ts).
      await addRawRoute(
        app,
        {
          matches: (url) => url.startsWith(prefix) && !url.startsWith(interactionPrefix),
          fastifyPath: `${mount}/*`,
          handle: mountHandler({ mount, provider: () => provider, registry, fastPaths, limits: clientAuthLimits(context, mount) }),
        },
        { beforeFastify: fastPaths },
      );
    },
    keysChanged(jwks: ProtocolContext['jwks']) {
      // The store's key set changed; the token keys may not have (a SAML key rotation).
      if (tokenKeysChanged(jwks)) provider = make(jwks);
    },
  });
}

export const oidcPlugin: ProtocolPlugin = {
  protocol: 'oidc',
  create: (context) => createOidcIssuer(context, OIDC_MOUNT),
};
