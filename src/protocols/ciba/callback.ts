/**
 * The back channel's callback (seed 004): `POST {realm}/protocol/openid-connect/ext/bc/sms/callback`
 * with `Authorization: Bearer {auth_req_id}` and `{"code": "123456"}`. The relying party's back
 * end hands in the code the person typed into its app; the authenticator checks it by the hosted
 * pages' rules, and the outcome is recorded on the CIBA request (Provider#backchannelResult), which
 * the token endpoint then answers with tokens or `access_denied`, and which a ping client is told of.
 *
 * The steps, in order: the bearer and the body; the request (this realm's, not expired, not
 * answered); its transaction (still waiting); the code; the outcome recorded. A success answers
 * 200 `{}`; every refusal is an OAuth-style `{"error", "error_description"}` (handler in index.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors, type BackchannelAuthenticationRequest, type Grant } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { EidhubError } from '../../core/errors.js';
import type { Transaction } from '../../core/transaction.js';
import type { TransactionService } from '../../core/transactions.js';
import type { Store } from '../../store/types.js';
import { rememberSubject } from '../subjects.js';
import { callbackRoute } from './paths.js';
import type { ChannelAuthenticator, CibaRequestState } from './requests.js';

/** A refusal of the callback; `details` are added to the JSON answer (e.g. `attempts_left`). */
export class CallbackRefusal extends EidhubError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(status, code, message);
  }
}

export interface CallbackDeps {
  realm: string;
  provider: () => Provider;
  store: Store;
  transactions: TransactionService;
  channels: ReadonlyMap<string, ChannelAuthenticator>;
  subjectRetentionMs: number;
  logger: Logger;
  now: () => number;
}

/** What oidc-provider's auth_req_id looks like (an opaque base64url id); anything else names no request. */
const AUTH_REQ_ID = /^[A-Za-z0-9_-]{1,128}$/;

const unknownRequest = () => new CallbackRefusal(400, 'invalid_grant', 'unknown auth_req_id (or not of this realm)');

function bearerOf(header: string | undefined): string {
  const match = /^Bearer +(\S+)$/i.exec(header?.trim() ?? '');
  if (!match?.[1]) throw new CallbackRefusal(401, 'invalid_request', 'send the auth_req_id as Authorization: Bearer {auth_req_id}');
  if (!AUTH_REQ_ID.test(match[1])) throw unknownRequest();
  return match[1];
}

function codeOf(body: unknown): string {
  const code = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).code : undefined;
  if (typeof code !== 'string') throw new CallbackRefusal(400, 'invalid_request', 'send the code as JSON: {"code": "123456"}');
  return code;
}

/** A request that can still take a code: this realm's, on this channel, not expired, not answered. */
async function openRequest(deps: CallbackDeps, id: string, channel: string): Promise<{ request: BackchannelAuthenticationRequest; transactionId: string }> {
  const request = await deps.provider().BackchannelAuthenticationRequest.find(id, { ignoreExpiration: true });
  const record = request ? await deps.store.protocolState.get('ciba', id) : null;
  const state = record?.state as Partial<CibaRequestState> | undefined;
  if (!request || !record || state?.realm !== deps.realm) throw unknownRequest();
  if (state.channel !== channel) {
    throw new CallbackRefusal(400, 'invalid_request', `this request's code went by ${state.channel}: post it to ${callbackRoute(state.channel ?? '')}`);
  }
  if (request.isExpired) throw new CallbackRefusal(400, 'expired_token', 'the request expired; start a new one');
  if (request.error) throw new CallbackRefusal(400, request.error, request.errorDescription ?? 'this request was denied');
  if (request.grantId || request.consumed) throw new CallbackRefusal(400, 'invalid_grant', 'the code of this request was already accepted');
  return { request, transactionId: record.transactionId };
}

/**
 * Records the outcome on the request. oidc-provider saves it, then (ping) notifies the client; a
 * notification that fails does not undo the outcome, which the client can still poll for.
 */
async function record(deps: CallbackDeps, request: BackchannelAuthenticationRequest, result: Grant | errors.OIDCProviderError, options: { amr?: string[]; authTime?: number } = {}): Promise<void> {
  const provider = deps.provider();
  try {
    await provider.backchannelResult(request, result, options);
  } catch (err) {
    const saved = await provider.BackchannelAuthenticationRequest.find(request.jti, { ignoreExpiration: true });
    if (!saved?.grantId && !saved?.error) throw err;
    deps.logger.warn({ realm: deps.realm, clientId: request.clientId, err: (err as Error).message }, 'ciba: the client could not be notified (ping); it can still poll');
  }
}

/** The request is void: the token endpoint answers `access_denied` with `description`. */
async function deny(deps: CallbackDeps, request: BackchannelAuthenticationRequest, description: string): Promise<never> {
  // backchannelResult keeps the error but not its description; the request model keeps this field.
  request.errorDescription = description;
  await record(deps, request, new errors.AccessDenied(description));
  throw new CallbackRefusal(400, 'access_denied', description);
}

/** The code was right: the person's record, the grant for the request's scopes, the outcome. */
async function complete(deps: CallbackDeps, request: BackchannelAuthenticationRequest, authenticator: ChannelAuthenticator, tx: Transaction): Promise<void> {
  const subject = tx.subject;
  // processLoginHint named the account from the same number (BackchannelApi.accountFor).
  if (!subject || subject.id !== request.accountId) throw new EidhubError(500, 'internal', `ciba: transaction ${tx.id} verified a subject other than its request's`);
  // Ordered: the request's save that follows is durable and commits it.
  await rememberSubject(deps.store, authenticator, subject, { retentionMs: deps.subjectRetentionMs, now: deps.now(), durability: 'ordered' });
  const provider = deps.provider();
  const grant = new provider.Grant({ accountId: subject.id, clientId: request.clientId! });
  if (request.scope) grant.addOIDCScope(request.scope);
  await grant.save();
  await record(deps, request, grant, { amr: [...authenticator.amr], authTime: Math.floor((tx.finishedAt ?? deps.now()) / 1000) });
}

export function callbackHandler(deps: CallbackDeps) {
  return async (req: FastifyRequest<{ Params: { channel: string } }>, reply: FastifyReply) => {
    const authenticator = deps.channels.get(req.params.channel);
    if (!authenticator) throw new CallbackRefusal(404, 'not_found', `no channel "${req.params.channel.slice(0, 32)}"`);
    const id = bearerOf(req.headers.authorization);
    const code = codeOf(req.body);
    const { request, transactionId } = await openRequest(deps, id, req.params.channel);
    const tx = await deps.transactions.get(transactionId);
    if (!tx || tx.protocol !== 'ciba' || tx.protocolRef !== id) throw unknownRequest();
    const log = { realm: deps.realm, clientId: tx.clientId, tx: tx.id };
    if (tx.status === 'SUCCESS') throw new CallbackRefusal(400, 'invalid_grant', 'the code of this request was already accepted');
    if (tx.status !== 'WAITING_FOR_USER') return deny(deps, request, tx.error?.message ?? 'this request ended');

    const result = await authenticator.backchannel.verify(tx, code);
    switch (result.kind) {
      case 'verified':
        await complete(deps, request, authenticator, result.tx);
        deps.logger.info(log, 'ciba: code accepted');
        return reply.code(200).header('cache-control', 'no-store').send({});
      case 'wrong':
        deps.logger.info({ ...log, attemptsLeft: result.attemptsLeft }, 'ciba: wrong code');
        throw new CallbackRefusal(400, 'wrong_code', result.message, { attempts_left: result.attemptsLeft });
      case 'refused':
        throw new CallbackRefusal(400, 'invalid_request', `code: ${result.message}`);
      case 'used':
        throw new CallbackRefusal(400, 'invalid_grant', 'the code of this request was already accepted');
      case 'void':
        deps.logger.info(log, 'ciba: code void; the request is denied');
        return deny(deps, request, result.message);
    }
  };
}
