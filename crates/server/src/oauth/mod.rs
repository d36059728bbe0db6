//! The OAuth 2.0 / OpenID Connect adapter on both authorization servers (shared/README
//! "Paths"): `default` at `/oauth2/default/…` and the org server at `/oauth2/…`, with discovery
//! at `{issuer}/.well-known/openid-configuration`.
mod bearer;
mod client_auth;
mod clients;
mod discovery;
mod error;
mod grant_code;
mod grant_refresh;
mod interact;
mod introspect;
mod issue;
mod jwks;
mod registration;
mod revoke;
mod token;
pub mod transaction;
mod userinfo;

pub use error::OAuthError;

use axum::routing::{get, post};
use axum::Router;

use crate::state::{AppState, AuthServer};

/// Client registration and management (RFC 7591/7592, SSWS): an admin API, so it is served
/// without CORS, beside `/api/v1` (security-checklist WEB-6).
pub fn management_router() -> Router<AppState> {
    Router::new()
        .route("/oauth2/v1/clients", post(registration::register).get(clients::list))
        .route("/oauth2/v1/clients/{client_id}", get(clients::get).put(clients::update).delete(clients::delete))
        .route("/oauth2/v1/clients/{client_id}/lifecycle/newSecret", post(clients::new_secret))
}

/// The protocol endpoints browsers call across origins (CORS applies).
pub fn router() -> Router<AppState> {
    let mut router = Router::new()
        .route("/.well-known/openid-configuration", get(|s| discovery::handle(s, AuthServer::Org)))
        .route("/oauth2/default/.well-known/openid-configuration", get(|s| discovery::handle(s, AuthServer::Default)));
    for (prefix, server) in [("/oauth2/default", AuthServer::Default), ("/oauth2", AuthServer::Org)] {
        router = router
            .route(&format!("{prefix}/v1/interact"), post(move |s, b| interact::handle(s, server, b)))
            .route(&format!("{prefix}/v1/token"), post(move |s, c, h, b| token::handle(s, c, server, h, b)))
            .route(&format!("{prefix}/v1/keys"), get(jwks::handle))
            .route(
                &format!("{prefix}/v1/userinfo"),
                get(move |s, h| userinfo::handle(s, server, h, axum::body::Bytes::new()))
                    .post(move |s, h, b| userinfo::handle(s, server, h, b)),
            )
            .route(&format!("{prefix}/v1/revoke"), post(move |s, c, h, b| revoke::handle(s, server, c, h, b)))
            .route(&format!("{prefix}/v1/introspect"), post(move |s, h, b| introspect::handle(s, server, h, b)));
    }
    router
}
