/**
 * The Store contract (src/store/types.ts), written once and run against every implementation:
 * SQLite on a real file and PostgreSQL on a fresh database (see test/support/postgres.ts for where
 * that comes from). Races use Promise.all; on PostgreSQL they spread over the pool's connections,
 * so single use is proven under real concurrency, not just in one process's event loop.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { maskPhoneNumber } from '../src/sms/phone-mask.js';
import type { Transaction } from '../src/core/transaction.js';
import { TransactionService } from '../src/core/transactions.js';
import { openStore } from '../src/store/index.js';
import { migrationsDir } from '../src/store/migrate.js';
import { AUDIT_PURGE_BATCH, windowStartOf as windowStart } from '../src/store/rows.js';
import { openPostgresStore } from '../src/store/postgres/index.js';
import { EVERY_KEY, GroupCommit } from '../src/store/sqlite/group-commit.js';
import { openSqliteDatabase, openSqliteStore } from '../src/store/sqlite/index.js';
import { key } from '../src/store/sqlite/read-keys.js';
import { createTouchCheck } from '../src/store/sqlite/touch-check.js';
import {
  SECRET_USE_PRECISION_MS,
  StoreConflictError,
  type AuditEvent,
  type AuditQuery,
  type OtpChallenge,
  type OtpConversionGuard,
  type OtpIssue,
  type OtpVerify,
  type ProtocolStateRecord,
  type Store,
  type StoredClient,
  type StoredKey,
  type StoredSamlServiceProvider,
  type TransactionChange,
} from '../src/store/types.js';
import { dropTestDatabase, getTestPostgresUrl } from './support/postgres.js';

/** A fixed clock past 2^31 ms, so a BIGINT that came back as a string or got truncated fails deepEqual. */
const T0 = 1_750_000_000_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./support/sqlite-child.ts', import.meta.url));

/** How a suite gets empty databases of one kind and opens stores on them. */
interface Backend {
  /** A new, empty database: a file path or a URL. */
  create(): Promise<string>;
  open(location: string): Promise<Store>;
  /** Removes what create() made. */
  remove(location: string): Promise<void>;
}

function makeTx(over: Partial<Transaction> = {}): Transaction {
  const id = over.id ?? randomUUID();
  return {
    id,
    accountId: 'account-1',
    protocol: 'rest',
    protocolRef: `ref-${id}`,
    clientId: 'client-1',
    allowedProviders: ['otp-sms', 'itsme'],
    provider: null,
    language: 'nl',
    prefilledInput: { mobile: '+447700900000' },
    providerParams: { otp_sms_sender: 'Signicat AS' },
    requestedAttributes: ['phoneNumber', 'idpId'],
    requestedLoa: 'substantial',
    status: 'CREATED',
    subject: null,
    loa: null,
    error: null,
    browserBinding: null,
    authState: {},
    createdAt: T0,
    updatedAt: T0,
    expiresAt: T0 + 10 * MINUTE,
    finishedAt: null,
    version: 1,
    ...over,
  };
}

function makeChallenge(transactionId: string, over: Partial<OtpChallenge> = {}): OtpChallenge {
  return {
    id: randomUUID(),
    transactionId,
    codeHash: 'q1w2e3r4t5y6u7i8o9p0q1w2e3r4t5y6u7i8o9p0abc',
    phoneNumber: '+447700900000',
    attempts: 0,
    maxAttempts: 3,
    createdAt: T0,
    expiresAt: T0 + 5 * MINUTE,
    consumedAt: null,
    ...over,
  };
}

function makeProtocolState(transactionId: string, over: Partial<ProtocolStateRecord> = {}): ProtocolStateRecord {
  return {
    protocol: 'rest',
    ref: `session-${randomUUID()}`,
    transactionId,
    state: { callbackUrls: { success: 'https://example.com/ok' }, sessionOptions: ['a', 'b'] },
    createdAt: T0,
    expiresAt: T0 + 10 * MINUTE,
    ...over,
  };
}

function makeKey(kid: string, alg: string, createdAt: number): StoredKey {
  return { kid, alg, privateJwk: JSON.stringify({ kty: 'EC', kid, d: 'secret' }), createdAt, retiredAt: null, removeAfter: null };
}

/** The audit events of one transaction, newest first (other tests share the store). */
async function auditOf(store: Store, transactionId: string): Promise<AuditEvent[]> {
  return (await store.audit.recent(100_000)).filter((e) => e.transactionId === transactionId);
}

/** A transaction a person is logging in to, for issue and verify. */
function makeWaitingTx(): Transaction {
  return makeTx({ status: 'WAITING_FOR_USER', provider: 'otp-sms', browserBinding: 'bind' });
}

/** JSON that is easy to get subtly wrong: nesting, unicode beyond the BMP, escapes, numbers, empties. */
const TRICKY_JSON = {
  nested: { list: [1, 2.5, -3, true, false, null, 'x', { deep: ['y'] }], empty: {}, none: [] },
  text: 'Ελληνικά, 日本語, emoji 😀, quotes "\' and \\ backslash, tab\tnewline\n',
  big: 9_007_199_254_740_991,
  small: 1e-7,
};

function contract(backend: Backend): void {
  let location: string;
  let store: Store;

  before(async () => {
    location = await backend.create();
    store = await backend.open(location);
  });
  after(async () => {
    await store.close();
    await backend.remove(location);
  });

  /** The change and event of a successful code at `at`: what TransactionService.prepareTransition gives production's verify. */
  function successChange(tx: Transaction, at: number): TransactionChange {
    const subject = { id: `sub-${tx.id}`, idpId: '+447700900000', attributes: { idpId: '+447700900000', phoneNumber: '+447700900000' } };
    return new TransactionService(store, () => at).prepareTransition(tx, 'SUCCESS', { subject, loa: 'low' });
  }

  describe('transactions', () => {
    it('create then get returns exactly what was written, under its protocol and reference', async () => {
      const tx = makeTx({
        protocol: 'oidc',
        prefilledInput: { mobile: '+31612345678', name: 'Zoë Ørsted' },
        authState: TRICKY_JSON,
        subject: { id: 'sub-1', idpId: '+31612345678', attributes: { phoneNumber: '+31612345678' } },
        error: { code: 'none', message: 'ünïcode' },
        browserBinding: 'bind-hash',
      });
      await store.transactions.create(tx);
      assert.deepEqual(await store.transactions.get(tx.id), tx);
      const stored = await store.transactions.get(tx.id);
      assert.deepEqual([stored?.protocol, stored?.protocolRef], ['oidc', tx.protocolRef], 'found under its protocol and reference');
      // Its reference is taken under its own protocol only: the same one under another protocol is free.
      await assert.rejects(store.transactions.create(makeTx({ protocol: 'oidc', protocolRef: tx.protocolRef })), StoreConflictError);
      const underRest = makeTx({ protocol: 'rest', protocolRef: tx.protocolRef });
      await store.transactions.create(underRest);
      assert.deepEqual(await store.transactions.get(underRest.id), underRest);
      assert.deepEqual(await store.transactions.get(tx.id), tx);
      assert.equal(await store.transactions.get('no-such-transaction'), null);
    });

    it('rejects a duplicate id or a duplicate (protocol, protocolRef) with StoreConflictError', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      await assert.rejects(store.transactions.create(makeTx({ id: tx.id, protocolRef: 'another-ref' })), StoreConflictError);
      await assert.rejects(store.transactions.create(makeTx({ protocolRef: tx.protocolRef })), StoreConflictError);
      // The same reference under another protocol is a different transaction.
      await store.transactions.create(makeTx({ protocol: 'saml', protocolRef: tx.protocolRef }));
      assert.deepEqual(await store.transactions.get(tx.id), tx);
    });

    it('update is compare-and-set: applies the patch, increments the version, refuses a stale version', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      const subject = { id: 'sub-2', idpId: '+447700900001', attributes: { phoneNumber: '+447700900001', idpId: '+447700900001' } };
      const first = await store.transactions.update(tx.id, 1, {
        status: 'SUCCESS',
        provider: 'otp-sms',
        subject,
        loa: 'low',
        authState: TRICKY_JSON,
        finishedAt: T0 + 5000,
        updatedAt: T0 + 5000,
      });
      const expected: Transaction = {
        ...tx,
        status: 'SUCCESS',
        provider: 'otp-sms',
        subject,
        loa: 'low',
        authState: TRICKY_JSON,
        finishedAt: T0 + 5000,
        updatedAt: T0 + 5000,
        version: 2,
      };
      assert.deepEqual(first, expected);
      assert.deepEqual(await store.transactions.get(tx.id), expected);

      assert.equal(await store.transactions.update(tx.id, 1, { status: 'ERROR' }), null, 'a stale version is refused');
      assert.deepEqual(await store.transactions.get(tx.id), expected, 'a refused update changes nothing');
      assert.equal(await store.transactions.update('no-such-transaction', 1, { status: 'ERROR' }), null);

      // null clears a field; an undefined or absent field is left alone.
      const second = await store.transactions.update(tx.id, 2, { subject: null, provider: undefined, error: { code: 'e', message: 'm' } });
      assert.deepEqual(second, { ...expected, subject: null, error: { code: 'e', message: 'm' }, version: 3 });
    });

    it('exactly one of ten racing updates with the same expected version wins', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.transactions.update(tx.id, 1, { language: `l${i}` })),
      );
      const winners = results.filter((r) => r !== null);
      assert.equal(winners.length, 1);
      assert.equal(winners[0]?.version, 2);
      assert.equal((await store.transactions.get(tx.id))?.language, winners[0]?.language);
    });
    it('an ordered update is decided at once: of racing ordered and durable updates on one version one wins, and a read shows the winner', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      const audit: AuditEvent = { type: 'transaction.waiting_for_user', at: T0, transactionId: tx.id };
      const results = await Promise.all([
        store.transactions.update(tx.id, 1, { status: 'WAITING_FOR_USER', browserBinding: 'first' }, audit, 'ordered'),
        store.transactions.update(tx.id, 1, { status: 'WAITING_FOR_USER', browserBinding: 'second' }, audit, 'ordered'),
        store.transactions.update(tx.id, 1, { status: 'WAITING_FOR_USER', browserBinding: 'third' }, audit),
      ]);
      const winners = results.filter((r) => r !== null);
      assert.equal(winners.length, 1);
      const stored = await store.transactions.get(tx.id);
      assert.equal(stored?.browserBinding, winners[0]?.browserBinding);
      assert.equal(stored?.version, 2);
      assert.equal((await auditOf(store, tx.id)).length, 1, 'only the winner wrote its event');
    });

    it('create and update write their audit event with them, and only when they applied', async () => {
      const tx = makeTx();
      const created: AuditEvent = { type: 'transaction.created', at: T0, transactionId: tx.id, clientId: tx.clientId, data: { protocol: 'rest' } };
      await store.transactions.create(tx, created);
      assert.deepEqual(await store.transactions.get(tx.id), tx);
      assert.deepEqual(await auditOf(store, tx.id), [created]);

      const duplicate: AuditEvent = { type: 'transaction.created', at: T0 + 1, transactionId: tx.id };
      await assert.rejects(store.transactions.create(makeTx({ id: tx.id, protocolRef: `other-${tx.id}` }), duplicate), StoreConflictError);
      assert.deepEqual(await auditOf(store, tx.id), [created], 'a refused insert writes no event');

      const claimed: AuditEvent = { type: 'transaction.waiting_for_user', at: T0 + 2, transactionId: tx.id, data: { from: 'CREATED' } };
      const updated = await store.transactions.update(tx.id, 1, { status: 'WAITING_FOR_USER', updatedAt: T0 + 2 }, claimed);
      assert.deepEqual(updated, { ...tx, status: 'WAITING_FOR_USER', updatedAt: T0 + 2, version: 2 });
      const lost: AuditEvent = { type: 'transaction.error', at: T0 + 3, transactionId: tx.id };
      assert.equal(await store.transactions.update(tx.id, 1, { status: 'ERROR' }, lost), null);
      assert.deepEqual(await auditOf(store, tx.id), [claimed, created], 'a refused update writes no event');
      assert.deepEqual(await store.transactions.get(tx.id), updated);
    });

    it('a change whose audit event cannot be written is not written either', async () => {
      const tx = makeTx();
      // A NOT NULL column left null: the event's insert fails inside the atomic unit.
      const broken = { type: null, at: T0, transactionId: tx.id } as unknown as AuditEvent;
      await assert.rejects(store.transactions.create(tx, broken), (err) => !(err instanceof StoreConflictError));
      assert.equal(await store.transactions.get(tx.id), null);

      await store.transactions.create(tx);
      await assert.rejects(store.transactions.update(tx.id, 1, { language: 'fi' }, broken));
      assert.deepEqual(await store.transactions.get(tx.id), tx);
      assert.deepEqual(await auditOf(store, tx.id), []);
    });
  });

  describe('otp challenges', () => {
    it('latest is the newest by createdAt then id; countForTransaction counts codes sent', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      assert.equal(await store.otp.latest(tx.id), null);
      assert.equal(await store.otp.countForTransaction(tx.id), 0);
      const older = makeChallenge(tx.id, { id: `${tx.id}-z`, createdAt: T0 });
      const tieLow = makeChallenge(tx.id, { id: `${tx.id}-a`, createdAt: T0 + 1000 });
      const tieHigh = makeChallenge(tx.id, { id: `${tx.id}-b`, createdAt: T0 + 1000 });
      for (const c of [tieHigh, older, tieLow]) await store.otp.create(c);
      assert.deepEqual(await store.otp.latest(tx.id), tieHigh);
      assert.equal(await store.otp.countForTransaction(tx.id), 3);
      await assert.rejects(store.otp.create(makeChallenge(tx.id, { id: older.id })), StoreConflictError);
    });

    describe('issue', () => {
      function issueOf(tx: Transaction, counterKey: string, over: Partial<OtpIssue> = {}): OtpIssue {
        const challenge = makeChallenge(tx.id);
        return {
          now: T0,
          counter: { key: counterKey, windowMs: HOUR, limit: 2 },
          change: {
            id: tx.id,
            expectedVersion: tx.version,
            patch: { authState: { phone: '+447700900000', sends: 1, lastSentAt: T0 }, updatedAt: T0 + 1 },
            audit: { type: 'otp.issued', at: T0 + 1, transactionId: tx.id, clientId: tx.clientId, data: { to: '+44*******000', send: 1 } },
          },
          challenge,
          ...over,
        };
      }

      it('within the limit: counts the hit, changes the transaction, inserts the challenge and writes the event', async () => {
        const tx = makeWaitingTx();
        await store.transactions.create(tx);
        const counterKey = `number-${randomUUID()}`;
        const issue = issueOf(tx, counterKey);
        const expected: Transaction = { ...tx, authState: { phone: '+447700900000', sends: 1, lastSentAt: T0 }, updatedAt: T0 + 1, version: 2 };
        assert.deepEqual(await store.otp.issue(issue), { kind: 'issued', count: 1, tx: expected });
        assert.deepEqual(await store.transactions.get(tx.id), expected);
        assert.deepEqual(await store.otp.latest(tx.id), issue.challenge);
        assert.deepEqual(await auditOf(store, tx.id), [issue.change.audit]);
        assert.equal(await store.counters.hit(counterKey, HOUR, T0), 2, 'the issue counted one hit');
      });

      it('a lost compare-and-set counts the hit and writes nothing else', async () => {
        const tx = makeWaitingTx();
        await store.transactions.create(tx);
        const counterKey = `number-${randomUUID()}`;
        const stale = issueOf(tx, counterKey, {});
        stale.change = { ...stale.change, expectedVersion: tx.version + 1 };
        assert.deepEqual(await store.otp.issue(stale), { kind: 'changed', count: 1 });
        assert.deepEqual(await store.transactions.get(tx.id), tx);
        assert.equal(await store.otp.countForTransaction(tx.id), 0);
        assert.deepEqual(await auditOf(store, tx.id), []);
        assert.equal(await store.counters.hit(counterKey, HOUR, T0), 2, 'the hit counted');
      });

      it('over the limit: counts the hit (every time) and writes nothing else', async () => {
        const tx = makeWaitingTx();
        await store.transactions.create(tx);
        const counterKey = `number-${randomUUID()}`;
        await store.counters.hit(counterKey, HOUR, T0);
        await store.counters.hit(counterKey, HOUR, T0);
        assert.deepEqual(await store.otp.issue(issueOf(tx, counterKey)), { kind: 'limited', count: 3 });
        assert.deepEqual(await store.otp.issue(issueOf(tx, counterKey)), { kind: 'limited', count: 4 });
        assert.deepEqual(await store.transactions.get(tx.id), tx);
        assert.equal(await store.otp.countForTransaction(tx.id), 0);
        assert.deepEqual(await auditOf(store, tx.id), []);
        // The next window starts over.
        assert.equal((await store.otp.issue(issueOf(tx, counterKey, { now: T0 + HOUR }))).kind, 'issued');
      });

      it('a duplicate challenge id is a StoreConflictError and writes nothing, not even the hit', async () => {
        const tx = makeWaitingTx();
        await store.transactions.create(tx);
        const existing = makeChallenge(tx.id);
        await store.otp.create(existing);
        const counterKey = `number-${randomUUID()}`;
        await assert.rejects(store.otp.issue(issueOf(tx, counterKey, { challenge: makeChallenge(tx.id, { id: existing.id, createdAt: T0 + 5 }) })), StoreConflictError);
        assert.deepEqual(await store.transactions.get(tx.id), tx);
        assert.deepEqual(await store.otp.latest(tx.id), existing);
        assert.deepEqual(await auditOf(store, tx.id), []);
        assert.equal(await store.counters.hit(counterKey, HOUR, T0), 1);
      });

      it('exactly one of ten racing issues on one transaction version wins; every hit counts', async () => {
        const tx = makeWaitingTx();
        await store.transactions.create(tx);
        const counterKey = `number-${randomUUID()}`;
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.otp.issue({ ...issueOf(tx, counterKey), counter: { key: counterKey, windowMs: HOUR, limit: 100 } })),
        );
        assert.equal(results.filter((r) => r.kind === 'issued').length, 1);
        assert.equal(results.filter((r) => r.kind === 'changed').length, 9);
        assert.deepEqual(results.map((r) => r.count).sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i + 1));
        assert.equal(await store.otp.countForTransaction(tx.id), 1);
        assert.equal((await auditOf(store, tx.id)).length, 1);
        assert.equal((await store.transactions.get(tx.id))?.version, 2);
      });

      describe('budgets and the conversion guard', () => {
        const budget = (name: string, key: string, limit: number, windowMs = HOUR) => ({ name, key, windowMs, limit });
        /** A new transaction in WAITING_FOR_USER, and an issue for it under these budgets and guard. */
        async function budgetedIssue(counterKey: string, over: Partial<OtpIssue>): Promise<{ tx: Transaction; issue: OtpIssue }> {
          const tx = makeWaitingTx();
          await store.transactions.create(tx);
          return { tx, issue: { ...issueOf(tx, counterKey), counter: { key: counterKey, windowMs: HOUR, limit: 100 }, ...over } };
        }
        const guardOf = (prefix: string): OtpConversionGuard => ({ prefix, windowMs: HOUR, bucketMs: HOUR / 12, minSent: 3, minRatio: 0.5, pauseMs: 600_000 });

        it('within every budget: issued, each budget counted once; over one: refused with the budget that frees up last, nothing but the per-number hit kept', async () => {
          const id = randomUUID();
          const budgets = [budget('a', `a-${id}`, 2, 60_000), budget('b', `b-${id}`, 1, HOUR), budget('c', `c-${id}`, 5)];
          const first = await budgetedIssue(`n-${id}`, { budgets });
          assert.equal((await store.otp.issue(first.issue)).kind, 'issued');
          const second = await budgetedIssue(`n-${id}`, { budgets, now: T0 + 10 });
          assert.deepEqual(await store.otp.issue(second.issue), { kind: 'overBudget', count: 2, budget: 'b', retryAt: windowStart(HOUR, T0) + HOUR });
          assert.deepEqual(await store.transactions.get(second.tx.id), second.tx);
          assert.equal(await store.otp.countForTransaction(second.tx.id), 0);
          assert.deepEqual(await auditOf(store, second.tx.id), []);
          // The refused send spent no budget: a and c hold one hit each, b its one.
          assert.equal(await store.counters.hit(`a-${id}`, 60_000, T0), 2);
          assert.equal(await store.counters.hit(`c-${id}`, HOUR, T0), 2);
          assert.equal(await store.counters.hit(`b-${id}`, HOUR, T0), 2);
          assert.equal(await store.counters.hit(`n-${id}`, HOUR, T0), 3, 'the per-number counter counted both sends');
          // Two budgets over at once: the one that frees up last is named.
          const third = await budgetedIssue(`n-${id}`, { budgets, now: T0 + 20 });
          assert.deepEqual(await store.otp.issue(third.issue), { kind: 'overBudget', count: 4, budget: 'b', retryAt: windowStart(HOUR, T0) + HOUR });
        });

        it('a lost compare-and-set spends no budget', async () => {
          const id = randomUUID();
          const { tx, issue } = await budgetedIssue(`n-${id}`, { budgets: [budget('a', `a-${id}`, 1)] });
          assert.equal((await store.otp.issue({ ...issue, change: { ...issue.change, expectedVersion: tx.version + 1 } })).kind, 'changed');
          assert.equal(await store.counters.hit(`a-${id}`, HOUR, T0), 1);
        });

        it('of ten racing sends under a budget of 4, four are issued', async () => {
          const id = randomUUID();
          const issues = await Promise.all(Array.from({ length: 10 }, (_, i) => budgetedIssue(`n-${id}-${i}`, { budgets: [budget('global', `g-${id}`, 4)] })));
          const results = await Promise.all(issues.map(({ issue }) => store.otp.issue(issue)));
          assert.equal(results.filter((r) => r.kind === 'issued').length, 4);
          assert.equal(results.filter((r) => r.kind === 'overBudget').length, 6);
          assert.equal(await store.counters.hit(`g-${id}`, HOUR, T0), 5);
        });

        it('a prefix whose codes are not verified is paused, refused until the pause ends, then resumes with fresh counts', async () => {
          const prefix = `+99${randomUUID().slice(0, 8)}`;
          const guard = guardOf(prefix);
          for (let i = 0; i < 2; i++) {
            const { issue } = await budgetedIssue(`n-${prefix}-${i}`, { conversion: guard, now: T0 + i });
            assert.deepEqual(Object.keys(await store.otp.issue(issue)).sort(), ['count', 'kind', 'tx']);
          }
          assert.deepEqual(await store.otp.conversion(prefix, HOUR, T0 + 2), { sent: 2, verified: 0, pausedUntil: null });
          const tripping = await budgetedIssue(`n-${prefix}-2`, { conversion: guard, now: T0 + 2 });
          const tripped = await store.otp.issue(tripping.issue);
          assert.equal(tripped.kind, 'issued', 'the code that trips the guard still goes');
          assert.deepEqual(tripped.kind === 'issued' ? tripped.paused : null, { until: T0 + 2 + 600_000, sent: 3, verified: 0 });
          const refused = await budgetedIssue(`n-${prefix}-3`, { conversion: guard, budgets: [budget('a', `a-${prefix}`, 10)], now: T0 + 3 });
          assert.deepEqual(await store.otp.issue(refused.issue), { kind: 'paused', count: 1, retryAt: T0 + 2 + 600_000 });
          assert.equal(await store.otp.countForTransaction(refused.tx.id), 0);
          assert.equal(await store.counters.hit(`a-${prefix}`, HOUR, T0), 1, 'a paused send spends no budget');
          assert.deepEqual(await store.otp.conversion(prefix, HOUR, T0 + 3), { sent: 0, verified: 0, pausedUntil: T0 + 2 + 600_000 });
          const resumed = await budgetedIssue(`n-${prefix}-4`, { conversion: guard, now: T0 + 2 + 600_000 });
          const after = await store.otp.issue(resumed.issue);
          assert.equal(after.kind === 'issued' && after.paused === undefined, true, 'resumed, and one code does not trip it again');
        });

        it('codes verified keep a prefix open; the counts slide out of the window', async () => {
          const prefix = `+98${randomUUID().slice(0, 8)}`;
          const guard = guardOf(prefix);
          for (let i = 0; i < 4; i++) {
            const { tx, issue } = await budgetedIssue(`n-${prefix}-${i}`, { conversion: guard, now: T0 + i });
            const issued = await store.otp.issue({ ...issue, challenge: { ...issue.challenge, codeHash: 'right' } });
            assert.equal(issued.kind === 'issued' && issued.paused === undefined, true);
            const verified = await store.otp.verify({
              id: issue.challenge.id,
              now: T0 + i,
              codeHash: 'right',
              onMatch: successChange(issued.kind === 'issued' ? issued.tx : tx, T0 + i),
              onWrong: { type: 'otp.wrong', at: T0 + i, transactionId: tx.id, clientId: tx.clientId },
              conversion: { prefix, windowMs: HOUR, bucketMs: HOUR / 12 },
            });
            assert.equal(verified.kind, 'verified');
          }
          assert.deepEqual(await store.otp.conversion(prefix, HOUR, T0 + 10), { sent: 4, verified: 4, pausedUntil: null });
          assert.deepEqual(await store.otp.conversion(prefix, HOUR, T0 + 2 * HOUR), { sent: 0, verified: 0, pausedUntil: null });
        });

        it('purgeExpired removes conversion counts out of every window and pauses that ended', async () => {
          const prefix = `+97${randomUUID().slice(0, 8)}`;
          const guard = { ...guardOf(prefix), minSent: 1 };
          const { issue } = await budgetedIssue(`n-${prefix}`, { conversion: guard });
          assert.equal((await store.otp.issue(issue)).kind, 'issued');
          assert.equal((await store.otp.conversion(prefix, HOUR, T0)).pausedUntil, T0 + 600_000);
          const open = `${prefix}0`;
          const counted = await budgetedIssue(`n-${open}`, { conversion: guardOf(open) });
          assert.equal((await store.otp.issue(counted.issue)).kind, 'issued');
          assert.equal((await store.otp.conversion(open, HOUR, T0)).sent, 1);
          await store.purgeExpired(T0 + 2 * HOUR);
          assert.deepEqual(await store.otp.conversion(prefix, HOUR, T0), { sent: 0, verified: 0, pausedUntil: null }, 'the pause row is gone, even read as of before its end');
          assert.equal((await store.otp.conversion(open, HOUR, T0)).sent, 0, 'the counts are gone, even read as of their window');
        });
      });
    });

    describe('verify', () => {
      const RIGHT = 'right-code-hash';
      async function setUp(over: Partial<OtpChallenge> = {}) {
        const tx = makeWaitingTx();
        await store.transactions.create(tx);
        const challenge = makeChallenge(tx.id, { codeHash: RIGHT, maxAttempts: 5, ...over });
        await store.otp.create(challenge);
        return { tx, challenge };
      }
      function verifyOf(tx: Transaction, challenge: OtpChallenge, code: string, at: number, over: Partial<OtpVerify> = {}): OtpVerify {
        return {
          id: challenge.id,
          now: at,
          codeHash: code,
          onMatch: successChange(tx, at),
          onWrong: { type: 'otp.wrong', at, transactionId: tx.id, clientId: tx.clientId, data: { reason: 'test' } },
          ...over,
        };
      }

      it('a wrong code: the attempt is counted and otp.wrong written; the transaction is untouched', async () => {
        const { tx, challenge } = await setUp();
        const result = await store.otp.verify(verifyOf(tx, challenge, 'wrong', T0 + 10));
        assert.deepEqual(result, { kind: 'wrong', challenge: { ...challenge, attempts: 1 } });
        const wrongEvent = { type: 'otp.wrong', at: T0 + 10, transactionId: tx.id, clientId: tx.clientId, data: { reason: 'test', attempt: 1 } };
        assert.deepEqual(await auditOf(store, tx.id), [wrongEvent], "the caller's event, with the attempt's number");
        assert.deepEqual(await store.transactions.get(tx.id), tx);
        assert.deepEqual(await store.otp.latest(tx.id), { ...challenge, attempts: 1 });
        // A hash one character longer, and one of the same length that differs in its last character.
        assert.equal((await store.otp.verify(verifyOf(tx, challenge, `${RIGHT}x`, T0 + 11))).kind, 'wrong');
        assert.equal((await store.otp.verify(verifyOf(tx, challenge, `${RIGHT.slice(0, -1)}X`, T0 + 12))).kind, 'wrong');
        assert.equal((await store.otp.latest(tx.id))?.attempts, 3);
      });

      it('the right code: consumed, the transaction succeeds and its event is written; the same code again is void', async () => {
        const { tx, challenge } = await setUp();
        await store.otp.verify(verifyOf(tx, challenge, 'wrong', T0 + 10));
        const change = successChange(tx, T0 + 20);
        const result = await store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 20));
        const consumed = { ...challenge, attempts: 2, consumedAt: T0 + 20 };
        const succeeded: Transaction = { ...tx, ...change.patch, version: 2 } as Transaction;
        assert.deepEqual(result, { kind: 'verified', challenge: consumed, tx: succeeded });
        assert.deepEqual(await store.transactions.get(tx.id), succeeded);
        assert.deepEqual(await store.otp.latest(tx.id), consumed);
        const events = await auditOf(store, tx.id);
        assert.deepEqual(events.map((e) => e.type), ['transaction.success', 'otp.wrong']);
        assert.deepEqual(events[0], change.audit);

        // A change that would still apply to the stored version (SUCCESS cannot be left, so it is made from tx): void comes from the consumption alone.
        const stillApplies = { ...successChange(tx, T0 + 30), expectedVersion: succeeded.version };
        const again = await store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 30, { onMatch: stillApplies }));
        assert.deepEqual(again, { kind: 'void', challenge: consumed }, 'a consumed code takes no attempt');
        assert.deepEqual(await store.transactions.get(tx.id), succeeded);
        assert.equal((await auditOf(store, tx.id)).length, 2);
      });

      it('a lost compare-and-set: the attempt counts, nothing is consumed or written, and the code still works', async () => {
        const { tx, challenge } = await setUp();
        const stale = successChange({ ...tx, version: tx.version + 1 }, T0 + 10);
        const result = await store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 10, { onMatch: stale }));
        assert.deepEqual(result, { kind: 'changed', challenge: { ...challenge, attempts: 1 } });
        assert.deepEqual(await store.otp.latest(tx.id), { ...challenge, attempts: 1 }, 'not consumed');
        assert.deepEqual(await store.transactions.get(tx.id), tx);
        assert.deepEqual(await auditOf(store, tx.id), []);
        assert.equal((await store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 11))).kind, 'verified');
      });

      it('void without counting: out of attempts, expired, unknown', async () => {
        const { tx, challenge } = await setUp({ maxAttempts: 1 });
        assert.equal((await store.otp.verify(verifyOf(tx, challenge, 'wrong', T0 + 10))).kind, 'wrong');
        const spent = { ...challenge, attempts: 1 };
        assert.deepEqual(await store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 11)), { kind: 'void', challenge: spent });

        const other = await setUp();
        const expired = await store.otp.verify(verifyOf(other.tx, other.challenge, RIGHT, other.challenge.expiresAt));
        assert.deepEqual(expired, { kind: 'void', challenge: other.challenge });
        assert.deepEqual(await store.otp.verify(verifyOf(other.tx, { ...other.challenge, id: 'no-such-challenge' }, RIGHT, T0)), {
          kind: 'void',
          challenge: null,
        });
        assert.deepEqual(await store.transactions.get(other.tx.id), other.tx);
      });

      it('a failing op undoes the attempt: onMatch for another transaction', async () => {
        const { tx, challenge } = await setUp();
        const other = makeWaitingTx();
        await store.transactions.create(other);
        await assert.rejects(store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 10, { onMatch: successChange(other, T0 + 10) })), /is not for transaction/);
        assert.deepEqual(await store.otp.latest(tx.id), challenge);
        assert.deepEqual(await store.transactions.get(other.id), other);
        assert.deepEqual(await auditOf(store, tx.id), []);
      });

      it('counts attempts up to maxAttempts, then refuses without counting; an unknown challenge is void', async () => {
        const { tx, challenge } = await setUp({ maxAttempts: 3 });
        for (const n of [1, 2, 3]) {
          assert.deepEqual(await store.otp.verify(verifyOf(tx, challenge, 'wrong', T0 + n)), { kind: 'wrong', challenge: { ...challenge, attempts: n } });
        }
        assert.equal((await store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 4))).kind, 'void');
        assert.equal((await store.otp.latest(tx.id))?.attempts, 3, 'a refused attempt is not counted');
        assert.deepEqual(await store.otp.verify(verifyOf(tx, { ...challenge, id: 'no-such-challenge' }, RIGHT, T0)), { kind: 'void', challenge: null });
      });

      it('refuses an expired challenge at expiresAt and takes an attempt just before it; refuses a consumed one', async () => {
        const expiring = await setUp();
        const atExpiry = await store.otp.verify(verifyOf(expiring.tx, expiring.challenge, 'wrong', expiring.challenge.expiresAt));
        assert.equal(atExpiry.kind, 'void', 'expired at expiresAt');
        const before = await store.otp.verify(verifyOf(expiring.tx, expiring.challenge, 'wrong', expiring.challenge.expiresAt - 1));
        assert.equal(before.kind === 'wrong' ? before.challenge.attempts : null, 1);

        const consumed = await setUp();
        assert.equal((await store.otp.verify(verifyOf(consumed.tx, consumed.challenge, RIGHT, T0 + 10))).kind, 'verified');
        assert.equal((await store.otp.verify(verifyOf(consumed.tx, consumed.challenge, 'wrong', T0 + 11))).kind, 'void');
      });

      it('of 20 racing verifications of the right code exactly one consumes it, at its own time; the others find it consumed', async () => {
        const { tx, challenge } = await setUp({ maxAttempts: 30 });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 100 + i))));
        const verified = results.filter((r) => r.kind === 'verified');
        assert.equal(verified.length, 1);
        const winner = results.findIndex((r) => r.kind === 'verified');
        assert.equal((await store.otp.latest(tx.id))?.consumedAt, T0 + 100 + winner);
        for (const r of results) {
          if (r.kind !== 'verified') assert.deepEqual(r, { kind: 'void', challenge: verified[0]?.challenge });
        }
        assert.equal((await store.transactions.get(tx.id))?.status, 'SUCCESS');
        assert.deepEqual((await auditOf(store, tx.id)).map((e) => e.type), ['transaction.success']);
        assert.equal((await store.otp.verify(verifyOf(tx, challenge, RIGHT, T0 + 200))).kind, 'void');
      });
    });
  });

  describe('protocol state', () => {
    it('create then get returns exactly what was written; null when unknown', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      const record = makeProtocolState(tx.id, { protocol: 'saml', state: TRICKY_JSON, expiresAt: T0 + HOUR });
      await store.protocolState.create(record);
      assert.deepEqual(await store.protocolState.get('saml', record.ref), record);
      assert.equal(await store.protocolState.get('rest', record.ref), null, 'records are per protocol');
      assert.equal(await store.protocolState.get('saml', 'no-such-ref'), null);
    });

    it('get still returns an expired record (callers decide)', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      const record = makeProtocolState(tx.id, { expiresAt: T0 - 1 });
      await store.protocolState.create(record);
      assert.deepEqual(await store.protocolState.get('rest', record.ref), record);
    });

    it('rejects a duplicate (protocol, ref) with StoreConflictError', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      const record = makeProtocolState(tx.id);
      await store.protocolState.create(record);
      await assert.rejects(store.protocolState.create({ ...record, state: { other: true } }), StoreConflictError);
      // The same ref under another protocol is a different record.
      const other = { ...record, protocol: 'ciba', state: { other: true } };
      await store.protocolState.create(other);
      assert.deepEqual(await store.protocolState.get('rest', record.ref), record, 'a refused insert changes nothing');
      assert.deepEqual(await store.protocolState.get('ciba', record.ref), other);
    });

    it('is written with its transaction and audit event: all three, or none of them', async () => {
      const tx = makeTx();
      const created: AuditEvent = { type: 'transaction.created', at: T0, transactionId: tx.id, clientId: tx.clientId, data: { protocol: 'rest' } };
      await store.transactions.create(tx, created, TRICKY_JSON);
      assert.deepEqual(await store.transactions.get(tx.id), tx);
      // Stored as the transaction's: under its protocol and reference, with its times.
      const record: ProtocolStateRecord = { protocol: 'rest', ref: tx.protocolRef, transactionId: tx.id, state: TRICKY_JSON, createdAt: tx.createdAt, expiresAt: tx.expiresAt };
      assert.deepEqual(await store.protocolState.get('rest', tx.protocolRef), record);
      assert.deepEqual(await auditOf(store, tx.id), [created]);

      // Its key taken already: nothing of the new transaction is written.
      const second = makeTx({ protocolRef: `ref-second-${randomUUID()}` });
      const taken = makeProtocolState(tx.id, { ref: second.protocolRef });
      await store.protocolState.create(taken);
      await assert.rejects(
        store.transactions.create(second, { ...created, transactionId: second.id }, { other: true }),
        (err) => err instanceof StoreConflictError && err.message === `protocol state rest ${second.protocolRef} already exists`,
      );
      assert.equal(await store.transactions.get(second.id), null);
      assert.deepEqual(await auditOf(store, second.id), []);
      assert.deepEqual(await store.protocolState.get('rest', second.protocolRef), taken);

      // Without an audit event too.
      const third = makeTx();
      await store.transactions.create(third, undefined, { third: true });
      assert.equal((await store.protocolState.get('rest', third.protocolRef))?.transactionId, third.id);
    });

    it('refuses a record whose transaction does not exist (foreign keys are enforced)', async () => {
      const record = makeProtocolState(`no-such-transaction-${randomUUID()}`);
      await assert.rejects(store.protocolState.create(record), (err) => !(err instanceof StoreConflictError));
      assert.equal(await store.protocolState.get('rest', record.ref), null);
    });
  });

  describe('session nonces', () => {
    it('a nonce is consumed once; a wrong one, another session\'s, or a replaced one never', async () => {
      const [tx, other] = [makeTx(), makeTx()];
      for (const t of [tx, other]) await store.transactions.create(t);
      await store.sessionNonces.issue(tx.id, 'hash-a', T0);
      await store.sessionNonces.issue(other.id, 'hash-b', T0);
      assert.equal(await store.sessionNonces.consume(tx.id, 'hash-b', T0), false, 'another session\'s nonce');
      assert.equal(await store.sessionNonces.consume(tx.id, 'hash-x', T0), false, 'a wrong nonce');
      assert.equal(await store.sessionNonces.consume(tx.id, 'hash-a', T0 + 1), true);
      assert.equal(await store.sessionNonces.consume(tx.id, 'hash-a', T0 + 2), false, 'used already');
      // A new nonce for the session (its page shown again) replaces the old, used or not.
      await store.sessionNonces.issue(other.id, 'hash-c', T0 + 3);
      assert.equal(await store.sessionNonces.consume(other.id, 'hash-b', T0 + 4), false, 'replaced');
      assert.equal(await store.sessionNonces.consume(other.id, 'hash-c', T0 + 4), true);
      assert.equal(await store.sessionNonces.consume(`no-such-${randomUUID()}`, 'hash-a', T0), false);
    });

    it('of many concurrent consumers exactly one wins', async () => {
      const tx = makeTx();
      await store.transactions.create(tx);
      await store.sessionNonces.issue(tx.id, 'hash-race', T0);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.sessionNonces.consume(tx.id, 'hash-race', T0 + 1)));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('refuses a nonce whose transaction does not exist (foreign keys are enforced)', async () => {
      await assert.rejects(store.sessionNonces.issue(`no-such-transaction-${randomUUID()}`, 'hash', T0));
    });
  });

  describe('oidc models', () => {
    const exp = T0 + HOUR;

    it('upsert then find returns the payload exactly, without `consumed` until consumed', async () => {
      const id = randomUUID();
      const payload = { jti: id, kind: 'Session', accountId: 'acc', ...TRICKY_JSON };
      await store.oidc.upsert('Session', id, payload, exp, { uid: `uid-${id}` });
      const found = await store.oidc.find('Session', id, T0);
      assert.deepEqual(found, payload);
      assert.equal(found && 'consumed' in found, false);
      assert.equal(await store.oidc.find('AccessToken', id, T0), undefined, 'rows are per model');
      assert.equal(await store.oidc.find('Session', 'no-such-id', T0), undefined);
    });

    it('upsert replaces payload, expiry and references', async () => {
      const id = randomUUID();
      await store.oidc.upsert('Session', id, { v: 1, extra: true }, exp, { uid: `old-${id}`, grantId: `g-old-${id}` });
      await store.oidc.upsert('Session', id, { v: 2 }, null, { uid: `new-${id}` });
      assert.deepEqual(await store.oidc.find('Session', id, T0 + 1000 * HOUR), { v: 2 }, 'null expiry never expires');
      assert.equal(await store.oidc.findByUid('Session', `old-${id}`, T0), undefined);
      assert.deepEqual(await store.oidc.findByUid('Session', `new-${id}`, T0), { v: 2 });
      await store.oidc.revokeByGrantId(`g-old-${id}`);
      assert.deepEqual(await store.oidc.find('Session', id, T0), { v: 2 }, 'the old grant reference is gone');
    });

    it('find, findByUid and findByUserCode honour expiry', async () => {
      const id = randomUUID();
      await store.oidc.upsert('DeviceCode', id, { n: 1 }, exp, { uid: `u-${id}`, userCode: `UC-${id}` });
      assert.deepEqual(await store.oidc.find('DeviceCode', id, exp - 1), { n: 1 });
      assert.deepEqual(await store.oidc.findByUid('DeviceCode', `u-${id}`, exp - 1), { n: 1 });
      assert.deepEqual(await store.oidc.findByUserCode('DeviceCode', `UC-${id}`, exp - 1), { n: 1 });
      for (const now of [exp, exp + 1]) {
        assert.equal(await store.oidc.find('DeviceCode', id, now), undefined);
        assert.equal(await store.oidc.findByUid('DeviceCode', `u-${id}`, now), undefined);
        assert.equal(await store.oidc.findByUserCode('DeviceCode', `UC-${id}`, now), undefined);
      }
      assert.equal(await store.oidc.findByUid('Session', `u-${id}`, T0), undefined, 'uid lookups are per model');
      assert.equal(await store.oidc.findByUserCode('Session', `UC-${id}`, T0), undefined, 'user code lookups are per model');
    });

    it('consume sets `consumed` in epoch seconds, once, and it stays through a later upsert', async () => {
      const id = randomUUID();
      await store.oidc.upsert('AuthorizationCode', id, { code: 1 }, exp, {});
      const at = T0 + 1999;
      assert.equal(await store.oidc.consume('AuthorizationCode', id, at), true);
      assert.deepEqual(await store.oidc.find('AuthorizationCode', id, T0), { code: 1, consumed: Math.floor(at / 1000) });
      assert.equal(await store.oidc.consume('AuthorizationCode', id, at + 1), false);
      // oidc-provider may save a consumed model again; it must not become usable a second time.
      await store.oidc.upsert('AuthorizationCode', id, { code: 2 }, exp, {});
      assert.equal(await store.oidc.consume('AuthorizationCode', id, at + 2), false);
      assert.deepEqual(await store.oidc.find('AuthorizationCode', id, T0), { code: 2, consumed: Math.floor(at / 1000) });
      assert.equal(await store.oidc.consume('AuthorizationCode', 'no-such-id', at), false);
    });

    it('consume is true for exactly one of 20 racing calls', async () => {
      const id = randomUUID();
      await store.oidc.upsert('AuthorizationCode', id, { code: 1 }, exp, {});
      const results = await Promise.all(Array.from({ length: 20 }, () => store.oidc.consume('AuthorizationCode', id, T0)));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('destroy removes one row; revokeByGrantId removes every model of the grant and nothing else', async () => {
      const grant = `grant-${randomUUID()}`;
      const other = `grant-${randomUUID()}`;
      const ids = { at: randomUUID(), rt: randomUUID(), code: randomUUID(), keep: randomUUID(), gone: randomUUID() };
      await store.oidc.upsert('AccessToken', ids.at, { a: 1 }, exp, { grantId: grant });
      await store.oidc.upsert('RefreshToken', ids.rt, { r: 1 }, exp, { grantId: grant });
      await store.oidc.upsert('AuthorizationCode', ids.code, { c: 1 }, exp, { grantId: grant });
      await store.oidc.upsert('AccessToken', ids.keep, { k: 1 }, exp, { grantId: other });
      await store.oidc.upsert('Grant', ids.gone, { g: 1 }, exp, {});

      await store.oidc.destroy('Grant', ids.gone);
      assert.equal(await store.oidc.find('Grant', ids.gone, T0), undefined);
      await store.oidc.destroy('Grant', 'no-such-id');

      await store.oidc.revokeByGrantId(grant);
      assert.equal(await store.oidc.find('AccessToken', ids.at, T0), undefined);
      assert.equal(await store.oidc.find('RefreshToken', ids.rt, T0), undefined);
      assert.equal(await store.oidc.find('AuthorizationCode', ids.code, T0), undefined);
      assert.deepEqual(await store.oidc.find('AccessToken', ids.keep, T0), { k: 1 });
    });
  });

  describe('keys', () => {
    it('insert, list newest first, retire others of the alg, and drop keys past removeAfter', async () => {
      const rsOld = makeKey('rs-old', 'RS256', T0);
      const es = makeKey('es-1', 'ES256', T0 + 1);
      const rsNew = makeKey('rs-new', 'RS256', T0 + 2);
      for (const k of [rsOld, es, rsNew]) await store.keys.insert(k);
      assert.deepEqual(await store.keys.list(T0), [rsNew, es, rsOld]);
      await assert.rejects(store.keys.insert(makeKey('es-1', 'ES256', T0 + 3)), StoreConflictError);

      await store.keys.retire('RS256', 'rs-new', T0 + 10, T0 + HOUR);
      const retiredOld = { ...rsOld, retiredAt: T0 + 10, removeAfter: T0 + HOUR };
      assert.deepEqual(await store.keys.list(T0 + HOUR - 1), [rsNew, es, retiredOld]);
      assert.deepEqual(await store.keys.list(T0 + HOUR), [rsNew, es], 'gone from the list at removeAfter');

      // Retiring again leaves an already retired key's times alone.
      await store.keys.retire('RS256', 'rs-new', T0 + 20, T0 + 2 * HOUR);
      assert.deepEqual(await store.keys.list(T0), [rsNew, es, retiredOld]);
    });
  });

  describe('secrets', () => {
    it('getOrCreate returns one value to ten racing callers and never replaces it', async () => {
      const name = `secret-${randomUUID()}`;
      const values = await Promise.all(Array.from({ length: 10 }, (_, i) => store.secrets.getOrCreate(name, `value-${i}`)));
      assert.equal(new Set(values).size, 1);
      assert.match(values[0]!, /^value-\d$/);
      const again = await store.secrets.getOrCreate(name, 'another-value');
      assert.equal(again, values[0], 'an existing secret keeps its value');
    });
  });

  describe('counters', () => {
    it('hit counts within a fixed window and restarts in the next', async () => {
      const key = `counter-${randomUUID()}`;
      const windowMs = MINUTE;
      const start = Math.floor(T0 / windowMs) * windowMs;
      assert.equal(await store.counters.hit(key, windowMs, start), 1);
      assert.equal(await store.counters.hit(key, windowMs, start + 1), 2);
      assert.equal(await store.counters.hit(key, windowMs, start + windowMs - 1), 3);
      assert.equal(await store.counters.hit(key, windowMs, start + windowMs), 1, 'a new window starts at 1');
      assert.equal(await store.counters.hit(`${key}-other`, windowMs, start), 1, 'keys count separately');
    });

    it('counts reads the current window of each key without counting a hit', async () => {
      const key = `counter-${randomUUID()}`;
      const windowMs = MINUTE;
      const start = Math.floor(T0 / windowMs) * windowMs;
      await store.counters.hit(key, windowMs, start);
      await store.counters.hit(key, windowMs, start + 1);
      await store.counters.hit(`${key}-b`, windowMs, start);
      assert.deepEqual(await store.counters.counts([key, `${key}-none`, `${key}-b`], windowMs, start + 2), [2, 0, 1], 'in the order asked, 0 for no hits');
      assert.deepEqual(await store.counters.counts([key], windowMs, start + 3), [2], 'reading counted nothing');
      assert.deepEqual(await store.counters.counts([key], windowMs, start + windowMs), [0], 'the next window has no hits yet');
      assert.deepEqual(await store.counters.counts([], windowMs, start), []);
    });

    it('hit is atomic: 50 racing hits get the counts 1 to 50', async () => {
      const key = `counter-${randomUUID()}`;
      const counts = await Promise.all(Array.from({ length: 50 }, () => store.counters.hit(key, HOUR, T0)));
      assert.deepEqual(
        [...counts].sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });
  });

  describe('subjects', () => {
    it('put then get until expiry; put replaces', async () => {
      const sub = `sub-${randomUUID()}`;
      const record = { sub, provider: 'otp-sms', attributes: { phoneNumber: '+447700900000', name: 'Zoë' }, updatedAt: T0, expiresAt: T0 + HOUR };
      await store.subjects.put(record);
      assert.deepEqual(await store.subjects.get(sub, T0 + HOUR - 1), record);
      assert.equal(await store.subjects.get(sub, T0 + HOUR), null, 'expired at expiresAt');
      const newer = { ...record, attributes: { phoneNumber: '+447700900001' }, updatedAt: T0 + 5, expiresAt: T0 + 2 * HOUR };
      await store.subjects.put(newer);
      assert.deepEqual(await store.subjects.get(sub, T0 + HOUR), newer);
      assert.equal(await store.subjects.get('no-such-sub', T0), null);
    });
  });

  describe('audit', () => {
    it('append then recent returns the newest first, limited, with optional fields as written', async () => {
      const at = T0 + 1000 * HOUR;
      const events = [
        { type: 'transaction.created', at, transactionId: 'tx-1', clientId: 'client-1', data: { protocol: 'rest', nested: { n: [1] } } },
        { type: 'otp.issued', at: at + 1, transactionId: 'tx-1', data: { phone: '+44*****0000' } },
        { type: 'server.started', at: at + 1 },
      ];
      for (const e of events) await store.audit.append(e);
      assert.deepEqual(await store.audit.recent(2), [events[2], events[1]], 'same time: the later append first');
      assert.deepEqual(await store.audit.recent(3), [events[2], events[1], events[0]]);
    });

    /** Every page of `q`, following `next` until there is none. */
    async function allPages(s: Store, q: AuditQuery): Promise<AuditEvent[][]> {
      const pages: AuditEvent[][] = [];
      let before: AuditQuery['before'];
      for (;;) {
        const page = await s.audit.query({ ...q, before });
        pages.push(page.events);
        if (!page.next) return pages;
        assert.ok(pages.length < 100, 'paging ends');
        before = page.next;
      }
    }

    /** Runs `work` on a store of its own, so what it reads is exactly what it wrote. */
    async function withOwnStore(work: (s: Store) => Promise<void>): Promise<void> {
      const where = await backend.create();
      const s = await backend.open(where);
      try {
        await work(s);
      } finally {
        await s.close();
        await backend.remove(where);
      }
    }

    it('query filters by time, client and type, newest first', async () => {
      await withOwnStore(async (s) => {
      const e = (type: string, at: number, clientId?: string): AuditEvent => ({ type, at, transactionId: `tx-${at}`, ...(clientId ? { clientId } : {}) });
      const events = [
        e('transaction.created', T0, 'a'),
        e('otp.issued', T0 + 1, 'a'),
        e('transaction.created', T0 + 2, 'b'),
        e('transaction.success', T0 + 3, 'a'),
        e('server.started', T0 + 4),
      ];
      for (const ev of events) await s.audit.append(ev);
      const [e0, e1, e2, e3, e4] = events;
      assert.deepEqual(await s.audit.query({ limit: 10 }), { events: [e4, e3, e2, e1, e0] });
      assert.deepEqual((await s.audit.query({ from: T0 + 1, to: T0 + 3, limit: 10 })).events, [e2, e1], 'from inclusive, to exclusive');
      assert.deepEqual((await s.audit.query({ clientId: 'a', limit: 10 })).events, [e3, e1, e0]);
      assert.deepEqual((await s.audit.query({ types: ['transaction.created', 'server.started'], limit: 10 })).events, [e4, e2, e0]);
      assert.deepEqual((await s.audit.query({ types: [], limit: 10 })).events, [], 'no type asked for: nothing');
      assert.deepEqual(
        (await s.audit.query({ clientId: 'a', types: ['transaction.created', 'transaction.success'], from: T0, to: T0 + 4, limit: 10 })).events,
        [e3, e0],
        'every filter at once',
      );
      assert.deepEqual(await s.audit.query({ clientId: 'nobody', limit: 10 }), { events: [] });
      });
    });

    it('query pages by limit, across pages of equal times, without gaps or repeats', async () => {
      await withOwnStore(async (s) => {
      const events: AuditEvent[] = [];
      // Seven events at one time, between others: a page boundary falls inside the tie.
      for (let i = 0; i < 11; i++) events.push({ type: 'transaction.created', at: i < 2 ? T0 + i : i < 9 ? T0 + 5 : T0 + i, clientId: 'c', data: { i } });
      for (const ev of events) await s.audit.append(ev);
      const newestFirst = [...events].reverse();
      for (const limit of [1, 3, 4, 11, 12]) {
        const pages = await allPages(s, { clientId: 'c', limit });
        assert.deepEqual(pages.flat(), newestFirst, `limit ${limit}: every event once, in order`);
        assert.ok(pages.every((p) => p.length <= limit), `limit ${limit}: no page is longer`);
        assert.equal(pages.length, Math.max(1, Math.ceil(events.length / limit)), `limit ${limit}: no empty page at the end but for an exact fit`);
      }
      const first = await s.audit.query({ limit: 4 });
      assert.ok(first.next);
      // An event appended after the first page does not shift the next one.
      await s.audit.append({ type: 'transaction.created', at: T0 + 5, clientId: 'c', data: { i: 'late' } });
      assert.deepEqual((await s.audit.query({ limit: 4, before: first.next })).events, newestFirst.slice(4, 8));
      });
    });

    it('purgeOlderThan deletes the events before the time, all of them past one batch, and counts them', async () => {
      await withOwnStore(async (s) => {
      const old = AUDIT_PURGE_BATCH + 3;
      for (let i = 0; i < old; i++) await s.audit.append({ type: 'otp.issued', at: T0 + (i % 7), data: { i } });
      const kept = [
        { type: 'transaction.created', at: T0 + HOUR },
        { type: 'transaction.success', at: T0 + HOUR + 1 },
      ];
      for (const e of kept) await s.audit.append(e);
      assert.equal(await s.audit.purgeOlderThan(T0 + HOUR), old);
      assert.equal(await s.audit.purgeOlderThan(T0 + HOUR), 0, 'nothing left to purge');
      assert.deepEqual((await s.audit.query({ limit: 10 })).events, [...kept].reverse());
      });
    });

    it('smsCounts counts sends and failures per UTC day, country and provider within the range', async () => {
      await withOwnStore(async (s) => {
      const day = Date.UTC(2026, 2, 1);
      const sent = (at: number, country: string, provider: string): AuditEvent => ({ type: 'otp.issued', at, data: { to: '+44 ••••••0000', send: 1, country, provider } });
      const failed = (at: number, country: string, provider: string): AuditEvent => ({ type: 'otp.send_failed', at, data: { country, provider } });
      for (const e of [
        sent(day - 1, 'GB', 'twilio'), // the day before: outside the range
        sent(day, 'GB', 'twilio'),
        sent(day + HOUR, 'GB', 'twilio'),
        failed(day + HOUR, 'GB', 'twilio'),
        sent(day + 2 * HOUR, 'BE', 'twilio'),
        sent(day + 3 * HOUR, 'GB', 'webhook'),
        sent(day + 24 * HOUR - 1, 'BE', 'twilio'),
        failed(day + 24 * HOUR, 'BE', 'twilio'),
        { type: 'otp.issued', at: day + 24 * HOUR + 1, data: { to: '+32 ••••••0000', send: 1 } }, // written before countries were recorded
        { type: 'transaction.created', at: day + 5 * HOUR, data: { country: 'GB', provider: 'twilio' } }, // not an SMS
        sent(day + 48 * HOUR, 'GB', 'twilio'), // at the range's end: outside
      ]) {
        await s.audit.append(e);
      }
      assert.deepEqual(await s.audit.smsCounts({ from: day, to: day + 48 * HOUR }), [
        { day: '2026-03-01', country: 'BE', provider: 'twilio', sent: 2, failed: 0 },
        { day: '2026-03-01', country: 'GB', provider: 'twilio', sent: 2, failed: 1 },
        { day: '2026-03-01', country: 'GB', provider: 'webhook', sent: 1, failed: 0 },
        { day: '2026-03-02', country: null, provider: null, sent: 1, failed: 0 },
        { day: '2026-03-02', country: 'BE', provider: 'twilio', sent: 0, failed: 1 },
      ]);
      assert.deepEqual(await s.audit.smsCounts({ from: day + 72 * HOUR, to: day + 96 * HOUR }), []);
      });
    });

    it('loginCounts counts successful logins per UTC day, country and provider within the range', async () => {
      await withOwnStore(async (s) => {
        const day = Date.UTC(2026, 2, 1);
        const success = (at: number, provider: string, country?: string): AuditEvent => ({
          type: 'transaction.success',
          at,
          transactionId: `tx-${at}`,
          data: { from: 'WAITING_FOR_USER', provider, ...(country ? { country } : {}) },
        });
        for (const e of [
          success(day - 1, 'otp-sms', 'GB'), // the day before: outside the range
          success(day, 'otp-sms', 'GB'),
          success(day + HOUR, 'otp-sms', 'GB'),
          success(day + 2 * HOUR, 'otp-sms', 'BE'),
          success(day + 3 * HOUR, 'itsme'),
          { type: 'transaction.error', at: day + 4 * HOUR, data: { from: 'WAITING_FOR_USER', provider: 'otp-sms', country: 'GB' } },
          { type: 'otp.issued', at: day + 4 * HOUR, data: { country: 'GB', provider: 'twilio' } },
          success(day + 24 * HOUR, 'otp-sms', 'GB'),
          success(day + 48 * HOUR, 'otp-sms', 'GB'), // at the range's end: outside
        ]) {
          await s.audit.append(e);
        }
        assert.deepEqual(await s.audit.loginCounts({ from: day, to: day + 48 * HOUR }), [
          { day: '2026-03-01', country: null, provider: 'itsme', succeeded: 1 },
          { day: '2026-03-01', country: 'BE', provider: 'otp-sms', succeeded: 1 },
          { day: '2026-03-01', country: 'GB', provider: 'otp-sms', succeeded: 2 },
          { day: '2026-03-02', country: 'GB', provider: 'otp-sms', succeeded: 1 },
        ]);
      });
    });
  });

  describe('clients', () => {
    function makeClient(clientId: string, over: Partial<StoredClient> = {}): StoredClient {
      return {
        clientId,
        kind: 'oidc',
        settings: { clientId, redirectUris: ['https://rp.example/cb'], scopes: ['openid', 'phone'], pkce: 'required', extra: TRICKY_JSON },
        secrets: [
          { name: 'secret-1', sha256: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg', createdAt: T0 },
          { name: 'secret-2', sha256: 'LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ', createdAt: T0 + 1 },
        ],
        createdAt: T0,
        updatedAt: T0 + 2,
        ...over,
      };
    }
    /** The clients of one test (the store is shared), in the order list() gave them. */
    async function listed(tag: string): Promise<StoredClient[]> {
      return (await store.clients.list()).filter((c) => c.clientId.startsWith(tag));
    }

    it('put then get returns exactly what was written; null when unknown', async () => {
      const oidc = makeClient(`oidc-${randomUUID()}`);
      const api = makeClient(`api-${randomUUID()}`, { kind: 'api', settings: { permissions: ['authentication-rest-api'] }, secrets: [] });
      await store.clients.put(oidc);
      await store.clients.put(api);
      assert.deepEqual(await store.clients.get(oidc.clientId), oidc);
      assert.deepEqual(await store.clients.get(api.clientId), api);
      assert.equal(await store.clients.get('no-such-client'), null);
    });

    it('put replaces the client, every field of it', async () => {
      const first = makeClient(`replace-${randomUUID()}`);
      await store.clients.put(first);
      const second: StoredClient = {
        ...first,
        kind: 'api',
        settings: { permissions: [] },
        secrets: [{ name: 'rotated', sha256: 'Xh6x9WCZDzCnnaJ7-ZCfORt1sZeIpXaEYRBJXcsQ2qs', createdAt: T0 + 10 }],
        createdAt: T0 + 5,
        updatedAt: T0 + 10,
      };
      await store.clients.put(second);
      assert.deepEqual(await store.clients.get(first.clientId), second);
      assert.deepEqual(await listed(first.clientId), [second]);
    });

    it('remove removes the client and says whether there was one', async () => {
      const client = makeClient(`remove-${randomUUID()}`);
      await store.clients.put(client);
      assert.equal(await store.clients.remove(client.clientId), true);
      assert.equal(await store.clients.get(client.clientId), null);
      assert.deepEqual(await listed(client.clientId), []);
      assert.equal(await store.clients.remove(client.clientId), false);
    });

    it('list orders by clientId by code point (case and punctuation too), not by a locale', async () => {
      const tag = `list-${randomUUID()}`;
      // A locale's collation would put b before B, or ignore the punctuation.
      const ids = [`${tag}.b`, `${tag}-B`, `${tag}_a`, `${tag}-b`, `${tag}~`, `${tag}.A`, `${tag}-a9`, `${tag}-a10`];
      for (const id of ids) await store.clients.put(makeClient(id));
      assert.deepEqual(
        (await listed(tag)).map((c) => c.clientId),
        [...ids].sort(),
      );
    });

    it('the version changes on every put and remove, and not on reads or on removing nothing', async () => {
      const client = makeClient(`version-${randomUUID()}`);
      const v0 = await store.clients.version();
      assert.equal(await store.clients.version(), v0, 'reading it changes nothing');
      await store.clients.put(client);
      const v1 = await store.clients.version();
      assert.notEqual(v1, v0, 'changed by a put');
      await store.clients.get(client.clientId);
      await store.clients.list();
      assert.equal(await store.clients.version(), v1, 'not changed by reads');
      await store.clients.put({ ...client, updatedAt: client.updatedAt + 1 });
      const v2 = await store.clients.version();
      assert.ok(![v0, v1].includes(v2), 'changed by a replacing put');
      assert.equal(await store.clients.remove(client.clientId), true);
      const v3 = await store.clients.version();
      assert.ok(![v0, v1, v2].includes(v3), 'changed by a remove');
      assert.equal(await store.clients.remove(client.clientId), false);
      assert.equal(await store.clients.version(), v3, 'not changed by removing nothing');
    });

    it('a second store on the same database sees a put, a remove and each new version', async () => {
      const other = await backend.open(location);
      try {
        const client = makeClient(`shared-${randomUUID()}`);
        const before = await other.clients.version();
        await store.clients.put(client);
        assert.deepEqual(await other.clients.get(client.clientId), client);
        assert.deepEqual((await other.clients.list()).find((c) => c.clientId === client.clientId), client);
        const afterPut = await other.clients.version();
        assert.notEqual(afterPut, before);
        assert.equal(afterPut, await store.clients.version(), 'both stores read one version');
        assert.equal(await other.clients.remove(client.clientId), true);
        assert.equal(await store.clients.get(client.clientId), null);
        assert.notEqual(await store.clients.version(), afterPut);
      } finally {
        await other.close();
      }
    });

    /** An admin event about a client, as AdminService writes them. */
    const clientEvent = (clientId: string, type: string): AuditEvent => ({ type, at: T0, clientId, data: { actor: 'admin-client', kind: 'oidc' } });
    /** The store's audit events about a client, oldest first. */
    const eventsOf = async (clientId: string) => (await store.audit.query({ clientId, limit: 100 })).events.reverse().map((e) => e.type);
    /** An event the store cannot write (a NOT NULL column left null): its client change must not be written either. */
    const unwritable = (clientId: string) => ({ ...clientEvent(clientId, 'x'), type: null }) as unknown as AuditEvent;

    it('insert adds a new client with its audit event; an existing key is a StoreConflictError and writes nothing', async () => {
      const client = makeClient(`insert-${randomUUID()}`);
      const v0 = await store.clients.version();
      await store.clients.insert(client, clientEvent(client.clientId, 'admin.client.created'));
      assert.deepEqual(await store.clients.get(client.clientId), client);
      assert.deepEqual(await eventsOf(client.clientId), ['admin.client.created']);
      const v1 = await store.clients.version();
      assert.notEqual(v1, v0);
      await assert.rejects(store.clients.insert({ ...client, settings: { other: true } }, clientEvent(client.clientId, 'admin.client.created')), StoreConflictError);
      await assert.rejects(store.clients.insert({ ...client, settings: { other: true } }), StoreConflictError);
      assert.deepEqual(await store.clients.get(client.clientId), client, 'the first one stays');
      assert.deepEqual(await eventsOf(client.clientId), ['admin.client.created'], 'no event for the refused insert');
      assert.equal(await store.clients.version(), v1, 'the version stays');
    });

    it('of two concurrent inserts of one key, one wins and the other gets StoreConflictError', async () => {
      const clientId = `race-${randomUUID()}`;
      const contenders = [makeClient(clientId, { updatedAt: T0 + 1 }), makeClient(clientId, { updatedAt: T0 + 2 })];
      const results = await Promise.allSettled(contenders.map((c) => store.clients.insert(c, clientEvent(clientId, 'admin.client.created'))));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [contenders[i]!] : []));
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      assert.equal(won.length, 1, 'exactly one insert wins');
      assert.equal(lost.length, 1);
      assert.ok(lost[0] instanceof StoreConflictError, `the other gets the conflict: ${String(lost[0])}`);
      assert.deepEqual(await store.clients.get(clientId), won[0]);
      assert.deepEqual(await eventsOf(clientId), ['admin.client.created'], "only the winner's event");
    });

    it('put and remove write their audit event with the change; remove of nothing writes none', async () => {
      const client = makeClient(`audited-${randomUUID()}`);
      await store.clients.put(client, clientEvent(client.clientId, 'admin.client.created'));
      await store.clients.put({ ...client, updatedAt: T0 + 5 }, clientEvent(client.clientId, 'admin.client.updated'));
      assert.equal(await store.clients.remove(client.clientId, clientEvent(client.clientId, 'admin.client.deleted')), true);
      assert.equal(await store.clients.remove(client.clientId, clientEvent(client.clientId, 'admin.client.deleted')), false);
      assert.deepEqual(await eventsOf(client.clientId), ['admin.client.created', 'admin.client.updated', 'admin.client.deleted']);
    });

    it('a change whose audit event cannot be written is not written either', async () => {
      const client = makeClient(`unaudited-${randomUUID()}`);
      await store.clients.put(client);
      const version = await store.clients.version();
      await assert.rejects(store.clients.put({ ...client, settings: { changed: true }, updatedAt: T0 + 9 }, unwritable(client.clientId)));
      assert.deepEqual(await store.clients.get(client.clientId), client, 'put: the client is unchanged');
      await assert.rejects(store.clients.remove(client.clientId, unwritable(client.clientId)));
      assert.deepEqual(await store.clients.get(client.clientId), client, 'remove: the client is still there');
      const fresh = makeClient(`unaudited-${randomUUID()}`);
      await assert.rejects(store.clients.insert(fresh, unwritable(fresh.clientId)), (err) => !(err instanceof StoreConflictError));
      assert.equal(await store.clients.get(fresh.clientId), null, 'insert: no client');
      assert.equal(await store.clients.version(), version, 'the version stays');
      assert.deepEqual([...(await eventsOf(client.clientId)), ...(await eventsOf(fresh.clientId))], []);
    });

    describe('secret uses', () => {
      const use = (clientKey: string, secretName: string, at: number) => ({ clientKey, secretName, at });

      it('keeps the latest use of each secret, to SECRET_USE_PRECISION_MS, without changing the clients version', async () => {
        const key = `uses-${randomUUID()}`;
        const version = await store.clients.version();
        assert.deepEqual(await store.clients.secretUses(key), new Map());
        await store.clients.recordSecretUses([use(key, 'secret-1', T0), use(key, 'secret-2', T0 + 5), use(key, 'secret-1', T0 + 2)]);
        assert.deepEqual(await store.clients.secretUses(key), new Map([['secret-1', T0 + 2], ['secret-2', T0 + 5]]), 'the latest of a batch');
        await store.clients.recordSecretUses([use(key, 'secret-1', T0 + 2 + SECRET_USE_PRECISION_MS - 1), use(key, 'secret-2', T0)]);
        assert.deepEqual(await store.clients.secretUses(key), new Map([['secret-1', T0 + 2], ['secret-2', T0 + 5]]), 'neither a use less than the precision newer nor an older one is written');
        await store.clients.recordSecretUses([use(key, 'secret-1', T0 + 2 + SECRET_USE_PRECISION_MS)]);
        assert.deepEqual((await store.clients.secretUses(key)).get('secret-1'), T0 + 2 + SECRET_USE_PRECISION_MS);
        await store.clients.recordSecretUses([]);
        assert.equal(await store.clients.version(), version);
        assert.deepEqual(await store.clients.secretUses(`${key}-other`), new Map(), 'by client key');
      });

      it("put deletes the uses of secrets the client no longer has; remove and insert delete the client's", async () => {
        const client = makeClient(`pruned-${randomUUID()}`);
        await store.clients.put(client);
        await store.clients.recordSecretUses([use(client.clientId, 'secret-1', T0 + 10), use(client.clientId, 'secret-2', T0 + 20)]);
        await store.clients.put({ ...client, secrets: client.secrets.slice(1) });
        assert.deepEqual(await store.clients.secretUses(client.clientId), new Map([['secret-2', T0 + 20]]), 'the revoked secret-1 goes');
        assert.equal(await store.clients.remove(client.clientId), true);
        assert.deepEqual(await store.clients.secretUses(client.clientId), new Map(), 'removed with its client');
        // A batch written late, after its client was removed, is not the next client's of that id.
        await store.clients.recordSecretUses([use(client.clientId, 'secret-1', T0 + 30)]);
        await store.clients.insert(client);
        assert.deepEqual(await store.clients.secretUses(client.clientId), new Map());
      });

      it("purge deletes the uses of secrets neither a stored client's nor kept", async () => {
        const client = makeClient(`purged-${randomUUID()}`);
        await store.clients.put(client);
        const configKey = `config-${randomUUID()}`;
        const removedKey = `removed-${randomUUID()}`;
        await store.clients.recordSecretUses([
          use(client.clientId, 'secret-1', T0),
          use(client.clientId, 'not-a-secret-of-it', T0),
          use(configKey, 'secret-1', T0),
          use(configKey, 'secret-2', T0),
          use(removedKey, 'secret-1', T0),
        ]);
        const purged = await store.clients.purgeSecretUses([{ clientKey: configKey, secretName: 'secret-1' }]);
        assert.ok(purged >= 3, `purged ${purged}`);
        assert.deepEqual(await store.clients.secretUses(client.clientId), new Map([['secret-1', T0]]));
        assert.deepEqual(await store.clients.secretUses(configKey), new Map([['secret-1', T0]]));
        assert.deepEqual(await store.clients.secretUses(removedKey), new Map());
        assert.equal(await store.clients.purgeSecretUses([{ clientKey: configKey, secretName: 'secret-1' }]), 0, 'nothing left to purge');
      });

      it('a second store on the same database sees the uses', async () => {
        const other = await backend.open(location);
        try {
          const key = `shared-uses-${randomUUID()}`;
          await store.clients.recordSecretUses([use(key, 'secret-1', T0)]);
          assert.deepEqual(await other.clients.secretUses(key), new Map([['secret-1', T0]]));
        } finally {
          await other.close();
        }
      });
    });
  });

  describe('saml service providers', () => {
    /** An entityID is a URI, mostly a URL: '/' and ':' in the key must be fine. */
    function makeSp(entityId: string, over: Partial<StoredSamlServiceProvider> = {}): StoredSamlServiceProvider {
      return {
        entityId,
        metadata: `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}">Ελληνικά 😀</md:EntityDescriptor>`,
        settings: { requireSignedRequests: true, signResponse: false, extra: TRICKY_JSON },
        createdAt: T0,
        updatedAt: T0 + 2,
        ...over,
      };
    }
    const listed = async (tag: string) => (await store.samlServiceProviders.list()).filter((sp) => sp.entityId.startsWith(tag));

    it('put then get returns exactly what was written; null when unknown; put replaces every field', async () => {
      const sp = makeSp(`https://sp.example/${randomUUID()}/metadata`);
      await store.samlServiceProviders.put(sp);
      assert.deepEqual(await store.samlServiceProviders.get(sp.entityId), sp);
      assert.equal(await store.samlServiceProviders.get('https://sp.example/none'), null);
      const replaced = { ...sp, metadata: '<other/>', settings: { signResponse: true }, createdAt: T0 + 5, updatedAt: T0 + 10 };
      await store.samlServiceProviders.put(replaced);
      assert.deepEqual(await store.samlServiceProviders.get(sp.entityId), replaced);
      assert.deepEqual(await listed(sp.entityId), [replaced]);
    });

    it('is apart from the clients: an SP and a client may share a key', async () => {
      const id = `shared-key-${randomUUID()}`;
      await store.samlServiceProviders.put(makeSp(id));
      assert.equal(await store.clients.get(id), null);
      assert.equal(await store.clients.remove(id), false);
      assert.equal((await store.samlServiceProviders.get(id))?.entityId, id);
    });

    it('list orders by entityId by code point; remove says whether there was one', async () => {
      const tag = `urn:list:${randomUUID()}`;
      const ids = [`${tag}/b`, `${tag}/B`, `${tag}:a`, `${tag}/a10`, `${tag}/a9`, `${tag}~`];
      for (const id of ids) await store.samlServiceProviders.put(makeSp(id));
      assert.deepEqual((await listed(tag)).map((sp) => sp.entityId), [...ids].sort());
      assert.equal(await store.samlServiceProviders.remove(ids[0]!), true);
      assert.equal(await store.samlServiceProviders.get(ids[0]!), null);
      assert.equal(await store.samlServiceProviders.remove(ids[0]!), false);
    });

    it('the version changes on every put and remove, not on reads, removing nothing, or a client change', async () => {
      const sp = makeSp(`https://version.example/${randomUUID()}`);
      const v0 = await store.samlServiceProviders.version();
      await store.samlServiceProviders.put(sp);
      const v1 = await store.samlServiceProviders.version();
      assert.notEqual(v1, v0, 'changed by a put');
      await store.samlServiceProviders.get(sp.entityId);
      await store.samlServiceProviders.list();
      await store.clients.put({ clientId: `other-${randomUUID()}`, kind: 'api', settings: {}, secrets: [], createdAt: T0, updatedAt: T0 });
      assert.equal(await store.samlServiceProviders.version(), v1, 'not changed by reads nor by a client');
      await store.samlServiceProviders.put({ ...sp, updatedAt: sp.updatedAt + 1 });
      const v2 = await store.samlServiceProviders.version();
      assert.ok(![v0, v1].includes(v2), 'changed by a replacing put');
      assert.equal(await store.samlServiceProviders.remove(sp.entityId), true);
      const v3 = await store.samlServiceProviders.version();
      assert.ok(![v0, v1, v2].includes(v3), 'changed by a remove');
      assert.equal(await store.samlServiceProviders.remove(sp.entityId), false);
      assert.equal(await store.samlServiceProviders.version(), v3, 'not changed by removing nothing');
    });

    it('a second store on the same database sees a put, a remove and each new version', async () => {
      const other = await backend.open(location);
      try {
        const sp = makeSp(`https://shared.example/${randomUUID()}`);
        const before = await other.samlServiceProviders.version();
        await store.samlServiceProviders.put(sp);
        assert.deepEqual(await other.samlServiceProviders.get(sp.entityId), sp);
        const afterPut = await other.samlServiceProviders.version();
        assert.notEqual(afterPut, before);
        assert.equal(afterPut, await store.samlServiceProviders.version(), 'both stores read one version');
        assert.equal(await other.samlServiceProviders.remove(sp.entityId), true);
        assert.equal(await store.samlServiceProviders.get(sp.entityId), null);
        assert.notEqual(await store.samlServiceProviders.version(), afterPut);
      } finally {
        await other.close();
      }
    });
  });

  describe('ping, purgeExpired and close', () => {
    it('ping resolves on an open store', async () => {
      await store.ping();
    });

    it('purgeExpired removes what expired, counts it, and keeps live rows', async () => {
      // A store of its own, so the count is exactly what this test wrote.
      const where = await backend.create();
      const s = await backend.open(where);
      try {
        const now = T0 + 10 * 24 * HOUR;

        await s.oidc.upsert('AccessToken', 'expired', { x: 1 }, now - 1, {});
        await s.oidc.upsert('AccessToken', 'expires-now', { x: 2 }, now, {});
        await s.oidc.upsert('AccessToken', 'live', { x: 3 }, now + 1, {});
        await s.oidc.upsert('Client', 'forever', { x: 4 }, null, {});

        await s.subjects.put({ sub: 'old', provider: 'otp-sms', attributes: {}, updatedAt: T0, expiresAt: now - 1 });
        await s.subjects.put({ sub: 'live', provider: 'otp-sms', attributes: {}, updatedAt: T0, expiresAt: now + 1 });

        await s.counters.hit('past', MINUTE, now - 2 * MINUTE);
        await s.counters.hit('current', MINUTE, now);

        const stale = makeTx({ expiresAt: now - 25 * HOUR });
        const recent = makeTx({ expiresAt: now - 23 * HOUR });
        const live = makeTx({ expiresAt: now + HOUR });
        for (const tx of [stale, recent, live]) await s.transactions.create(tx);
        await s.otp.create(makeChallenge(stale.id));
        await s.otp.create(makeChallenge(stale.id));
        await s.otp.create(makeChallenge(recent.id));
        const staleState = makeProtocolState(stale.id);
        const recentState = makeProtocolState(recent.id, { protocol: 'saml', expiresAt: now - 24 * HOUR });
        await s.protocolState.create(staleState);
        await s.protocolState.create(recentState);
        await s.sessionNonces.issue(stale.id, 'stale-nonce', now - 25 * HOUR);

        // 2 oidc rows (one expiring exactly now), 1 subject, 1 counter, 1 transaction, its 2 challenges and its protocol state.
        assert.equal(await s.purgeExpired(now), 2 + 1 + 1 + 1 + 2 + 1);
        assert.equal(await s.purgeExpired(now), 0, 'nothing left to purge');

        // Read "as of" an earlier time so that only deletion, not expiry, can hide a row.
        const before = now - 10 * HOUR;
        assert.equal(await s.oidc.find('AccessToken', 'expired', before), undefined);
        assert.equal(await s.oidc.find('AccessToken', 'expires-now', before), undefined);
        assert.deepEqual(await s.oidc.find('AccessToken', 'live', before), { x: 3 });
        assert.deepEqual(await s.oidc.find('Client', 'forever', before), { x: 4 });
        assert.equal(await s.subjects.get('old', before), null);
        assert.notEqual(await s.subjects.get('live', before), null);
        assert.equal(await s.counters.hit('past', MINUTE, now - 2 * MINUTE), 1, 'the past window was removed');
        assert.equal(await s.counters.hit('current', MINUTE, now), 2, 'the current window was kept');
        assert.equal(await s.transactions.get(stale.id), null);
        assert.equal(await s.otp.countForTransaction(stale.id), 0);
        assert.deepEqual(await s.transactions.get(recent.id), recent);
        assert.equal(await s.otp.countForTransaction(recent.id), 1);
        assert.equal(await s.protocolState.get('rest', staleState.ref), null, 'removed with its transaction');
        await s.transactions.create({ ...stale, expiresAt: now + HOUR });
        assert.equal(await s.sessionNonces.consume(stale.id, 'stale-nonce', now), false, 'the nonce was removed with its transaction');
        assert.deepEqual(await s.protocolState.get('saml', recentState.ref), recentState, 'kept while its transaction is kept');
        assert.deepEqual(await s.transactions.get(live.id), live);
      } finally {
        await s.close();
        await backend.remove(where);
      }
    });

    it('after close, the store refuses work', async () => {
      const where = await backend.create();
      const s = await backend.open(where);
      await s.close();
      await assert.rejects(s.ping());
      await backend.remove(where);
    });
  });

  describe('migrations', () => {
    it('two stores opening one empty database at once apply each migration once', async () => {
      const where = await backend.create();
      const stores = await Promise.all([backend.open(where), backend.open(where)]);
      try {
        await stores[0]?.transactions.create(makeTx({ id: 'after-concurrent-migration' }));
        assert.equal((await stores[1]?.transactions.get('after-concurrent-migration'))?.id, 'after-concurrent-migration');
      } finally {
        for (const s of stores) await s.close();
        await backend.remove(where);
      }
    });
  });
}

function migrationCount(dialect: 'sqlite' | 'postgres'): number {
  return readdirSync(join(REPO_ROOT, 'src', 'store', dialect, 'migrations')).length;
}

function runChild(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: REPO_ROOT }, (_err, stdout, stderr) => {
      resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------

const sqliteDir = mkdtempSync(join(tmpdir(), 'eidhub-sqlite-test-'));
after(() => rmSync(sqliteDir, { recursive: true, force: true }));

const sqlite: Backend = {
  // A path in a folder that does not exist yet: opening must create it.
  create: async () => join(sqliteDir, randomUUID(), 'nested', 'eidhub.db'),
  // Every write of the suite is checked to have touched the read keys of what it changed.
  open: (path) => openSqliteStore({ path, checkTouches: true }),
  remove: async (path) => rmSync(join(path, '..', '..'), { recursive: true, force: true }),
};

describe('SQLite store', () => {
  contract(sqlite);

  describe('SQLite specifics', () => {
    it('creates the folder, uses WAL, and records migrations in schema_migrations', async () => {
      const path = await sqlite.create();
      const store = await openStore({ driver: 'sqlite', path });
      assert.equal(store.driver, 'sqlite');
      await store.close();
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
        assert.deepEqual(db.prepare('SELECT count(*) AS n FROM schema_migrations').get(), { n: migrationCount('sqlite') });
      } finally {
        db.close();
      }
      await sqlite.remove(path);
    });

    it('deleting a transaction cascades to its protocol state', async () => {
      const path = await sqlite.create();
      const store = await openSqliteStore({ path });
      const tx = makeTx();
      const record = makeProtocolState(tx.id);
      try {
        await store.transactions.create(tx);
        await store.protocolState.create(record);
        // A second connection, deleting only the transaction: the row must go through the schema's cascade.
        const db = new Database(path);
        try {
          db.pragma('foreign_keys = ON');
          assert.equal(db.prepare('DELETE FROM transactions WHERE id = ?').run(tx.id).changes, 1);
        } finally {
          db.close();
        }
        assert.equal(await store.protocolState.get('rest', record.ref), null);
      } finally {
        await store.close();
        await sqlite.remove(path);
      }
    });

    it('works in memory', async () => {
      const store = await openSqliteStore({ path: ':memory:' });
      const tx = makeTx();
      await store.transactions.create(tx);
      assert.deepEqual(await store.transactions.get(tx.id), tx);
      await store.close();
    });

    it('a write acknowledged just before SIGKILL is there after reopening', async () => {
      const path = await sqlite.create();
      const tx = makeTx();
      const challenge = makeChallenge(tx.id);
      const result = await runChild(['write-then-die', path, JSON.stringify(tx), JSON.stringify(challenge)]);
      assert.equal(result.signal, 'SIGKILL', `the child should have killed itself: ${result.stderr}`);
      const store = await openSqliteStore({ path });
      try {
        const sentAt = challenge.createdAt;
        const at = sentAt + 1;
        // Version 1 created, 2 claimed, 3 the send issue recorded (its authState kept), 4 verified.
        const issuedState = { phone: challenge.phoneNumber, sends: 1, lastSentAt: sentAt };
        assert.deepEqual(await store.transactions.get(tx.id), {
          ...tx,
          status: 'SUCCESS',
          provider: 'otp-sms',
          authState: issuedState,
          updatedAt: at,
          finishedAt: at,
          version: 4,
        });
        assert.equal((await store.otp.latest(tx.id))?.consumedAt, at);
        assert.deepEqual(await store.otp.latest(tx.id), { ...challenge, attempts: 1, consumedAt: at }, 'the challenge issue inserted, as verify left it');
        const events = await auditOf(store, tx.id);
        assert.deepEqual(events.map((e) => e.type), ['transaction.success', 'otp.issued']);
        assert.deepEqual(
          events[1],
          { type: 'otp.issued', at: sentAt, transactionId: tx.id, clientId: tx.clientId, data: { to: maskPhoneNumber(challenge.phoneNumber), send: 1 } },
          "issue's event",
        );
        assert.equal(await store.counters.hit(`number-${tx.id}`, HOUR, sentAt), 2, "issue's hit on the counter");
        const again = await store.otp.verify({
          id: challenge.id,
          now: at + 1,
          codeHash: challenge.codeHash,
          onMatch: { id: tx.id, expectedVersion: 4, patch: {}, audit: { type: 'transaction.success', at: at + 1, transactionId: tx.id } },
          onWrong: { type: 'otp.wrong', at: at + 1, transactionId: tx.id },
        });
        assert.equal(again.kind, 'void', 'a consumed code stays consumed');
      } finally {
        await store.close();
        await sqlite.remove(path);
      }
    });

    describe('reads inside an open batch (group commit)', () => {
      let path: string;
      let store: Store;
      before(async () => {
        path = await sqlite.create();
        store = await sqlite.open(path);
      });
      after(async () => {
        await store.close();
        await sqlite.remove(path);
      });

      /** Runs `start` in one turn and returns the order in which the labelled promises settled. */
      async function settleOrder(start: () => Record<string, Promise<unknown>>): Promise<string[]> {
        const order: string[] = [];
        const labelled = Object.entries(start()).map(([label, p]) => p.then(() => order.push(label)));
        await Promise.all(labelled);
        return order;
      }

      it('a read of what an uncommitted write touched answers after the write is acknowledged; other reads at once', async () => {
        const tx = makeTx();
        const other = makeTx();
        await store.transactions.create(tx);
        await store.transactions.create(other);
        let read: Promise<Transaction | null> | undefined;
        const order = await settleOrder(() => ({
          write: store.transactions.update(tx.id, 1, { language: 'fi' }),
          read: (read = store.transactions.get(tx.id)),
          untouched: store.transactions.get(other.id),
        }));
        assert.deepEqual(order, ['untouched', 'write', 'read']);
        assert.equal((await read)?.language, 'fi', 'the read answers with the write it waited for');
      });

      it('an issued challenge, an audit event and a transaction change are read only once committed', async () => {
        const tx = makeWaitingTx();
        await store.transactions.create(tx);
        const challenge = makeChallenge(tx.id);
        const audit: AuditEvent = { type: 'otp.issued', at: T0, transactionId: tx.id };
        const order = await settleOrder(() => ({
          issue: store.otp.issue({
            now: T0,
            counter: { key: `n-${tx.id}`, windowMs: HOUR, limit: 5 },
            change: { id: tx.id, expectedVersion: 1, patch: { authState: { phone: '+447700900000' } }, audit },
            challenge,
          }),
          latest: store.otp.latest(tx.id),
          count: store.otp.countForTransaction(tx.id),
          audit: store.audit.recent(1),
          tx: store.transactions.get(tx.id),
        }));
        assert.deepEqual(order, ['issue', 'latest', 'count', 'audit', 'tx']);
      });

      it('oidc rows: a revoked grant, a consumed row and a changed uid are read only once committed', async () => {
        const grant = `grant-${randomUUID()}`;
        const ids = { at: randomUUID(), code: randomUUID(), session: randomUUID(), keep: randomUUID() };
        await store.oidc.upsert('AccessToken', ids.at, { a: 1 }, null, { grantId: grant });
        await store.oidc.upsert('AuthorizationCode', ids.code, { c: 1 }, null, {});
        await store.oidc.upsert('Session', ids.session, { s: 1 }, null, { uid: `old-${ids.session}` });
        await store.oidc.upsert('AccessToken', ids.keep, { k: 1 }, null, {});
        const order = await settleOrder(() => ({
          revoke: store.oidc.revokeByGrantId(grant),
          consume: store.oidc.consume('AuthorizationCode', ids.code, T0),
          upsert: store.oidc.upsert('Session', ids.session, { s: 2 }, null, { uid: `new-${ids.session}` }),
          revoked: store.oidc.find('AccessToken', ids.at, T0),
          consumed: store.oidc.find('AuthorizationCode', ids.code, T0),
          oldUid: store.oidc.findByUid('Session', `old-${ids.session}`, T0),
          untouched: store.oidc.find('AccessToken', ids.keep, T0),
        }));
        assert.deepEqual(order, ['untouched', 'revoke', 'consume', 'upsert', 'revoked', 'consumed', 'oldUid']);
      });

      it('an ordered write answers before its commit, but a read of it and the next durable write only after', async () => {
        const ids = { session: randomUUID(), code: randomUUID() };
        const order = await settleOrder(() => ({
          session: store.oidc.upsert('Session', ids.session, { s: 1 }, null, { uid: `uid-${ids.session}` }, 'ordered'),
          // Started after the durable write: it settles after it only if it waited for the commit.
          code: store.oidc.upsert('AuthorizationCode', ids.code, { c: 1 }, null, {}),
          read: store.oidc.findByUid('Session', `uid-${ids.session}`, T0),
        }));
        assert.deepEqual(order, ['session', 'code', 'read']);
        // Committed with the durable write: another connection sees it.
        const reader = new Database(path, { readonly: true });
        try {
          assert.ok(reader.prepare('SELECT 1 FROM oidc_models WHERE model = ? AND id = ?').get('Session', ids.session));
        } finally {
          reader.close();
        }
      });

      it('while a purge is uncommitted every read waits for it', async () => {
        const tx = makeTx();
        await store.transactions.create(tx);
        const order = await settleOrder(() => ({
          purge: store.purgeExpired(T0),
          read: store.transactions.get(tx.id),
        }));
        assert.deepEqual(order, ['purge', 'read']);
      });
    });

    describe('the touch check (checkTouches)', () => {
      it('fails a write that changes a row without touching its read keys, naming the write and the key', async () => {
        const path = await sqlite.create();
        const db = await openSqliteDatabase(path);
        const batch = new GroupCommit(db, createTouchCheck(db));
        try {
          const insertKey = db.prepare<[string]>(`INSERT INTO keys (kid, alg, private_jwk, created_at) VALUES (?, 'ES256', '{}', ${T0})`);
          await batch.write('insert touching', (touch) => {
            insertKey.run('k1');
            touch(key.keys);
          });
          await assert.rejects(batch.write('insert forgetting', () => insertKey.run('k2')), {
            message: /^write insert forgetting changed a keys row \(\{\}\) without touching its read key "keys"/,
          });

          // An update counts with the row before and after it: moving a row's uid changes reads of the old uid too.
          const upsertSession = db.prepare<[string]>(
            "INSERT INTO oidc_models (model, id, payload, uid) VALUES ('Session', 's1', '{}', ?) ON CONFLICT (model, id) DO UPDATE SET uid = excluded.uid",
          );
          await batch.write('session created', (touch) => {
            upsertSession.run('old');
            touch(key.oidc('Session', 's1'));
            touch(key.oidcUid('Session', 'old'));
          });
          await assert.rejects(
            batch.write('session moved', (touch) => {
              upsertSession.run('new');
              touch(key.oidc('Session', 's1'));
              touch(key.oidcUid('Session', 'new'));
            }),
            { message: /^write session moved changed a oidc_models row .* without touching its read key "oidcuid:Session:old"/ },
          );

          // A counter is read by its key (CounterStore.counts); EVERY_KEY covers every row.
          const hitCounter = db.prepare<[string]>(`INSERT INTO counters (key, window_start, window_end, count) VALUES (?, 0, 1, 1)`);
          await assert.rejects(batch.write('counter hit', () => hitCounter.run('c')), { message: /without touching its read key "counter:c"/ });
          await batch.write('counter hit', (touch) => {
            hitCounter.run('d');
            touch(key.counter('d'));
          });
          await batch.write('purge', (touch) => {
            touch(EVERY_KEY);
            db.prepare('DELETE FROM keys').run();
          });
          // A failed op's rows are rolled back and forgotten: the next op is judged on its own.
          await assert.rejects(batch.writeAtomic('failing', () => {
            insertKey.run('k3');
            throw new Error('op failed');
          }), /op failed/);
          await batch.write('read-only op', () => undefined);
        } finally {
          batch.commit();
          db.close();
          await sqlite.remove(path);
        }
      });

      it('refuses to start on a table it knows no read keys for', async () => {
        const path = await sqlite.create();
        const db = await openSqliteDatabase(path);
        try {
          db.exec('CREATE TABLE other_app (x INTEGER)');
          assert.throws(() => createTouchCheck(db), /knows no read keys for the table\(s\) other_app/);
        } finally {
          db.close();
          await sqlite.remove(path);
        }
      });
    });

    it('opens a file whose write lock another connection holds for a moment (SQLite answers BUSY at once there)', async () => {
      const path = await sqlite.create();
      mkdirSync(dirname(path), { recursive: true });
      const other = new Database(path);
      other.exec('CREATE TABLE other_app (x INTEGER)');
      other.exec('BEGIN IMMEDIATE');
      other.exec('INSERT INTO other_app VALUES (1)');
      // Released on a later turn: the open must wait for it rather than fail on the first try.
      const released = new Promise<void>((resolve) =>
        setTimeout(() => {
          other.exec('COMMIT');
          resolve();
        }, 50),
      );
      try {
        const store = await openSqliteStore({ path });
        await released;
        await store.ping();
        await store.close();
      } finally {
        await released;
        other.close();
      }
      await sqlite.remove(path);
    });

    it('two processes starting on one new file at once both open it, migrations applied once', async () => {
      const path = await sqlite.create();
      const results = await Promise.all([runChild(['open', path]), runChild(['open', path])]);
      for (const r of results) assert.equal(r.stdout, 'opened\n', r.stderr);
      const db = new Database(path, { readonly: true });
      try {
        assert.deepEqual(db.prepare('SELECT count(*) AS n FROM schema_migrations').get(), { n: migrationCount('sqlite') });
      } finally {
        db.close();
      }
      await sqlite.remove(path);
    });
  });
});

// Under CI=true a missing server throws; that becomes a failing test below rather than an
// error outside any test, so the SQLite results are still reported.
const pgProbe = await getTestPostgresUrl().then(
  (url) => ({ url, error: undefined }),
  (error: unknown) => ({ url: null, error }),
);
const pgUrl = pgProbe.url;
const pgSkip =
  pgUrl || pgProbe.error
    ? false
    : 'no PostgreSQL: set EIDHUB_DATABASE_URL or install the Debian server package (postgresql); skipped because CI is not "true"';

const postgres: Backend = {
  create: async () => {
    const url = await getTestPostgresUrl();
    if (!url) throw new Error('PostgreSQL went away during the run');
    return url;
  },
  open: (url) => openPostgresStore({ url, poolSize: 10 }),
  remove: (url) => dropTestDatabase(url),
};

describe('PostgreSQL store', { skip: pgSkip }, () => {
  if (pgProbe.error !== undefined) {
    it('has a PostgreSQL server', () => {
      throw pgProbe.error;
    });
    return;
  }
  after(async () => {
    if (pgUrl) await dropTestDatabase(pgUrl);
  });

  contract(postgres);

  describe('PostgreSQL specifics', () => {
    it('deleting a transaction cascades to its protocol state', async () => {
      const url = await postgres.create();
      const store = await postgres.open(url);
      const client = new pg.Client({ connectionString: url });
      try {
        const tx = makeTx();
        const record = makeProtocolState(tx.id);
        await store.transactions.create(tx);
        await store.protocolState.create(record);
        await client.connect();
        // Deleting only the transaction: the row must go through the schema's cascade.
        assert.equal((await client.query('DELETE FROM transactions WHERE id = $1', [tx.id])).rowCount, 1);
        assert.equal(await store.protocolState.get('rest', record.ref), null);
      } finally {
        await client.end();
        await store.close();
        await postgres.remove(url);
      }
    });

    it('returns BIGINT as numbers, stores JSON as jsonb, and records migrations', async () => {
      if (!pgUrl) return;
      const store = await openStore({ driver: 'postgres', url: pgUrl, poolSize: 2 });
      assert.equal(store.driver, 'postgres');
      const tx = makeTx();
      await store.transactions.create(tx);
      const read = await store.transactions.get(tx.id);
      assert.equal(typeof read?.createdAt, 'number');
      assert.equal(read?.createdAt, T0);
      await store.close();

      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        const types = await client.query<{ column_name: string; data_type: string }>(
          `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'transactions' AND column_name IN ('auth_state', 'created_at')
           ORDER BY column_name`,
        );
        assert.deepEqual(types.rows, [
          { column_name: 'auth_state', data_type: 'jsonb' },
          { column_name: 'created_at', data_type: 'bigint' },
        ]);
        const applied = await client.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
        assert.equal(Number(applied.rows[0]?.n), migrationCount('postgres'));
      } finally {
        await client.end();
      }
    });
  });
});

describe('migrations folder', () => {
  it('is found beside the module under src/, and under src/ from a compiled module in dist/', () => {
    const srcModule = pathToFileURL(join(REPO_ROOT, 'src', 'store', 'sqlite', 'index.ts')).href;
    assert.equal(migrationsDir(srcModule, 'sqlite'), join(REPO_ROOT, 'src', 'store', 'sqlite', 'migrations'));
    const distModule = pathToFileURL(join(REPO_ROOT, 'dist', 'store', 'postgres', 'index.js')).href;
    assert.equal(migrationsDir(distModule, 'postgres'), join(REPO_ROOT, 'src', 'store', 'postgres', 'migrations'));
  });
});
