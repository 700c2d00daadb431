/**
 * A CIBA authentication request, from oidc-provider's hooks (`features.ciba`) to a transaction:
 * the request's parameters are checked (validateRequestContext), the login hint becomes the
 * account (processLoginHint: the subject the hosted pages would give that number, so that the
 * grant of a successful callback carries the same account), and the message goes out
 * (triggerAuthenticationDevice). A request whose message cannot go out is refused and leaves
 * nothing behind but its ended transaction.
 */
import { errors, type BackchannelAuthenticationRequest, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { Authenticator, BackchannelApi, BackchannelRefusal } from '../../authenticators/types.js';
import type { RealmConfig } from '../../config/schema.js';
import type { Transaction } from '../../core/transaction.js';
import type { TransactionService } from '../../core/transactions.js';

/** An authenticator that a back channel can start. */
export type ChannelAuthenticator = Authenticator & { backchannel: BackchannelApi };

/** What a CIBA transaction keeps besides the transaction (its ProtocolStateRecord, keyed by auth_req_id). */
export interface CibaRequestState {
  realm: string;
  channel: string;
}

export interface RequestDeps {
  realm: RealmConfig;
  /** The account id transactions carry (config `accountId`). */
  accountId: string;
  /** The authenticators a back channel can start, by channel. */
  channels: ReadonlyMap<string, ChannelAuthenticator>;
  transactions: TransactionService;
  /** The longest a request may wait for the person: the code's lifetime (config `otp.codeTtlSeconds`). */
  maxExpirySeconds: number;
  logger: Logger;
}

type Params = KoaContextWithOIDC['oidc']['params'];

const BINDING_MESSAGE = /^[a-zA-Z0-9-._+/!?#]{1,20}$/;

const param = (params: Params | undefined, name: string): string | undefined => {
  const value = params?.[name];
  return typeof value === 'string' ? value : undefined;
};

/** What refuses a request whose message could not go out: its status, its error and why. */
function refusalError(refusal: BackchannelRefusal): errors.OIDCProviderError {
  switch (refusal.kind) {
    case 'unavailable': {
      // 503: nothing is wrong with the request, and the same request may succeed in a moment.
      const error = new errors.TemporarilyUnavailable(refusal.message);
      return Object.assign(error, { status: 503, statusCode: 503, expose: true });
    }
    case 'limited': {
      if (refusal.retryAfterSeconds === undefined) return new errors.InvalidRequest(refusal.message);
      // A spent send budget: nothing is wrong with the request, it may succeed after Retry-After (set by start).
      const error = new errors.CustomOIDCProviderError('slow_down', refusal.message);
      return Object.assign(error, { status: 429, statusCode: 429, expose: true });
    }
    case 'input':
      return new errors.InvalidRequest(`login_hint: ${refusal.message}`);
  }
}

export class CibaRequests {
  constructor(private readonly deps: RequestDeps) {}

  /** The authenticator of the request's `channel`; with a single channel, `channel` may be left out. */
  channelOf(params: Params | undefined): ChannelAuthenticator {
    const { channels } = this.deps;
    const requested = param(params, 'channel');
    const offered = [...channels.keys()].join(', ');
    if (requested === undefined) {
      const [only] = channels.values();
      if (channels.size === 1 && only) return only;
      throw new errors.InvalidRequest(`channel is required: one of ${offered}`);
    }
    const authenticator = channels.get(requested);
    if (!authenticator) throw new errors.InvalidRequest(`channel "${requested.slice(0, 32)}" is not offered; use ${offered}`);
    return authenticator;
  }

  /** oidc-provider's `ttl.BackchannelAuthenticationRequest`: `requested_expiry` (seconds), at most the code's lifetime. */
  expirySeconds(ctx: KoaContextWithOIDC | undefined): number {
    const requested = Number(param(ctx?.oidc?.params, 'requested_expiry'));
    // oidc-provider has refused any value that is not a positive integer before it asks.
    return Number.isSafeInteger(requested) && requested > 0 ? Math.min(requested, this.deps.maxExpirySeconds) : this.deps.maxExpirySeconds;
  }

  /** `features.ciba.validateRequestContext`, the hook that sees every parameter before anything happens. */
  async validateRequest(ctx: KoaContextWithOIDC): Promise<void> {
    const { params } = ctx.oidc;
    const { backchannel } = this.channelOf(params);
    if (param(params, 'login_hint') === undefined) {
      throw new errors.InvalidRequest('login_hint is required: the phone number of the person, in E.164 (e.g. +447700900000)');
    }
    const message = param(params, 'message');
    if (message === undefined) throw new errors.InvalidRequest('message is required: the text to send, with {{code}} where the code goes');
    const problem = backchannel.checkMessage(message, { allowUrls: this.deps.realm.allowUrlsInMessage, bindingMessage: param(params, 'binding_message') });
    if (problem !== undefined) throw new errors.InvalidRequest(problem);
  }

  /**
   * `features.ciba.validateBindingMessage`: oidc-provider's own rule, which keeps a binding message
   * short and plain enough to put into an SMS (`{{binding_message}}` in the message).
   */
  async validateBindingMessage(bindingMessage: string | undefined): Promise<void> {
    if (bindingMessage !== undefined && !BINDING_MESSAGE.test(bindingMessage)) {
      throw new errors.InvalidBindingMessage('binding_message must be 1 to 20 of A-Z a-z 0-9 - . _ + / ! ? #');
    }
  }

  /** `features.ciba.processLoginHint`: the person's subject, as every protocol names them. */
  async accountOf(ctx: KoaContextWithOIDC, loginHint: string | undefined): Promise<string> {
    const account = this.channelOf(ctx.oidc.params).backchannel.accountFor(loginHintOf(loginHint));
    if (!account.ok) throw new errors.UnknownUserId(`login_hint: ${account.message}`);
    return account.subject;
  }

  /**
   * `features.ciba.triggerAuthenticationDevice`: oidc-provider has saved the request; its
   * transaction is made and the message sent. When the message cannot go out, the request is
   * destroyed (its auth_req_id never reaches the client) and the transaction ends in ERROR.
   */
  async start(ctx: KoaContextWithOIDC, request: BackchannelAuthenticationRequest): Promise<void> {
    const { params } = ctx.oidc;
    const authenticator = this.channelOf(params);
    const account = authenticator.backchannel.accountFor(loginHintOf(param(params, 'login_hint')));
    if (!account.ok) throw new errors.UnknownUserId(`login_hint: ${account.message}`);
    const state: CibaRequestState = { realm: this.deps.realm.name, channel: authenticator.backchannel.channel };
    let tx: Transaction | undefined;
    try {
      tx = await this.deps.transactions.create({
        accountId: this.deps.accountId,
        protocol: 'ciba',
        protocolRef: request.jti,
        clientId: request.clientId!,
        allowedProviders: [authenticator.id],
        language: null,
        prefilledInput: account.input,
        providerParams: {},
        requestedAttributes: [],
        requestedLoa: null,
        lifetimeMs: request.expiration * 1000,
        protocolState: { ...state },
      });
      tx = await this.deps.transactions.transition(tx, 'WAITING_FOR_USER');
      const started = await authenticator.backchannel.start(tx, { input: account.input, template: param(params, 'message') ?? '', bindingMessage: param(params, 'binding_message') });
      tx = started.tx;
      if (!started.ok) {
        if (started.refusal.retryAfterSeconds !== undefined) ctx.set('retry-after', String(started.refusal.retryAfterSeconds));
        throw refusalError(started.refusal);
      }
    } catch (err) {
      await this.undo(request, tx, err);
      throw err;
    }
    this.deps.logger.info({ realm: state.realm, clientId: tx.clientId, tx: tx.id, channel: state.channel }, 'ciba: authentication request started');
  }

  /** A request that could not start: gone, and its transaction ended, whatever failed. */
  private async undo(request: BackchannelAuthenticationRequest, tx: Transaction | undefined, err: unknown): Promise<void> {
    const reason = err instanceof errors.OIDCProviderError ? (err.error_description ?? err.message) : 'the request could not be started';
    // Each step is tried whatever the other does; the refusal the client gets is the first error.
    const cleanup = (what: string) => (failure: unknown) => this.deps.logger.warn({ tx: tx?.id, err: failure }, `ciba: could not ${what} of a request that did not start`);
    await request.destroy().catch(cleanup('remove the request'));
    if (tx && (tx.status === 'CREATED' || tx.status === 'WAITING_FOR_USER')) {
      await this.deps.transactions.fail(tx, { code: 'not_started', message: reason }).catch(cleanup('end the transaction'));
    }
    this.deps.logger.info({ realm: this.deps.realm.name, clientId: request.clientId, reason }, 'ciba: authentication request refused');
  }
}

/**
 * The login hint as sent: a `+` that a client did not percent-encode in its form body arrives as
 * a space, so " 4477…" meant "+4477…".
 */
function loginHintOf(hint: string | undefined): string {
  return (hint ?? '').replace(/^ (?=\d)/, '+');
}
