/**
 * The audit log as CSV (RFC 4180): a header line, then one line per event, CRLF after each line.
 * A cell is quoted when it holds a comma, a quote or a line break, its quotes doubled. A cell that
 * a spreadsheet would run as a formula (first character = + - @, or a tab or carriage return that
 * some spreadsheets skip before one) gets a leading apostrophe, so an event's client id or data
 * cannot become a formula on the operator's machine (OWASP "CSV injection").
 */
import type { AuditEvent, AuditQuery, Store } from '../store/types.js';

export const AUDIT_CSV_COLUMNS = ['at', 'type', 'clientId', 'transactionId', 'data'] as const;

/** How many events the export reads per page. */
const EXPORT_PAGE = 500;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell, made safe for spreadsheets and quoted as RFC 4180 requires. */
export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One line of cells, with its CRLF. */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** The event's line: its time in ISO 8601 (UTC), absent fields empty, data as JSON. */
export function auditCsvLine(e: AuditEvent): string {
  return csvLine([new Date(e.at).toISOString(), e.type, e.clientId ?? '', e.transactionId ?? '', e.data === undefined ? '' : JSON.stringify(e.data)]);
}

/**
 * The CSV of every event `query` matches (its `before` and `limit` are the export's: it pages
 * through the store itself), newest first, at most `maxRows` events, in chunks of one page so a
 * caller can stream it.
 */
export async function* auditCsv(store: Pick<Store, 'audit'>, query: Omit<AuditQuery, 'limit'>, maxRows: number): AsyncGenerator<string> {
  yield csvLine(AUDIT_CSV_COLUMNS);
  let left = maxRows;
  let before = query.before;
  while (left > 0) {
    const page = await store.audit.query({ ...query, before, limit: Math.min(EXPORT_PAGE, left) });
    if (page.events.length > 0) yield page.events.map(auditCsvLine).join('');
    left -= page.events.length;
    if (!page.next) return;
    before = page.next;
  }
}
