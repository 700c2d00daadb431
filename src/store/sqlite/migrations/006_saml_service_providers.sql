-- SAML service providers added at run time (those of the config file are never stored). A table
-- of their own rather than a kind of client: an entityID is any URI (mostly a URL, so it holds
-- '/', which the clients table keeps for realm keys), and an SP has metadata, not secrets.
-- settings holds the SP's options (requireSignedRequests, signResponse, encryptAssertions) as JSON.

CREATE TABLE saml_service_providers (
  entity_id  TEXT PRIMARY KEY,
  metadata   TEXT NOT NULL,
  settings   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- One row: a counter that every put and remove of an SP advances in its own transaction, as
-- clients_version does for clients, so each process can ask "did any SP change?" with one tiny read.
CREATE TABLE saml_service_providers_version (
  only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
  version  INTEGER NOT NULL
) STRICT;
INSERT INTO saml_service_providers_version (only_row, version) VALUES (1, 0);
