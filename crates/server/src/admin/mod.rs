//! The Okta-shaped management API (`/api/v1/*`), authenticated with `Authorization: SSWS`.
//! Bodies are parsed strictly: unknown members are refused (security-checklist INP-3, ADM-2).
pub mod auth;
mod error;
mod lifecycle;
mod render;
mod users;

pub use auth::AdminAuth;
pub use error::AdminError;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{id}", get(users::get).post(users::update).put(users::update).delete(users::delete))
        .route("/api/v1/users/{id}/lifecycle/{action}", post(lifecycle::handle))
}
