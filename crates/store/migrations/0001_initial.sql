-- Latchkey schema, version 1. Written once for both SQLite and PostgreSQL: only types both
-- accept (TEXT, BIGINT), times as BIGINT milliseconds since the epoch read from the database
-- clock, booleans as 0/1, binary data as base64 text, lists as JSON text.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    login TEXT NOT NULL,
    login_canonical TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    email_canonical TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    locale TEXT,
    password_hash TEXT,
    password_changed_at BIGINT,
    created_at BIGINT NOT NULL,
    activated_at BIGINT,
    status_changed_at BIGINT,
    last_login_at BIGINT,
    last_updated_at BIGINT NOT NULL
);
CREATE INDEX users_email_canonical ON users (email_canonical);

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    client_name TEXT NOT NULL,
    secret_digest TEXT,
    auth_method TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    trusted_origins TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per `interact`. Only digests of the bearer handles are stored.
CREATE TABLE interactions (
    id TEXT PRIMARY KEY,
    handle_digest TEXT NOT NULL UNIQUE,
    state_handle_digest TEXT NOT NULL UNIQUE,
    auth_server TEXT NOT NULL,
    -- 'idx' (the client drives IDX and redeems an interaction code) or 'authorize' (the hosted
    -- page drives IDX; the client redeems the same code as an authorization code).
    flow TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    oauth_state TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT NOT NULL,
    step TEXT NOT NULL,
    subject_key TEXT,
    user_id TEXT,
    grant_expires_at BIGINT,
    version BIGINT NOT NULL,
    interaction_code_digest TEXT UNIQUE,
    code_expires_at BIGINT,
    code_redeemed_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX interactions_user ON interactions (user_id);
CREATE INDEX interactions_expires ON interactions (expires_at);

-- Recovery codes: a keyed MAC only. Decoy rows (user_id NULL) stand in for unknown identifiers
-- so both kinds of subject cost the same writes.
CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY,
    interaction_id TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    user_id TEXT,
    code_mac TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    superseded BIGINT NOT NULL,
    consumed_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX recovery_codes_interaction ON recovery_codes (interaction_id);
CREATE INDEX recovery_codes_subject ON recovery_codes (subject_key);

-- Consecutive-failure counters per subject (account id, or canonical identifier when unknown).
CREATE TABLE subject_counters (
    subject_key TEXT PRIMARY KEY,
    signin_failures BIGINT NOT NULL,
    signin_blocked_until BIGINT NOT NULL,
    otp_failures BIGINT NOT NULL,
    otp_blocked_until BIGINT NOT NULL,
    otp_notice_sent BIGINT NOT NULL
);

CREATE TABLE recovery_mail_log (
    subject_key TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX recovery_mail_log_subject ON recovery_mail_log (subject_key, sent_at);

-- Fixed-window counters for per-IP and global limits.
CREATE TABLE rate_buckets (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- The durable outbox. `payload` is AEAD-sealed by the caller and cleared once the message is
-- delivered, failed for good or expired.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    payload TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    sent_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- Keys shared by every server process, sealed under the master key by the caller.
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    material TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    publish_at BIGINT NOT NULL,
    sign_from BIGINT NOT NULL,
    retire_at BIGINT
);
