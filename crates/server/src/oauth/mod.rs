//! The OAuth 2.0 / OpenID Connect adapter on both authorization servers (shared/README
//! "Paths"): `default` at `/oauth2/default/…` and the org server at `/oauth2/…`, with discovery
//! at `{issuer}/.well-known/openid-configuration`.
mod client_auth;
mod discovery;
mod error;
mod interact;
mod jwks;
mod registration;
mod token;
pub mod transaction;

pub use error::OAuthError;

use axum::routing::{get, post};
use axum::Router;

use crate::state::{AppState, AuthServer};

pub fn router() -> Router<AppState> {
    let mut router = Router::new()
        .route("/.well-known/openid-configuration", get(|s| discovery::handle(s, AuthServer::Org)))
        .route("/oauth2/default/.well-known/openid-configuration", get(|s| discovery::handle(s, AuthServer::Default)))
        .route("/oauth2/v1/clients", post(registration::register));
    for (prefix, server) in [("/oauth2/default", AuthServer::Default), ("/oauth2", AuthServer::Org)] {
        router = router
            .route(&format!("{prefix}/v1/interact"), post(move |s, b| interact::handle(s, server, b)))
            .route(&format!("{prefix}/v1/token"), post(move |s, h, b| token::handle(s, server, h, b)))
            .route(&format!("{prefix}/v1/keys"), get(jwks::handle));
    }
    router
}
