//! One file per page or callback.
pub mod home;
pub mod login;
pub mod login_callback;
pub mod logout;
pub mod magic_link;

use std::sync::Arc;

use crate::oidc::Provider;
use crate::session::SessionStore;

#[derive(Clone)]
pub struct AppState {
    pub provider: Arc<Provider>,
    pub sessions: SessionStore,
}

/// Constant-time equality for values an attacker may probe byte by byte (`state`, CSRF token).
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
