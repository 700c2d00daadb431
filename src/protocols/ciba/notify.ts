/**
 * Ping delivery: oidc-provider posts `{"auth_req_id"}` to the client's notification endpoint, with
 * its `client_notification_token` as the bearer, when Provider#backchannelResult records the
 * outcome. It sends through its `fetch` setting; this one sends to the URL the operator configured.
 *
 * oidc-provider's own fetch refuses private and loopback addresses (its guard against a client
 * registering a URL that reaches into the server's network), and its client metadata takes only
 * https endpoints. A realm's clients are the operator's own configuration, and their backend
 * usually sits on an internal network, so neither guard applies: the endpoint is registered with
 * https in place of http where the operator configured http on a loopback host
 * (clients.ts), and sent to as configured, without the address guard.
 */
import type { Configuration } from 'oidc-provider';

type Fetch = NonNullable<Configuration['fetch']>;

/** `targetOf`: the URL to send to for the endpoint oidc-provider sends to, or undefined when no client of the realm has it. */
export function notificationFetch(targetOf: (registered: string) => string | undefined): Fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const target = targetOf(url);
    // The realm's Provider fetches nothing else (no jwks_uri, request_uri or sector identifier).
    if (target === undefined) throw new Error('a realm sends requests only to its clients\' notification endpoints');
    const { dispatcher: _addressGuard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
    return globalThis.fetch(target, rest);
  };
}
