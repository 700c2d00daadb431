-- A realm's clients (src/protocols/ciba/) added at run time are stored too, as kind 'realm', under
-- the key '{realm}/{clientId}' in client_id: '/' is in neither a realm name nor a client id, so
-- such a key never equals an /auth/open client's id, and two realms' clients never share one.

ALTER TABLE clients DROP CONSTRAINT clients_kind_check;
ALTER TABLE clients ADD CONSTRAINT clients_kind_check CHECK (kind IN ('oidc', 'api', 'realm'));
ALTER TABLE clients ADD CONSTRAINT clients_realm_key_check CHECK ((kind = 'realm') = (strpos(client_id, '/') > 0));
