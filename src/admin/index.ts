/**
 * The Admin API under /admin/api: clients and their secrets, and SAML service providers
 * (saml-routes.ts), changed at run time on every process, and the audit log with its daily counts
 * (audit-routes.ts), with its own OpenAPI 3.1 document at /admin/api/openapi.json made from the
 * route schemas. Registered in a scope of its own, so its document holds only its routes.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { ADMIN_BASE, adminAccessCheck, registerAdminRoutes, type AdminDeps } from './routes.js';
import { registerSamlServiceProviderRoutes } from './saml-routes.js';
import { CLIENT_SCHEMAS, newSecretSchema, problemSchema, secretSchema } from './schemas.js';

export { ADMIN_BASE, type AdminDeps };

export async function registerAdminApi(app: FastifyInstance, deps: AdminDeps & { publicUrl: string }): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'eidhub Admin API', version: '1', description: 'Clients and their secrets, SAML service providers, the audit log, and the daily SMS and login counts. Changes apply at once on every process; config-file clients and SPs are read-only.' },
        servers: [{ url: deps.publicUrl }],
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              description: 'An access token from POST /auth/open/connect/token (grant_type=client_credentials, HTTP Basic, scope eidhub-admin) of an API client with the permission admin.',
            },
          },
        },
      },
      hideUntagged: true,
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    for (const schema of [problemSchema, secretSchema, newSecretSchema, ...Object.values(CLIENT_SCHEMAS).flatMap((s) => [s.body, s.answer, ...('create' in s ? [s.create] : [])])]) scope.addSchema(schema);
    registerAdminRoutes(scope, deps);
    registerSamlServiceProviderRoutes(scope, { service: deps.service, ...adminAccessCheck(deps) });
    scope.get(`${ADMIN_BASE}/openapi.json`, async () => scope.swagger());
  });
}
