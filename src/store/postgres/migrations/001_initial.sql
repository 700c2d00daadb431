-- eidhub schema, PostgreSQL dialect. Times are epoch milliseconds (BIGINT); JSON columns are jsonb.

CREATE TABLE transactions (
  id                   TEXT PRIMARY KEY,
  account_id           TEXT NOT NULL,
  protocol             TEXT NOT NULL,
  protocol_ref         TEXT NOT NULL,
  client_id            TEXT NOT NULL,
  allowed_providers    JSONB NOT NULL,
  provider             TEXT,
  language             TEXT,
  prefilled_input      JSONB NOT NULL,
  provider_params      JSONB NOT NULL,
  requested_attributes JSONB NOT NULL,
  requested_loa        TEXT,
  status               TEXT NOT NULL,
  subject              JSONB,
  loa                  TEXT,
  error                JSONB,
  browser_binding      TEXT,
  auth_state           JSONB NOT NULL,
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL,
  expires_at           BIGINT NOT NULL,
  finished_at          BIGINT,
  version              INTEGER NOT NULL
);
CREATE UNIQUE INDEX transactions_protocol_ref ON transactions (protocol, protocol_ref);
CREATE INDEX transactions_expires_at ON transactions (expires_at);

CREATE TABLE otp_challenges (
  id             TEXT PRIMARY KEY,
  transaction_id TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
  code_hash      TEXT NOT NULL,
  phone_number   TEXT NOT NULL,
  attempts       INTEGER NOT NULL,
  max_attempts   INTEGER NOT NULL,
  created_at     BIGINT NOT NULL,
  expires_at     BIGINT NOT NULL,
  consumed_at    BIGINT
);
CREATE INDEX otp_challenges_transaction ON otp_challenges (transaction_id, created_at, id);

CREATE TABLE oidc_models (
  model       TEXT NOT NULL,
  id          TEXT NOT NULL,
  payload     JSONB NOT NULL,
  grant_id    TEXT,
  user_code   TEXT,
  uid         TEXT,
  expires_at  BIGINT,
  consumed_at BIGINT,
  PRIMARY KEY (model, id)
);
-- Partial: most rows carry no grant, user code or uid.
CREATE INDEX oidc_models_grant_id ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_models_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX oidc_models_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_models_expires_at ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE keys (
  kid          TEXT PRIMARY KEY,
  alg          TEXT NOT NULL,
  private_jwk  TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  retired_at   BIGINT,
  remove_after BIGINT
);

CREATE TABLE secrets (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE counters (
  key          TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  -- Kept so purging needs no window length: a row is dead once window_end has passed.
  window_end   BIGINT NOT NULL,
  count        INTEGER NOT NULL,
  PRIMARY KEY (key, window_start)
);
CREATE INDEX counters_window_end ON counters (window_end);

CREATE TABLE subjects (
  sub        TEXT PRIMARY KEY,
  provider   TEXT NOT NULL,
  attributes JSONB NOT NULL,
  updated_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX subjects_expires_at ON subjects (expires_at);

CREATE TABLE audit_events (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type           TEXT NOT NULL,
  at             BIGINT NOT NULL,
  transaction_id TEXT,
  client_id      TEXT,
  data           JSONB
);
CREATE INDEX audit_events_at ON audit_events (at, id);
