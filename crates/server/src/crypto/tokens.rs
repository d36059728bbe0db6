//! Signed tokens: RS256 JWT access tokens and OpenID Connect ID tokens.
//!
//! The JWS compact serialization is written here (RFC 7515 §7.1: three base64url parts) so the
//! signature comes from `ring` (see `keyring`); `jsonwebtoken` still supplies the header type
//! and verifies, which needs only the public key.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_domain::{Millis, User};
use latchkey_proto::oauth::{AccessTokenClaims, IdTokenClaims};
use ring::rand::SystemRandom;
use ring::signature::RSA_PKCS1_SHA256;
use serde::Serialize;

use super::keyring::{KeyRing, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no signing key is active")]
    NoKey,
    #[error("token encoding failed: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("signing failed")]
    Sign,
}

/// `BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(RSASSA-PKCS1-v1_5-SHA256(…))`.
/// The header must say RS256: it is the only algorithm our keys sign and verifiers accept.
fn sign_rs256<T: Serialize>(header: &jsonwebtoken::Header, claims: &T, key: &SigningKey) -> Result<String, TokenError> {
    debug_assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256, "our keys sign RS256 only");
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?));
    let mut signature = vec![0u8; key.signer.public().modulus_len()];
    key.signer.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), token.as_bytes(), &mut signature).map_err(|_| TokenError::Sign)?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(&signature));
    Ok(token)
}

pub struct TokenRequest<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub client_id: &'a str,
    pub user: &'a User,
    pub scopes: &'a latchkey_domain::oauth::Scopes,
    pub nonce: Option<&'a str>,
    pub auth_time: Millis,
    /// What the sign-in proved: the ID token's `amr`.
    pub methods: latchkey_domain::session::AuthMethods,
    pub now: Millis,
    pub lifetime_secs: i64,
}

pub struct IssuedTokens {
    pub access_token: String,
    pub id_token: Option<String>,
    /// The access token's `jti` and `exp` (seconds), to revoke it later (OA-2, RFC 7009).
    pub access_jti: String,
    pub access_exp: i64,
}

/// The JWT `typ` of access tokens (RFC 9068). Userinfo and introspection accept only this, so
/// an ID token (plain `JWT`) is never taken for an access token (security-checklist OA-8).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

pub fn issue(keys: &KeyRing, req: &TokenRequest<'_>) -> Result<IssuedTokens, TokenError> {
    let key = keys.active_signing_key(req.now).ok_or(TokenError::NoKey)?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    let iat = req.now / 1000;
    let exp = iat + req.lifetime_secs;
    let user_id = req.user.id.as_str();
    let joined_scopes = req.scopes.joined();
    let scopes: Vec<String> = joined_scopes.split(' ').map(str::to_owned).collect();
    let access_jti = latchkey_domain::secret::okta_style_id("AT.");
    let access = AccessTokenClaims {
        ver: 1,
        jti: access_jti.clone(),
        iss: req.issuer.to_owned(),
        aud: req.audience.to_owned(),
        sub: req.user.profile.login.as_str().to_owned(),
        iat,
        exp,
        cid: req.client_id.to_owned(),
        uid: user_id.to_owned(),
        scp: scopes,
        auth_time: req.auth_time / 1000,
    };
    let mut access_header = header.clone();
    access_header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    let access_token = sign_rs256(&access_header, &access, &key)?;
    let id_token = if req.scopes.contains("openid") {
        let profile = &req.user.profile;
        let with_profile = req.scopes.contains("profile");
        let with_email = req.scopes.contains("email");
        let name = match (&profile.first_name, &profile.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(l)) => Some(l.clone()),
            (None, None) => None,
        };
        let claims = IdTokenClaims {
            ver: 1,
            jti: latchkey_domain::secret::okta_style_id("ID."),
            iss: req.issuer.to_owned(),
            aud: req.client_id.to_owned(),
            sub: user_id.to_owned(),
            iat,
            exp,
            auth_time: req.auth_time / 1000,
            amr: req.methods.values(),
            idp: req.issuer.to_owned(),
            nonce: req.nonce.map(str::to_owned),
            email: with_email.then(|| profile.email.as_str().to_owned()),
            email_verified: with_email.then_some(true),
            name: if with_profile { name } else { None },
            preferred_username: with_profile.then(|| profile.login.as_str().to_owned()),
            given_name: if with_profile { profile.first_name.clone() } else { None },
            family_name: if with_profile { profile.last_name.clone() } else { None },
            locale: if with_profile { profile.locale.clone() } else { None },
        };
        Some(sign_rs256(&header, &claims, &key)?)
    } else {
        None
    };
    Ok(IssuedTokens { access_token, id_token, access_jti, access_exp: exp })
}
