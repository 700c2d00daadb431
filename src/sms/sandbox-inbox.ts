/**
 * The sandbox's SMS inbox: the last messages the console provider "sent", codes included, for the
 * sandbox inbox page and for tests. Memory only and bounded, so it neither survives a restart nor
 * grows without end.
 */
import { randomUUID } from 'node:crypto';
import type { SmsMessage } from './types.js';

export interface SandboxInboxEntry {
  readonly id: string;
  readonly to: string;
  readonly from: string;
  readonly body: string;
  readonly at: Date;
}

export class SandboxInbox {
  /** A ring: `next` is where the next entry goes, overwriting the oldest once the ring is full. */
  private readonly entries: (SandboxInboxEntry | undefined)[];
  private next = 0;

  constructor(readonly capacity = 50) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`SandboxInbox capacity must be a positive integer, not ${capacity}`);
    this.entries = new Array<SandboxInboxEntry | undefined>(capacity).fill(undefined);
  }

  add(message: SmsMessage, at = new Date()): SandboxInboxEntry {
    const entry: SandboxInboxEntry = { id: randomUUID(), to: message.to, from: message.from, body: message.body, at };
    this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    return entry;
  }

  /** Newest first. */
  list(): SandboxInboxEntry[] {
    const newestFirst: SandboxInboxEntry[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const entry = this.entries[(this.next - i + this.capacity) % this.capacity];
      if (entry) newestFirst.push(entry);
    }
    return newestFirst;
  }
}
