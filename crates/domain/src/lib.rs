//! Latchkey's domain: users, credentials, password and code policies, OAuth values and the
//! interaction (sign-in / recovery) state machine.
//!
//! # Architecture invariant
//! This crate performs no I/O. It knows nothing of HTTP, SQL, SMTP or tokio. Time is always an
//! argument (`now_ms`, milliseconds since the Unix epoch, read from the database clock by the
//! caller). The randomness a decision depends on is passed in too: `OtpPolicy::generate` takes
//! the generator (the server passes `OsRng`, tests may pass a seeded one). Bearer secrets, ids
//! and sealing nonces (`secret.rs`) draw from `OsRng` directly: nothing about them is ever
//! decided or compared, so a test never needs them reproducible.
//! Values that reach this crate from the outside are parsed into newtypes whose constructor is the
//! only validation (`EmailAddress`, `Login`, `Identifier`, `Password`, `Otp`, `OAuthState`, …): a
//! function that takes an `Otp` never re-checks its length.
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

pub mod audit;
pub mod brand;
pub mod containment;
pub mod email;
pub mod factor;
pub mod funnel;
pub mod identifier;
pub mod interaction;
pub mod keys;
pub mod oauth;
pub mod otp;
pub mod password;
pub mod policy;
pub mod recovery;
pub mod refresh;
pub mod secret;
pub mod session;
pub mod signin;
pub mod throttle;
pub mod totp;
pub mod user;
pub mod webauthn;

pub use email::EmailAddress;
pub use identifier::{Identifier, Login};
pub use otp::{Otp, OtpPolicy};
pub use password::{Password, PasswordPolicy, PolicyViolation};
pub use secret::BearerToken;
pub use user::{Profile, User, UserId, UserStatus};

/// Milliseconds since the Unix epoch, as read from the database clock.
pub type Millis = i64;

pub const SECOND: Millis = 1_000;
pub const MINUTE: Millis = 60 * SECOND;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;
