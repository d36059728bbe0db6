//! Bearer secrets: generation and the one-way forms we store.
//!
//! Every bearer value (interaction handle, state handle, interaction code, API token, client
//! secret, session id) is 256 bits from the OS CSPRNG (security-checklist OTP-1) and only its
//! SHA-256 is stored (§2 "Other bearer secrets"): 256 random bits make a plain hash safe, unlike
//! a 6-digit code, which needs the keyed MAC in `otp.rs`.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly generated or received bearer secret. `Debug` prints nothing.
#[derive(Clone)]
pub struct BearerToken(SecretString);

impl BearerToken {
    /// 32 random bytes, base64url without padding (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        bytes.fill(0);
        Self(SecretString::from(token))
    }

    /// Wraps a value received from a client. Length is bounded so hashing hostile input is cheap.
    pub fn from_client(value: &str) -> Option<Self> {
        if value.is_empty() || value.len() > 512 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        Some(Self(SecretString::from(value.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The form that is stored and looked up: hex SHA-256.
    pub fn digest(&self) -> String {
        sha256_hex(self.expose())
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

pub fn sha256_hex(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Constant-time comparison of two strings of public length (digests, tokens).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A random identifier in Okta's style: a 3-character type prefix and 17 base62 characters
/// (`00u…` users, `0oa…` clients). Not a secret; uniqueness comes from ~101 random bits.
pub fn okta_style_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(prefix.len() + 17);
    out.push_str(prefix);
    while out.len() < prefix.len() + 17 {
        let byte = (OsRng.next_u32() & 0xff) as u8;
        // Rejection sampling: 248 = 4 × 62 keeps the distribution uniform.
        if byte < 248 {
            if let Some(c) = ALPHABET.get(usize::from(byte % 62)) {
                out.push(char::from(*c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_256_bits_and_unique() {
        let a = BearerToken::generate();
        let b = BearerToken::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).map(|v| v.len()).ok(), Some(32));
    }

    #[test]
    fn debug_hides_the_token() {
        let token = BearerToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn okta_style_ids_have_prefix_and_length() {
        let id = okta_style_id("00u");
        assert!(id.starts_with("00u"));
        assert_eq!(id.len(), 20);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}

/// Authenticated encryption for data at rest: XChaCha20-Poly1305 with a random 192-bit nonce,
/// returned as base64(nonce ‖ ciphertext). `context` is bound as associated data, so a sealed
/// value moved to another row (another outbox id, another key id) does not open.
pub mod seal {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    use rand::rngs::OsRng;
    use rand::RngCore;

    pub const KEY_LEN: usize = 32;

    #[derive(Debug, thiserror::Error, PartialEq, Eq)]
    pub enum SealError {
        #[error("the key must be 32 bytes")]
        BadKey,
        #[error("the sealed value is malformed or was not sealed with this key and context")]
        Open,
    }

    pub fn seal(key: &[u8], context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| SealError::BadKey)?;
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext =
            cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() }).map_err(|_| SealError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Ok(STANDARD.encode(out))
    }

    pub fn open(key: &[u8], context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| SealError::BadKey)?;
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Open)?;
        if bytes.len() < 24 {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() }).map_err(|_| SealError::Open)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn sealed_values_open_only_with_the_same_key_and_context() {
            let key = [7u8; 32];
            let sealed = seal(&key, "outbox:1", b"code 123456").expect("seal");
            assert!(!sealed.contains("123456"));
            assert_eq!(open(&key, "outbox:1", &sealed).as_deref(), Ok(&b"code 123456"[..]));
            assert_eq!(open(&key, "outbox:2", &sealed), Err(SealError::Open));
            assert_eq!(open(&[8u8; 32], "outbox:1", &sealed), Err(SealError::Open));
        }
    }
}
