/**
 * src/audit/: the CSV export, the Admin API's parameters turned into store queries, and the
 * retention purge. The store queries themselves are in the store contract suite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auditCsv, auditCsvLine, csvCell, csvLine } from '../src/audit/csv.js';
import { AUDIT_LIMIT_DEFAULT, auditQueryFromParams, encodeAuditCursor, countsRangeFromParams, type QueryParams } from '../src/audit/query-params.js';
import { auditCutoff, purgeStore } from '../src/audit/retention.js';
import { EidhubError } from '../src/core/errors.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { AuditEvent, Store } from '../src/store/types.js';

const T0 = Date.UTC(2026, 2, 1, 12);
const DAY = 24 * 60 * 60 * 1000;

/** Reads RFC 4180 text back into rows of cells, for checking what the writer wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      const end = /^"((?:[^"]|"")*)"/.exec(text.slice(i));
      assert.ok(end, `an unterminated quoted cell at ${i}`);
      cell = (end[1] ?? '').replaceAll('""', '"');
      i += end[0].length;
    } else {
      const plain = /^[^,\r\n"]*/.exec(text.slice(i))?.[0] ?? '';
      cell = plain;
      i += plain.length;
    }
    row.push(cell);
    if (text[i] === ',') i += 1;
    else {
      assert.equal(text.slice(i, i + 2), '\r\n', `a line ends with CRLF at ${i}`);
      rows.push(row);
      row = [];
      i += 2;
    }
  }
  return rows;
}

describe('audit CSV', () => {
  it('quotes cells with commas, quotes and line breaks, and only those', () => {
    assert.equal(csvCell('plain text'), 'plain text');
    assert.equal(csvCell(''), '');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    assert.equal(csvCell('cr\rhere'), '"cr\rhere"');
    assert.equal(csvLine(['a', 'b,c', '']), 'a,"b,c",\r\n');
  });

  it('defuses cells a spreadsheet would run as a formula', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) {
      const cell = csvCell(`${start}HYPERLINK("http://evil.example")`);
      const [[read]] = parseCsv(`${cell}\r\n`) as [[string]];
      assert.equal(read, `'${start}HYPERLINK("http://evil.example")`, JSON.stringify(start));
    }
    assert.equal(csvCell('a=b'), 'a=b', 'only a first character counts');
  });

  it('writes an event with its time in UTC ISO 8601, absent fields empty and data as JSON', () => {
    const event: AuditEvent = { type: 'otp.issued', at: T0, transactionId: 'tx-1', clientId: '=cmd', data: { to: '+44 ••••••0000', note: 'a, "b"' } };
    assert.deepEqual(parseCsv(auditCsvLine(event)), [['2026-03-01T12:00:00.000Z', 'otp.issued', "'=cmd", 'tx-1', JSON.stringify(event.data)]]);
    assert.deepEqual(parseCsv(auditCsvLine({ type: 'server.started', at: T0 })), [['2026-03-01T12:00:00.000Z', 'server.started', '', '', '']]);
  });

  describe('export from a store', () => {
    let store: Store;
    const events: AuditEvent[] = [];
    before(async () => {
      store = await openSqliteStore({ path: ':memory:' });
      // More than one page of the export's, many at one time, two clients.
      for (let i = 0; i < 1203; i++) events.push({ type: i % 3 === 0 ? 'transaction.created' : 'otp.issued', at: T0 + Math.floor(i / 10), clientId: i % 2 ? 'a' : 'b', data: { i } });
      for (const e of events) await store.audit.append(e);
    });
    after(() => store.close());

    const exported = async (query: Parameters<typeof auditCsv>[1], maxRows: number) => {
      let text = '';
      for await (const chunk of auditCsv(store, query, maxRows)) text += chunk;
      return parseCsv(text);
    };
    const linesOf = (list: AuditEvent[]) => list.map((e) => parseCsv(auditCsvLine(e))[0]);

    it('writes the header and every matching event, newest first, across pages', async () => {
      const rows = await exported({ clientId: 'a' }, 10_000);
      assert.deepEqual(rows[0], ['at', 'type', 'clientId', 'transactionId', 'data']);
      assert.deepEqual(rows.slice(1), linesOf(events.filter((e) => e.clientId === 'a').reverse()));
    });

    it('stops at maxRows', async () => {
      const rows = await exported({}, 701);
      assert.deepEqual(rows.slice(1), linesOf([...events].reverse().slice(0, 701)));
      assert.deepEqual(await exported({ types: ['no.such'] }, 10), [['at', 'type', 'clientId', 'transactionId', 'data']]);
    });
  });
});

/** The 400 error thrown for `params`, whose field is checked to be `field`. */
function refusal(params: QueryParams, field: string, parse: (p: QueryParams) => unknown = auditQueryFromParams): string {
  try {
    parse(params);
  } catch (err) {
    assert.ok(err instanceof EidhubError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.field, field, err.message);
    assert.ok(err.message.startsWith(`${field}: `), err.message);
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(params)}`);
}

describe('audit query parameters', () => {
  it('make the store query', () => {
    assert.deepEqual(auditQueryFromParams({}), { limit: AUDIT_LIMIT_DEFAULT });
    assert.deepEqual(
      auditQueryFromParams({ from: '2026-03-01', to: '2026-03-01T13:30:00+01:00', clientId: 'shop', type: ['otp.issued,transaction.success', 'otp.issued'], cursor: encodeAuditCursor({ at: T0, seq: 42 }), limit: '25' }),
      { from: Date.UTC(2026, 2, 1), to: Date.UTC(2026, 2, 1, 12, 30), clientId: 'shop', types: ['otp.issued', 'transaction.success'], before: { at: T0, seq: 42 }, limit: 25 },
    );
    assert.equal(auditQueryFromParams({ limit: '1000' }).limit, 1000);
  });

  it('refuse what is not valid, naming the parameter', () => {
    for (const from of ['yesterday', '2026-02-30', '2026-03-01T12:00:00', '1750000000000', '']) refusal({ from }, 'from');
    refusal({ to: '2026-03-01', from: '2026-03-01' }, 'to');
    refusal({ to: '2026-03-01', from: '2026-03-02' }, 'to');
    for (const limit of ['0', '1001', '-1', '1.5', 'ten', '']) refusal({ limit }, 'limit');
    refusal({ limit: ['10', '20'] }, 'limit');
    for (const type of ['Otp', 'otp issued', '', 'a,,b', Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')]) refusal({ type }, 'type');
    for (const cursor of ['abc', '1.2.3', '-1.2', '1.', `${'9'.repeat(16)}.1`]) refusal({ cursor }, 'cursor');
    refusal({ clientId: '' }, 'clientId');
    refusal({ clientId: 'x'.repeat(257) }, 'clientId');
    refusal({ clientId: ['a', 'b'] }, 'clientId');
  });

  it('make the range of the counts: 30 days before now by default, at most 366 days', () => {
    const now = T0;
    const counts = (p: QueryParams) => countsRangeFromParams(p, now);
    assert.deepEqual(counts({}), { from: now - 30 * DAY, to: now });
    assert.deepEqual(counts({ from: '2026-01-01' }), { from: Date.UTC(2026, 0, 1), to: now });
    assert.deepEqual(counts({ to: '2026-02-01' }), { from: Date.UTC(2026, 1, 1) - 30 * DAY, to: Date.UTC(2026, 1, 1) });
    assert.deepEqual(counts({ from: '2025-01-01', to: '2026-01-02' }), { from: Date.UTC(2025, 0, 1), to: Date.UTC(2026, 0, 2) });
    refusal({ from: '2025-01-01', to: '2026-01-03' }, 'from', counts);
    refusal({ from: '2026-04-01' }, 'from', counts);
    refusal({ from: 'soon' }, 'from', counts);
  });
});

describe('audit retention', () => {
  it('the purge removes audit events older than the retention, with the expired rows', async () => {
    const store = await openSqliteStore({ path: ':memory:', checkTouches: true });
    try {
      const now = T0 + 400 * DAY;
      const cutoff = auditCutoff(now, 90);
      assert.equal(cutoff, now - 90 * DAY);
      const kept = [
        { type: 'transaction.created', at: cutoff },
        { type: 'transaction.success', at: now },
      ];
      for (const e of [{ type: 'transaction.created', at: T0 }, { type: 'otp.issued', at: cutoff - 1 }, ...kept]) await store.audit.append(e);
      await store.oidc.upsert('AccessToken', 'expired', { x: 1 }, now - 1, {});
      assert.deepEqual(await purgeStore(store, now, 90), { expired: 1, auditEvents: 2 });
      assert.deepEqual((await store.audit.query({ limit: 10 })).events, [...kept].reverse());
      assert.deepEqual(await purgeStore(store, now, 90), { expired: 0, auditEvents: 0 });
      assert.deepEqual(await purgeStore(store, now, 1), { expired: 0, auditEvents: 1 }, 'a shorter retention removes more');
    } finally {
      await store.close();
    }
  });
});
