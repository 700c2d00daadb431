-- The REST embedded flow's one-time sessionNonce: its SHA-256, one per session, used once.
-- Removed with its transaction.

CREATE TABLE session_nonces (
  transaction_id TEXT PRIMARY KEY REFERENCES transactions (id) ON DELETE CASCADE,
  nonce_hash     TEXT NOT NULL,
  issued_at      INTEGER NOT NULL,
  used_at        INTEGER
) STRICT;
