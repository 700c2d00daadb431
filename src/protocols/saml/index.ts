/**
 * The SAML 2.0 identity provider (CONTRACT §6): its metadata, single sign-on and single logout
 * endpoints below `/auth/saml`. The IdP itself (idp.ts, with the XML-security libraries) is
 * loaded at start when there are service providers (of the config, or stored ones added at run
 * time); with none, on the first request to these endpoints (an operator fetching the IdP
 * metadata to give an SP, or an SP added since sending its first request), so a server without
 * SAML does not carry those libraries.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Transaction } from '../../core/transaction.js';
import type { BrowserExchange, ProtocolContext, ProtocolInstance, ProtocolPlugin } from '../types.js';
import type { SamlIdp } from './idp.js';
import { routeRateLimit } from '../../http/rate-limit.js';
import { MAX_MESSAGE_BYTES } from './model.js';
import { SAML_MOUNT } from './paths.js';

/** A POSTed SAML message is base64 of at most MAX_MESSAGE_BYTES, plus RelayState and field names. */
const FORM_BODY_LIMIT = Math.ceil((MAX_MESSAGE_BYTES * 4) / 3) + 4096;

export const samlPlugin: ProtocolPlugin = {
  protocol: 'saml',
  async create(context: ProtocolContext): Promise<ProtocolInstance> {
    let loading: Promise<SamlIdp> | undefined;
    const idp = () => (loading ??= import('./idp.js').then((m) => m.createSamlIdp(context)));
    if (context.samlServiceProviders.list().length > 0) await idp();

    return {
      protocol: 'saml',
      // Only SAML transactions reach these, and only once a request loaded the IdP.
      finish: async (tx: Transaction, browser: BrowserExchange) => (await idp()).protocol.finish(tx, browser),
      pagePolicy: async (tx: Transaction) => (await idp()).protocol.pagePolicy(tx),
      keysChanged() {
        if (loading) void loading.then((loaded) => loaded.keysChanged(), () => undefined);
      },
      async register(app: FastifyInstance) {
        await app.register(async (scope) => {
          // SAML's HTTP-POST binding carries a whole base64 message: a larger form than the hosted pages'.
          scope.removeContentTypeParser('application/x-www-form-urlencoded');
          scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_req, body, done) => {
            const out: Record<string, string | string[]> = {};
            for (const [k, v] of new URLSearchParams(body as string)) {
              const prior = out[k];
              out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
            }
            done(null, out);
          });
          type Form = { Body: Record<string, unknown> };
          const limited = (group: string) => ({ config: routeRateLimit(`saml.${group}`, context.config.rateLimits.saml) });
          scope.get(`${SAML_MOUNT}/metadata`, async (_req, reply) =>
            reply.type('application/samlmetadata+xml; charset=utf-8').header('cache-control', 'public, max-age=300').send((await idp()).metadata()),
          );
          scope.get(`${SAML_MOUNT}/login`, { ...limited('login.redirect'), exposeHeadRoute: false }, async (req: FastifyRequest, reply: FastifyReply) =>
            (await idp()).protocol.loginRedirect(req, reply),
          );
          scope.post<Form>(`${SAML_MOUNT}/login`, limited('login.post'), async (req, reply) => (await idp()).protocol.loginPost(req, reply));
          scope.get(`${SAML_MOUNT}/logout`, { ...limited('logout.redirect'), exposeHeadRoute: false }, async (req: FastifyRequest, reply: FastifyReply) =>
            (await idp()).protocol.logoutRedirect(req, reply),
          );
          scope.post<Form>(`${SAML_MOUNT}/logout`, limited('logout.post'), async (req, reply) => (await idp()).protocol.logoutPost(req, reply));
        });
        context.logger.info({ serviceProviders: context.samlServiceProviders.list().length }, 'saml: identity provider routes ready');
      },
    };
  },
};
