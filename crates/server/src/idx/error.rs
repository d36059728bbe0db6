//! IDX errors, rendered in exactly one place (`IntoResponse`). Every error on a known
//! transaction carries its full current state so the clients stay on the form (idx-protocol
//! §4.7, §9); an unknown or expired transaction gets `idx.session.expired` with no remediation.
use axum::http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_proto::idx::{IdxResponse, Message, Wrapped, IDX_VERSION};

#[derive(Debug)]
pub enum Problem {
    /// A field message, e.g. on `credentials.passcode` or `identifier`.
    Field { path: &'static str, message: Message },
    /// A message at the top of the form.
    Global(Message),
}

pub enum IdxError {
    SessionExpired,
    BadRequest(String),
    PayloadTooLarge,
    /// A body sent as anything but JSON (WEB-1).
    UnsupportedMediaType,
    /// A refused step on a known transaction: `status` with the current state and a message.
    Step {
        status: StatusCode,
        state: Box<IdxResponse>,
        problem: Problem,
    },
    TooManyRequests {
        retry_after_secs: i64,
        state: Option<Box<IdxResponse>>,
    },
    Unavailable,
    Internal(anyhow::Error),
}

impl std::fmt::Debug for IdxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SessionExpired => f.write_str("SessionExpired"),
            Self::BadRequest(m) => write!(f, "BadRequest({m})"),
            Self::PayloadTooLarge => f.write_str("PayloadTooLarge"),
            Self::UnsupportedMediaType => f.write_str("UnsupportedMediaType"),
            Self::Step { status, problem, .. } => write!(f, "Step({status}, {problem:?})"),
            Self::TooManyRequests { retry_after_secs, .. } => write!(f, "TooManyRequests({retry_after_secs})"),
            Self::Unavailable => f.write_str("Unavailable"),
            Self::Internal(e) => write!(f, "Internal({e:#})"),
        }
    }
}

impl From<latchkey_store::StoreError> for IdxError {
    fn from(e: latchkey_store::StoreError) -> Self {
        if e.is_unavailable() {
            // The database is out of reach: the client retries a 503, not a 500.
            crate::http::unavailable::log("IDX request", &e);
            return Self::Unavailable;
        }
        if matches!(e, latchkey_store::StoreError::InvalidText) {
            return Self::BadRequest("A value contains a character that cannot be stored.".to_owned());
        }
        Self::Internal(e.into())
    }
}

impl From<crate::crypto::password::HashError> for IdxError {
    fn from(e: crate::crypto::password::HashError) -> Self {
        match e {
            crate::crypto::password::HashError::Busy => Self::Unavailable,
            other => Self::Internal(other.into()),
        }
    }
}

pub fn session_expired_message() -> Message {
    Message::error("idx.session.expired", "You have been logged out due to inactivity. Refresh or return to the sign in screen.", vec![])
}

fn bare(messages: Vec<Message>) -> IdxResponse {
    IdxResponse { version: IDX_VERSION.to_owned(), messages: Some(Wrapped::array(messages)), ..IdxResponse::default() }
}

impl IntoResponse for IdxError {
    fn into_response(self) -> Response {
        let (status, body, retry_after) = match self {
            Self::SessionExpired => (StatusCode::UNAUTHORIZED, bare(vec![session_expired_message()]), None),
            Self::BadRequest(reason) => (
                StatusCode::BAD_REQUEST,
                bare(vec![Message::error("E0000001", &format!("The request is not valid: {reason}"), vec![])]),
                None,
            ),
            Self::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, bare(vec![Message::error("E0000001", "The request body is too large.", vec![])]), None)
            }
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                bare(vec![Message::error("E0000001", "The request body must be JSON (Content-Type: application/json).", vec![])]),
                None,
            ),
            Self::Step { status, state, problem } => (status, attach(*state, problem), None),
            Self::TooManyRequests { retry_after_secs, state } => {
                let message = Message::error("tooManyRequests", "Too many requests. Try again later.", vec![]);
                let body = match state {
                    Some(state) => attach(*state, Problem::Global(message)),
                    None => bare(vec![message]),
                };
                (StatusCode::TOO_MANY_REQUESTS, body, Some(retry_after_secs.max(1)))
            }
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                bare(vec![Message::error("E0000009", "The service is busy. Try again in a moment.", vec![])]),
                Some(1),
            ),
            Self::Internal(error) => {
                tracing::error!(error.message = %error, error.cause_chain = ?error, "IDX request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, bare(vec![Message::error("E0000009", "Internal Server Error", vec![])]), None)
            }
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secs) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Puts a problem onto the rendered state: field messages on the matching field of the first
/// remediation (the only one the widget inspects), global ones at the top.
fn attach(mut state: IdxResponse, problem: Problem) -> IdxResponse {
    match problem {
        Problem::Global(message) => {
            let mut messages = state.messages.take().map(|m| m.value).unwrap_or_default();
            messages.push(message);
            state.messages = Some(Wrapped::array(messages));
        }
        Problem::Field { path, message } => {
            let (outer, inner) = match path.split_once('.') {
                Some((o, i)) => (o, Some(i)),
                None => (path, None),
            };
            let field = state
                .remediation
                .as_mut()
                .and_then(|r| r.value.first_mut())
                .and_then(|form| form.value.iter_mut().find(|f| f.name == outer));
            match (field, inner) {
                (Some(field), None) => *field = field.clone().with_messages(vec![message]),
                (Some(field), Some(inner)) => {
                    if let Some(nested) = field.form.as_mut().and_then(|form| form.value.iter_mut().find(|f| f.name == inner)) {
                        *nested = nested.clone().with_messages(vec![message]);
                    }
                }
                (None, _) => {
                    let mut messages = state.messages.take().map(|m| m.value).unwrap_or_default();
                    messages.push(message);
                    state.messages = Some(Wrapped::array(messages));
                }
            }
        }
    }
    state
}
