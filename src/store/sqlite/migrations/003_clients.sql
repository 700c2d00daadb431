-- Clients added at run time (clients of the config file are never stored). settings holds the
-- client's config-file settings without its secrets, secrets their SHA-256 hashes, both as JSON.

CREATE TABLE clients (
  client_id  TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('oidc', 'api')),
  settings   TEXT NOT NULL,
  secrets    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- One row: a counter that every put and remove of a client advances in its own transaction, so
-- that each process can ask "did any client change?" with one tiny read instead of re-reading the
-- clients. A row, not PRAGMA data_version, which counts every other connection's commit to any table.
CREATE TABLE clients_version (
  only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
  version  INTEGER NOT NULL
) STRICT;
INSERT INTO clients_version (only_row, version) VALUES (1, 0);
