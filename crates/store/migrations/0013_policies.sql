-- Version 13: the organisation's authentication policies, as the few values decisions read
-- (`latchkey_domain::policy`). A missing key means its default; the admin API renders Okta's
-- policy and rule shapes from these values.
CREATE TABLE policy_values (
    policy_key TEXT PRIMARY KEY,
    policy_value TEXT NOT NULL,
    last_updated_at BIGINT NOT NULL
);
