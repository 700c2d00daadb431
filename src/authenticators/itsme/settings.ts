/**
 * An upstream provider's settings with the preset applied: what the config says, or what the
 * preset (`itsme`) or the simulator implies where it says nothing. The config schema has already
 * refused settings that contradict their preset.
 */
import type { LevelOfAssurance } from '../../core/transaction.js';
import type { UpstreamProviderInput } from '../../config/schema.js';

/** Where the sandbox's itsme simulator lives below publicUrl (its issuer is `{publicUrl}` + this). */
export const SIMULATOR_MOUNT = '/sandbox/itsme';
/** eidhub's client_id at the simulator, for the simulator provider `id`. */
export const simulatorClientId = (id: string) => `eidhub-${id}`;
/** Below publicUrl: eidhub's JWKS for upstreams, and each upstream's fixed redirect URI. */
export const UPSTREAM_BASE = '/auth/upstream';

export type Encryption = 'A128CBC-HS256' | 'A256GCM';

export interface UpstreamSettings {
  id: string;
  displayName: string;
  issuer: string;
  clientId: string;
  clientAuth: { method: 'private_key_jwt' } | { method: 'client_secret_basic'; secret: string };
  requestObject: boolean;
  /** JWE content encryption of the ID token and UserInfo; null when the upstream does not encrypt. */
  encryption: Encryption | null;
  scopes: string[];
  timeoutMs: number;
  /** The simulator answered: logins carry `sandbox: true`. */
  sandbox: boolean;
  loa: LevelOfAssurance;
  /** The one redirect URI registered at the upstream: `{publicUrl}/auth/upstream/{id}/callback`. */
  redirectUri: string;
}

export const jwksUrl = (publicUrl: string) => `${publicUrl}${UPSTREAM_BASE}/jwks`;
export const callbackPath = (id: string) => `${UPSTREAM_BASE}/${id}/callback`;

export function resolveSettings(p: UpstreamProviderInput, publicUrl: string): UpstreamSettings {
  const preset = p.simulator ? 'itsme' : (p.preset ?? (p.id === 'itsme' ? 'itsme' : 'generic'));
  const itsme = preset === 'itsme';
  const method = p.clientAuth ?? (itsme ? 'private_key_jwt' : 'client_secret_basic');
  const encryption = p.idTokenEncryption ?? (itsme ? 'A128CBC-HS256' : 'none');
  return {
    id: p.id,
    displayName: p.displayName ?? (itsme ? 'itsme®' : p.id),
    issuer: p.simulator ? `${publicUrl}${SIMULATOR_MOUNT}` : p.issuer!,
    clientId: p.simulator ? simulatorClientId(p.id) : p.clientId!,
    clientAuth: method === 'client_secret_basic' ? { method, secret: p.clientSecret! } : { method },
    requestObject: p.requestObject ?? itsme,
    encryption: encryption === 'none' ? null : encryption,
    scopes: p.scopes ?? ['openid', 'profile'],
    timeoutMs: p.timeoutMs,
    sandbox: p.simulator,
    // itsme is notified under eIDAS at level high; an unknown OP is assumed to give no more than low.
    loa: itsme ? 'high' : 'low',
    redirectUri: `${publicUrl}${callbackPath(p.id)}`,
  };
}
