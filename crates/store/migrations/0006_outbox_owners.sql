-- Version 6: outbox claims belong to a live process instead of a long lease. Each server
-- process keeps a heartbeat row here (database time, about once a second); a claimed outbox
-- row records its owner, and another process may claim it again only once that owner's
-- heartbeat is older than `outbox.owner_timeout_secs` or gone (a clean shutdown deletes it).
-- `outbox.lease_until` is no longer read or written.
CREATE TABLE outbox_owners (
    process_id TEXT PRIMARY KEY,
    heartbeat_at BIGINT NOT NULL,
    started_at BIGINT NOT NULL
);
ALTER TABLE outbox ADD COLUMN owner_id TEXT;
CREATE INDEX outbox_owner ON outbox (owner_id);
-- 1 when the last try could not reach the relay at all (no connection, 421): such messages are
-- released at once when a send succeeds again, instead of waiting out their back-off.
ALTER TABLE outbox ADD COLUMN relay_down BIGINT NOT NULL DEFAULT 0;
