//! The password-hashing queue: requests waiting for an Argon2 slot right now, and the Argon2
//! computations done (so a refusal before hashing is observable: security-checklist INP-4).
pub const WAITING: &str = "latchkey_password_hashing_waiting";
pub const ARGON2: &str = "latchkey_password_argon2_total";

/// One Argon2 computation: `hash` (a new password) or `verify` (a sign-in, a current-password
/// check; an imported hash's verification counts once, padded with Argon2's work).
pub fn computed(operation: &'static str) {
    metrics::counter!(ARGON2, "operation" => operation).increment(1);
}

/// Held while a request waits for a hashing slot; the gauge goes down when it is dropped,
/// whether the wait ended in a slot, a timeout or a cancelled request.
pub struct Waiting(());

impl Waiting {
    pub fn enter() -> Self {
        metrics::gauge!(WAITING).increment(1.0);
        Self(())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        metrics::gauge!(WAITING).decrement(1.0);
    }
}

pub(super) fn describe() {
    metrics::describe_gauge!(WAITING, "Requests waiting for a password-hashing slot (the hashing queue's depth).");
    metrics::gauge!(WAITING).set(0.0);
    metrics::describe_counter!(ARGON2, "Argon2 computations, by operation (hash, verify).");
    for operation in ["hash", "verify"] {
        metrics::counter!(ARGON2, "operation" => operation).absolute(0);
    }
}
