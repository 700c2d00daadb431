/**
 * The Admin API's read side of the audit log: the events (filtered by time, client and type,
 * newest first, a page at a time), the same as CSV, and the daily counts the console charts (SMS
 * sent and failed, successful logins, per country and provider). Parameters are checked by
 * src/audit/query-params.ts, whose errors name the parameter; the events never hold a code, a
 * secret or a whole phone number (what is written is checked where it is written).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { auditCsv } from '../audit/csv.js';
import { auditQueryFromParams, countsRangeFromParams, encodeAuditCursor, type QueryParams } from '../audit/query-params.js';
import type { AuditStore } from '../store/types.js';
import { errorResponses } from './schemas.js';

/** At most this many events in one CSV export; narrow the range for more. */
export const CSV_MAX_ROWS = 100_000;

const iso = (ms: number) => new Date(ms).toISOString();

const text = (description: string) => ({ type: 'string', description });
const filters = {
  from: text('ISO 8601 date or date-time: events at or after it.'),
  to: text('ISO 8601 date or date-time: events before it.'),
  clientId: text("A client's id (a realm's client: `{realm}/{clientId}`)."),
  type: { description: 'Event types, comma-separated or repeated (e.g. `admin.client.created,otp.issued`).', anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
};
const eventSchema = {
  type: 'object',
  required: ['type', 'at'],
  properties: {
    type: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    clientId: { type: 'string' },
    transactionId: { type: 'string' },
    data: { type: 'object', additionalProperties: true, description: 'The event\'s details: never a code, a secret or a whole phone number.' },
  },
} as const;
const countsRange = { from: text('ISO 8601 date or date-time (default: 30 days before `to`).'), to: text('ISO 8601 date or date-time, exclusive (default: now).') };
const countRows = (row: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  required: ['from', 'to', 'rows'],
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    rows: { type: 'array', items: { type: 'object', required, properties: row } },
  },
});
const nullableString = (description: string) => ({ type: ['string', 'null'], description });

export function registerAuditRoutes(app: FastifyInstance, base: string, deps: { audit: AuditStore; onRequest: (req: FastifyRequest) => Promise<void>; now: () => number }): void {
  const { onRequest } = deps;
  const security = [{ bearerAuth: [] }];
  const tags = ['Audit log'];
  const params = (req: FastifyRequest) => req.query as QueryParams;

  app.get(
    `${base}/audit-events`,
    {
      onRequest,
      schema: {
        summary: 'The audit log, newest first, a page at a time',
        tags,
        security,
        querystring: { type: 'object', properties: { ...filters, cursor: text('The `next` of the previous page.'), limit: text('Events per page, 1 to 1000 (default 100).') } },
        response: {
          200: { description: 'A page of events; `next` when more may follow.', type: 'object', required: ['events'], properties: { events: { type: 'array', items: eventSchema }, next: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const page = await deps.audit.query(auditQueryFromParams(params(req)));
      return {
        events: page.events.map((e) => ({ ...e, at: iso(e.at) })),
        ...(page.next ? { next: encodeAuditCursor(page.next) } : {}),
      };
    },
  );

  app.get(
    `${base}/audit-events.csv`,
    {
      onRequest,
      schema: {
        summary: `The audit log as CSV (RFC 4180), newest first, at most ${CSV_MAX_ROWS} events`,
        tags,
        security,
        querystring: { type: 'object', properties: filters },
        response: { 200: { description: 'Columns at, type, clientId, transactionId, data (JSON).', content: { 'text/csv': { schema: { type: 'string' } } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { limit: _limit, before: _before, ...query } = auditQueryFromParams({ ...params(req), cursor: undefined, limit: undefined });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="eidhub-audit-${iso(deps.now()).slice(0, 10)}.csv"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(auditCsv({ audit: deps.audit }, query, CSV_MAX_ROWS)));
    },
  );

  app.get(
    `${base}/stats/sms`,
    {
      onRequest,
      schema: {
        summary: 'SMS sent and failed per UTC day, destination country and SMS provider',
        tags,
        security,
        querystring: { type: 'object', properties: countsRange },
        response: {
          200: {
            description: 'One row per day, country and provider that had sends.',
            ...countRows(
              { day: { type: 'string', description: 'UTC, YYYY-MM-DD.' }, country: nullableString('ISO 3166-1 alpha-2; null when not recorded.'), provider: nullableString("The SMS provider's name."), sent: { type: 'integer' }, failed: { type: 'integer' } },
              ['day', 'country', 'provider', 'sent', 'failed'],
            ),
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const range = countsRangeFromParams(params(req), deps.now());
      return { from: iso(range.from), to: iso(range.to), rows: await deps.audit.smsCounts(range) };
    },
  );

  app.get(
    `${base}/stats/logins`,
    {
      onRequest,
      schema: {
        summary: 'Successful logins per UTC day, country (SMS logins) and provider',
        tags,
        security,
        querystring: { type: 'object', properties: countsRange },
        response: {
          200: {
            description: 'One row per day, country and provider that had successful logins.',
            ...countRows(
              { day: { type: 'string', description: 'UTC, YYYY-MM-DD.' }, country: nullableString("The verified number's country; null for other logins."), provider: nullableString('The authenticator (otp-sms, itsme, …).'), succeeded: { type: 'integer' } },
              ['day', 'country', 'provider', 'succeeded'],
            ),
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const range = countsRangeFromParams(params(req), deps.now());
      return { from: iso(range.from), to: iso(range.to), rows: await deps.audit.loginCounts(range) };
    },
  );
}
