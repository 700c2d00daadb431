/**
 * Where the itsme® simulator lives: its issuer is `{publicUrl}/sandbox/itsme`, its OpenID
 * endpoints are oidc-provider's `routes` below that mount (at itsme's own names), and its consent
 * page is eidhub's route below the same mount.
 */
import { SIMULATOR_MOUNT } from '../../authenticators/itsme/settings.js';

/** The simulator's mount below publicUrl, the path of its issuer (the one a `simulator: true` upstream is given). */
export const ITSME_SIMULATOR_MOUNT = SIMULATOR_MOUNT;

/** oidc-provider's routes below the mount, named as itsme's (`/authorization`, `/jwkSet`…). */
export const SIMULATOR_ROUTES = {
  authorization: '/oidc/authorization',
  token: '/oidc/token',
  userinfo: '/oidc/userinfo',
  jwks: '/oidc/jwkSet',
} as const;

/** Below the mount, the consent page of one interaction: `/interaction/{uid}`. */
export const INTERACTION_PREFIX = '/interaction/';

export const interactionPath = (uid: string): string => `${ITSME_SIMULATOR_MOUNT}${INTERACTION_PREFIX}${uid}`;
