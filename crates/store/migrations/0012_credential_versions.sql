-- Version 12: which password a sign-in proved. A completed transaction and every refresh token
-- it starts record the account's `password_changed_at` as of the sign-in; redeeming the code
-- or rotating the token requires the account's to be the same. A password change therefore
-- ends what the old password started even when the sign-in raced the change (cluster §3.6):
-- no comparison of request clocks is involved.
ALTER TABLE interactions ADD COLUMN credential_at BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN credential_at BIGINT;
