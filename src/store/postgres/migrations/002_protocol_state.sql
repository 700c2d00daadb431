-- Protocol-specific state of a transaction (REST session options, SAML request data, …), keyed by
-- the protocol's own handle. Removed with its transaction.

CREATE TABLE protocol_state (
  protocol       TEXT NOT NULL,
  ref            TEXT NOT NULL,
  transaction_id TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
  state          JSONB NOT NULL,
  created_at     BIGINT NOT NULL,
  expires_at     BIGINT NOT NULL,
  PRIMARY KEY (protocol, ref)
);
-- PostgreSQL does not index the referencing side of a foreign key; the cascade and the purge need it.
CREATE INDEX protocol_state_transaction ON protocol_state (transaction_id);
