/**
 * The subject record (store.subjects): the latest OIDC claims of a person, as their authenticator
 * maps them (`claims.oidc`), which the OpenID Providers read for UserInfo and ID tokens. Every
 * protocol that issues tokens writes it the same way and keeps it as long, so the record is the
 * same whichever protocol wrote it last, and no write shortens what another protocol's tokens need.
 */
import type { Authenticator } from '../authenticators/types.js';
import type { Config } from '../config/schema.js';
import type { TransactionSubject } from '../core/transaction.js';
import type { Store, WriteDurability } from '../store/types.js';

/** How long a record is kept: as long as the longest-lived token or session about the person. */
export function subjectRetentionMs(tokens: Config['tokens']): number {
  return Math.max(tokens.refreshTokenTtlSeconds, tokens.accessTokenTtlSeconds, tokens.sessionTtlSeconds) * 1000;
}

/** Writes the record of a person an authenticator just established. */
export async function rememberSubject(
  store: Pick<Store, 'subjects'>,
  authenticator: Authenticator,
  subject: TransactionSubject,
  keep: { retentionMs: number; now: number; durability: WriteDurability },
): Promise<void> {
  await store.subjects.put(
    { sub: subject.id, provider: authenticator.id, attributes: authenticator.claims.oidc(subject), updatedAt: keep.now, expiresAt: keep.now + keep.retentionMs },
    keep.durability,
  );
}
