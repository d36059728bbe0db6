//! `POST /widget/v1/password-strength`: the reset form's live check of the strength rule
//! (issue 13, item 4). The widget lists the rule up front (its own text: the rule is not a key
//! of IDX `settings.complexity`, which Okta's widget would trip on, idx-protocol §6.5) and asks
//! here, as the user pauses typing, whether the password is hard enough to guess.
//!
//! Only a transaction at the reset step may ask (its `stateHandle`, a bearer secret, and a live
//! reset grant): the answer uses that account's profile, as the real reset does, so it agrees
//! with the verdict on submit. The estimate runs on the blocking pool under the hasher's
//! admission permit (it is CPU work, bounded to 64 code points by the policy). The body is a
//! plain form, so a page on any origin may send it without a preflight; the answer says one bit.
//! The password is never logged (spans name the path only) and nothing is stored.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use latchkey_domain::secret::sha256_hex;
use latchkey_domain::{Password, PolicyViolation};
use serde_json::json;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/widget/v1/password-strength", post(check))
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn unusable() -> Response {
    answer(StatusCode::NOT_FOUND, json!({"error": "no transaction at the reset step"}))
}

#[tracing::instrument(name = "widget.password_strength", skip_all)]
async fn check(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(fields) = crate::http::form::parse(&body) else {
        return answer(StatusCode::BAD_REQUEST, json!({"error": "a form with stateHandle and password"}));
    };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let handle = field("stateHandle");
    if handle.is_empty() || handle.len() > 512 {
        return unusable();
    }
    let looked_up = async {
        let now = state.store.now().await?;
        let Some(record) = state.store.interaction_by_state_handle(&sha256_hex(handle), now).await? else { return Ok(None) };
        let Ok(user_id) = record.step.reset_grant(now) else { return Ok(None) };
        state.store.user_by_id(user_id).await
    };
    let account = match looked_up.await {
        Ok(Some(account)) => account,
        Ok(None) => return unusable(),
        Err(error) => {
            crate::http::unavailable::log("password strength check", &error);
            return answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "unavailable"}));
        }
    };
    let Ok(password) = Password::parse(field("password")) else { return answer(StatusCode::OK, json!({"strong": false})) };
    match state.hasher.check(&state.policies.password, password, &account.user.profile).await {
        Ok(violations) => {
            let strong = !violations.iter().any(|v| matches!(v, PolicyViolation::TooGuessable { .. }));
            answer(StatusCode::OK, json!({"strong": strong}))
        }
        Err(_) => answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "busy"})),
    }
}
