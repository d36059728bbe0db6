//! `GET /api/v1/brands` and `GET /api/v1/brands/{brandId}`: Latchkey has one brand, `default`
//! (Okta orgs always have a default brand; clients look it up before touching email templates).
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{AdminAuth, AdminError};
use crate::state::AppState;

pub const DEFAULT_BRAND: &str = "default";

/// The brand in `path`, or 404 as Okta answers for an unknown brand.
pub fn known(brand_id: &str) -> Result<&'static str, AdminError> {
    if brand_id == DEFAULT_BRAND {
        Ok(DEFAULT_BRAND)
    } else {
        Err(AdminError::NotFound(format!("Resource not found: {brand_id} (Brand)")))
    }
}

fn brand(state: &AppState) -> Value {
    let base = format!("{}/api/v1/brands/{DEFAULT_BRAND}", state.public_url);
    json!({
        "id": DEFAULT_BRAND,
        "name": state.settings.org.name,
        "isDefault": true,
        "locale": "en",
        "removePoweredByOkta": true,
        "customPrivacyPolicyUrl": null,
        "agreeToCustomPrivacyPolicy": false,
        "emailDomainId": null,
        "_links": {
            "self": {"href": base, "hints": {"allow": ["GET"]}},
            "email-templates": {"href": format!("{base}/templates/email"), "hints": {"allow": ["GET"]}},
            "themes": {"href": format!("{base}/themes"), "hints": {"allow": ["GET"]}},
        }
    })
}

#[tracing::instrument(name = "admin.brands.list", skip_all)]
pub async fn list(_: AdminAuth, State(state): State<AppState>) -> Response {
    Json(json!([brand(&state)])).into_response()
}

#[tracing::instrument(name = "admin.brands.get", skip_all)]
pub async fn get(_: AdminAuth, State(state): State<AppState>, Path(brand_id): Path<String>) -> Result<Response, AdminError> {
    known(&brand_id)?;
    Ok(Json(brand(&state)).into_response())
}
