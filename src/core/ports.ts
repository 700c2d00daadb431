/**
 * What core needs from storage, stated by core: the transaction store port and the audit event.
 * The stores (src/store) implement these; core never imports a store.
 */
import type { Transaction, TransactionPatch } from './transaction.js';

export interface AuditEvent {
  type: string;
  at: number;
  transactionId?: string | undefined;
  clientId?: string | undefined;
  /** Never a code, a secret or a full phone number. */
  data?: Record<string, unknown> | undefined;
}

/**
 * When a write's promise resolves.
 * - `durable` (the default): once the write is committed.
 * - `ordered`: once the write is applied in the store's commit order, possibly before its commit.
 *   A later durable write of this process commits it too (or fails with it), and a read of what
 *   it changed answers only after it committed, so nobody observes it before it is durable.
 *   For bookkeeping that no answer depends on by itself (browser sessions, interactions,
 *   grants, the subject record of a login, a login's binding to its browser, all followed by a
 *   durable write before anything is handed to a client). A store that cannot keep the order
 *   (PostgreSQL, whose pooled connections commit independently) treats it as `durable`.
 */
export type WriteDurability = 'durable' | 'ordered';

export interface TransactionStore {
  /**
   * Inserts a new transaction, and with it, when given, `audit` and the protocol's own state for
   * it (`protocolState`: stored as the transaction's ProtocolStateRecord, under its protocol and
   * protocolRef, with its times): all of them or none. Rejects with StoreConflictError if the id,
   * (protocol, protocolRef) or that protocol state's key exists; then nothing is written.
   */
  create(tx: Transaction, audit?: AuditEvent, protocolState?: Record<string, unknown>): Promise<void>;
  get(id: string): Promise<Transaction | null>;
  /**
   * Compare-and-set: applies `patch` only if the stored version equals `expectedVersion`, and
   * increments the version. Returns the updated transaction, or null when the version did not
   * match (or the transaction does not exist). `audit`, when given, is written with the update,
   * and only when the update applied. The compare-and-set is decided at once whatever the
   * `durability`, which says only when the promise resolves.
   */
  update(id: string, expectedVersion: number, patch: TransactionPatch, audit?: AuditEvent, durability?: WriteDurability): Promise<Transaction | null>;
}

/**
 * One compare-and-set change of a transaction (see TransactionStore.update) and the audit event
 * written with it. TransactionService prepares these; store operations that change a transaction
 * together with other rows (OTP issue and verify) apply them.
 */
export interface TransactionChange {
  id: string;
  expectedVersion: number;
  patch: TransactionPatch;
  audit: AuditEvent;
}
