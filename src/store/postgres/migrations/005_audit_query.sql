-- The audit log's filters (AuditStore.query): by client and by type, each newest first, with the
-- id that breaks ties of equal times (the page cursor). The time-only filter and the retention
-- purge use audit_events_at (at, id).
CREATE INDEX audit_events_client_at ON audit_events (client_id, at, id);
CREATE INDEX audit_events_type_at ON audit_events (type, at, id);
