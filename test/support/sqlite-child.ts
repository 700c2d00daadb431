/**
 * A second process on a SQLite store, for what one process cannot show.
 *
 *   node --import tsx test/support/sqlite-child.ts open <db path>
 *     opens the store (applying migrations), prints "opened" and exits; two at once prove that
 *     concurrent starts migrate safely.
 *   node --import tsx test/support/sqlite-child.ts write-then-die <db path> <transaction JSON> <challenge JSON>
 *     creates the transaction and claims it for otp-sms (WAITING_FOR_USER), sends the code as
 *     production does (store.otp.issue at the challenge's createdAt: one hit on the counter
 *     `number-<transaction id>`, the send recorded in authState through
 *     TransactionService.prepareWaiting, the challenge, and an `otp.issued` event), then verifies
 *     the right code (the challenge consumed, the transaction SUCCESS at createdAt + 1), and
 *     SIGKILLs itself the moment the last promise resolves: no close, no exit handlers, nothing
 *     flushed later. The parent then checks every acknowledged write survived.
 */
import { maskPhoneNumber } from '../../src/sms/phone-mask.js';
import type { Transaction } from '../../src/core/transaction.js';
import { TransactionService } from '../../src/core/transactions.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { OtpChallenge } from '../../src/store/types.js';

const HOUR_MS = 60 * 60_000;

const [mode, path, txJson, challengeJson] = process.argv.slice(2);
if (!path) throw new Error('usage: sqlite-child.ts open|write-then-die <db path> [...]');
const store = await openSqliteStore({ path });

if (mode === 'open') {
  process.stdout.write('opened\n');
  await store.close();
} else if (mode === 'write-then-die' && txJson && challengeJson) {
  const tx = JSON.parse(txJson) as Transaction;
  const challenge = JSON.parse(challengeJson) as OtpChallenge;
  await store.transactions.create(tx);
  const claimed = await store.transactions.update(tx.id, tx.version, { status: 'WAITING_FOR_USER', provider: 'otp-sms' });
  if (!claimed) throw new Error('update lost');
  const sentAt = challenge.createdAt;
  const issued = await store.otp.issue({
    now: sentAt,
    counter: { key: `number-${tx.id}`, windowMs: HOUR_MS, limit: 5 },
    change: new TransactionService(store, () => sentAt).prepareWaiting(
      claimed,
      { authState: { phone: challenge.phoneNumber, sends: 1, lastSentAt: sentAt } },
      { type: 'otp.issued', at: sentAt, transactionId: tx.id, clientId: tx.clientId, data: { to: maskPhoneNumber(challenge.phoneNumber), send: 1 } },
    ),
    challenge,
  });
  if (issued.kind !== 'issued') throw new Error(`issue gave ${issued.kind}`);
  const at = challenge.createdAt + 1;
  const verified = await store.otp.verify({
    id: challenge.id,
    now: at,
    codeHash: challenge.codeHash,
    onMatch: {
      id: tx.id,
      expectedVersion: issued.tx.version,
      patch: { status: 'SUCCESS', updatedAt: at, finishedAt: at },
      audit: { type: 'transaction.success', at, transactionId: tx.id },
    },
    onWrong: { type: 'otp.wrong', at, transactionId: tx.id },
  });
  if (verified.kind !== 'verified') throw new Error(`verify gave ${verified.kind}`);
  process.kill(process.pid, 'SIGKILL');
} else {
  throw new Error(`unknown mode or missing arguments: ${process.argv.slice(2).join(' ')}`);
}
