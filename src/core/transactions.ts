/**
 * The transaction service: the one place where transactions are created and change state.
 * Every change is a compare-and-set on the stored version, so two processes (or two browser
 * tabs) racing on one transaction cannot both win; a finished transaction never changes again.
 * Each change is written together with its audit event in one atomic store write. A store
 * operation that changes a transaction along with other rows (an OTP challenge) applies a change
 * this service prepared (prepareTransition, prepareWaiting) and hands the result back to applied(),
 * so the rules stay here.
 *
 * Whoever must act when a transaction ends (a protocol that answers without a browser: CIBA's
 * ping, a REST client waiting) subscribes with onFinal. Listeners hear of the transactions this
 * process ended; another process sharing the store tells its own listeners, so a protocol that
 * must see every ending reads the store as well.
 */
import { EidhubError } from './errors.js';
import type { AuditEvent, TransactionChange, TransactionStore, WriteDurability } from './ports.js';
import {
  FINAL_STATUSES,
  type LevelOfAssurance,
  type Protocol,
  type Transaction,
  type TransactionError,
  type TransactionPatch,
  type TransactionStatus,
} from './transaction.js';
import { timeOrderedUuid } from './ids.js';

const ALLOWED: Record<TransactionStatus, readonly TransactionStatus[]> = {
  CREATED: ['WAITING_FOR_USER', 'CANCELLED', 'ERROR', 'ABORT'],
  WAITING_FOR_USER: ['SUCCESS', 'ERROR', 'ABORT', 'CANCELLED'],
  SUCCESS: [],
  ERROR: [],
  ABORT: [],
  CANCELLED: [],
};

export const EXPIRED_ERROR: TransactionError = { code: 'expired', message: 'the authentication session expired before it was completed' };

/** What updateWaiting may change. */
type WaitingPatch = Pick<TransactionPatch, 'authState' | 'provider' | 'language'>;

export interface NewTransaction {
  accountId: string;
  protocol: Protocol;
  protocolRef: string;
  clientId: string;
  allowedProviders: string[];
  language: string | null;
  prefilledInput: Record<string, string>;
  providerParams: Record<string, string>;
  requestedAttributes: string[];
  requestedLoa: LevelOfAssurance | null;
  lifetimeMs: number;
  /** Set when the id must be known before the transaction exists (e.g. REST session id = transaction id). */
  id?: string | undefined;
  /** The protocol's own state for this transaction (keyed by protocol and protocolRef), written with it. */
  protocolState?: Record<string, unknown> | undefined;
}

/** Told once of each transaction this process moved to a final state, after the store has it. */
export type FinalListener = (tx: Transaction) => void | Promise<void>;

export class TransactionService {
  private readonly finalListeners: FinalListener[] = [];

  /**
   * @param reportListenerError where a listener's error goes: a listener runs after the change
   *   happened and its caller has the answer, so its failure cannot undo or fail that change.
   */
  constructor(
    private readonly store: { transactions: TransactionStore },
    private readonly now: () => number = Date.now,
    private readonly reportListenerError: (err: unknown, tx: Transaction) => void = (err) => process.emitWarning(err instanceof Error ? err : String(err)),
  ) {}

  /** Subscribes to the transactions this process ends; returns the unsubscribe function. */
  onFinal(listener: FinalListener): () => void {
    this.finalListeners.push(listener);
    return () => {
      const i = this.finalListeners.indexOf(listener);
      if (i >= 0) this.finalListeners.splice(i, 1);
    };
  }

  async create(input: NewTransaction): Promise<Transaction> {
    const now = this.now();
    const tx: Transaction = {
      id: input.id ?? timeOrderedUuid(now),
      accountId: input.accountId,
      protocol: input.protocol,
      protocolRef: input.protocolRef,
      clientId: input.clientId,
      allowedProviders: input.allowedProviders,
      provider: input.allowedProviders.length === 1 ? (input.allowedProviders[0] ?? null) : null,
      language: input.language,
      prefilledInput: input.prefilledInput,
      providerParams: input.providerParams,
      requestedAttributes: input.requestedAttributes,
      requestedLoa: input.requestedLoa,
      status: 'CREATED',
      subject: null,
      loa: null,
      error: null,
      browserBinding: null,
      authState: {},
      createdAt: now,
      updatedAt: now,
      expiresAt: now + input.lifetimeMs,
      finishedAt: null,
      version: 1,
    };
    const audit = { type: 'transaction.created', at: now, transactionId: tx.id, clientId: tx.clientId, data: { protocol: tx.protocol } };
    await this.store.transactions.create(tx, audit, input.protocolState);
    return tx;
  }

  /** The transaction as it stands now: one past its expiry is ended as ERROR (expired) first. */
  async get(id: string): Promise<Transaction | null> {
    const tx = await this.store.transactions.get(id);
    return tx ? this.settleExpiry(tx) : null;
  }

  isExpired(tx: Transaction): boolean {
    return tx.status === 'ERROR' && tx.error?.code === EXPIRED_ERROR.code;
  }

  private async settleExpiry(tx: Transaction): Promise<Transaction> {
    if (FINAL_STATUSES.has(tx.status) || tx.expiresAt > this.now()) return tx;
    return this.transition(tx, 'ERROR', { error: EXPIRED_ERROR }).catch(async (err: unknown) => {
      // Another process settled it first: read what it wrote.
      if (err instanceof EidhubError && err.code === 'transaction_changed') return (await this.store.transactions.get(tx.id)) ?? tx;
      throw err;
    });
  }

  /** Moves the transaction to `to`, checking the transition; throws if it raced or is not allowed. */
  async transition(tx: Transaction, to: TransactionStatus, patch: TransactionPatch = {}, durability?: WriteDurability): Promise<Transaction> {
    const change = this.prepareTransition(tx, to, patch);
    return this.applied(await this.store.transactions.update(change.id, change.expectedVersion, change.patch, change.audit, durability));
  }

  /**
   * The store change (compare-and-set on tx's version) and audit event of moving tx to `to`, for
   * a store operation that applies it together with other writes; pass what it returns to
   * applied(). Throws transaction_final if the transition is not allowed.
   */
  prepareTransition(tx: Transaction, to: TransactionStatus, patch: TransactionPatch = {}): TransactionChange {
    if (!ALLOWED[tx.status].includes(to)) {
      throw new EidhubError(409, 'transaction_final', `the authentication session is ${tx.status} and cannot become ${to}`);
    }
    const now = this.now();
    // The compare-and-set only applies on tx's version, so the stored provider is tx's unless the patch sets it.
    const provider = patch.provider !== undefined ? patch.provider : tx.provider;
    return {
      id: tx.id,
      expectedVersion: tx.version,
      patch: { ...patch, status: to, updatedAt: now, ...(FINAL_STATUSES.has(to) ? { finishedAt: now } : {}) },
      audit: {
        type: `transaction.${to.toLowerCase()}`,
        at: now,
        transactionId: tx.id,
        clientId: tx.clientId,
        data: { from: tx.status, ...(patch.error ? { error: patch.error.code } : {}), ...(provider ? { provider } : {}) },
      },
    };
  }

  /** Changes fields of a transaction that is waiting for the user, without changing its status. */
  async updateWaiting(tx: Transaction, patch: WaitingPatch): Promise<Transaction> {
    return this.applied(await this.store.transactions.update(tx.id, tx.version, this.waitingPatch(tx, patch)));
  }

  /**
   * The store change of updateWaiting, with the audit event the caller records it by, for a store
   * operation that applies it together with other writes; pass what it returns to applied().
   * Throws transaction_final unless tx is WAITING_FOR_USER.
   */
  prepareWaiting(tx: Transaction, patch: WaitingPatch, audit: AuditEvent): TransactionChange {
    return { id: tx.id, expectedVersion: tx.version, patch: this.waitingPatch(tx, patch), audit };
  }

  private waitingPatch(tx: Transaction, patch: WaitingPatch): TransactionPatch {
    if (tx.status !== 'WAITING_FOR_USER') {
      throw new EidhubError(409, 'transaction_final', `the authentication session is ${tx.status}`);
    }
    return { ...patch, updatedAt: this.now() };
  }

  /**
   * The transaction a prepared change produced, given what the store returned for it: the updated
   * transaction, or null when its compare-and-set lost (then this throws transaction_changed).
   */
  applied(updated: Transaction | null): Transaction {
    if (!updated) throw new EidhubError(409, 'transaction_changed', 'the authentication session changed meanwhile; reload and try again');
    // A final transaction never changes again, so an update that produced one is its ending.
    if (FINAL_STATUSES.has(updated.status)) this.notifyFinal(updated);
    return updated;
  }

  private notifyFinal(tx: Transaction): void {
    for (const listener of this.finalListeners) {
      queueMicrotask(() => {
        try {
          Promise.resolve(listener(tx)).catch((err: unknown) => this.reportListenerError(err, tx));
        } catch (err) {
          this.reportListenerError(err, tx);
        }
      });
    }
  }

  /**
   * The first browser that posts a form of the hosted page claims the transaction. The claim is
   * decided at once (compare-and-set) but written `ordered`: nothing is handed to anyone on its
   * strength alone. The step the form asked for follows with its own durable write (a code
   * issued, the login ended), which commits the claim with it; if a crash loses a claim whose
   * step wrote nothing (a number refused), the same browser's next form claims it again.
   */
  claim(tx: Transaction, browserBinding: string): Promise<Transaction> {
    return this.transition(tx, 'WAITING_FOR_USER', { browserBinding }, 'ordered');
  }

  /**
   * The person chose the provider that runs a login several providers may run (the hosted pages'
   * chooser), with the provider parameters and prefilled input that provider normalised
   * (Authenticator.prepare). Once only: a transaction whose provider is set keeps it.
   */
  async choose(tx: Transaction, provider: string, prepared: Pick<Transaction, 'providerParams' | 'prefilledInput'>): Promise<Transaction> {
    if (!tx.allowedProviders.includes(provider)) throw new EidhubError(400, 'provider_not_allowed', `provider "${provider}" is not allowed for this login`);
    if (tx.provider !== null) throw new EidhubError(409, 'transaction_changed', `the provider of this login is ${tx.provider} already`);
    const patch: TransactionPatch = { ...this.waitingPatch(tx, { provider }), providerParams: prepared.providerParams, prefilledInput: prepared.prefilledInput };
    const audit: AuditEvent = { type: 'transaction.provider_chosen', at: patch.updatedAt ?? this.now(), transactionId: tx.id, clientId: tx.clientId, data: { provider } };
    return this.applied(await this.store.transactions.update(tx.id, tx.version, patch, audit));
  }

  fail(tx: Transaction, error: TransactionError): Promise<Transaction> {
    return this.transition(tx, 'ERROR', { error });
  }

  /** The person gave up on the hosted page. */
  abort(tx: Transaction): Promise<Transaction> {
    return this.transition(tx, 'ABORT', { error: { code: 'aborted', message: 'the person cancelled the login' } });
  }

  /** The integrator cancelled the session over its API. */
  cancel(tx: Transaction): Promise<Transaction> {
    return this.transition(tx, 'CANCELLED');
  }
}
