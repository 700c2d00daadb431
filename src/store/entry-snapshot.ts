/**
 * A process's copy of a VersionedEntryStore (the client registry's clients, the SAML service
 * providers): every stored entry as last read and what it became, re-read whenever the store's
 * version changed, so another process's change is seen within the refresh interval. An entry the
 * copy lacks can be looked up in the store, so one another process just added is usable at once.
 */
import { isDeepStrictEqual } from 'node:util';
import { RefreshLoop } from '../core/refresh-loop.js';
import type { VersionedEntryStore } from './types.js';

/** What a stored entry became when last read: `entry`, or skipped (undefined). Kept to tell a change from a re-read. */
interface Admission<T, E> {
  stored: T;
  entry: E | undefined;
}

export interface EntrySnapshotOptions<T, E> {
  store: VersionedEntryStore<T>;
  keyOf(stored: T): string;
  /** What a stored entry becomes, or undefined to skip it; asked only for an entry that is new or changed since it was last read. */
  admit(stored: T): E | undefined;
  /** Told, by every refresh that read the store (the timer's too), the keys whose entry changed. */
  onRefreshed?(changed: string[]): void;
  /** A timer's refresh failed: the entries last read stay in use. */
  onRefreshError(err: unknown): void;
}

export class EntrySnapshot<T, E> {
  private admissions = new Map<string, Admission<T, E>>();
  /** The store's version `admissions` was read at; undefined before the first read. */
  private version: number | undefined;
  /** Advanced by every change of `admissions` (see find). */
  private generation = 0;
  /** Work that reads the store and then changes `admissions` runs one at a time (see RefreshLoop). */
  private readonly loop: RefreshLoop;

  constructor(private readonly opts: EntrySnapshotOptions<T, E>) {
    this.loop = new RefreshLoop(() => this.refresh(), opts.onRefreshError);
  }

  /** Starts refreshing every `intervalMs`. */
  start(intervalMs: number): void {
    this.loop.start(intervalMs);
  }

  stop(): void {
    this.loop.stop();
  }

  /** Runs `work` (which reads the store, then changes the copy) after every work queued before it. */
  exclusive<R>(work: () => Promise<R>): Promise<R> {
    return this.loop.exclusive(work);
  }

  get(key: string): E | undefined {
    return this.admissions.get(key)?.entry;
  }

  /** Every entry not skipped, in no particular order. */
  entries(): E[] {
    return [...this.admissions.values()].flatMap((a) => (a.entry === undefined ? [] : [a.entry]));
  }

  /**
   * The entry of `key` from the store, kept in the copy (`kept`) unless the copy changed meanwhile:
   * this look-up is not queued behind changes, so requests naming made-up keys cannot hold those
   * up, and a refresh or a change meanwhile may have read a newer state.
   */
  async find(key: string): Promise<{ entry: E | undefined; kept: boolean }> {
    const generation = this.generation;
    const stored = await this.opts.store.get(key);
    if (!stored) return { entry: undefined, kept: false };
    const admission = this.admit(stored);
    const kept = generation === this.generation && !this.admissions.has(key);
    if (kept) this.admissions.set(key, admission);
    return { entry: admission.entry, kept };
  }

  /** Records an entry just stored (inside exclusive). */
  set(stored: T, entry: E): void {
    this.admissions.set(this.opts.keyOf(stored), { stored, entry });
    this.generation++;
  }

  /** Forgets an entry just removed (inside exclusive); what it was. */
  delete(key: string): E | undefined {
    const prior = this.admissions.get(key)?.entry;
    this.admissions.delete(key);
    this.generation++;
    return prior;
  }

  /** Re-reads the store if its version changed: the keys whose entry changed, or undefined when the version had not. */
  refresh(): Promise<string[] | undefined> {
    return this.exclusive(async () => {
      const version = await this.opts.store.version();
      if (version === this.version) return undefined;
      // Listed after reading the version: a change in between is in the list, and read again at the next version.
      const next = new Map<string, Admission<T, E>>();
      for (const stored of await this.opts.store.list()) next.set(this.opts.keyOf(stored), this.admit(stored));
      const keys = new Set([...this.admissions.keys(), ...next.keys()]);
      const changed = [...keys].filter((k) => this.admissions.get(k)?.entry !== next.get(k)?.entry);
      this.admissions = next;
      this.generation++;
      this.version = version;
      this.opts.onRefreshed?.(changed);
      return changed;
    });
  }

  /** The stored entry's admission: the one it had if it is unchanged, so it is neither admitted nor warned about twice. */
  private admit(stored: T): Admission<T, E> {
    const prior = this.admissions.get(this.opts.keyOf(stored));
    if (prior && isDeepStrictEqual(prior.stored, stored)) return prior;
    return { stored, entry: this.opts.admit(stored) };
  }
}
