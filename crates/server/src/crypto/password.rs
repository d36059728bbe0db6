//! Password hashing with Argon2id, admission-controlled.
//!
//! Hashing is CPU- and memory-heavy, so it never runs on the async worker threads: it runs on
//! the blocking pool behind a semaphore sized to the cores (security-checklist STO-2). The queue
//! in front of it is bounded twice: a request finding `queue_max` others already waiting gets
//! `Busy` (503 with `Retry-After`) at once, and one that waited the queue timeout gets it too,
//! so a burst of sign-ins costs bounded memory and no request waits without end. Unknown accounts are verified against a dummy hash with the current parameters so
//! that they cost the same as real ones (Zero To Production's `validate_credentials`).
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::PasswordHash;
use argon2::Params;
use latchkey_domain::Password;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::argon2_memory::WorkingMemory;

/// `Retry-After` on a 503 for a full hashing queue: a slot frees within one hash (tens of
/// milliseconds), so the shortest value the header can say.
pub const BUSY_RETRY_AFTER_SECS: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password checks are in progress; try again shortly")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

pub struct Verification {
    pub matches: bool,
    /// The stored hash used weaker parameters than today's: store a fresh one.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    /// One per hash running at once.
    permits: Semaphore,
    /// One per admitted request, hashing or waiting: `concurrency + queue_max`.
    places: Semaphore,
    queue_timeout: Duration,
    dummy_hash: String,
    memory: WorkingMemory,
}

impl PasswordHasher {
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        concurrency: usize,
        queue_timeout: Duration,
        queue_max: usize,
    ) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, iterations, parallelism, Some(32)).map_err(|e| HashError::Internal(e.to_string()))?;
        let concurrency = if concurrency == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) } else { concurrency };
        let dummy = Password::parse("latchkey dummy password for unknown accounts").map_err(|e| HashError::Internal(e.to_string()))?;
        // Working memory kept for no slot: this one hash at start does not stay resident.
        let dummy_hash = hash_now(&WorkingMemory::new(0), &params, &dummy)?;
        let places = Semaphore::new(concurrency.saturating_add(queue_max).min(Semaphore::MAX_PERMITS));
        let memory = WorkingMemory::new(concurrency);
        Ok(Self { inner: Arc::new(Inner { params, permits: Semaphore::new(concurrency), places, queue_timeout, dummy_hash, memory }) })
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let _permit = self.admit().await?;
        let inner = self.inner.clone();
        run_blocking(move || hash_now(&inner.memory, &inner.params, &password)).await
    }

    /// Checks a new password against the policy and, when it passes, hashes it: both on the
    /// blocking pool under one admission permit, because the strength estimate is CPU-heavy too
    /// (finding 9: zxcvbn on the async threads slowed every other request). `Ok(Err(_))` lists
    /// the violated rules.
    pub async fn check_and_hash(
        &self,
        policy: &latchkey_domain::PasswordPolicy,
        password: Password,
        profile: &latchkey_domain::Profile,
    ) -> Result<Result<String, Vec<latchkey_domain::PolicyViolation>>, HashError> {
        let _permit = self.admit().await?;
        let inner = self.inner.clone();
        let (policy, profile) = (policy.clone(), profile.clone());
        run_blocking(move || {
            let violations = violations(&policy, &password, &profile);
            if !violations.is_empty() {
                return Ok(Err(violations));
            }
            hash_now(&inner.memory, &inner.params, &password).map(Ok)
        })
        .await
    }

    /// The policy's verdict alone, on the blocking pool under an admission permit (the reset
    /// form's live strength check): no hash.
    pub async fn check(
        &self,
        policy: &latchkey_domain::PasswordPolicy,
        password: Password,
        profile: &latchkey_domain::Profile,
    ) -> Result<Vec<latchkey_domain::PolicyViolation>, HashError> {
        let _permit = self.admit().await?;
        let (policy, profile) = (policy.clone(), profile.clone());
        run_blocking(move || Ok(violations(&policy, &password, &profile))).await
    }

    /// Verifies against `stored`, or against the dummy hash when there is none.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> Result<Verification, HashError> {
        let _permit = self.admit().await?;
        let is_real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.inner.dummy_hash.clone());
        let inner = self.inner.clone();
        let outcome = run_blocking(move || {
            crate::metrics::hashing::computed("verify");
            let params = &inner.params;
            // An imported hash: verified once, padded with Argon2's work, then replaced.
            let pad = |dummy: &PasswordHash<'_>, password: &[u8]| {
                let _ = inner.memory.verify(dummy, password);
            };
            if let Some(matches) = super::imported::verify_padded(pad, &inner.dummy_hash, &password, &hash) {
                return Ok(Verification { matches, needs_rehash: true });
            }
            let parsed = PasswordHash::new(&hash).map_err(|e| HashError::Internal(e.to_string()))?;
            let matches = inner.memory.verify(&parsed, password.expose().as_bytes()).unwrap_or(false);
            let needs_rehash = Params::try_from(&parsed)
                .map(|p| p.m_cost() < params.m_cost() || p.t_cost() < params.t_cost() || p.p_cost() < params.p_cost())
                .unwrap_or(true)
                || parsed.algorithm.as_str() != "argon2id";
            Ok(Verification { matches, needs_rehash })
        })
        .await?;
        Ok(Verification { matches: outcome.matches && is_real, needs_rehash: outcome.needs_rehash && is_real })
    }

    /// A place in the queue without waiting (none left: `Busy`), then a hashing slot within the
    /// queue timeout. Both are held until the hash is done.
    async fn admit(&self) -> Result<(SemaphorePermit<'_>, SemaphorePermit<'_>), HashError> {
        let place = self.inner.places.try_acquire().map_err(|_| HashError::Busy)?;
        let _waiting = crate::metrics::hashing::Waiting::enter();
        match tokio::time::timeout(self.inner.queue_timeout, self.inner.permits.acquire()).await {
            Ok(Ok(permit)) => Ok((place, permit)),
            _ => Err(HashError::Busy),
        }
    }
}

fn violations(
    policy: &latchkey_domain::PasswordPolicy,
    password: &Password,
    profile: &latchkey_domain::Profile,
) -> Vec<latchkey_domain::PolicyViolation> {
    let context = latchkey_domain::password::PasswordContext {
        login: profile.login.as_str(),
        email: profile.email.as_str(),
        first_name: profile.first_name.as_deref().unwrap_or_default(),
        last_name: profile.last_name.as_deref().unwrap_or_default(),
    };
    policy.check(password, &context)
}

fn hash_now(memory: &WorkingMemory, params: &Params, password: &Password) -> Result<String, HashError> {
    crate::metrics::hashing::computed("hash");
    memory.hash(params, password.expose().as_bytes()).map_err(|e| HashError::Internal(e.to_string()))
}

async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, HashError> + Send + 'static) -> Result<T, HashError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await.map_err(|e| HashError::Internal(e.to_string()))?
}
