//! The hosted pages' one error type, rendered as an HTML page in one place: a browser that
//! followed a link or submitted a form gets a page it can read, never a JSON error body, and
//! internal details are logged, never shown.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::page::message_page;

#[derive(Debug)]
pub enum HostedError {
    /// A request the page cannot serve (a malformed query, an unregistered client).
    Invalid {
        title: &'static str,
        reason: String,
    },
    /// A link or sign-in that expired, was used or was replaced.
    Expired {
        title: &'static str,
        message: &'static str,
    },
    /// The server cannot serve the page right now (hashing queue full, database unreachable).
    Unavailable,
    Internal(anyhow::Error),
}

impl From<latchkey_store::StoreError> for HostedError {
    fn from(e: latchkey_store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::crypto::password::HashError> for HostedError {
    fn from(e: crate::crypto::password::HashError) -> Self {
        match e {
            crate::crypto::password::HashError::Busy => Self::Unavailable,
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crate::oauth::OAuthError> for HostedError {
    fn from(e: crate::oauth::OAuthError) -> Self {
        match e {
            crate::oauth::OAuthError::Internal(e) => Self::Internal(e),
            other => {
                let (_, _, description) = other.parts();
                Self::Invalid { title: "Request not valid", reason: description }
            }
        }
    }
}

impl IntoResponse for HostedError {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid { title, reason } => message_page(StatusCode::BAD_REQUEST, title, &reason),
            Self::Expired { title, message } => message_page(StatusCode::BAD_REQUEST, title, message),
            Self::Unavailable => {
                message_page(StatusCode::SERVICE_UNAVAILABLE, "Please try again", "The server is busy. Try again in a moment.")
            }
            Self::Internal(error) if crate::http::unavailable::database_unavailable(&error) => {
                crate::http::unavailable::log("hosted page", &error);
                let mut page = message_page(StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", "Please try again in a moment.");
                page.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(crate::http::unavailable::RETRY_AFTER_SECS));
                page
            }
            Self::Internal(error) => {
                tracing::error!(error.message = %error, error.cause_chain = ?error, "hosted page failed");
                message_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Please try again in a moment.")
            }
        }
    }
}
