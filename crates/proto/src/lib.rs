//! Latchkey's wire types: the Okta IDX envelope, OAuth 2.0 / OpenID Connect bodies and the
//! Okta management API shapes. Shared by the server and by clients and tests.
//!
//! # Invariant
//! These are data only: serde structs with construction helpers and no behaviour. Domain types
//! never derive `Serialize`; adapters convert into these by hand, so a refactor of the domain
//! cannot silently change what goes over the wire.
pub mod idx;
pub mod management;
pub mod oauth;
