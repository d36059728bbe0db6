//! OAuth 2.0 / OpenID Connect on both authorization servers (`oauth::router`, the hosted
//! authorize and logout pages) and client management (`oauth::management_router`).
use latchkey_proto::oauth::{ClientMetadata, DiscoveryDocument, InteractResponse, IntrospectionResponse, Jwks, TokenResponse, UserInfo};
use utoipa::openapi::path::HttpMethod;

use super::ops::{array_of, schema_ref, Body, Errors, Op, Reply};

pub fn operations() -> Vec<Op> {
    let mut ops = vec![
        Op::new(&[HttpMethod::Get], "/.well-known/openid-configuration", "oauth", "Discovery (the org authorization server)")
            .reply(200, Reply::Json(schema_ref::<DiscoveryDocument>())),
        Op::new(
            &[HttpMethod::Get],
            "/oauth2/default/.well-known/openid-configuration",
            "oauth",
            "Discovery (the default authorization server)",
        )
        .reply(200, Reply::Json(schema_ref::<DiscoveryDocument>())),
    ];
    for prefix in ["/oauth2/default", "/oauth2"] {
        ops.extend([
            Op::new(&[HttpMethod::Post], format!("{prefix}/v1/interact"), "oauth", "Start an IDX transaction (PKCE)")
                .body(Body::Form {
                    required: &["client_id", "redirect_uri", "code_challenge", "code_challenge_method", "state"],
                    optional: &["scope", "nonce", "client_secret"],
                })
                .reply(200, Reply::Json(schema_ref::<InteractResponse>())),
            Op::new(&[HttpMethod::Post], format!("{prefix}/v1/token"), "oauth", "Redeem a code or a refresh token")
                .body(Body::Form {
                    required: &["grant_type"],
                    optional: &[
                        "client_id",
                        "client_secret",
                        "interaction_code",
                        "code",
                        "code_verifier",
                        "redirect_uri",
                        "refresh_token",
                        "scope",
                    ],
                })
                .reply(200, Reply::Json(schema_ref::<TokenResponse>())),
            Op::new(&[HttpMethod::Get], format!("{prefix}/v1/keys"), "oauth", "The public signing keys (JWKS)")
                .reply(200, Reply::Json(schema_ref::<Jwks>())),
            Op::new(&[HttpMethod::Get, HttpMethod::Post], format!("{prefix}/v1/userinfo"), "oauth", "Claims of the access token's user")
                .reply(200, Reply::Json(schema_ref::<UserInfo>())),
            Op::new(&[HttpMethod::Post], format!("{prefix}/v1/revoke"), "oauth", "Revoke a token (RFC 7009)")
                .body(Body::Form { required: &["token"], optional: &["token_type_hint", "client_id", "client_secret"] })
                .reply(200, Reply::Empty),
            Op::new(&[HttpMethod::Post], format!("{prefix}/v1/introspect"), "oauth", "Introspect a token (RFC 7662)")
                .body(Body::Form { required: &["token"], optional: &["token_type_hint", "client_id", "client_secret"] })
                .reply(200, Reply::Json(schema_ref::<IntrospectionResponse>())),
            Op::new(&[HttpMethod::Get], format!("{prefix}/v1/authorize"), "oauth", "Authorization endpoint (the hosted sign-in page)")
                .query(&[
                    "client_id",
                    "response_type",
                    "redirect_uri",
                    "scope",
                    "state",
                    "nonce",
                    "code_challenge",
                    "code_challenge_method",
                    "prompt",
                    "max_age",
                ])
                .reply(200, Reply::Html)
                .reply(302, Reply::Empty)
                .errors(Errors::Html),
            Op::new(&[HttpMethod::Get], format!("{prefix}/v1/logout"), "oauth", "RP-initiated logout")
                .query(&["id_token_hint", "post_logout_redirect_uri", "state"])
                .reply(200, Reply::Html)
                .reply(302, Reply::Empty)
                .errors(Errors::Html),
        ]);
    }
    ops.extend([
        Op::new(&[HttpMethod::Get], "/oauth2/v1/clients", "clients", "List clients")
            .reply(200, Reply::Json(array_of::<ClientMetadata>()))
            .admin(),
        Op::new(&[HttpMethod::Post], "/oauth2/v1/clients", "clients", "Register a client (RFC 7591)")
            .body(Body::Json(schema_ref::<ClientMetadata>()))
            .reply(201, Reply::Json(schema_ref::<ClientMetadata>()))
            .admin(),
        Op::new(&[HttpMethod::Get], "/oauth2/v1/clients/{client_id}", "clients", "Read a client (RFC 7592)")
            .reply(200, Reply::Json(schema_ref::<ClientMetadata>()))
            .admin(),
        Op::new(&[HttpMethod::Put], "/oauth2/v1/clients/{client_id}", "clients", "Replace a client's metadata")
            .body(Body::Json(schema_ref::<ClientMetadata>()))
            .reply(200, Reply::Json(schema_ref::<ClientMetadata>()))
            .admin(),
        Op::new(&[HttpMethod::Delete], "/oauth2/v1/clients/{client_id}", "clients", "Delete a client").reply(204, Reply::Empty).admin(),
        Op::new(&[HttpMethod::Post], "/oauth2/v1/clients/{client_id}/lifecycle/newSecret", "clients", "Rotate a client's secret")
            .reply(200, Reply::Json(schema_ref::<ClientMetadata>()))
            .admin(),
    ]);
    ops
}
