//! OpenID Connect discovery. auth-js reads `issuer`, `jwks_uri` and requires `S256` in
//! `code_challenge_methods_supported` (idx-protocol §3); the rest lists exactly what is
//! implemented, so certified clients (openid-client, authlib) find every endpoint here.
use axum::extract::State;
use axum::Json;
use latchkey_proto::oauth::DiscoveryDocument;

use crate::state::{AppState, AuthServer};

/// Client authentication at the token, revocation and introspection endpoints (`client_auth.rs`).
const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];

pub async fn handle(State(state): State<AppState>, server: AuthServer) -> Json<DiscoveryDocument> {
    let base = state.oauth_base(server);
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    Json(DiscoveryDocument {
        issuer: state.issuer(server),
        authorization_endpoint: format!("{base}/v1/authorize"),
        token_endpoint: format!("{base}/v1/token"),
        jwks_uri: format!("{base}/v1/keys"),
        userinfo_endpoint: format!("{base}/v1/userinfo"),
        end_session_endpoint: format!("{base}/v1/logout"),
        revocation_endpoint: format!("{base}/v1/revoke"),
        introspection_endpoint: format!("{base}/v1/introspect"),
        registration_endpoint: format!("{}/oauth2/v1/clients", state.public_url),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: strings(&["authorization_code", "interaction_code", "refresh_token"]),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&["RS256"]),
        scopes_supported: strings(latchkey_domain::oauth::SUPPORTED_SCOPES),
        token_endpoint_auth_methods_supported: strings(AUTH_METHODS),
        revocation_endpoint_auth_methods_supported: strings(AUTH_METHODS),
        introspection_endpoint_auth_methods_supported: strings(AUTH_METHODS),
        prompt_values_supported: strings(&["none", "login"]),
        claims_supported: strings(&[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "email",
            "email_verified",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "locale",
            "updated_at",
        ]),
        code_challenge_methods_supported: strings(&["S256"]),
        authorization_response_iss_parameter_supported: true,
    })
}
