//! The Latchkey identity server: configuration, startup, and the IDX, OAuth/OIDC and
//! management adapters over `latchkey-domain` and `latchkey-store`.
//!
//! # Layout
//! - `config`: the one typed configuration tree.
//! - `startup`: `Application::build` binds, migrates, loads keys and starts the workers;
//!   `run_until_stopped` serves until the injected shutdown future resolves.
//! - `http`: plumbing every adapter shares (limits, CORS, headers, tracing, strict JSON).
//! - `idx`, `oauth`, `admin`: the protocol adapters, one file per step or endpoint.
//! - `crypto`: master key, key ring, Argon2 hashing, token signing.
//! - `mail`: which email a state change queues, with which variables.
//! - `openapi`: the OpenAPI 3.1 document of the public and management APIs.
//! - `metrics`: the Prometheus endpoint on its own listener, and what is counted.
pub mod admin;
pub mod cli;
pub mod config;
pub mod config_docs;
pub mod crypto;
pub mod files;
pub mod hosted;
pub mod http;
pub mod idx;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod passkeys;
pub mod session;
pub mod startup;
pub mod state;
pub mod strength;
pub mod telemetry;
pub mod totp_setup;
