//! ID token validation (OpenID Connect Core §3.1.3.7): the signature against the issuer's
//! JWKS, then `iss`, `aud`, `exp` and the `nonce` this browser's sign-in sent at interact.
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::oidc::{OidcError, Provider};
use crate::session::SignedInUser;

#[derive(Deserialize)]
struct Claims {
    sub: String,
    nonce: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

fn invalid(why: impl std::fmt::Display) -> OidcError {
    OidcError::InvalidIdToken(why.to_string())
}

impl Provider {
    pub async fn validate_id_token(&self, id_token: &str, expected_nonce: &str) -> Result<SignedInUser, OidcError> {
        let discovery = self.discovery().await?;
        let header = decode_header(id_token).map_err(invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid("only RS256 is accepted"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid in the header"))?;
        // Fetched at each sign-in so a rotated key is always known; cache it in a busy app.
        let keys: JwkSet = self.http.get(&discovery.jwks_uri).send().await?.error_for_status()?.json().await?;
        let jwk = keys.find(&kid).ok_or_else(|| invalid(format!("key {kid} is not in the issuer's JWKS")))?;
        let key = DecodingKey::from_jwk(jwk).map_err(invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[discovery.issuer.as_str()]);
        validation.set_audience(&[self.config.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = decode::<Claims>(id_token, &key, &validation).map_err(invalid)?.claims;
        // The nonce ties the token to the sign-in this session started (replay protection).
        let nonce = claims.nonce.unwrap_or_default();
        if !bool::from(nonce.as_bytes().ct_eq(expected_nonce.as_bytes())) {
            return Err(invalid("the nonce does not match this sign-in"));
        }
        Ok(SignedInUser { subject: claims.sub, name: claims.name, email: claims.email })
    }
}
