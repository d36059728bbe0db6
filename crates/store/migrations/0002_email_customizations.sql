-- Version 2: administrators' email template customizations (Okta's email-customization API)
-- and the single-use links an administrator's action sends (activation, admin reset).

-- One row per (template, language). `language` is the BCP 47 tag as the administrator wrote
-- it; `language_key` is its lower-case `-` form, unique per template so lookups never
-- depend on spelling. At most one row per template is the default (enforced by the store in
-- the same write transaction that changes `is_default`).
CREATE TABLE email_customizations (
    id TEXT PRIMARY KEY,
    brand_id TEXT NOT NULL,
    template_name TEXT NOT NULL,
    language TEXT NOT NULL,
    language_key TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    is_default BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (brand_id, template_name, language_key)
);

-- A counter bumped by every customization change, so each server process can tell with one
-- cheap query whether its parsed cache is stale.
CREATE TABLE config_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO config_versions (name, version) VALUES ('email_customizations', 0);

-- Set-password links (UserActivation, PasswordResetByAdmin): only the SHA-256 of the 256-bit
-- token is stored. A newer token for the same user ends the older ones.
CREATE TABLE password_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_tokens_user ON password_tokens (user_id);
