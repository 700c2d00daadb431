/**
 * What the SQLite and PostgreSQL stores share: how the Store's records become table rows and back,
 * and which rows the counters and the purge touch. Each implementation keeps only its SQL, how it
 * runs statements and transactions, and how its driver is made to return neutral rows.
 *
 * A neutral row is what both databases are given and made to return: columns named as in the
 * schema, JSON columns as JSON text, integers (BIGINT included) as JavaScript numbers. SQLite
 * returns that as it is; the PostgreSQL pool's type parsers turn BIGINT and jsonb into it. JSON is
 * stringified here for both: pg would send a JS array as a PostgreSQL array literal, not JSON.
 */
import {
  LEVELS_OF_ASSURANCE,
  PROTOCOLS,
  TRANSACTION_STATUSES,
  type Transaction,
  type TransactionError,
  type TransactionPatch,
  type TransactionSubject,
} from '../core/transaction.js';
import { timingSafeEqual } from 'node:crypto';
import type { AuditEvent, AuditPage, AuditQuery, LoginCountRow, OidcModelStore, SmsCountRow, OtpChallenge, ProtocolStateRecord, SecretUse, StoredClient, StoredClientSecret, StoredKey, StoredSamlServiceProvider, SubjectRecord } from './types.js';

export type SqlValue = string | number | null;

/**
 * A table's columns in table order (the order of the object's keys). Written as an object so the
 * compiler checks it against the row type: a missing or unknown column fails to compile.
 */
function columnsOf<R>(columns: Record<keyof R & string, true>): readonly (keyof R & string)[] {
  return Object.keys(columns) as (keyof R & string)[];
}

/** JSON text in our own columns was written by JSON.stringify of exactly this type. */
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** Narrows a stored string to its union type, refusing a value the code does not know; `column` is `table.column`. */
function oneOf<T extends string>(allowed: readonly T[], value: string, column: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new Error(`${column} holds an unknown value: ${JSON.stringify(value)}`);
  return found;
}

export interface TransactionRow {
  id: string;
  account_id: string;
  protocol: string;
  protocol_ref: string;
  client_id: string;
  allowed_providers: string;
  provider: string | null;
  language: string | null;
  prefilled_input: string;
  provider_params: string;
  requested_attributes: string;
  requested_loa: string | null;
  status: string;
  subject: string | null;
  loa: string | null;
  error: string | null;
  browser_binding: string | null;
  auth_state: string;
  created_at: number;
  updated_at: number;
  expires_at: number;
  finished_at: number | null;
  version: number;
}

export const TRANSACTION_COLUMNS = columnsOf<TransactionRow>({
  id: true,
  account_id: true,
  protocol: true,
  protocol_ref: true,
  client_id: true,
  allowed_providers: true,
  provider: true,
  language: true,
  prefilled_input: true,
  provider_params: true,
  requested_attributes: true,
  requested_loa: true,
  status: true,
  subject: true,
  loa: true,
  error: true,
  browser_binding: true,
  auth_state: true,
  created_at: true,
  updated_at: true,
  expires_at: true,
  finished_at: true,
  version: true,
});

export function transactionToRow(tx: Transaction): TransactionRow {
  return {
    id: tx.id,
    account_id: tx.accountId,
    protocol: tx.protocol,
    protocol_ref: tx.protocolRef,
    client_id: tx.clientId,
    allowed_providers: JSON.stringify(tx.allowedProviders),
    provider: tx.provider,
    language: tx.language,
    prefilled_input: JSON.stringify(tx.prefilledInput),
    provider_params: JSON.stringify(tx.providerParams),
    requested_attributes: JSON.stringify(tx.requestedAttributes),
    requested_loa: tx.requestedLoa,
    status: tx.status,
    subject: tx.subject === null ? null : JSON.stringify(tx.subject),
    loa: tx.loa,
    error: tx.error === null ? null : JSON.stringify(tx.error),
    browser_binding: tx.browserBinding,
    auth_state: JSON.stringify(tx.authState),
    created_at: tx.createdAt,
    updated_at: tx.updatedAt,
    expires_at: tx.expiresAt,
    finished_at: tx.finishedAt,
    version: tx.version,
  };
}

export function rowToTransaction(r: TransactionRow): Transaction {
  return {
    id: r.id,
    accountId: r.account_id,
    protocol: oneOf(PROTOCOLS, r.protocol, 'transactions.protocol'),
    protocolRef: r.protocol_ref,
    clientId: r.client_id,
    allowedProviders: parseJson<string[]>(r.allowed_providers),
    provider: r.provider,
    language: r.language,
    prefilledInput: parseJson<Record<string, string>>(r.prefilled_input),
    providerParams: parseJson<Record<string, string>>(r.provider_params),
    requestedAttributes: parseJson<string[]>(r.requested_attributes),
    requestedLoa: r.requested_loa === null ? null : oneOf(LEVELS_OF_ASSURANCE, r.requested_loa, 'transactions.requested_loa'),
    status: oneOf(TRANSACTION_STATUSES, r.status, 'transactions.status'),
    subject: r.subject === null ? null : parseJson<TransactionSubject>(r.subject),
    loa: r.loa === null ? null : oneOf(LEVELS_OF_ASSURANCE, r.loa, 'transactions.loa'),
    error: r.error === null ? null : parseJson<TransactionError>(r.error),
    browserBinding: r.browser_binding,
    authState: parseJson<Record<string, unknown>>(r.auth_state),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
    finishedAt: r.finished_at,
    version: r.version,
  };
}

/** What kind of neutral value a patchable column holds; PostgreSQL casts its parameters by it. */
export type ColumnKind = 'text' | 'integer' | 'json';

export interface PatchColumn {
  column: keyof TransactionRow & string;
  kind: ColumnKind;
}

/** Transaction fields a patch may set, and their columns. A Record so a new patch field fails to compile until mapped. */
const PATCH_COLUMN_OF: Record<keyof TransactionPatch, PatchColumn> = {
  provider: { column: 'provider', kind: 'text' },
  providerParams: { column: 'provider_params', kind: 'json' },
  prefilledInput: { column: 'prefilled_input', kind: 'json' },
  language: { column: 'language', kind: 'text' },
  status: { column: 'status', kind: 'text' },
  subject: { column: 'subject', kind: 'json' },
  loa: { column: 'loa', kind: 'text' },
  error: { column: 'error', kind: 'json' },
  browserBinding: { column: 'browser_binding', kind: 'text' },
  authState: { column: 'auth_state', kind: 'json' },
  expiresAt: { column: 'expires_at', kind: 'integer' },
  finishedAt: { column: 'finished_at', kind: 'integer' },
  updatedAt: { column: 'updated_at', kind: 'integer' },
};
const PATCH_KEYS = Object.keys(PATCH_COLUMN_OF) as (keyof TransactionPatch)[];

/**
 * Every column an update may set, in the order patchAssignments lists them. PostgreSQL's update
 * statement names them all and sets each only when its flag says so, so one statement (inside the
 * CTEs that write an audit event with it) serves every patch shape; SQLite prepares one statement
 * per shape instead (see its updateTransaction). Either way the version check and the write are one
 * atomic step.
 */
export const PATCH_COLUMNS: readonly PatchColumn[] = PATCH_KEYS.map((k) => PATCH_COLUMN_OF[k]);

export interface PatchAssignment {
  column: PatchColumn['column'];
  /** False when the patch leaves the column as it is. */
  set: boolean;
  value: SqlValue;
}

/** One assignment for each of PATCH_COLUMNS, in the same order. */
export function patchAssignments(patch: TransactionPatch): PatchAssignment[] {
  return PATCH_KEYS.map((k) => {
    const value = patch[k];
    return { column: PATCH_COLUMN_OF[k].column, set: value !== undefined, value: encodePatchValue(value) };
  });
}

function encodePatchValue(value: TransactionPatch[keyof TransactionPatch]): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  return JSON.stringify(value);
}

export interface OtpChallengeRow {
  id: string;
  transaction_id: string;
  code_hash: string;
  phone_number: string;
  attempts: number;
  max_attempts: number;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export const OTP_CHALLENGE_COLUMNS = columnsOf<OtpChallengeRow>({
  id: true,
  transaction_id: true,
  code_hash: true,
  phone_number: true,
  attempts: true,
  max_attempts: true,
  created_at: true,
  expires_at: true,
  consumed_at: true,
});

/** Whether a presented code's hash is the challenge's, compared in constant time. */
export function codeHashMatches(challenge: OtpChallenge, codeHash: string): boolean {
  const expected = Buffer.from(challenge.codeHash, 'utf8');
  const actual = Buffer.from(codeHash, 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The audit event of a wrong code: the caller's event, with the attempt's number. */
export function wrongCodeAudit(event: AuditEvent, counted: OtpChallenge): AuditEvent {
  return { ...event, data: { ...event.data, attempt: counted.attempts } };
}

export function otpToRow(c: OtpChallenge): OtpChallengeRow {
  return {
    id: c.id,
    transaction_id: c.transactionId,
    code_hash: c.codeHash,
    phone_number: c.phoneNumber,
    attempts: c.attempts,
    max_attempts: c.maxAttempts,
    created_at: c.createdAt,
    expires_at: c.expiresAt,
    consumed_at: c.consumedAt,
  };
}

export function rowToOtp(r: OtpChallengeRow): OtpChallenge {
  return {
    id: r.id,
    transactionId: r.transaction_id,
    codeHash: r.code_hash,
    phoneNumber: r.phone_number,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    consumedAt: r.consumed_at,
  };
}

/** What an upsert writes; consumed_at is not among it, so a replace never clears it. */
export interface OidcModelRow {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: number | null;
}

export const OIDC_MODEL_COLUMNS = columnsOf<OidcModelRow>({
  model: true,
  id: true,
  payload: true,
  grant_id: true,
  user_code: true,
  uid: true,
  expires_at: true,
});

type OidcUpsert = Parameters<OidcModelStore['upsert']>;

export function oidcModelToRow(
  model: string,
  id: string,
  payload: OidcUpsert[2],
  expiresAt: OidcUpsert[3],
  refs: OidcUpsert[4],
): OidcModelRow {
  return {
    model,
    id,
    payload: JSON.stringify(payload),
    grant_id: refs.grantId ?? null,
    user_code: refs.userCode ?? null,
    uid: refs.uid ?? null,
    expires_at: expiresAt,
  };
}

/** What the finders select. */
export interface OidcPayloadRow {
  payload: string;
  consumed_at: number | null;
}

/** oidc-provider reads `consumed` as epoch seconds. */
export function oidcPayload(row: OidcPayloadRow | undefined): Record<string, unknown> | undefined {
  if (!row) return undefined;
  const payload = parseJson<Record<string, unknown>>(row.payload);
  return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
}

export interface KeyRow {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
  remove_after: number | null;
}

export const KEY_COLUMNS = columnsOf<KeyRow>({
  kid: true,
  alg: true,
  private_jwk: true,
  created_at: true,
  retired_at: true,
  remove_after: true,
});

export function keyToRow(k: StoredKey): KeyRow {
  return {
    kid: k.kid,
    alg: k.alg,
    private_jwk: k.privateJwk,
    created_at: k.createdAt,
    retired_at: k.retiredAt,
    remove_after: k.removeAfter,
  };
}

export function rowToKey(r: KeyRow): StoredKey {
  return {
    kid: r.kid,
    alg: r.alg,
    privateJwk: r.private_jwk,
    createdAt: r.created_at,
    retiredAt: r.retired_at,
    removeAfter: r.remove_after,
  };
}

export interface SubjectRow {
  sub: string;
  provider: string;
  attributes: string;
  updated_at: number;
  expires_at: number;
}

export const SUBJECT_COLUMNS = columnsOf<SubjectRow>({
  sub: true,
  provider: true,
  attributes: true,
  updated_at: true,
  expires_at: true,
});

export function subjectToRow(s: SubjectRecord): SubjectRow {
  return {
    sub: s.sub,
    provider: s.provider,
    attributes: JSON.stringify(s.attributes),
    updated_at: s.updatedAt,
    expires_at: s.expiresAt,
  };
}

export function rowToSubject(r: SubjectRow): SubjectRecord {
  return {
    sub: r.sub,
    provider: r.provider,
    attributes: parseJson<Record<string, unknown>>(r.attributes),
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
  };
}

/** Without the generated `id`, which only orders events of the same `at`. */
export interface AuditRow {
  type: string;
  at: number;
  transaction_id: string | null;
  client_id: string | null;
  data: string | null;
}

export const AUDIT_COLUMNS = columnsOf<AuditRow>({
  type: true,
  at: true,
  transaction_id: true,
  client_id: true,
  data: true,
});

export function auditToRow(e: AuditEvent): AuditRow {
  return {
    type: e.type,
    at: e.at,
    transaction_id: e.transactionId ?? null,
    client_id: e.clientId ?? null,
    data: e.data === undefined ? null : JSON.stringify(e.data),
  };
}

export function rowToAudit(r: AuditRow): AuditEvent {
  // Absent optional fields stay absent, so a read event equals the appended one.
  const event: AuditEvent = { type: r.type, at: r.at };
  if (r.transaction_id !== null) event.transactionId = r.transaction_id;
  if (r.client_id !== null) event.clientId = r.client_id;
  if (r.data !== null) event.data = parseJson<Record<string, unknown>>(r.data);
  return event;
}

/** An audit row as a page reads it: with its sequence number, the tie-breaker of equal times. */
export type AuditPageRow = AuditRow & { id: number };

/** How many events purgeOlderThan deletes per statement, so a large backlog never holds the store for long. */
export const AUDIT_PURGE_BATCH = 5000;

/**
 * The SELECT of AuditStore.query in either dialect (`param(n)` writes the n-th placeholder,
 * from 1), and its values. It asks for one row more than the limit, to tell whether a next page
 * exists (auditPage).
 */
export function auditQuerySql(q: AuditQuery, param: (n: number) => string): { sql: string; values: SqlValue[] } {
  const values: SqlValue[] = [];
  const p = (v: SqlValue) => {
    values.push(v);
    return param(values.length);
  };
  const where: string[] = [];
  if (q.from !== undefined) where.push(`at >= ${p(q.from)}`);
  if (q.to !== undefined) where.push(`at < ${p(q.to)}`);
  if (q.clientId !== undefined) where.push(`client_id = ${p(q.clientId)}`);
  if (q.types !== undefined) where.push(q.types.length === 0 ? 'FALSE' : `type IN (${q.types.map((t) => p(t)).join(', ')})`);
  if (q.before !== undefined) where.push(`(at, id) < (${p(q.before.at)}, ${p(q.before.seq)})`);
  const sql = `SELECT id, ${AUDIT_COLUMNS.join(', ')} FROM audit_events${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY at DESC, id DESC LIMIT ${p(q.limit + 1)}`;
  return { sql, values };
}

/** The page of auditQuerySql's rows (at most limit + 1 of them). */
export function auditPage(rows: readonly AuditPageRow[], limit: number): AuditPage {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const events = page.map(({ id: _, ...row }) => rowToAudit(row));
  return rows.length > limit && last ? { events, next: { at: last.at, seq: last.id } } : { events };
}

/** A row of the smsCounts statements, counts as the driver returns them. */
export interface SmsCountSqlRow {
  day: string;
  country: string | null;
  provider: string | null;
  sent: number | string;
  failed: number | string;
}

export function rowToSmsCount(r: SmsCountSqlRow): SmsCountRow {
  return { day: r.day, country: r.country, provider: r.provider, sent: Number(r.sent), failed: Number(r.failed) };
}

/** A row of the loginCounts statements, the count as the driver returns it. */
export interface LoginCountSqlRow {
  day: string;
  country: string | null;
  provider: string | null;
  succeeded: number | string;
}

export function rowToLoginCount(r: LoginCountSqlRow): LoginCountRow {
  return { day: r.day, country: r.country, provider: r.provider, succeeded: Number(r.succeeded) };
}

export interface ProtocolStateRow {
  protocol: string;
  ref: string;
  transaction_id: string;
  state: string;
  created_at: number;
  expires_at: number;
}

export const PROTOCOL_STATE_COLUMNS = columnsOf<ProtocolStateRow>({
  protocol: true,
  ref: true,
  transaction_id: true,
  state: true,
  created_at: true,
  expires_at: true,
});

/** A transaction's protocol state, under the transaction's protocol and reference, with its times. */
export function protocolStateOf(tx: Transaction, state: Record<string, unknown>): ProtocolStateRecord {
  return { protocol: tx.protocol, ref: tx.protocolRef, transactionId: tx.id, state, createdAt: tx.createdAt, expiresAt: tx.expiresAt };
}

export function protocolStateToRow(r: ProtocolStateRecord): ProtocolStateRow {
  return {
    protocol: r.protocol,
    ref: r.ref,
    transaction_id: r.transactionId,
    state: JSON.stringify(r.state),
    created_at: r.createdAt,
    expires_at: r.expiresAt,
  };
}

export function rowToProtocolState(r: ProtocolStateRow): ProtocolStateRecord {
  return {
    protocol: r.protocol,
    ref: r.ref,
    transactionId: r.transaction_id,
    state: parseJson<Record<string, unknown>>(r.state),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}

export interface ClientRow {
  client_id: string;
  kind: string;
  settings: string;
  secrets: string;
  created_at: number;
  updated_at: number;
}

export const CLIENT_COLUMNS = columnsOf<ClientRow>({
  client_id: true,
  kind: true,
  settings: true,
  secrets: true,
  created_at: true,
  updated_at: true,
});

const CLIENT_KINDS: readonly StoredClient['kind'][] = ['oidc', 'api', 'realm'];

export function clientToRow(c: StoredClient): ClientRow {
  return {
    client_id: c.clientId,
    kind: c.kind,
    settings: JSON.stringify(c.settings),
    secrets: JSON.stringify(c.secrets),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}

export function rowToClient(r: ClientRow): StoredClient {
  return {
    clientId: r.client_id,
    kind: oneOf(CLIENT_KINDS, r.kind, 'clients.kind'),
    settings: parseJson<Record<string, unknown>>(r.settings),
    secrets: parseJson<StoredClientSecret[]>(r.secrets),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface SamlServiceProviderRow {
  entity_id: string;
  metadata: string;
  settings: string;
  created_at: number;
  updated_at: number;
}

export const SAML_SP_COLUMNS = columnsOf<SamlServiceProviderRow>({
  entity_id: true,
  metadata: true,
  settings: true,
  created_at: true,
  updated_at: true,
});

export function samlSpToRow(sp: StoredSamlServiceProvider): SamlServiceProviderRow {
  return { entity_id: sp.entityId, metadata: sp.metadata, settings: JSON.stringify(sp.settings), created_at: sp.createdAt, updated_at: sp.updatedAt };
}

export function rowToSamlSp(r: SamlServiceProviderRow): StoredSamlServiceProvider {
  return { entityId: r.entity_id, metadata: r.metadata, settings: parseJson<Record<string, unknown>>(r.settings), createdAt: r.created_at, updatedAt: r.updated_at };
}

/** A secret_uses row as ClientStore.secretUses reads it. */
export interface SecretUseRow {
  secret_name: string;
  last_used_at: number;
}

export function rowsToSecretUses(rows: readonly SecretUseRow[]): Map<string, number> {
  return new Map(rows.map((r) => [r.secret_name, r.last_used_at]));
}

/**
 * The uses recordSecretUses writes: the latest of each secret, ordered by client key and name.
 * One each, since PostgreSQL's upsert may change a row only once per statement; in one order, so
 * two processes writing overlapping batches lock their rows in the same order and never deadlock.
 */
export function latestSecretUses(uses: readonly SecretUse[]): SecretUse[] {
  const latest = new Map<string, SecretUse>();
  for (const use of uses) {
    const id = JSON.stringify([use.clientKey, use.secretName]);
    const known = latest.get(id);
    if (!known || use.at > known.at) latest.set(id, use);
  }
  return [...latest.values()].sort((a, b) => compareText(a.clientKey, b.clientKey) || compareText(a.secretName, b.secretName));
}

/** Orders text by code unit, as both databases' C collation does. */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The counters row a hit at `now` counts in: its fixed window of `windowMs` starts here. */
export function windowStartOf(windowMs: number, now: number): number {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
  return now - (now % windowMs);
}

/** The fixed window of `windowMs` that holds `now`: where it starts, and when it ends (a refused request may be retried then). */
export function counterWindow(windowMs: number, now: number): { start: number; end: number } {
  const start = windowStartOf(windowMs, now);
  return { start, end: start + windowMs };
}

/** Finished transactions stay readable this long after expiry (protocols may still ask about them). */
const TRANSACTION_RETENTION_MS = 24 * 60 * 60 * 1000;

/** The statements of purgeExpired, each named the same in both implementations and given one cutoff. */
export type PurgeStatement =
  | 'purgeOidc'
  | 'purgeSubjects'
  | 'purgeCounters'
  | 'purgeOtpConversions'
  | 'purgeOtpPauses'
  | 'purgeOtp'
  | 'purgeProtocolState'
  | 'purgeTransactions';

/**
 * What purgeExpired runs, in order, in one transaction; its total is the sum of the rows each
 * deletes. Child rows of purged transactions (OTP challenges, protocol state) are deleted by their
 * own statements before the transactions, not left to ON DELETE CASCADE, so they count in the total.
 */
export function purgePlan(now: number): (readonly [PurgeStatement, number])[] {
  const txCutoff = now - TRANSACTION_RETENTION_MS;
  return [
    ['purgeOidc', now],
    ['purgeSubjects', now],
    ['purgeCounters', now],
    ['purgeOtpConversions', now],
    ['purgeOtpPauses', now],
    ['purgeOtp', txCutoff],
    ['purgeProtocolState', txCutoff],
    ['purgeTransactions', txCutoff],
  ];
}
