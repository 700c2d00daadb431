/**
 * The `sub` of a person: a keyed hash of (provider, the provider's user id). It is derived on
 * every login rather than stored, so it is stable across logins and protocols, opaque (it never
 * reveals the phone number), and cannot be linked to a number without the server's key.
 */
import { createHmac } from 'node:crypto';

export function deriveSubject(subjectKey: Buffer, provider: string, providerUserId: string): string {
  return createHmac('sha256', subjectKey).update(`${provider}\u0000${providerUserId}`).digest('base64url');
}
