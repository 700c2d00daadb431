/**
 * When each client secret last authenticated its client, for the administrators' list of secrets.
 *
 * A secret is checked on every token request, thousands a second, so a use must cost neither a
 * store write nor a measurable amount of time: record() sets one number in memory, under the
 * client as the registry handed it out and the matched secret's index. The uses are written in
 * batches (every `flushMs`, and on close), as coarsely as the product needs: a use less than
 * SECRET_USE_PRECISION_MS newer than the one this process last wrote of that secret is not written
 * again (and the store refuses it too when another process wrote a newer one). The cost of a
 * use shows in `npm run bench`'s client_credentials scenario, one token request per use.
 */
import type { Logger } from 'pino';
import { SECRET_USE_PRECISION_MS, type ClientStore, type SecretUse } from '../store/types.js';

const DEFAULT_FLUSH_MS = 5000;

/** A client whose secret matched, as the registry handed it out: its key and its secrets' names, in the order of its hashes. */
export interface UsedClient {
  readonly key: string;
  readonly secretNames: readonly string[];
}

export interface SecretUsesOptions {
  store: Pick<ClientStore, 'recordSecretUses'>;
  logger: Logger;
  /**
   * Whether the client of `clientKey` still has a secret named `secretName`: a use of a secret
   * revoked (or of a client removed) before its batch was written is dropped, rather than left
   * as a row nothing deletes.
   */
  current: (clientKey: string, secretName: string) => boolean;
  /** How often the uses are written (default 5 s). */
  flushMs?: number | undefined;
}

/** One secret's identity in the maps below. */
const useId = (clientKey: string, secretName: string): string => JSON.stringify([clientKey, secretName]);

export class SecretUses {
  /**
   * Uses not written yet: of each client object, the latest use of each secret by its index (a
   * sparse array). Keyed by the object, so the hot path builds no string; a client replaced
   * meanwhile is another object, and its uses are still named by the object they were made with.
   */
  private pending = new Map<UsedClient, number[]>();
  /** Uses whose write failed, by useId: written with the next batch. */
  private unwritten = new Map<string, SecretUse>();
  /** The latest use this process wrote of each secret, by useId. */
  private readonly written = new Map<string, number>();
  /** The write in progress: writes run one at a time, so a slow store never has two batches racing. */
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: SecretUsesOptions) {}

  /** Starts writing every `flushMs`. */
  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushMs ?? DEFAULT_FLUSH_MS);
    // Recording uses never keeps a process alive by itself; close() writes what is left.
    this.timer.unref();
  }

  /** The secret at `index` of `client` authenticated it at `at`. */
  record(client: UsedClient, index: number, at: number): void {
    let times = this.pending.get(client);
    if (!times) {
      times = [];
      this.pending.set(client, times);
    }
    times[index] = at;
  }

  /** The uses of a client's secrets this process has not written yet, by the secret's name. */
  unwrittenOf(clientKey: string): Map<string, number> {
    const uses = new Map<string, number>();
    for (const use of this.collect().values()) if (use.clientKey === clientKey) uses.set(use.secretName, use.at);
    return uses;
  }

  /**
   * Writes the uses collected so far. Never rejects: a failed write is logged at warn (with no
   * secret: a use names its secret only) and its uses are written with the next batch.
   */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    const batch = this.collect();
    this.pending = new Map();
    this.unwritten = new Map();
    const uses = [...batch.entries()].filter(([id, use]) => this.opts.current(use.clientKey, use.secretName) && use.at >= (this.written.get(id) ?? -Infinity) + SECRET_USE_PRECISION_MS);
    if (uses.length === 0) return;
    try {
      await this.opts.store.recordSecretUses(uses.map(([, use]) => use));
    } catch (err) {
      this.opts.logger.warn({ err, uses: uses.length }, 'clients: recording when secrets were last used failed; tried again with the next batch');
      // Only write() changes unwritten, one at a time; uses recorded meanwhile are pending, and collect() keeps the later of the two.
      this.unwritten = new Map(uses);
      return;
    }
    for (const [id, use] of uses) this.written.set(id, use.at);
  }

  /** The pending and unwritten uses, the latest of each secret, by useId. */
  private collect(): Map<string, SecretUse> {
    const uses = new Map(this.unwritten);
    const add = (use: SecretUse) => {
      const id = useId(use.clientKey, use.secretName);
      if (use.at > (uses.get(id)?.at ?? -Infinity)) uses.set(id, use);
    };
    for (const [client, times] of this.pending) {
      times.forEach((at, index) => {
        const secretName = client.secretNames[index];
        if (secretName !== undefined) add({ clientKey: client.key, secretName, at });
      });
    }
    return uses;
  }
}
