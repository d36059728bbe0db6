-- Version 18: the passkey registration a signed-in user started on the account page, kept with
-- the browser session that started it (its challenge and webauthn-rs' state, JSON) until the
-- authenticator's answer consumes it; starting again replaces it.
ALTER TABLE sessions ADD COLUMN webauthn_ceremony TEXT;
