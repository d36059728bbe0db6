-- Version 16: what a sign-in proved (`latchkey_domain::session::AuthMethods`, the ID token's
-- `amr`), kept on the transaction, the browser session and each refresh token. NULL is the
-- password alone (every row from before this version).
ALTER TABLE interactions ADD COLUMN amr TEXT;
ALTER TABLE sessions ADD COLUMN amr TEXT;
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT;
