//! Password hashes imported from another system, in Okta's import shape
//! (`credentials.password.hash`: `algorithm` BCRYPT, SHA-512, SHA-256, SHA-1, MD5 or PBKDF2,
//! with `salt`, `saltOrder`, `workFactor`, `value`, and PBKDF2's `digestAlgorithm`,
//! `iterationCount`, `keySize`), plus ARGON2 (our addition: `value` is the PHC string).
//!
//! An imported hash is stored as one string (`password_hash`): bcrypt in its own `$2a$` form,
//! Argon2 as its PHC string, the others as `$okta-<alg>$…` (this file's format). It verifies
//! one sign-in; the first success replaces it with Argon2id (`Verification::needs_rehash`).
//! A verification also runs one Argon2 verification of the dummy hash, so a wrong password
//! for an imported account costs at least what it costs for an Argon2 account or an unknown
//! identifier, and imports do not reopen enumeration (bcrypt and PBKDF2 add their own cost).
use argon2::password_hash::PasswordHash;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use latchkey_domain::Password;
use serde::Deserialize;
use sha2::Digest as _;
use subtle::ConstantTimeEq;

/// `credentials.password.hash` as Okta's import API takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OktaHash {
    pub algorithm: String,
    pub value: String,
    #[serde(default)]
    pub salt: Option<String>,
    #[serde(default)]
    pub salt_order: Option<String>,
    #[serde(default)]
    pub work_factor: Option<u32>,
    #[serde(default)]
    pub digest_algorithm: Option<String>,
    #[serde(default)]
    pub iteration_count: Option<u32>,
    #[serde(default)]
    pub key_size: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digest {
    Sha512,
    Sha256,
    Sha1,
    Md5,
}

impl Digest {
    fn name(self) -> &'static str {
        match self {
            Self::Sha512 => "sha512",
            Self::Sha256 => "sha256",
            Self::Sha1 => "sha1",
            Self::Md5 => "md5",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Sha512, Self::Sha256, Self::Sha1, Self::Md5].into_iter().find(|d| d.name() == name)
    }

    fn hash(self, input: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha512 => sha2::Sha512::digest(input).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(input).to_vec(),
            Self::Sha1 => sha1::Sha1::digest(input).to_vec(),
            Self::Md5 => md5::Md5::digest(input).to_vec(),
        }
    }
}

impl OktaHash {
    /// The string stored as the user's password hash, or what is wrong with the import.
    pub fn to_stored(&self) -> Result<String, String> {
        let salt = || self.salt.as_deref().unwrap_or_default();
        match self.algorithm.to_ascii_uppercase().as_str() {
            "BCRYPT" => {
                let cost = self.work_factor.ok_or("BCRYPT needs workFactor")?;
                if !(4..=31).contains(&cost) {
                    return Err("BCRYPT workFactor must be between 4 and 31".to_owned());
                }
                if salt().len() != 22 || self.value.len() != 31 {
                    return Err("BCRYPT needs a 22-character salt and a 31-character value (radix-64)".to_owned());
                }
                let stored = format!("$2a${cost:02}${}{}", salt(), self.value);
                stored.parse::<bcrypt::HashParts>().map_err(|e| format!("BCRYPT: {e}"))?;
                Ok(stored)
            }
            "ARGON2" => {
                PasswordHash::new(&self.value).map_err(|e| format!("ARGON2 value is not a PHC string: {e}"))?;
                Ok(self.value.clone())
            }
            "PBKDF2" => {
                let digest = match self.digest_algorithm.as_deref() {
                    Some("SHA256_HMAC") => Digest::Sha256,
                    Some("SHA512_HMAC") => Digest::Sha512,
                    _ => return Err("PBKDF2 needs digestAlgorithm SHA256_HMAC or SHA512_HMAC".to_owned()),
                };
                let iterations = self.iteration_count.filter(|n| *n >= 4096).ok_or("PBKDF2 needs iterationCount of at least 4096")?;
                let value = decode("value", &self.value)?;
                if self.key_size.is_some_and(|size| usize::try_from(size).ok() != Some(value.len())) {
                    return Err("PBKDF2 keySize is not the length of value".to_owned());
                }
                decode("salt", salt())?;
                Ok(format!("$okta-pbkdf2-{}${iterations}${}${}", digest.name(), salt(), self.value))
            }
            name => {
                let digest = match name {
                    "SHA-512" => Digest::Sha512,
                    "SHA-256" => Digest::Sha256,
                    "SHA-1" => Digest::Sha1,
                    "MD5" => Digest::Md5,
                    other => return Err(format!("unknown hash algorithm {other:?}")),
                };
                let order = match (self.salt.as_deref(), self.salt_order.as_deref().map(str::to_ascii_uppercase).as_deref()) {
                    (None | Some(""), _) => "none",
                    (Some(_), Some("PREFIX")) => "prefix",
                    (Some(_), Some("POSTFIX")) => "postfix",
                    (Some(_), _) => return Err("a salted hash needs saltOrder PREFIX or POSTFIX".to_owned()),
                };
                decode("salt", salt())?;
                if decode("value", &self.value)?.len() != digest.hash(b"").len() {
                    return Err(format!("{name} value has the wrong length"));
                }
                Ok(format!("$okta-{}${order}${}${}", digest.name(), salt(), self.value))
            }
        }
    }
}

fn decode(what: &str, b64: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(b64).map_err(|_| format!("{what} is not base64"))
}

/// For a stored hash that was imported (bcrypt or `$okta-…`): whether `password` matches,
/// after the Argon2 padding. `None` for an Argon2 hash, which the caller verifies itself.
/// `pad` runs one Argon2 verification of the password against the dummy hash (the caller's
/// reused working memory, or a plain `Argon2` in tests).
pub fn verify_padded(pad: impl FnOnce(&PasswordHash<'_>, &[u8]), dummy_hash: &str, password: &Password, stored: &str) -> Option<bool> {
    let matches = if stored.starts_with("$2") {
        bcrypt::verify(password.expose(), stored).unwrap_or(false)
    } else if let Some(rest) = stored.strip_prefix("$okta-") {
        verify_okta(rest, password.expose().as_bytes()).unwrap_or(false)
    } else {
        return None;
    };
    // The padding: the work an Argon2 account's verification costs.
    if let Ok(dummy) = PasswordHash::new(dummy_hash) {
        pad(&dummy, password.expose().as_bytes());
    }
    Some(matches)
}

/// `<alg>$<order>$<salt>$<value>` or `pbkdf2-<digest>$<iterations>$<salt>$<value>`.
fn verify_okta(stored: &str, password: &[u8]) -> Option<bool> {
    let mut parts = stored.split('$');
    let (algorithm, param, salt, value) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let (salt, value) = (STANDARD.decode(salt).ok()?, STANDARD.decode(value).ok()?);
    let computed = if let Some(digest) = algorithm.strip_prefix("pbkdf2-") {
        let iterations: u32 = param.parse().ok()?;
        let mut out = vec![0u8; value.len()];
        match Digest::from_name(digest)? {
            Digest::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &salt, iterations, &mut out),
            Digest::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, &salt, iterations, &mut out),
            Digest::Sha1 | Digest::Md5 => return None,
        }
        out
    } else {
        let digest = Digest::from_name(algorithm)?;
        let input = match param {
            "prefix" => [salt.as_slice(), password].concat(),
            "postfix" => [password, salt.as_slice()].concat(),
            _ => password.to_vec(),
        };
        digest.hash(&input)
    };
    Some(computed.ct_eq(&value).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier as _;

    fn okta(algorithm: &str, salt: Option<&[u8]>, order: Option<&str>, value: &[u8]) -> OktaHash {
        OktaHash {
            algorithm: algorithm.to_owned(),
            value: STANDARD.encode(value),
            salt: salt.map(|s| STANDARD.encode(s)),
            salt_order: order.map(str::to_owned),
            work_factor: None,
            digest_algorithm: None,
            iteration_count: None,
            key_size: None,
        }
    }

    fn verifies(stored: &str, password: &str) -> bool {
        let argon2 = argon2::Argon2::default();
        let dummy = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        let pad = |dummy: &PasswordHash<'_>, password: &[u8]| {
            let _ = argon2.verify_password(password, dummy);
        };
        verify_padded(pad, dummy, &Password::parse(password).expect("password"), stored).expect("imported")
    }

    #[test]
    fn salted_digests_verify_in_either_salt_order() {
        let password = "correct horse battery staple";
        for (name, digest) in [("SHA-512", Digest::Sha512), ("SHA-256", Digest::Sha256), ("SHA-1", Digest::Sha1), ("MD5", Digest::Md5)] {
            let prefixed = digest.hash(&[b"pepper".as_slice(), password.as_bytes()].concat());
            let stored = okta(name, Some(b"pepper"), Some("PREFIX"), &prefixed).to_stored().expect("valid");
            assert!(verifies(&stored, password), "{name} prefix");
            assert!(!verifies(&stored, "correct horse battery stapler"), "{name} wrong password");
            let postfixed = digest.hash(&[password.as_bytes(), b"pepper".as_slice()].concat());
            let stored = okta(name, Some(b"pepper"), Some("POSTFIX"), &postfixed).to_stored().expect("valid");
            assert!(verifies(&stored, password), "{name} postfix");
            let unsalted = okta(name, None, None, &digest.hash(password.as_bytes())).to_stored().expect("valid");
            assert!(verifies(&unsalted, password), "{name} unsalted");
        }
    }

    #[test]
    fn bcrypt_and_pbkdf2_verify() {
        let password = "correct horse battery staple";
        let full = bcrypt::hash(password, 4).expect("bcrypt");
        let parts = full.parse::<bcrypt::HashParts>().expect("parts");
        let (salt, value) = (parts.get_salt(), full[full.len() - 31..].to_owned());
        let hash = OktaHash { work_factor: Some(4), salt: Some(salt), value, ..okta("BCRYPT", None, None, b"") };
        let stored = hash.to_stored().expect("valid");
        assert!(verifies(&stored, password));
        assert!(!verifies(&stored, "another password entirely"));

        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), b"saltsalt", 4096, &mut key);
        let hash = OktaHash {
            digest_algorithm: Some("SHA256_HMAC".to_owned()),
            iteration_count: Some(4096),
            key_size: Some(32),
            ..okta("PBKDF2", Some(b"saltsalt"), None, &key)
        };
        let stored = hash.to_stored().expect("valid");
        assert!(verifies(&stored, password));
        assert!(!verifies(&stored, "another password entirely"));
    }

    #[test]
    fn malformed_imports_are_refused_with_the_reason() {
        assert!(okta("SHA-256", Some(b"s"), None, &[0; 32]).to_stored().expect_err("no order").contains("saltOrder"));
        assert!(okta("SHA-256", None, None, &[0; 31]).to_stored().expect_err("length").contains("length"));
        assert!(okta("ROT13", None, None, b"x").to_stored().expect_err("unknown").contains("unknown"));
        let weak =
            OktaHash { iteration_count: Some(1000), digest_algorithm: Some("SHA256_HMAC".into()), ..okta("PBKDF2", None, None, &[0; 32]) };
        assert!(weak.to_stored().expect_err("iterations").contains("4096"));
    }
}
