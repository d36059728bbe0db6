-- Version 5: a per-user cutoff for tokens (the management API's clear-sessions with
-- `oauthTokens=true`). Access tokens are JWTs and are not stored, so "revoke every token of this
-- user" is remembered as the instant up to which none of them is live. Refresh tokens are also
-- revoked row by row; the cutoff covers a successor that a refresh racing the revocation stored.
CREATE TABLE token_cutoffs (
    user_id TEXT PRIMARY KEY,
    not_after BIGINT NOT NULL
);
