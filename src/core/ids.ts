/**
 * Identifiers of rows eidhub creates (transactions, REST sessions, OTP challenges): UUIDs of
 * version 7 (RFC 9562), a 48-bit millisecond time followed by 74 random bits. They are as
 * unguessable as a version 4 UUID needs to be here (every use is also bound to a browser or an
 * API client), and being ordered by time they go to the end of the store's primary-key indexes,
 * so the rows written together share index pages instead of each dirtying a page of its own.
 */
import { randomBytes } from 'node:crypto';

export function timeOrderedUuid(now: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70; // version 7
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
