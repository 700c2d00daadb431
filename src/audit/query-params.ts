/**
 * The Admin API's audit parameters (query string) turned into store queries. Every refusal is a
 * 400 EidhubError naming the parameter at fault. Parameters other than these are left to the
 * caller (e.g. a format switch).
 *
 * - `from`, `to`: ISO 8601, a date-time with its offset (`2026-03-01T12:00:00Z`) or a UTC date
 *   (`2026-03-01`, its midnight); `from` inclusive, `to` exclusive.
 * - `clientId`: one client.
 * - `type`: event types, repeated or comma-separated.
 * - `cursor`: a page's `next`, as encodeAuditCursor wrote it.
 * - `limit`: events per page.
 */
import { badRequest } from '../core/errors.js';
import type { AuditCursor, AuditQuery } from '../store/types.js';

/** A parsed query string: a repeated parameter is an array. */
export type QueryParams = Readonly<Record<string, string | readonly string[] | undefined>>;

export const AUDIT_LIMIT_DEFAULT = 100;
export const AUDIT_LIMIT_MAX = 1000;
const MAX_TYPES = 20;
const MAX_CLIENT_ID = 256;
const TYPE = /^[a-z][a-z0-9_.-]{0,63}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const CURSOR = /^(\d{1,15})\.(\d{1,15})$/;
const DAY_MS = 24 * 60 * 60 * 1000;
/** The widest range of counts (SMS, logins) one request may ask for, and the one given when none is asked for. */
export const COUNTS_MAX_DAYS = 366;
export const COUNTS_DEFAULT_DAYS = 30;

const invalid = (field: string, message: string) => badRequest('invalid_request', `${field}: ${message}`, field);

/** The single value of a parameter; refused when repeated. */
function single(params: QueryParams, field: string): string | undefined {
  const value = params[field];
  if (value === undefined || typeof value === 'string') return value;
  if (value.length === 1) return value[0];
  throw invalid(field, 'given more than once');
}

/** Epoch ms of an ISO 8601 date or date-time with offset. */
function time(params: QueryParams, field: string): number | undefined {
  const value = single(params, field);
  if (value === undefined) return undefined;
  const at = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : DATE_TIME.test(value) ? Date.parse(value) : NaN;
  // Date.parse accepts 2026-02-30 as 2026-03-02; a date that does not round-trip is not a date.
  if (Number.isNaN(at) || (DATE.test(value) && new Date(at).toISOString().slice(0, 10) !== value)) {
    throw invalid(field, 'must be an ISO 8601 date (2026-03-01) or date-time with offset (2026-03-01T12:00:00Z)');
  }
  return at;
}

function range(params: QueryParams): { from: number | undefined; to: number | undefined } {
  const from = time(params, 'from');
  const to = time(params, 'to');
  if (from !== undefined && to !== undefined && to <= from) throw invalid('to', 'must be after from');
  return { from, to };
}

/** A page's `next` as a query parameter. */
export function encodeAuditCursor(cursor: AuditCursor): string {
  return `${cursor.at}.${cursor.seq}`;
}

function cursor(params: QueryParams): AuditCursor | undefined {
  const value = single(params, 'cursor');
  if (value === undefined) return undefined;
  const m = CURSOR.exec(value);
  if (!m) throw invalid('cursor', 'must be the cursor of a previous page');
  return { at: Number(m[1]), seq: Number(m[2]) };
}

function types(params: QueryParams): string[] | undefined {
  const value = params.type;
  if (value === undefined) return undefined;
  const list = (typeof value === 'string' ? [value] : value).flatMap((v) => v.split(',')).map((t) => t.trim());
  if (list.length > MAX_TYPES) throw invalid('type', `at most ${MAX_TYPES} types`);
  const bad = list.find((t) => !TYPE.test(t));
  if (bad !== undefined) throw invalid('type', `not an event type: ${JSON.stringify(bad.slice(0, 64))}`);
  return [...new Set(list)];
}

function limit(params: QueryParams): number {
  const value = single(params, 'limit');
  if (value === undefined) return AUDIT_LIMIT_DEFAULT;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= AUDIT_LIMIT_MAX)) throw invalid('limit', `must be a whole number from 1 to ${AUDIT_LIMIT_MAX}`);
  return n;
}

function clientId(params: QueryParams): string | undefined {
  const value = single(params, 'clientId');
  if (value !== undefined && (value.length === 0 || value.length > MAX_CLIENT_ID)) throw invalid('clientId', `must be 1 to ${MAX_CLIENT_ID} characters`);
  return value;
}

/** The store query of the audit log's parameters. */
export function auditQueryFromParams(params: QueryParams): AuditQuery {
  const { from, to } = range(params);
  const query: AuditQuery = { limit: limit(params) };
  if (from !== undefined) query.from = from;
  if (to !== undefined) query.to = to;
  const client = clientId(params);
  if (client !== undefined) query.clientId = client;
  const only = types(params);
  if (only !== undefined) query.types = only;
  const before = cursor(params);
  if (before !== undefined) query.before = before;
  return query;
}

/**
 * The range of the counts' parameters (AuditStore.smsCounts, loginCounts; `from`, `to` as above): by default the
 * COUNTS_DEFAULT_DAYS days before `now` (or before `to`), at most COUNTS_MAX_DAYS days.
 */
export function countsRangeFromParams(params: QueryParams, now: number): { from: number; to: number } {
  const given = range(params);
  const to = given.to ?? now;
  const from = given.from ?? to - COUNTS_DEFAULT_DAYS * DAY_MS;
  if (given.to === undefined && from >= to) throw invalid('from', 'must be before now when to is not given');
  if (to - from > COUNTS_MAX_DAYS * DAY_MS) throw invalid('from', `the range may span at most ${COUNTS_MAX_DAYS} days`);
  return { from, to };
}
