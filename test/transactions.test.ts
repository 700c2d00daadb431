/**
 * The transaction service's listeners of finished transactions (TransactionService.onFinal), on a
 * real SQLite store: told once of each transaction this process ends, whatever ended it, after
 * the store has it; never of a change that leaves it open; a failing listener fails nothing.
 * And the provider chooser's write (TransactionService.choose): once, compare-and-set, audited.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Transaction } from '../src/core/transaction.js';
import { TransactionService } from '../src/core/transactions.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/types.js';
import { tempSqlitePath } from './support/eidhub.js';

const T0 = 1_750_000_000_000;

describe('TransactionService.onFinal', () => {
  let store: Store;
  let clock = T0;
  const reported: Array<{ err: unknown; tx: string }> = [];
  let service: TransactionService;

  before(async () => {
    store = await openSqliteStore({ path: tempSqlitePath() });
    service = new TransactionService(store, () => clock, (err, tx) => reported.push({ err, tx: tx.id }));
  });

  after(async () => {
    await store.close();
  });

  const create = (allowedProviders = ['otp-sms']) =>
    service.create({
      accountId: 'a-1',
      protocol: 'rest',
      protocolRef: randomUUID(),
      clientId: 'client-1',
      allowedProviders,
      language: null,
      prefilledInput: {},
      providerParams: {},
      requestedAttributes: [],
      requestedLoa: null,
      lifetimeMs: 60_000,
    });

  /** Lets queued listeners run. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('tells every listener once of each ending, with the stored transaction, and nothing of open ones', async () => {
    const heard: Transaction[] = [];
    const alsoHeard: string[] = [];
    const stop = service.onFinal((tx) => {
      heard.push(tx);
    });
    service.onFinal((tx) => {
      alsoHeard.push(tx.id);
    });
    const waiting = await service.claim(await create(), 'binding');
    await service.updateWaiting(waiting, { language: 'nl' });
    await settle();
    assert.equal(heard.length, 0, 'creating, claiming and updating end nothing');

    const success = await service.transition(await service.get(waiting.id).then((t) => t!), 'SUCCESS', {
      subject: { id: 'sub-1', idpId: 'p', attributes: {} },
      loa: 'low',
    });
    const cancelled = await service.cancel(await create());
    const toExpire = await create();
    clock += 61_000;
    const expired = await service.get(toExpire.id);
    await settle();
    assert.equal(expired?.status, 'ERROR');
    assert.deepEqual(
      heard.map((t) => [t.id, t.status]),
      [
        [success.id, 'SUCCESS'],
        [cancelled.id, 'CANCELLED'],
        [expired!.id, 'ERROR'],
      ],
    );
    assert.deepEqual(alsoHeard, heard.map((t) => t.id));
    assert.deepEqual(heard[0], await store.transactions.get(success.id), 'the transaction as stored');
    stop();
    await service.abort(await service.claim(await create(), 'b2'));
    await settle();
    assert.equal(heard.length, 3, 'an unsubscribed listener hears no more');
  });

  it('hands a failing listener’s error to the reporter; the ending stands', async () => {
    const stop = service.onFinal(() => {
      throw new Error('listener broke');
    });
    const stopAsync = service.onFinal(async () => {
      throw new Error('async listener broke');
    });
    const tx = await service.cancel(await create());
    await settle();
    stop();
    stopAsync();
    assert.equal(tx.status, 'CANCELLED');
    assert.equal((await store.transactions.get(tx.id))?.status, 'CANCELLED');
    assert.deepEqual(
      reported.filter((r) => r.tx === tx.id).map((r) => (r.err as Error).message).sort(),
      ['async listener broke', 'listener broke'],
    );
  });

  it('choose records the chosen provider once, with its parameters, compare-and-set and audited', async () => {
    const created = await create(['otp-sms', 'other']);
    assert.equal(created.provider, null, 'several providers: none chosen yet');
    await assert.rejects(service.choose(created, 'otp-sms', { providerParams: {}, prefilledInput: {} }), { code: 'transaction_final' }, 'only while waiting for the user');
    const waiting = await service.claim(created, 'binding');
    await assert.rejects(service.choose(waiting, 'nope', { providerParams: {}, prefilledInput: {} }), { code: 'provider_not_allowed' });

    const chosen = await service.choose(waiting, 'other', { providerParams: { p: '1' }, prefilledInput: { mobile: '+447700900000' } });
    assert.deepEqual([chosen.provider, chosen.providerParams, chosen.prefilledInput, chosen.version], ['other', { p: '1' }, { mobile: '+447700900000' }, waiting.version + 1]);
    assert.deepEqual(await store.transactions.get(chosen.id), chosen, 'as stored');
    const [event] = await store.audit.recent(1);
    assert.deepEqual([event?.type, event?.transactionId, event?.data], ['transaction.provider_chosen', chosen.id, { provider: 'other' }]);

    await assert.rejects(service.choose(waiting, 'otp-sms', { providerParams: {}, prefilledInput: {} }), { code: 'transaction_changed' }, 'a stale copy loses');
    await assert.rejects(service.choose(chosen, 'otp-sms', { providerParams: {}, prefilledInput: {} }), { code: 'transaction_changed' }, 'chosen once');
    assert.equal((await store.transactions.get(chosen.id))?.provider, 'other');
  });
});
