-- Version 14: the "Not you?" links of security notices (PasswordChanged, AuthenticatorEnrolled,
-- AuthenticatorReset). Only the SHA-256 of each 256-bit token is stored. A row is bound to the
-- account, to what the notice reported (`subject`, and the factor for authenticator notices)
-- and to when it happened (`notice_at`); it is single use (`used_at`) and expires by the
-- database clock. Confirming one ends the account's sessions and tokens and removes the
-- factors enrolled since 24 hours before `notice_at`.
CREATE TABLE containment_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    factor_id TEXT,
    factor_type TEXT,
    notice_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX containment_tokens_user ON containment_tokens (user_id);
