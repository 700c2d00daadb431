/**
 * The places where eidhub takes a shorter path than oidc-provider's own, each measured and each
 * replaceable by the obvious path. One setting, `oidcFastPaths` (default true), turns them all
 * off; the OIDC end-to-end tests run both ways (test/oidc.e2e.plain.test.ts), so an oidc-provider
 * upgrade that breaks a shortcut is caught by a test that the plain path passes.
 *
 * - raw routes (FINDINGS "Fix 11"): oidc-provider's routes are served from the HTTP server's
 *   handler, before Fastify routes anything (http/server.ts RawRoute, registered by ../index.ts
 *   with `beforeFastify: fastPaths`); off, they go through a Fastify route.
 * - client authentication without replaying the body (FINDINGS "Fix 4", basic-auth.ts): HTTP
 *   Basic is restated in the header alone; off, the body is read and replayed as for
 *   client_secret_post.
 * - the client_credentials answer (FINDINGS "Fix 12", client-credentials.ts, reached through
 *   basic-auth.ts); off, oidc-provider answers every token request.
 * - the interaction result stored on the interaction already read (FINDINGS "Fix 10",
 *   interaction-result.ts); off, Provider#interactionResult stores it.
 */
export { basicAuthFastPath } from './basic-auth.js';
export { saveInteractionResult } from './interaction-result.js';
