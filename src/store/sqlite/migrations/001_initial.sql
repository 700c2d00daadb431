-- eidhub schema, SQLite dialect. Times are epoch milliseconds; JSON columns hold JSON text.
-- STRICT tables make SQLite refuse values of the wrong type instead of storing them.

CREATE TABLE transactions (
  id                   TEXT PRIMARY KEY,
  account_id           TEXT NOT NULL,
  protocol             TEXT NOT NULL,
  protocol_ref         TEXT NOT NULL,
  client_id            TEXT NOT NULL,
  allowed_providers    TEXT NOT NULL,
  provider             TEXT,
  language             TEXT,
  prefilled_input      TEXT NOT NULL,
  provider_params      TEXT NOT NULL,
  requested_attributes TEXT NOT NULL,
  requested_loa        TEXT,
  status               TEXT NOT NULL,
  subject              TEXT,
  loa                  TEXT,
  error                TEXT,
  browser_binding      TEXT,
  auth_state           TEXT NOT NULL,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  expires_at           INTEGER NOT NULL,
  finished_at          INTEGER,
  version              INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX transactions_protocol_ref ON transactions (protocol, protocol_ref);
CREATE INDEX transactions_expires_at ON transactions (expires_at);

CREATE TABLE otp_challenges (
  id             TEXT PRIMARY KEY,
  transaction_id TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
  code_hash      TEXT NOT NULL,
  phone_number   TEXT NOT NULL,
  attempts       INTEGER NOT NULL,
  max_attempts   INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  consumed_at    INTEGER
) STRICT;
CREATE INDEX otp_challenges_transaction ON otp_challenges (transaction_id, created_at, id);

CREATE TABLE oidc_models (
  model       TEXT NOT NULL,
  id          TEXT NOT NULL,
  payload     TEXT NOT NULL,
  grant_id    TEXT,
  user_code   TEXT,
  uid         TEXT,
  expires_at  INTEGER,
  consumed_at INTEGER,
  PRIMARY KEY (model, id)
) STRICT;
-- Partial: most rows carry no grant, user code or uid.
CREATE INDEX oidc_models_grant_id ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_models_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX oidc_models_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_models_expires_at ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE keys (
  kid          TEXT PRIMARY KEY,
  alg          TEXT NOT NULL,
  private_jwk  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  retired_at   INTEGER,
  remove_after INTEGER
) STRICT;

CREATE TABLE secrets (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE counters (
  key          TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  -- Kept so purging needs no window length: a row is dead once window_end has passed.
  window_end   INTEGER NOT NULL,
  count        INTEGER NOT NULL,
  PRIMARY KEY (key, window_start)
) STRICT;
CREATE INDEX counters_window_end ON counters (window_end);

CREATE TABLE subjects (
  sub        TEXT PRIMARY KEY,
  provider   TEXT NOT NULL,
  attributes TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX subjects_expires_at ON subjects (expires_at);

CREATE TABLE audit_events (
  id             INTEGER PRIMARY KEY,
  type           TEXT NOT NULL,
  at             INTEGER NOT NULL,
  transaction_id TEXT,
  client_id      TEXT,
  data           TEXT
) STRICT;
CREATE INDEX audit_events_at ON audit_events (at);
