-- A realm's clients (src/protocols/ciba/) added at run time are stored too, as kind 'realm', under
-- the key '{realm}/{clientId}' in client_id: '/' is in neither a realm name nor a client id, so
-- such a key never equals an /auth/open client's id, and two realms' clients never share one.
-- SQLite cannot change a CHECK in place: the table is built anew and the rows copied.

CREATE TABLE clients_new (
  client_id  TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('oidc', 'api', 'realm')),
  settings   TEXT NOT NULL,
  secrets    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK ((kind = 'realm') = (instr(client_id, '/') > 0))
) STRICT;
INSERT INTO clients_new (client_id, kind, settings, secrets, created_at, updated_at)
  SELECT client_id, kind, settings, secrets, created_at, updated_at FROM clients;
DROP TABLE clients;
ALTER TABLE clients_new RENAME TO clients;
