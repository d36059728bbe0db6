//! Black-box tests of the identity server: a real server on a loopback port, a real SMTP
//! server over TCP, and a fresh SQLite or PostgreSQL database per test. One test binary
//! (Kanidm's DO_NOT_ADD_MORE_TESTS_HERE habit); one file per feature.
mod helpers;

mod admin;
mod cli_templates;
mod clients;
mod demo;
mod dev_mailbox;
mod email_templates;
mod endpoints;
mod enumeration;
mod health;
mod hosted;
mod input;
mod key_rotation;
mod logs;
mod mail_messages;
mod oidc_support;
mod recovery;
mod recovery_codes;
mod refresh;
mod sessions;
mod set_password_links;
mod signin;
mod tokens;
mod user_sessions;
