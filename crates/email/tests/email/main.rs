//! The email crate's behaviour end to end: rendering every template, and the outbox worker
//! against a real SMTP sink and real SQLite and PostgreSQL databases.

mod mailbox;
mod render;
mod support;
mod untrusted_relay;
mod worker;
