/**
 * Keycloak's paths (seed 004): a realm lives at `/auth/realms/{realm}`, its OpenID Connect
 * endpoints below `protocol/openid-connect/`. oidc-provider serves them as its `routes`, so its
 * discovery lists exactly these.
 */

/** Where the realms live below publicUrl. */
export const REALMS_MOUNT = '/auth/realms';

/** The mount of one realm, the path of its issuer `{publicUrl}/auth/realms/{name}`. */
export const realmMount = (name: string): string => `${REALMS_MOUNT}/${name}`;

/** oidc-provider's routes below a realm's mount, at Keycloak's paths. */
export const REALM_ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  backchannel_authentication: '/protocol/openid-connect/ext/ciba/auth',
  token: '/protocol/openid-connect/token',
  userinfo: '/protocol/openid-connect/userinfo',
  jwks: '/protocol/openid-connect/certs',
} as const;

/** Where clients authenticate below a realm's mount (lower case, as mount.ts compares). */
export const REALM_CLIENT_AUTH_PATHS: ReadonlySet<string> = new Set([REALM_ROUTES.backchannel_authentication, REALM_ROUTES.token]);

/** Below a realm's mount, the back channels' callbacks: eidhub's own routes, not oidc-provider's. */
export const CALLBACKS_PREFIX = '/protocol/openid-connect/ext/bc/';

/** The back channel's callback below a realm's mount, one per channel: `…/ext/bc/sms/callback`. */
export const callbackRoute = (channel: string): string => `${CALLBACKS_PREFIX}${channel}/callback`;
