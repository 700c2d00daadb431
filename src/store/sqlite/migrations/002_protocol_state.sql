-- Protocol-specific state of a transaction (REST session options, SAML request data, …), keyed by
-- the protocol's own handle. Removed with its transaction.

CREATE TABLE protocol_state (
  protocol       TEXT NOT NULL,
  ref            TEXT NOT NULL,
  transaction_id TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
  state          TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  PRIMARY KEY (protocol, ref)
) STRICT;
-- For the cascade and the purge, which find rows by transaction.
CREATE INDEX protocol_state_transaction ON protocol_state (transaction_id);
