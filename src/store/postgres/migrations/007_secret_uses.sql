-- When each client secret last authenticated its client (ClientStore.recordSecretUses), by the
-- registry's key and the secret's name: config-file clients' secrets (secret-N) too, which have
-- no clients row, hence no foreign key. Apart from clients so that recording a use neither
-- rewrites the client nor advances clients_version (which makes every process re-read every client).

CREATE TABLE secret_uses (
  client_key   TEXT NOT NULL,
  secret_name  TEXT NOT NULL,
  last_used_at BIGINT NOT NULL,
  PRIMARY KEY (client_key, secret_name)
);
