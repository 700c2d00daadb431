/**
 * Which claims a token carries. The person's claims are the authenticator's (its `claims.oidc`
 * mapping, stored with the subject at the end of the login). UserInfo carries every claim the
 * granted scopes allow (oidc-provider filters by scope); the ID token carries `sub` plus the
 * client's configured `idTokenClaims` and any claim the request asked for in the `claims`
 * parameter, and always the claims of the login itself (LOGIN_CLAIMS), which UserInfo never has.
 */

/**
 * Claims about the login rather than the person (seed 002's ID token): the provider that
 * authenticated (`idp`), the transaction that did it (`transaction_id`), `sandbox` when a sandbox
 * simulator answered, `nbf`, and `at_hash` of the access token issued with the ID token. They are
 * in the ID token whatever the client registered.
 */
export const LOGIN_CLAIMS = ['idp', 'transaction_id', 'sandbox', 'nbf', 'at_hash'] as const;

/** The values of a login's claims, as known when a token is issued. */
export type LoginClaims = Partial<Record<(typeof LOGIN_CLAIMS)[number], unknown>>;

const isLoginClaim = (name: string): boolean => (LOGIN_CLAIMS as readonly string[]).includes(name);

export function claimsForUse(
  claims: Readonly<Record<string, unknown>>,
  use: string,
  idTokenClaims: readonly string[],
  requested: readonly string[],
  login: LoginClaims = {},
): Record<string, unknown> {
  if (use !== 'id_token') return Object.fromEntries(Object.entries(claims).filter(([name]) => !isLoginClaim(name)));
  const allowed = new Set([...idTokenClaims, ...requested]);
  const person = Object.fromEntries(Object.entries(claims).filter(([name]) => allowed.has(name) || isLoginClaim(name)));
  const ofLogin = Object.fromEntries(Object.entries(login).filter((e) => e[1] !== undefined));
  return { ...person, ...ofLogin };
}
