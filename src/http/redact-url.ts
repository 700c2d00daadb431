/**
 * URLs as they are written to logs: the values of sensitive query parameters replaced, so no
 * code, secret, token or phone number reaches a log line. Used by the logger's serializer and
 * the server's own log lines.
 */

/** Query parameters whose values never reach a log line. */
const SECRET_PARAMS = [
  'login_hint',
  'code',
  'client_secret',
  'client_assertion',
  'sessionNonce',
  'id_token_hint',
  'code_verifier',
  'refresh_token',
  'access_token',
  'token',
  'phone',
  'state',
  'nonce',
  'auth_req_id',
  // A request object (JAR) carries the state, the nonce and the login hint inside it.
  'request',
  // SAML messages on the Redirect binding carry the person's name identifier and attributes.
  'SAMLRequest',
  'SAMLResponse',
];

/** The URL as logged: sensitive query values replaced, so no code or phone number is written. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of SECRET_PARAMS) if (params.has(name)) params.set(name, '[redacted]');
  return `${url.slice(0, q)}?${params.toString()}`;
}
