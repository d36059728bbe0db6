-- Version 8: the System Log. One row per security event, written in the same transaction as
-- the change it records and never updated; rows older than `system_log.retention_days` are
-- purged. Pages are read in (published, uuid) order, which is also the `after` cursor.
CREATE TABLE system_log (
    uuid TEXT PRIMARY KEY,
    published BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    display_message TEXT NOT NULL,
    outcome_result TEXT NOT NULL,
    outcome_reason TEXT,
    actor_id TEXT,
    actor_type TEXT NOT NULL,
    actor_alternate_id TEXT,
    actor_display_name TEXT,
    target_id TEXT,
    target_type TEXT,
    target_alternate_id TEXT,
    target_display_name TEXT,
    client_ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    debug_data TEXT NOT NULL
);
CREATE INDEX system_log_published ON system_log (published, uuid);
CREATE INDEX system_log_event_type ON system_log (event_type, published);
CREATE INDEX system_log_target ON system_log (target_id, published);
CREATE INDEX system_log_actor ON system_log (actor_id, published);
