/**
 * What a read of the SQLite store is about, and what a write touches (see GroupCommit): one string
 * per thing a reader can ask for. A write touches every key whose reads it changes, a read names
 * the one key it is about. ROW_READ_KEYS says the same from the tables' side, for the check that
 * every write touched what it changed (touch-check.ts).
 */
import type { SqlValue } from '../rows.js';
import type { Touch } from './group-commit.js';

export const key = {
  tx: (id: string) => `tx:${id}`,
  /** Every challenge of a transaction: latest() and countForTransaction() read them as a set. */
  otp: (transactionId: string) => `otp:${transactionId}`,
  /** A number prefix's conversion counts and pause (the conversion guard's), read together. */
  otpPrefix: (prefix: string) => `otpprefix:${prefix}`,
  oidc: (model: string, id: string) => `oidc:${model}:${id}`,
  oidcUid: (model: string, uid: string) => `oidcuid:${model}:${uid}`,
  oidcUserCode: (model: string, userCode: string) => `oidcusercode:${model}:${userCode}`,
  keys: 'keys',
  /** One counter's windows (CounterStore). */
  counter: (counterKey: string) => `counter:${counterKey}`,
  secret: (name: string) => `secret:${name}`,
  subject: (sub: string) => `subject:${sub}`,
  audit: 'audit',
  protocolState: (protocol: string, ref: string) => `ps:${protocol}:${ref}`,
  client: (clientId: string) => `client:${clientId}`,
  /** The recorded uses of a client's secrets (secret_uses), read as a set. */
  secretUses: (clientKey: string) => `secretuses:${clientKey}`,
  /** The list of clients and their version: both change with any client. */
  clients: 'clients',
  samlSp: (entityId: string) => `samlsp:${entityId}`,
  /** The list of SAML service providers and their version: both change with any of them. */
  samlSps: 'samlsps',
};

/** Touches the keys an oidc_models row is read by. */
export function touchOidc(touch: Touch, model: string, row: { id: string; uid: string | null; user_code: string | null }): void {
  touch(key.oidc(model, row.id));
  if (row.uid !== null) touch(key.oidcUid(model, row.uid));
  if (row.user_code !== null) touch(key.oidcUserCode(model, row.user_code));
}

/** Touches the keys a clients row is read by: the client itself, and the list and version of all of them. */
export function touchClient(touch: Touch, clientId: string): void {
  touch(key.client(clientId));
  touch(key.clients);
}

/** Touches the keys a saml_service_providers row is read by: the SP itself, and the list and version of all of them. */
export function touchSamlSp(touch: Touch, entityId: string): void {
  touch(key.samlSp(entityId));
  touch(key.samlSps);
}

/** The keys a touching function touches. */
function touchedBy(touches: (touch: Touch) => void): string[] {
  const keys: string[] = [];
  touches((k) => keys.push(k));
  return keys;
}

/** A changed row's values of the columns its table's entry names. */
export type ChangedRow = Readonly<Record<string, SqlValue>>;

export interface RowReadKeys {
  /** The columns whose values name what the row is read by. */
  columns: readonly string[];
  /** The read keys of a row with these values. */
  keysOf(row: ChangedRow): string[];
}

function text(row: ChangedRow, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`expected text in column ${column}, got ${JSON.stringify(value)}`);
  return value;
}

function textOrNull(row: ChangedRow, column: string): string | null {
  return row[column] === null ? null : text(row, column);
}

/**
 * Every table the store writes, and the read keys of each of its rows. A table missing here makes
 * the touch check refuse to start, so a new table cannot slip past it.
 */
export const ROW_READ_KEYS: Readonly<Record<string, RowReadKeys>> = {
  transactions: { columns: ['id'], keysOf: (r) => [key.tx(text(r, 'id'))] },
  otp_challenges: { columns: ['transaction_id'], keysOf: (r) => [key.otp(text(r, 'transaction_id'))] },
  oidc_models: {
    columns: ['model', 'id', 'uid', 'user_code'],
    keysOf: (r) =>
      touchedBy((touch) => touchOidc(touch, text(r, 'model'), { id: text(r, 'id'), uid: textOrNull(r, 'uid'), user_code: textOrNull(r, 'user_code') })),
  },
  keys: { columns: [], keysOf: () => [key.keys] },
  secrets: { columns: ['name'], keysOf: (r) => [key.secret(text(r, 'name'))] },
  counters: { columns: ['key'], keysOf: (r) => [key.counter(text(r, 'key'))] },
  subjects: { columns: ['sub'], keysOf: (r) => [key.subject(text(r, 'sub'))] },
  audit_events: { columns: [], keysOf: () => [key.audit] },
  protocol_state: { columns: ['protocol', 'ref'], keysOf: (r) => [key.protocolState(text(r, 'protocol'), text(r, 'ref'))] },
  clients: { columns: ['client_id'], keysOf: (r) => touchedBy((touch) => touchClient(touch, text(r, 'client_id'))) },
  clients_version: { columns: [], keysOf: () => [key.clients] },
  saml_service_providers: { columns: ['entity_id'], keysOf: (r) => touchedBy((touch) => touchSamlSp(touch, text(r, 'entity_id'))) },
  saml_service_providers_version: { columns: [], keysOf: () => [key.samlSps] },
  // Nothing reads session nonces but consume, which is a write.
  session_nonces: { columns: [], keysOf: () => [] },
  otp_conversions: { columns: ['prefix'], keysOf: (r) => [key.otpPrefix(text(r, 'prefix'))] },
  otp_prefix_pauses: { columns: ['prefix'], keysOf: (r) => [key.otpPrefix(text(r, 'prefix'))] },
  secret_uses: { columns: ['client_key'], keysOf: (r) => [key.secretUses(text(r, 'client_key'))] },
};
