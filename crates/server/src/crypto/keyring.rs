//! The key ring shared by every server process: the code-MAC key, the outbox key and the token
//! signing keys, stored in the database sealed under the master key.
//!
//! Rotation of signing keys (issue 6) follows "publish first, sign later, retire after the last
//! token expired": `publish_at <= sign_from`, and JWKS lists every key that is published and
//! not retired.
//!
//! Signing runs on `ring` (`RsaKeyPair`, RSASSA-PKCS1-v1_5 with SHA-256, blinded and constant
//! time), not on the `rsa` crate, whose private-key operations carry RUSTSEC-2023-0071 (the
//! Marvin timing side channel). `rsa` is kept for one job `ring` cannot do: generating a key
//! (see ARCHITECTURE.md, "Choices of dependencies").
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_domain::secret::seal;
use latchkey_domain::Millis;
use latchkey_store::{KeyRecord, Store};
use rand::RngCore;
use ring::signature::RsaKeyPair;
use rsa::pkcs8::{EncodePrivateKey, LineEnding, SecretDocument};
use zeroize::Zeroizing;

use super::master::MasterKey;

const CODE_MAC_KEY_ID: &str = "code-mac";
const OUTBOX_KEY_ID: &str = "outbox";
/// Seals second-factor secrets (TOTP), each with its factor id as context.
const FACTOR_KEY_ID: &str = "factor";
pub const SIGNING_KIND: &str = "signing";

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("a stored key could not be opened: the master key is not the one it was sealed with")]
    WrongMasterKey,
    #[error("storage: {0}")]
    Store(#[from] latchkey_store::StoreError),
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("a stored signing key cannot be used: {0}")]
    Unusable(String),
}

/// A signing key ready to use.
pub struct SigningKey {
    pub kid: String,
    /// The private key, for signing only (`crypto::tokens::sign_rs256`).
    pub signer: RsaKeyPair,
    /// The public half, for verifying our own tokens (a public-key operation).
    pub decoding: jsonwebtoken::DecodingKey,
    /// Base64url modulus and exponent, for JWKS.
    pub n: String,
    pub e: String,
    pub sign_from: Millis,
    pub publish_at: Millis,
}

pub struct KeyRing {
    code_mac: Zeroizing<Vec<u8>>,
    outbox: Zeroizing<[u8; 32]>,
    factor: Zeroizing<[u8; 32]>,
    signing: Vec<Arc<SigningKey>>,
}

impl KeyRing {
    /// Loads every key, creating the missing ones. Safe to run in several processes at once:
    /// singleton keys are inserted with `ON CONFLICT DO NOTHING` and re-read.
    pub async fn load(store: &Store, master: &MasterKey, now: Millis) -> Result<Self, KeyRingError> {
        let code_mac = singleton(store, master, CODE_MAC_KEY_ID, now).await?;
        let outbox = key32(&singleton(store, master, OUTBOX_KEY_ID, now).await?)?;
        let factor = key32(&singleton(store, master, FACTOR_KEY_ID, now).await?)?;
        let mut records = store.live_keys(SIGNING_KIND, now).await?;
        if records.is_empty() {
            // Serialised on the code-MAC key's row, so processes started together keep one
            // first signing key (tests/cluster: every_process_serves_the_same_jwks).
            let first = new_signing_key(master, now, now).await?;
            records = store.insert_first_key(&first, CODE_MAC_KEY_ID, now).await?;
        }
        let signing = records.iter().map(|r| open_signing_key(master, r).map(Arc::new)).collect::<Result<_, _>>()?;
        Ok(Self { code_mac, outbox, factor, signing })
    }

    pub fn code_mac_key(&self) -> &[u8] {
        &self.code_mac
    }

    pub fn outbox_key(&self) -> [u8; 32] {
        *self.outbox
    }

    /// Seals a second factor's secret, bound to its factor id.
    pub fn seal_factor_secret(&self, factor_id: &str, secret: &[u8]) -> Result<String, seal::SealError> {
        seal::seal(&*self.factor, &format!("factor:{factor_id}"), secret)
    }

    /// Opens a stored TOTP factor's secret. Failing means the row was not sealed by this key
    /// ring (a restored database with another master key): an internal error, never the user's.
    pub fn open_totp_secret(&self, factor: &latchkey_store::FactorRecord) -> anyhow::Result<latchkey_domain::totp::TotpSecret> {
        let bytes = seal::open(&*self.factor, &format!("factor:{}", factor.id), &factor.secret_sealed)
            .map_err(|_| anyhow::anyhow!("the secret of factor {} does not open with this key ring", factor.id))?;
        latchkey_domain::totp::TotpSecret::from_bytes(bytes).map_err(|_| anyhow::anyhow!("the secret of factor {} is malformed", factor.id))
    }

    /// The key that signs now: the newest whose `sign_from` has passed.
    pub fn active_signing_key(&self, now: Millis) -> Option<Arc<SigningKey>> {
        self.signing.iter().filter(|k| k.sign_from <= now).max_by_key(|k| k.sign_from).cloned()
    }

    /// Every key published at `now` and not retired (JWKS).
    pub fn published_keys(&self, now: Millis) -> Vec<Arc<SigningKey>> {
        self.signing.iter().filter(|k| k.publish_at <= now).cloned().collect()
    }

    /// The published key with this `kid`, for verifying our own tokens.
    pub fn verifying_key(&self, kid: &str, now: Millis) -> Option<Arc<SigningKey>> {
        self.signing.iter().find(|k| k.kid == kid && k.publish_at <= now).cloned()
    }

    /// Derives the public state handle from the interaction handle, so only the digests of both
    /// are stored and introspection by interaction handle can still return the state handle.
    pub fn state_handle_for(&self, interaction_handle: &str) -> String {
        use hmac::{Hmac, Mac};
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&self.code_mac) else {
            return String::new();
        };
        mac.update(b"idx-state-handle\0");
        mac.update(interaction_handle.as_bytes());
        format!("02{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

async fn singleton(store: &Store, master: &MasterKey, id: &str, now: Millis) -> Result<Zeroizing<Vec<u8>>, KeyRingError> {
    let mut fresh = Zeroizing::new(vec![0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut fresh);
    let sealed = seal::seal(master.as_ref(), &format!("key:{id}"), &fresh).map_err(|_| KeyRingError::WrongMasterKey)?;
    let record = KeyRecord {
        id: id.to_owned(),
        kind: id.to_owned(),
        material: sealed,
        created_at: now,
        publish_at: now,
        sign_from: now,
        retire_at: None,
    };
    let stored = store.insert_key_if_absent(&record).await?;
    let opened = seal::open(master.as_ref(), &format!("key:{id}"), &stored.material).map_err(|_| KeyRingError::WrongMasterKey)?;
    Ok(Zeroizing::new(opened))
}

/// Generates a 2048-bit RSA key, seals its PKCS#8 PEM and stores it, logging the rollover in
/// the insert's transaction.
pub async fn create_signing_key(store: &Store, master: &MasterKey, now: Millis, sign_from: Millis) -> Result<KeyRecord, KeyRingError> {
    let record = new_signing_key(master, now, sign_from).await?;
    Ok(store.insert_rotated_key(&record, &latchkey_store::EventContext::system(), now).await?)
}

/// Generates a 2048-bit RSA key and seals its PKCS#8 PEM into a record (not yet stored).
async fn new_signing_key(master: &MasterKey, now: Millis, sign_from: Millis) -> Result<KeyRecord, KeyRingError> {
    let private = tokio::task::spawn_blocking(|| rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048))
        .await
        .map_err(|e| KeyRingError::Generate(e.to_string()))?
        .map_err(|e| KeyRingError::Generate(e.to_string()))?;
    let pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyRingError::Generate(e.to_string()))?;
    let kid = latchkey_domain::secret::okta_style_id("lk");
    let material = seal::seal(master.as_ref(), &format!("key:{kid}"), pem.as_bytes()).map_err(|_| KeyRingError::WrongMasterKey)?;
    Ok(KeyRecord { id: kid, kind: SIGNING_KIND.to_owned(), material, created_at: now, publish_at: now, sign_from, retire_at: None })
}

fn open_signing_key(master: &MasterKey, record: &KeyRecord) -> Result<SigningKey, KeyRingError> {
    let pem = Zeroizing::new(
        seal::open(master.as_ref(), &format!("key:{}", record.id), &record.material).map_err(|_| KeyRingError::WrongMasterKey)?,
    );
    let pem_str = std::str::from_utf8(&pem).map_err(|_| KeyRingError::WrongMasterKey)?;
    let signer = signer_from_pkcs8_pem(pem_str)?;
    let (n, e) = jwk_components(&signer);
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(&n, &e).map_err(|e| KeyRingError::Unusable(e.to_string()))?;
    Ok(SigningKey { kid: record.id.clone(), signer, decoding, n, e, sign_from: record.sign_from, publish_at: record.publish_at })
}

/// Keys are stored as PKCS#8 PEM (what `rsa` writes, and what every stored key already is);
/// `ring` reads the DER inside. Only the PEM armour is undone here, with the `der` crate: no
/// arithmetic on the private key happens outside `ring`.
fn signer_from_pkcs8_pem(pem: &str) -> Result<RsaKeyPair, KeyRingError> {
    let (label, der) = SecretDocument::from_pem(pem).map_err(|e| KeyRingError::Unusable(format!("not PEM: {e}")))?;
    if label != "PRIVATE KEY" {
        return Err(KeyRingError::Unusable(format!("a {label}, not a PKCS#8 private key")));
    }
    RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| KeyRingError::Unusable(format!("refused by ring: {e}")))
}

/// Base64url modulus and exponent for JWKS. RFC 7518 §6.3.1 wants the minimal big-endian form;
/// `ring` already gives it, and stripping again keeps `n` and `e` byte-for-byte what the `rsa`
/// crate published before, so relying parties see the same JWKS.
fn jwk_components(key: &RsaKeyPair) -> (String, String) {
    let components = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(key.public());
    let minimal = |bytes: &[u8]| {
        let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        URL_SAFE_NO_PAD.encode(&bytes[first..])
    };
    (minimal(&components.n), minimal(&components.e))
}

/// A 32-byte symmetric key from a singleton's opened bytes; any other length means the master
/// key opened something it did not seal.
fn key32(bytes: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyRingError> {
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(KeyRingError::WrongMasterKey);
    }
    key.copy_from_slice(bytes);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use rsa::traits::PublicKeyParts;

    use super::*;

    /// A key written by `rsa` (as every stored key is) opens in `ring` with the same public
    /// half, so the JWKS of a running deployment does not change under the new signer.
    #[test]
    fn stored_keys_open_in_ring_with_the_same_jwk() {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("key generation");
        let pem = private.to_pkcs8_pem(LineEnding::LF).expect("PEM");
        let signer = signer_from_pkcs8_pem(&pem).expect("ring reads the PKCS#8 key");
        let (n, e) = jwk_components(&signer);
        assert_eq!(n, URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()));
        assert_eq!(e, URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()));
    }

    #[test]
    fn a_pem_that_is_not_a_private_key_is_refused() {
        let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(signer_from_pkcs8_pem(public).is_err());
        assert!(signer_from_pkcs8_pem("not a key").is_err());
    }
}
