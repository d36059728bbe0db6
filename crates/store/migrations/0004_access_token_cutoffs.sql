-- Version 4: a per-user cutoff for access tokens. Access tokens are JWTs and are not stored, so
-- "revoke every access token of this user" (the management API's clear-sessions with
-- `oauthTokens=true`) is remembered as the instant before which none of them is live.
CREATE TABLE access_token_cutoffs (
    user_id TEXT PRIMARY KEY,
    not_after BIGINT NOT NULL
);
