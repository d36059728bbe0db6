//! Verifying our own JWTs: access tokens at userinfo, introspection and revocation, and the ID
//! token given back as `id_token_hint` at logout. Only RS256 with a `kid` from our key ring is
//! accepted, so `alg=none`, HS256-with-the-public-key and foreign keys all fail at the header
//! (security-checklist OA-8). Expiry is compared with the database clock, like every other
//! decision that must agree across processes.
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use latchkey_domain::Millis;
use serde::Deserialize;

use super::keyring::KeyRing;
use super::tokens::ACCESS_TOKEN_TYP;

#[derive(Debug, Clone, Deserialize)]
pub struct AccessClaims {
    pub jti: String,
    pub iss: String,
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub cid: String,
    pub uid: String,
    #[serde(default)]
    pub scp: Vec<String>,
    /// When the user signed in (seconds): a token minted after a password change for a sign-in
    /// before it is refused like an older one (security-checklist §3.6).
    #[serde(default)]
    pub auth_time: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenClaims {
    pub sub: String,
    pub aud: String,
}

/// Checks the header and signature (not `exp`) and returns the claims, or `None`.
fn verified<T: serde::de::DeserializeOwned>(
    keys: &KeyRing,
    token: &str,
    typ: Option<&str>,
    issuer: &str,
    audience: Option<&str>,
    now: Millis,
) -> Option<T> {
    let header = decode_header(token).ok()?;
    if header.alg != Algorithm::RS256 {
        return None;
    }
    if let Some(typ) = typ {
        if header.typ.as_deref() != Some(typ) {
            return None;
        }
    }
    let key = keys.verifying_key(header.kid.as_deref()?, now)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "sub", "exp"]);
    validation.set_issuer(&[issuer]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    decode::<T>(token, &key.decoding, &validation).ok().map(|data| data.claims)
}

/// A live access token of this server: right issuer, audience and type, not expired.
/// (Revocation and the user's state are the caller's to check.)
pub fn access_token(keys: &KeyRing, token: &str, issuer: &str, audience: &str, now: Millis) -> Option<AccessClaims> {
    let claims: AccessClaims = verified(keys, token, Some(ACCESS_TOKEN_TYP), issuer, Some(audience), now)?;
    (claims.exp.saturating_mul(1000) > now).then_some(claims)
}

/// An ID token this server issued, expired or not: `id_token_hint` may be old (RP-Initiated
/// Logout §2), but it must be ours and signed.
pub fn id_token_hint(keys: &KeyRing, token: &str, issuer: &str, now: Millis) -> Option<IdTokenClaims> {
    let header = decode_header(token).ok()?;
    // An access token is not an ID token.
    if header.typ.as_deref() == Some(ACCESS_TOKEN_TYP) {
        return None;
    }
    verified(keys, token, None, issuer, None, now)
}
