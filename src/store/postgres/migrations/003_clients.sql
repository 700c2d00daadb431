-- Clients added at run time (clients of the config file are never stored). settings holds the
-- client's config-file settings without its secrets, secrets their SHA-256 hashes.

CREATE TABLE clients (
  client_id  TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('oidc', 'api')),
  settings   JSONB NOT NULL,
  secrets    JSONB NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- One row: a counter that every put and remove of a client advances in the same statement, so
-- that each process can ask "did any client change?" with one tiny read instead of re-reading the
-- clients. Not a sequence: nextval() takes effect at once and outside the transaction, so a
-- process could read the new number before the client's row is committed, re-read the clients
-- without the change, and then miss it for good. The row changes in the change's own commit.
-- (Concurrent client writes queue on its row lock; they are rare.)
CREATE TABLE clients_version (
  only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
  version  BIGINT NOT NULL
);
INSERT INTO clients_version (only_row, version) VALUES (true, 0);
