//! The password-hashing queue: requests waiting for an Argon2 slot right now.
pub const WAITING: &str = "latchkey_password_hashing_waiting";

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
}
