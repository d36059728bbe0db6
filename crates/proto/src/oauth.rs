//! OAuth 2.0 and OpenID Connect bodies (RFC 6749, 7591, 7592, 8414; OIDC Discovery).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct InteractResponse {
    pub interaction_handle: String,
}

/// Token response. Deliberately has no `state` member: auth-js compares it with an undefined
/// expected state and fails if present (idx-protocol §8.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct TokenResponse {
    pub token_type: String,
    pub expires_in: i64,
    pub access_token: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub kid: String,
    pub n: String,
    pub e: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct DiscoveryDocument {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub registration_endpoint: String,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub prompt_values_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
}

/// RFC 7591 client metadata, as registered and as returned (RFC 7592 shape).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_issued_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    #[serde(default)]
    pub client_name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    /// Latchkey extension: browser origins allowed to call IDX/interact/token besides the
    /// origins of `redirect_uris`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_origins: Vec<String>,
}

/// The claims of a JWT access token (RFC 9068, in Okta's shape: `cid`, `uid`, `scp`). Member
/// order is the signing order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessTokenClaims {
    pub ver: u8,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    /// The login, as Okta puts it; `uid` is the user id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub cid: String,
    pub uid: String,
    pub scp: Vec<String>,
    pub auth_time: i64,
}

/// The claims of an OpenID Connect ID token (OIDC Core §2, §5.1). Profile and email claims are
/// present only with the `profile` / `email` scopes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdTokenClaims {
    pub ver: u8,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub idp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// The UserInfo response (OIDC Core §5.3.2): `sub`, the profile claims with `profile`, the email
/// claims with `email`. Members are in alphabetical order, as this body has always been sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct UserInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    pub sub: String,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// The token introspection response (RFC 7662 §2.2). An inactive token is `{"active": false}`
/// and nothing else. Members are in alphabetical order, as this body has always been sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Absent when inactive; `null` for an active refresh token whose user is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Option<String>>,
}

impl IntrospectionResponse {
    pub fn inactive() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inactive_token_is_active_false_and_nothing_else() {
        assert_eq!(serde_json::to_string(&IntrospectionResponse::inactive()).expect("json"), r#"{"active":false}"#);
    }

    #[test]
    fn a_refresh_token_without_its_user_has_a_null_username() {
        let body = IntrospectionResponse { active: true, username: Some(None), ..IntrospectionResponse::default() };
        assert_eq!(serde_json::to_string(&body).expect("json"), r#"{"active":true,"username":null}"#);
    }

    #[test]
    fn userinfo_without_profile_or_email_scopes_is_just_sub() {
        let body = UserInfo { sub: "00u1".to_owned(), ..UserInfo::default() };
        assert_eq!(serde_json::to_string(&body).expect("json"), r#"{"sub":"00u1"}"#);
        let body = UserInfo { email: Some("a@x".to_owned()), email_verified: Some(true), sub: "00u1".to_owned(), ..UserInfo::default() };
        assert_eq!(serde_json::to_string(&body).expect("json"), r#"{"email":"a@x","email_verified":true,"sub":"00u1"}"#);
    }
}
