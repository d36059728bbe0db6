-- Version 3: identity-provider sessions, refresh tokens, revoked access tokens, and what an
-- authorization code produced (so a replayed code can revoke it: security-checklist OA-2).

-- One row per browser session. Only the SHA-256 of the 256-bit cookie value is stored.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_digest TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens: one family per code redemption; each rotation adds a row to the family.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    token_digest TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    auth_server TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    family_expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Access tokens are JWTs: a revoked one is remembered by `jti` until it would expire anyway.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

ALTER TABLE interactions ADD COLUMN auth_time BIGINT;
ALTER TABLE interactions ADD COLUMN issued_jti TEXT;
ALTER TABLE interactions ADD COLUMN issued_jti_expires_at BIGINT;
ALTER TABLE interactions ADD COLUMN issued_family TEXT;
ALTER TABLE interactions ADD COLUMN code_replayed_at BIGINT;
