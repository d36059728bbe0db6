//! Argon2's working memory (19 MiB at the default parameters), kept per hashing slot and reused.
//!
//! The argon2 crate allocates it for every hash and frees it after. Freed, those blocks stayed
//! resident in glibc's per-thread arenas of the blocking threads that hashed: the perf bench
//! measured 417–467 MiB of RSS after creating users and signing in (docs/performance.md).
//! Reusing one block per hashing slot bounds it at `slots` blocks, and spares the page faults
//! of touching fresh memory when glibc does map and unmap it per hash. The PHC strings written
//! and read are the argon2 crate's own (the tests check both directions).
use std::sync::Mutex;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

pub struct WorkingMemory {
    free: Mutex<Vec<Vec<Block>>>,
    /// Blocks kept: one per hashing slot (more never run at once).
    slots: usize,
}

impl WorkingMemory {
    pub fn new(slots: usize) -> Self {
        Self { free: Mutex::new(Vec::new()), slots }
    }

    /// A new Argon2id PHC string for `password` at `params`, with a fresh random salt.
    pub fn hash(&self, params: &Params, password: &[u8]) -> Result<String, argon2::password_hash::Error> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let output = self.with_blocks(params.block_count(), |blocks| {
            Output::init_with(params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN), |out| {
                Ok(argon2.hash_password_into_with_memory(password, salt_bytes, out, blocks)?)
            })
        })?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches `stored`, recomputed with the stored algorithm, version,
    /// parameters and salt; the outputs are compared in constant time (`Output`'s equality).
    pub fn verify(&self, stored: &PasswordHash<'_>, password: &[u8]) -> Result<bool, argon2::password_hash::Error> {
        let algorithm = Algorithm::try_from(stored.algorithm)?;
        let version = stored.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let params = Params::try_from(stored)?;
        let expected = stored.hash.ok_or(argon2::password_hash::Error::Password)?;
        let salt = stored.salt.ok_or(argon2::password_hash::Error::SaltInvalid(argon2::password_hash::errors::InvalidValue::Malformed))?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let computed = self.with_blocks(params.block_count(), |blocks| {
            Output::init_with(expected.len(), |out| Ok(argon2.hash_password_into_with_memory(password, salt_bytes, out, blocks)?))
        })?;
        Ok(computed == expected)
    }

    /// Runs `f` on at least `count` blocks: a kept one when it is large enough, else a new one
    /// (a stored hash with larger parameters than today's), kept afterwards up to `slots`.
    fn with_blocks<T>(&self, count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let kept = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut blocks = match kept {
            Some(blocks) if blocks.len() >= count => blocks,
            _ => vec![Block::default(); count],
        };
        let outcome = f(&mut blocks);
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.slots {
            free.push(blocks);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    fn params() -> Params {
        Params::new(19_456, 2, 1, Some(32)).expect("params")
    }

    #[test]
    fn its_hashes_verify_with_the_argon2_crate_and_the_crates_hashes_verify_here() {
        let memory = WorkingMemory::new(1);
        let ours = memory.hash(&params(), b"correct horse battery staple").expect("hash");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        assert!(argon2.verify_password(b"correct horse battery staple", &parsed).is_ok());
        assert!(argon2.verify_password(b"correct horse battery stapler", &parsed).is_err());

        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = argon2.hash_password(b"another password entirely", &salt).expect("hash").to_string();
        let parsed = PasswordHash::new(&theirs).expect("a PHC string");
        assert!(memory.verify(&parsed, b"another password entirely").expect("verify"));
        assert!(!memory.verify(&parsed, b"another password entirely!").expect("verify"));
    }

    #[test]
    fn a_stored_hash_with_other_parameters_verifies_and_blocks_are_kept_per_slot() {
        let memory = WorkingMemory::new(1);
        let weaker = Params::new(8_192, 1, 1, Some(32)).expect("params");
        let old = memory.hash(&weaker, b"an older stored password").expect("hash");
        let today = memory.hash(&params(), b"a password of today").expect("hash");
        assert!(memory.verify(&PasswordHash::new(&old).expect("phc"), b"an older stored password").expect("verify"));
        assert!(memory.verify(&PasswordHash::new(&today).expect("phc"), b"a password of today").expect("verify"));
        let kept = memory.free.lock().expect("lock");
        assert_eq!(kept.len(), 1, "one slot keeps one block array");
        assert!(kept[0].len() >= params().block_count());
    }
}
