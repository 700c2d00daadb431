/**
 * The Authentication REST API: sessions over HTTP with a bearer token, their OpenAPI document and
 * reference page, and each authenticator's headless steps below a session.
 */
import type { ProtocolPlugin } from '../types.js';
import { PROBLEM_CODES, registerDocsRoutes, registerOpenApi } from './docs.js';
import { registerRestRoutes, RestProtocol } from './routes.js';

export const restPlugin: ProtocolPlugin = {
  protocol: 'rest',
  async create(context) {
    const { config } = context;
    const rest = new RestProtocol({
      apiTokens: context.apiTokens,
      registry: context.clients,
      transactions: context.transactions,
      authenticators: context.authenticators,
      store: context.store,
      accountId: config.accountId,
      publicUrl: config.publicUrl,
      hostedPageUrl: context.hostedPageUrl,
      defaultLanguage: config.defaultLanguage,
      logger: context.logger.child({ module: 'rest' }),
    });
    const problemCodes = Object.assign({}, PROBLEM_CODES, ...[...context.authenticators.values()].map((a) => a.headless?.problems ?? {})) as Record<string, string>;
    return Object.assign(rest, {
      async register(app: Parameters<typeof registerRestRoutes>[0]) {
        await registerOpenApi(app, config.publicUrl);
        await registerRestRoutes(app, rest, context.authenticators, context.config.rateLimits.headless);
        registerDocsRoutes(app, problemCodes);
      },
    });
  },
};
