//! Okta's management error shape, rendered in one place: `errorCode`, `errorSummary`,
//! `errorLink`, `errorId`, `errorCauses`. Internal details are logged, never returned.
use axum::http::header::{HeaderValue, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_proto::management::{ErrorCause, OktaError};

#[derive(Debug)]
pub enum AdminError {
    Unauthorized,
    /// E0000006: authenticated, but this operation is not allowed.
    Forbidden(String),
    NotFound(String),
    /// E0000001 with one cause per problem, e.g. `password: …`.
    Validation(Vec<String>),
    /// A body that is not JSON of the expected shape.
    Malformed(String),
    /// 409: the change conflicts with the current state (Okta's code and summary).
    Conflict {
        code: &'static str,
        summary: String,
    },
    Unavailable,
    /// E0000068: a factor's passcode was wrong (or already used).
    InvalidPasscode,
    /// E0000047: the client address spent its failure budget.
    TooManyRequests {
        retry_after_secs: i64,
    },
    Internal(anyhow::Error),
}

impl From<latchkey_store::StoreError> for AdminError {
    fn from(e: latchkey_store::StoreError) -> Self {
        match e {
            latchkey_store::StoreError::Conflict(what) => {
                Self::Validation(vec![format!("login: An object with this field already exists ({what})")])
            }
            latchkey_store::StoreError::NotFound => Self::NotFound("Resource not found".to_owned()),
            latchkey_store::StoreError::InvalidText => {
                Self::Validation(vec!["request: a value contains a character that cannot be stored (NUL)".to_owned()])
            }
            other if other.is_unavailable() => {
                crate::http::unavailable::log("admin request", &other);
                Self::Unavailable
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crate::crypto::password::HashError> for AdminError {
    fn from(e: crate::crypto::password::HashError) -> Self {
        match e {
            crate::crypto::password::HashError::Busy => Self::Unavailable,
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crate::http::json::JsonError> for AdminError {
    fn from(e: crate::http::json::JsonError) -> Self {
        Self::Malformed(e.0)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            // Busy hashing or an unreachable database: both pass in a moment.
            Self::Unavailable => Some(crate::http::unavailable::RETRY_AFTER_SECS),
            Self::Internal(error) if crate::http::unavailable::database_unavailable(error) => {
                Some(crate::http::unavailable::RETRY_AFTER_SECS)
            }
            _ => None,
        };
        let (status, code, summary, causes) = match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided".to_owned(), vec![]),
            Self::Forbidden(reason) => {
                (StatusCode::FORBIDDEN, "E0000006", "You do not have permission to perform the requested action".to_owned(), vec![reason])
            }
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "E0000007", format!("Not found: {what}"), vec![]),
            Self::Validation(causes) => {
                let first = causes.first().and_then(|c| c.split(':').next()).unwrap_or("request").to_owned();
                (StatusCode::BAD_REQUEST, "E0000001", format!("Api validation failed: {first}"), causes)
            }
            Self::Malformed(reason) => {
                (StatusCode::BAD_REQUEST, "E0000003", "The request body was not well-formed.".to_owned(), vec![reason])
            }
            Self::Conflict { code, summary } => (StatusCode::CONFLICT, code, summary, vec![]),
            Self::InvalidPasscode => (
                StatusCode::FORBIDDEN,
                "E0000068",
                "Invalid Passcode/Answer".to_owned(),
                vec!["Your passcode doesn't match our records. Please try again.".to_owned()],
            ),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "E0000010", "Service is temporarily unavailable.".to_owned(), vec![]),
            Self::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "E0000047", "API call exceeded rate limit due to too many requests.".to_owned(), vec![])
            }
            Self::Internal(error) if crate::http::unavailable::database_unavailable(&error) => {
                crate::http::unavailable::log("admin request", &error);
                (StatusCode::SERVICE_UNAVAILABLE, "E0000010", "Service is temporarily unavailable.".to_owned(), vec![])
            }
            Self::Internal(error) => {
                tracing::error!(error.message = %error, error.cause_chain = ?error, "admin request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "E0000009", "Internal Server Error".to_owned(), vec![])
            }
        };
        let body = OktaError {
            error_code: code.to_owned(),
            error_summary: summary,
            error_link: code.to_owned(),
            error_id: latchkey_domain::secret::okta_style_id("oae"),
            error_causes: causes.into_iter().map(|c| ErrorCause { error_summary: c }).collect(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secs) = retry_after.and_then(|s| HeaderValue::from_str(&s.max(1).to_string()).ok()) {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs);
        }
        response
    }
}
