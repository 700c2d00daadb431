/**
 * Which of a subject's claims a token carries. The claims themselves are the authenticator's
 * (its `claims.oidc` mapping, stored with the subject at the end of the login). UserInfo carries
 * every claim the granted scopes allow (oidc-provider filters by scope); the ID token carries
 * `sub` plus the client's configured `idTokenClaims` and any claim the request asked for in the
 * `claims` parameter.
 */
export function claimsForUse(
  claims: Readonly<Record<string, unknown>>,
  use: string,
  idTokenClaims: readonly string[],
  requested: readonly string[],
): Record<string, unknown> {
  if (use !== 'id_token') return { ...claims };
  const allowed = new Set([...idTokenClaims, ...requested]);
  return Object.fromEntries(Object.entries(claims).filter(([name]) => allowed.has(name)));
}
