//! Black-box tests of the identity server: a real server on a loopback port, a real SMTP
//! server over TCP, and a fresh SQLite or PostgreSQL database per test. One test binary
//! (Kanidm's DO_NOT_ADD_MORE_TESTS_HERE habit); one file per feature.
mod helpers;

/// `both_backends!(a, b)`: each test body on SQLite and on PostgreSQL.
pub(crate) use latchkey_store::both_backends;

mod account_page;
mod admin;
mod attack_model;
mod attacks;
mod backup;
mod cli_policies;
mod cli_templates;
mod cli_users;
mod clients;
mod connections;
mod demo;
mod dev_mailbox;
mod email_templates;
mod endpoints;
mod enumeration;
mod factors;
mod file_modes;
mod forwarded_for;
mod hashing_queue;
mod health;
mod hosted;
mod https;
mod input;
mod key_rotation;
mod landing;
mod limits;
mod logs;
mod mail_messages;
mod not_me;
mod oidc_support;
mod outages;
mod passkeys;
mod recovery;
mod recovery_codes;
mod refresh;
mod secrets_at_rest;
mod sessions;
mod set_password_links;
mod signin;
mod signin_model;
mod step_up;
mod strength;
mod system_log;
mod themes;
mod tokens;
mod user_sessions;
mod web;
