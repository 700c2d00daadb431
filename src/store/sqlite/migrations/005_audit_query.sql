-- The audit log's filters (AuditStore.query): by client and by type, each newest first. The
-- time-only filter and the retention purge use audit_events_at. In SQLite an index ends with the
-- rowid (the id), so these serve the (at, id) order and cursor too.
CREATE INDEX audit_events_client_at ON audit_events (client_id, at);
CREATE INDEX audit_events_type_at ON audit_events (type, at);
