/**
 * oidc-provider's storage adapter on our Store. Single use is decided by the database: when the
 * atomic consume finds the row already consumed, a second redemption raced the first, which is
 * reuse: the grant is revoked and the request refused, as oidc-provider does for sequential reuse.
 */
import { errors, type Adapter, type AdapterPayload, type ClientMetadata } from 'oidc-provider';
import type { OidcModelStore, WriteDurability } from '../../store/types.js';

/**
 * Models written as `ordered` rather than `durable` (see WriteDurability): the browser session,
 * the interaction and the grant. oidc-provider hands nothing to a client on their strength alone:
 * the authorization code, token or consumption that follows is a durable write, which commits
 * them with it, and a read of them waits for their commit. On a crash before that, a person
 * starts the login again; nothing issued refers to a lost row.
 */
const ORDERED = new Set(['Session', 'Interaction', 'Grant']);
/**
 * The models that are redeemed once (codes, refresh tokens, device and CIBA requests).
 * - Their consumption is `ordered`: the store's atomic update decides it at once, and
 *   oidc-provider answers a redemption only with the tokens it then writes durably, which commit
 *   the consumption with them. A second redemption sees it at once, on the same connection.
 * - A second redemption is an attack on the grant (RFC 6749 §4.1.2, RFC 9700 §4.14): it revokes it.
 */
const REDEEMED = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
/**
 * Models kept in the store this long (seconds) past their expiry, so that oidc-provider, which
 * looks them up ignoring expiry, can tell an expired one from an unknown one: a CIBA poll after
 * the request expired is answered `expired_token`, not `invalid_grant` (CIBA §11).
 */
const KEPT_AFTER_EXPIRY: Readonly<Record<string, number>> = { BackchannelAuthenticationRequest: 600 };
/** Deletions are durable (a logout, a revoked grant must stick), except for a finished interaction's. */
const ORDERED_DESTROY = new Set(['Interaction']);

/** How one model writes: decided once per model, when oidc-provider asks for its adapter. */
interface ModelWrites {
  upsert: WriteDurability;
  consume: WriteDurability;
  destroy: WriteDurability;
  /** A failed consumption is a second redemption, which revokes the grant. */
  revokeOnReuse: boolean;
  /** Seconds the row outlives its expiry (KEPT_AFTER_EXPIRY). */
  keptAfterExpiry: number;
}

function writesOf(model: string): ModelWrites {
  const redeemed = REDEEMED.has(model);
  return {
    upsert: ORDERED.has(model) ? 'ordered' : 'durable',
    consume: redeemed ? 'ordered' : 'durable',
    destroy: ORDERED_DESTROY.has(model) ? 'ordered' : 'durable',
    revokeOnReuse: redeemed,
    keptAfterExpiry: KEPT_AFTER_EXPIRY[model] ?? 0,
  };
}

/**
 * oidc-provider's clients, read from the client registry (client-metadata.ts). They are managed
 * there, so oidc-provider may not write them (it would only for dynamic registration, which is off).
 */
function clientAdapter(findClient: (clientId: string) => Promise<ClientMetadata | null | undefined>): Adapter {
  const readOnly = async (): Promise<never> => {
    throw new Error('clients are managed by the client registry, not by oidc-provider');
  };
  return {
    async find(id) {
      return ((await findClient(id)) ?? undefined) as AdapterPayload | undefined;
    },
    upsert: readOnly,
    findByUid: readOnly,
    findByUserCode: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
  };
}

/**
 * @param namespace kept apart from every other issuer's rows in the one table: a realm's models
 *   are stored as `{namespace}:{model}`, so a token or request of one issuer is unknown to the
 *   others, even to a client of the same id (src/protocols/ciba/). Absent for `/auth/open`.
 */
export function createAdapterFactory(
  store: OidcModelStore,
  findClient: (clientId: string) => Promise<ClientMetadata | null | undefined>,
  now: () => number = Date.now,
  namespace?: string,
): (name: string) => Adapter {
  return (name: string): Adapter => {
    if (name === 'Client') return clientAdapter(findClient);
    const writes = writesOf(name);
    const model = namespace === undefined ? name : `${namespace}:${name}`;
    return {
      async upsert(id, payload, expiresIn) {
        await store.upsert(
          model,
          id,
          payload as Record<string, unknown>,
          // 0 is an expiry (now), not "never": only an absent one keeps the row until it is destroyed.
          expiresIn !== undefined ? now() + (expiresIn + writes.keptAfterExpiry) * 1000 : null,
          { grantId: payload.grantId, userCode: payload.userCode, uid: payload.uid },
          writes.upsert,
        );
      },
      async find(id) {
        return (await store.find(model, id, now())) as AdapterPayload | undefined;
      },
      async findByUid(uid) {
        return (await store.findByUid(model, uid, now())) as AdapterPayload | undefined;
      },
      async findByUserCode(userCode) {
        return (await store.findByUserCode(model, userCode, now())) as AdapterPayload | undefined;
      },
      async consume(id) {
        if (await store.consume(model, id, now(), writes.consume)) return;
        if (writes.revokeOnReuse) {
          const row = await store.find(model, id, now());
          if (typeof row?.grantId === 'string') await store.revokeByGrantId(row.grantId);
        }
        throw new errors.InvalidGrant('grant already consumed');
      },
      async destroy(id) {
        await store.destroy(model, id, writes.destroy);
      },
      async revokeByGrantId(grantId) {
        await store.revokeByGrantId(grantId);
      },
    };
  };
}
