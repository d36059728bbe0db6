//! OAuth errors in RFC 6749 §5.2 shape, rendered in one place.
use axum::http::header::{HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub enum OAuthError {
    InvalidRequest(String),
    InvalidClient,
    InvalidGrant(&'static str),
    UnauthorizedClient(&'static str),
    UnsupportedGrantType,
    InvalidScope,
    /// The client address spent its failure budget (429 with Retry-After).
    TooManyRequests {
        retry_after_secs: i64,
    },
    /// The database is out of reach (503 `temporarily_unavailable` with Retry-After).
    Unavailable,
    Internal(anyhow::Error),
}

impl From<latchkey_store::StoreError> for OAuthError {
    fn from(e: latchkey_store::StoreError) -> Self {
        if e.is_unavailable() {
            crate::http::unavailable::log("OAuth request", &e);
            return Self::Unavailable;
        }
        if matches!(e, latchkey_store::StoreError::InvalidText) {
            return Self::InvalidRequest("a parameter contains a character that cannot be stored".to_owned());
        }
        Self::Internal(e.into())
    }
}

impl OAuthError {
    /// The RFC 6749 error code and description, for redirect-based error responses.
    pub fn parts(self) -> (StatusCode, &'static str, String) {
        match self {
            Self::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d),
            Self::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.".to_owned()),
            Self::InvalidGrant(d) => (StatusCode::BAD_REQUEST, "invalid_grant", d.to_owned()),
            Self::UnauthorizedClient(d) => (StatusCode::BAD_REQUEST, "unauthorized_client", d.to_owned()),
            Self::UnsupportedGrantType => {
                (StatusCode::BAD_REQUEST, "unsupported_grant_type", "The grant type is not supported.".to_owned())
            }
            Self::InvalidScope => (StatusCode::BAD_REQUEST, "invalid_scope", "The requested scope is not allowed.".to_owned()),
            Self::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                "Too many failed requests from this address. Try again later.".to_owned(),
            ),
            Self::Unavailable => unavailable(),
            Self::Internal(error) if crate::http::unavailable::database_unavailable(&error) => {
                crate::http::unavailable::log("OAuth request", &error);
                unavailable()
            }
            Self::Internal(error) => {
                tracing::error!(error.message = %error, error.cause_chain = ?error, "OAuth request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Internal Server Error".to_owned())
            }
        }
    }
}

/// RFC 6749 §4.1.2.1's `temporarily_unavailable`, as a 503.
fn unavailable() -> (StatusCode, &'static str, String) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "The service is temporarily unavailable. Try again in a moment.".to_owned(),
    )
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let (status, code, description) = self.parts();
        let retry_after = retry_after.or((status == StatusCode::SERVICE_UNAVAILABLE).then_some(crate::http::unavailable::RETRY_AFTER_SECS));
        let body = latchkey_proto::oauth::OAuthError { error: code.to_owned(), error_description: description };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secs) = retry_after.and_then(|s| HeaderValue::from_str(&s.max(1).to_string()).ok()) {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"latchkey\""));
        }
        response
    }
}
