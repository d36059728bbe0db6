-- Version 17: passkeys (WebAuthn) as second factors, and the ceremony of a transaction.
-- A passkey is a factor row (factor_type 'webauthn', provider 'FIDO', secret_sealed '': a
-- public key is no secret) with its credential id (base64url, unique across every account:
-- one authenticator credential names one factor) and webauthn-rs' credential as JSON (public
-- key, signature counter, backup flags), replaced when an assertion moves the counter.
ALTER TABLE factors ADD COLUMN credential_id TEXT;
ALTER TABLE factors ADD COLUMN credential TEXT;
CREATE UNIQUE INDEX factors_credential_id ON factors (credential_id);
-- The registration or authentication ceremony of the transaction's current step (its
-- challenge and webauthn-rs' state, JSON). Every move of the step clears it, so a challenge
-- is answered at most once and never outlives the step it was issued for.
ALTER TABLE interactions ADD COLUMN webauthn_ceremony TEXT;
