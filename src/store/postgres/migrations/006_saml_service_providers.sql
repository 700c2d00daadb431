-- SAML service providers added at run time (those of the config file are never stored). A table
-- of their own rather than a kind of client: an entityID is any URI (mostly a URL, so it holds
-- '/', which the clients table keeps for realm keys), and an SP has metadata, not secrets.
-- settings holds the SP's options (requireSignedRequests, signResponse, encryptAssertions).

CREATE TABLE saml_service_providers (
  entity_id  TEXT PRIMARY KEY,
  metadata   TEXT NOT NULL,
  settings   JSONB NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- One row, advanced in the same statement as each put and remove of an SP; a row and not a
-- sequence for the reason clients_version gives (003_clients.sql): the number must change in the
-- change's own commit.
CREATE TABLE saml_service_providers_version (
  only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
  version  BIGINT NOT NULL
);
INSERT INTO saml_service_providers_version (only_row, version) VALUES (true, 0);
