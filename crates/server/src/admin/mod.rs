//! The Okta-shaped management API (`/api/v1/*`), authenticated with `Authorization: SSWS`.
//! Bodies are parsed strictly: unknown members are refused (security-checklist INP-3, ADM-2).
pub mod auth;
mod brands;
mod email_templates;
mod error;
mod factors;
mod lifecycle;
mod links;
mod logs;
mod mail_messages;
mod policies;
mod render;
mod sessions;
mod themes;
mod users;

pub use auth::AdminAuth;
pub use error::AdminError;

use axum::routing::{delete, get, post};
use axum::Router;

use latchkey_store::ThemeImage;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    const TEMPLATE: &str = "/api/v1/brands/{brand}/templates/email/{template}";
    Router::new()
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{id}", get(users::get).post(users::update).put(users::update).delete(users::delete))
        .route("/api/v1/users/{id}/lifecycle/{action}", post(lifecycle::handle))
        .route("/api/v1/users/{id}/sessions", delete(sessions::clear))
        .route("/api/v1/users/{id}/factors", get(factors::list).post(factors::enroll))
        .route("/api/v1/users/{id}/factors/{factor}", get(factors::get).delete(factors::remove))
        .route("/api/v1/users/{id}/factors/{factor}/lifecycle/activate", post(factors::activate))
        .route("/api/v1/policies", get(policies::list))
        .route("/api/v1/policies/{id}", get(policies::get).put(policies::replace))
        .route("/api/v1/policies/{id}/rules", get(policies::rules))
        .route("/api/v1/policies/{id}/rules/{rule}", get(policies::rule).put(policies::replace_rule))
        .route("/api/v1/brands", get(brands::list))
        .route("/api/v1/brands/{brand}", get(brands::get))
        .route("/api/v1/brands/{brand}/themes", get(themes::list))
        .route("/api/v1/brands/{brand}/themes/{theme}", get(themes::get).put(themes::replace))
        .route(
            "/api/v1/brands/{brand}/themes/{theme}/logo",
            post(|a, s, p, m| themes::upload(a, s, p, ThemeImage::Logo, m))
                .delete(|a, s, p| themes::delete_image(a, s, p, ThemeImage::Logo)),
        )
        .route(
            "/api/v1/brands/{brand}/themes/{theme}/favicon",
            post(|a, s, p, m| themes::upload(a, s, p, ThemeImage::Favicon, m))
                .delete(|a, s, p| themes::delete_image(a, s, p, ThemeImage::Favicon)),
        )
        .route("/api/v1/brands/{brand}/templates/email", get(email_templates::list))
        .route(TEMPLATE, get(email_templates::get))
        .route(&format!("{TEMPLATE}/default-content"), get(|a, s, p, q| email_templates::default_content(a, s, p, q, false)))
        .route(&format!("{TEMPLATE}/default-content/preview"), get(|a, s, p, q| email_templates::default_content(a, s, p, q, true)))
        .route(
            &format!("{TEMPLATE}/customizations"),
            get(email_templates::list_customizations).post(email_templates::create).delete(email_templates::delete_all),
        )
        .route(
            &format!("{TEMPLATE}/customizations/{{id}}"),
            get(email_templates::get_customization).put(email_templates::replace).delete(email_templates::delete_customization),
        )
        .route(&format!("{TEMPLATE}/customizations/{{id}}/preview"), get(email_templates::preview))
        .route(&format!("{TEMPLATE}/test"), post(email_templates::test))
        .route("/api/v1/logs", get(logs::list))
        .route("/api/v1/mail/messages", get(mail_messages::list))
        .route("/api/v1/mail/messages/{id}/resend", post(mail_messages::resend))
}
