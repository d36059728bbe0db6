-- Version 4: codes bound to their subject, limits keyed by the submitted identifier, and the
-- controllable test clock.

-- Recovery mail is counted per submitted identifier (`subject_key` = 'identifier:…') and per
-- account (`user_id`), so both budgets are read in one statement.
ALTER TABLE recovery_mail_log ADD COLUMN user_id TEXT;
CREATE INDEX recovery_mail_log_user ON recovery_mail_log (user_id, sent_at);
-- One live code per account is enforced by ending the account's codes before a new one.
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- The offset added to the database clock when the server runs with
-- LATCHKEY_UNSAFE_TEST_SETTINGS=1 (never read otherwise). One row, id 1.
CREATE TABLE test_clock (
    id BIGINT PRIMARY KEY,
    offset_ms BIGINT NOT NULL
);
