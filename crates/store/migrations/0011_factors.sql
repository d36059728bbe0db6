-- Version 11: second factors. One row per enrolled authenticator; a TOTP secret is stored
-- sealed under the key ring's factor key with the factor id as context, never in the clear.
-- `last_used_step` is the newest TOTP step accepted, so a value is never accepted twice.
CREATE TABLE factors (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    factor_type TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    last_used_step BIGINT,
    created_at BIGINT NOT NULL,
    last_updated_at BIGINT NOT NULL
);
CREATE INDEX factors_user ON factors (user_id);
