/**
 * The seeds' `login_hint`: `<name>:<value>`, e.g. `mobile:+447700900000`. It becomes the
 * transaction's prefilled input `{ <name>: <value> }`, which the authenticator checks (prepare):
 * the protocol knows no kind of hint.
 */
export function parseLoginHint(hint: unknown): { name: string; value: string } | null {
  if (typeof hint !== 'string') return null;
  const match = /^([A-Za-z][A-Za-z0-9_-]{0,31}):(.*)$/.exec(hint.trim());
  if (!match?.[1] || match[2] === undefined) return null;
  // An unencoded `+` in a query string arrives as a space (form encoding), so " 4477…" meant "+4477…".
  const value = match[2].replace(/^ (?=\d)/, '+').trim();
  return value === '' ? null : { name: match[1].toLowerCase(), value };
}
