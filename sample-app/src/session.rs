//! Server-side sessions bound to a cookie. The cookie carries only a random 256-bit id; the
//! PKCE verifier, `state`, nonce and the signed-in user stay on the server.
//!
//! The store is an in-memory map with an idle timeout: enough for a sample, lost on restart
//! and not shared between processes. A real deployment keeps sessions in Redis or its
//! database, behind the same three calls (`load`, `save`, `remove`).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::header::{HeaderValue, COOKIE};
use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use secrecy::SecretString;
use serde::Serialize;

/// The widget configuration of one sign-in, as `/login` rendered it. The magic-link callback
/// renders the same configuration again, plus `otp` and `state` (idx-protocol §7.2).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetConfig {
    pub issuer: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub interaction_handle: String,
    pub state: String,
    pub code_challenge: String,
    pub code_challenge_method: &'static str,
}

/// A sign-in this browser started and has not finished.
#[derive(Clone, Debug)]
pub struct PendingLogin {
    pub widget: WidgetConfig,
    pub code_verifier: SecretString,
    pub nonce: String,
    /// The code and state from the emailed link, once opened in this browser: a reload of the
    /// page (whose address bar no longer shows them) renders the widget with them again.
    pub magic_link: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct SignedInUser {
    pub subject: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Session {
    pub pending: Option<PendingLogin>,
    pub user: Option<SignedInUser>,
    /// Sent back in the sign-out form: a cross-site page cannot read it, so cannot forge it.
    pub csrf_token: String,
}

#[derive(Clone)]
pub struct SessionStore {
    entries: Arc<Mutex<HashMap<String, (Session, Instant)>>>,
    idle_timeout: Duration,
    cookie_name: &'static str,
    secure: bool,
}

/// 256 random bits, base64url: session ids, CSRF tokens, `state`, nonce, PKCE verifiers.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SessionStore {
    /// `secure`: the app is served over https, so the cookie is `__Host-` prefixed and Secure.
    pub fn new(idle_timeout: Duration, secure: bool) -> Self {
        let cookie_name = if secure { "__Host-session" } else { "session" };
        Self { entries: Arc::default(), idle_timeout, cookie_name, secure }
    }

    /// The session the request's cookie names, with its id, if it exists and is fresh.
    pub fn current(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie_name)
            .map(|(_, value)| value.to_owned())?;
        self.load(&id).map(|session| (id, session))
    }

    pub fn load(&self, id: &str) -> Option<Session> {
        let mut entries = self.lock();
        let now = Instant::now();
        match entries.get_mut(id) {
            Some((session, last_seen)) if now.duration_since(*last_seen) < self.idle_timeout => {
                *last_seen = now;
                Some(session.clone())
            }
            Some(_) => {
                entries.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn save(&self, id: &str, session: Session) {
        let mut entries = self.lock();
        let now = Instant::now();
        entries.retain(|_, (_, last_seen)| now.duration_since(*last_seen) < self.idle_timeout);
        entries.insert(id.to_owned(), (session, now));
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Stores `session` under a new id and returns it. Used at sign-in, so an id an attacker
    /// planted or saw before authentication is worthless afterwards (session fixation).
    pub fn create(&self, mut session: Session) -> String {
        let id = random_token();
        session.csrf_token = random_token();
        self.save(&id, session);
        id
    }

    /// `HttpOnly` keeps it from scripts; `SameSite=Lax` still sends it when the user follows
    /// the emailed link from webmail (a top-level GET), which the recipe depends on, but not
    /// with cross-site POSTs.
    pub fn cookie(&self, id: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let max_age = self.idle_timeout.as_secs();
        HeaderValue::from_str(&format!("{}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}", self.cookie_name))
            .expect("a base64url id is a valid header value")
    }

    pub fn clear_cookie(&self) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", self.cookie_name))
            .expect("a static cookie is a valid header value")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Session, Instant)>> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
