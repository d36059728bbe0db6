//! Password hashing with Argon2id, admission-controlled.
//!
//! Hashing is CPU- and memory-heavy, so it never runs on the async worker threads: it runs on
//! the blocking pool behind a semaphore sized to the cores (security-checklist STO-2). A request
//! that cannot get a slot within the queue timeout gets `Busy` (503) instead of piling up
//! memory. Unknown accounts are verified against a dummy hash with the current parameters so
//! that they cost the same as real ones (Zero To Production's `validate_credentials`).
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use latchkey_domain::Password;
use tokio::sync::Semaphore;

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
    permits: Semaphore,
    queue_timeout: Duration,
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32, concurrency: usize, queue_timeout: Duration) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, iterations, parallelism, Some(32)).map_err(|e| HashError::Internal(e.to_string()))?;
        let concurrency = if concurrency == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) } else { concurrency };
        let dummy = Password::parse("latchkey dummy password for unknown accounts").map_err(|e| HashError::Internal(e.to_string()))?;
        let dummy_hash = hash_now(&params, &dummy)?;
        Ok(Self { inner: Arc::new(Inner { params, permits: Semaphore::new(concurrency), queue_timeout, dummy_hash }) })
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let _permit = self.admit().await?;
        let params = self.inner.params.clone();
        run_blocking(move || hash_now(&params, &password)).await
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
        let params = self.inner.params.clone();
        let (policy, profile) = (policy.clone(), profile.clone());
        run_blocking(move || {
            let violations = violations(&policy, &password, &profile);
            if !violations.is_empty() {
                return Ok(Err(violations));
            }
            hash_now(&params, &password).map(Ok)
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
        let params = self.inner.params.clone();
        let dummy = self.inner.dummy_hash.clone();
        let outcome = run_blocking(move || {
            // An imported hash: verified once, padded with Argon2's work, then replaced.
            if let Some(matches) = super::imported::verify_padded(&argon2(&params), &dummy, &password, &hash) {
                return Ok(Verification { matches, needs_rehash: true });
            }
            let parsed = PasswordHash::new(&hash).map_err(|e| HashError::Internal(e.to_string()))?;
            let matches = argon2(&params).verify_password(password.expose().as_bytes(), &parsed).is_ok();
            let needs_rehash = Params::try_from(&parsed)
                .map(|p| p.m_cost() < params.m_cost() || p.t_cost() < params.t_cost() || p.p_cost() < params.p_cost())
                .unwrap_or(true)
                || parsed.algorithm.as_str() != "argon2id";
            Ok(Verification { matches, needs_rehash })
        })
        .await?;
        Ok(Verification { matches: outcome.matches && is_real, needs_rehash: outcome.needs_rehash && is_real })
    }

    async fn admit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        let _waiting = crate::metrics::hashing::Waiting::enter();
        match tokio::time::timeout(self.inner.queue_timeout, self.inner.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
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

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_now(params: &Params, password: &Password) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2(params).hash_password(password.expose().as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| HashError::Internal(e.to_string()))
}

async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, HashError> + Send + 'static) -> Result<T, HashError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await.map_err(|e| HashError::Internal(e.to_string()))?
}
