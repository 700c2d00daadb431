/**
 * Group commit for the SQLite store: the writes of one event-loop turn share one transaction, and
 * reads never answer with a write that is not yet durable. See GroupCommit.
 */
import type Database from 'better-sqlite3';
import type { WriteDurability } from '../types.js';

/** Records that the running write changed what reads of `key` return (see GroupCommit.read). */
export type Touch = (key: string) => void;

/** Touched by a write that changes rows it cannot name (the purge): every read waits for its batch. */
export const EVERY_KEY = '*';

/**
 * Checks, after each write op, that the op touched the read keys of every row it changed. For
 * tests only (see touch-check.ts): without one, GroupCommit does no more than touch the keys.
 */
export interface WriteCheck {
  /** Throws an error naming `write` and a missing key when a row the op changed is read by a key not in `touched`. */
  verify(write: string, touched: ReadonlySet<string>): void;
  /** Forgets the changes of an op that failed (SQLite rolled them back, or the whole batch). */
  discard(): void;
}

interface Waiter {
  /** The batch committed. */
  resolve(): void;
  /** The batch was rolled back (or never committed), with this error. */
  reject(err: unknown): void;
}

/**
 * Group commit. The first write of a turn opens a transaction and schedules its commit; every
 * write runs immediately inside it and settles when the commit has reached the disk. A failing
 * statement is rolled back alone (SQLite's statement-level abort), a failing writeAtomic op back
 * to its savepoint; an error that ends the whole transaction rejects every write of the batch,
 * none of which had been acknowledged yet.
 *
 * Reads run at once too, and on the same connection they see the open batch's writes. So that no
 * one is shown a state a crash could still undo, each write touches the keys of what it changed,
 * and a read whose key the open batch touched answers only after that batch committed: the
 * statement runs immediately and its result is held back until the commit (it is exactly what the
 * commit made durable, since nothing later in the batch changes what it already read). If the
 * batch fails instead, the statement runs again on what is committed and that is the answer.
 * Reads of keys the batch did not touch answer at once.
 *
 * Every write is named (`transactions.create`, …) so that a WriteCheck can say which one forgot a key.
 */
export class GroupCommit {
  private waiting: Waiter[] = [];
  private open = false;
  /** Keys touched by the writes of the open batch. */
  private readonly dirty = new Set<string>();
  private readonly touch: Touch = (k) => {
    this.dirty.add(k);
  };
  /** Runs an op inside a savepoint of the open batch: all of it, or none of it if it throws. */
  private readonly savepoint: (op: () => unknown) => unknown;

  constructor(
    private readonly db: Database.Database,
    private readonly check?: WriteCheck,
  ) {
    this.savepoint = db.transaction((op: () => unknown) => op());
  }

  /**
   * One statement's write (SQLite makes a statement atomic). `durable`: the promise resolves once
   * the batch committed. `ordered` (see WriteDurability): it resolves as soon as the write is
   * applied; the write commits with the open batch, before any later batch, and if that commit
   * fails the durable writes of the batch report it, while reads of what it changed run again on
   * what is committed.
   */
  write<T>(name: string, op: (touch: Touch) => T, durability: WriteDurability = 'durable'): Promise<T> {
    const applied = this.apply(name, op);
    if (!applied.ok) return Promise.reject(applied.error);
    if (durability === 'ordered') return Promise.resolve(applied.value);
    return new Promise<T>((resolve, reject) => this.waiting.push({ resolve: () => resolve(applied.value), reject }));
  }

  /** Runs `op` inside the open batch, opening one (and scheduling its commit) if needed. */
  private apply<T>(name: string, op: (touch: Touch) => T): { ok: true; value: T } | { ok: false; error: unknown } {
    if (!this.open) {
      this.db.exec('BEGIN IMMEDIATE');
      this.open = true;
      setImmediate(() => this.commit());
    }
    try {
      // Without a check (production) the op touches the batch's keys directly: no per-op set.
      return { ok: true, value: this.check ? this.checked(this.check, name, op) : op(this.touch) };
    } catch (error) {
      this.check?.discard();
      if (!this.db.inTransaction) this.fail(error);
      return { ok: false, error };
    }
  }

  /** Runs `op`, collecting the keys it touches, and has `check` compare them with the rows it changed. */
  private checked<T>(check: WriteCheck, name: string, op: (touch: Touch) => T): T {
    const touched = new Set<string>();
    const value = op((k) => {
      touched.add(k);
      this.dirty.add(k);
    });
    check.verify(name, touched);
    return value;
  }

  /** A write of several statements: they are applied all together or, if `op` throws, not at all. */
  writeAtomic<T>(name: string, op: (touch: Touch) => T, durability: WriteDurability = 'durable'): Promise<T> {
    return this.write(name, (touch) => this.savepoint(() => op(touch)) as T, durability);
  }

  /** Runs a read about `k` (or each of several keys) now; answers now, or after the commit of an open batch that touched it. */
  read<T>(k: string | readonly string[], op: () => T): T | Promise<T> {
    const result = op();
    if (this.dirty.size === 0 || !(this.dirty.has(EVERY_KEY) || (typeof k === 'string' ? this.dirty.has(k) : k.some((one) => this.dirty.has(one))))) return result;
    return new Promise<T>((resolve, reject) =>
      this.waiting.push({
        resolve: () => resolve(result),
        reject: () => {
          try {
            resolve(op());
          } catch (err) {
            reject(err);
          }
        },
      }),
    );
  }

  /** Commits the open batch now (also used before closing). */
  commit(): void {
    if (!this.open) return;
    const batch = this.takeBatch();
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
  }

  private fail(err: unknown): void {
    for (const w of this.takeBatch()) w.reject(err);
  }

  /** Ends the open batch in this object's books (no batch open, nothing dirty) and returns its waiters to settle. */
  private takeBatch(): Waiter[] {
    const batch = this.waiting;
    this.waiting = [];
    this.open = false;
    this.dirty.clear();
    return batch;
  }
}
