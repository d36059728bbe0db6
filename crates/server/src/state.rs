//! The state every handler shares.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_store::Store;
use tokio::sync::{Notify, RwLock};

use crate::config::Settings;
use crate::crypto::keyring::KeyRing;
use crate::crypto::password::PasswordHasher;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    /// `LATCHKEY_PUBLIC_URL` or the bound address; never derived from request headers
    /// (security-checklist REC-5: links never come from Host or X-Forwarded-*).
    pub public_url: String,
    pub store: Store,
    pub keys: RwLock<Arc<KeyRing>>,
    /// Opens the keys other processes add, when the ring is reloaded.
    pub master_key: crate::crypto::master::MasterKey,
    pub hasher: PasswordHasher,
    /// Wakes the outbox worker when a message was queued.
    pub outbox_wake: Arc<Notify>,
    /// Built-in templates and the cached, parsed customizations; shared with the outbox
    /// workers so an admin change here is rendered at once.
    pub renderer: Arc<latchkey_email::Renderer>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub policies: Policies,
    pub sessions: latchkey_domain::session::SessionPolicy,
    pub refresh: latchkey_domain::refresh::RefreshPolicy,
    /// The passkey relying party (`webauthn.*`), or `None` when this server offers no passkeys.
    pub relying_party: Option<latchkey_domain::webauthn::RelyingParty>,
    origins: RwLock<(Option<Instant>, Arc<HashSet<String>>)>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The domain policies, built once from the settings.
pub struct Policies {
    pub password: latchkey_domain::PasswordPolicy,
    pub otp: latchkey_domain::OtpPolicy,
    pub mail: latchkey_domain::throttle::MailLimits,
    pub signin: latchkey_domain::throttle::SignInThrottle,
}

impl From<&Settings> for Policies {
    fn from(s: &Settings) -> Self {
        Self { password: s.password_policy(), otp: s.otp_policy(), mail: s.mail_limits(), signin: s.sign_in_throttle() }
    }
}

/// How long this process trusts its cached view of the clients' web origins; another process's
/// registration becomes visible after at most this long.
const ORIGINS_TTL: Duration = Duration::from_secs(5);

impl AppState {
    pub fn new(
        settings: Settings,
        public_url: String,
        store: Store,
        (keys, master_key): (KeyRing, crate::crypto::master::MasterKey),
        hasher: PasswordHasher,
        outbox_wake: Arc<Notify>,
    ) -> Result<Self, crate::config::ConfigError> {
        let trusted_proxies = settings.trusted_proxies()?;
        let policies = Policies::from(&settings);
        let sessions = settings.session_policy();
        let refresh = settings.refresh_policy();
        let relying_party = settings.relying_party(&public_url)?;
        if relying_party.is_none() {
            tracing::info!("passkeys are not offered: the public URL's host cannot be a WebAuthn relying party id (set webauthn.rp_id and webauthn.rp_origin)");
        }
        Ok(Self(Arc::new(Inner {
            relying_party,
            master_key,
            sessions,
            refresh,
            settings,
            public_url,
            store,
            keys: RwLock::new(Arc::new(keys)),
            hasher,
            outbox_wake,
            renderer: Arc::new(latchkey_email::Renderer::with_defaults()),
            trusted_proxies,
            policies,
            origins: RwLock::new((None, Arc::new(HashSet::new()))),
        })))
    }

    pub async fn keys(&self) -> Arc<KeyRing> {
        self.keys.read().await.clone()
    }

    /// The union of every client's web origins (CORS answers it; security-checklist WEB-6).
    pub async fn allowed_origins(&self) -> Arc<HashSet<String>> {
        {
            let cached = self.origins.read().await;
            if cached.0.is_some_and(|at| at.elapsed() < ORIGINS_TTL) {
                return cached.1.clone();
            }
        }
        let mut origins = HashSet::new();
        match self.store.clients().await {
            Ok(clients) => {
                for client in clients {
                    origins.extend(client.redirect_uris.iter().filter_map(|u| latchkey_domain::oauth::origin_of(u)));
                    origins.extend(client.trusted_origins.iter().filter_map(|u| latchkey_domain::oauth::origin_of(u)));
                }
            }
            Err(error) => tracing::warn!(%error, "could not load client origins for CORS"),
        }
        if let Some(own) = latchkey_domain::oauth::origin_of(&self.public_url) {
            origins.insert(own);
        }
        let origins = Arc::new(origins);
        *self.origins.write().await = (Some(Instant::now()), origins.clone());
        origins
    }

    /// Forget the cached origins after a client change in this process.
    pub async fn invalidate_origins(&self) {
        self.origins.write().await.0 = None;
    }

    pub fn issuer(&self, server: AuthServer) -> String {
        match server {
            AuthServer::Org => self.public_url.clone(),
            AuthServer::Default => format!("{}/oauth2/default", self.public_url),
        }
    }

    /// The `aud` of this server's access tokens (Okta's: `api://default` on the default server).
    pub fn audience(&self, server: AuthServer) -> String {
        match server {
            AuthServer::Default => "api://default".to_owned(),
            AuthServer::Org => self.public_url.clone(),
        }
    }

    /// Cookies get the `__Host-` prefix and `Secure` over https (security-checklist WEB-3).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Where the OAuth endpoints of an authorization server live.
    pub fn oauth_base(&self, server: AuthServer) -> String {
        match server {
            AuthServer::Org => format!("{}/oauth2", self.public_url),
            AuthServer::Default => format!("{}/oauth2/default", self.public_url),
        }
    }
}

/// The two authorization servers Latchkey has (shared/README "Paths"); defined in the domain.
pub use latchkey_domain::oauth::AuthServer;
