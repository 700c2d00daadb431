/**
 * The OIDC claims of a subject. UserInfo carries every claim the granted scopes allow
 * (oidc-provider filters by scope); the ID token carries `sub` plus the client's configured
 * `idTokenClaims` and any claim the request asked for in the `claims` parameter.
 */
import type { SubjectRecord } from '../../store/types.js';

export function subjectClaims(record: SubjectRecord): Record<string, string> {
  const claims: Record<string, string> = { sub: record.sub, idp_issuer: record.provider };
  if (record.attributes.idpId !== undefined) claims.idp_id = record.attributes.idpId;
  if (record.attributes.phoneNumber !== undefined) claims.phone_number = record.attributes.phoneNumber;
  return claims;
}

export function claimsForUse(record: SubjectRecord, use: string, idTokenClaims: readonly string[], requested: readonly string[]): Record<string, string> {
  const all = subjectClaims(record);
  if (use !== 'id_token') return all;
  const allowed = new Set(['sub', ...idTokenClaims, ...requested]);
  return Object.fromEntries(Object.entries(all).filter(([name]) => allowed.has(name)));
}
