//! The application's settings, read once from the environment at start. Every problem is
//! reported with the variable to fix.
use secrecy::SecretString;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required: {1}")]
    Missing(&'static str, &'static str),
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the app listens (`APP_LISTEN`, default `127.0.0.1:3000`).
    pub listen: String,
    /// The app's address as browsers see it (`APP_PUBLIC_URL`), without a trailing slash.
    pub public_url: Url,
    /// The authorization server (`APP_ISSUER`), e.g. `http://127.0.0.1:8080/oauth2/default`.
    pub issuer: Url,
    pub client_id: String,
    /// A confidential client: the secret authenticates the code exchange (client_secret_basic).
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &'static str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let public_url = var("APP_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
        Self::new(
            var("APP_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".to_owned()),
            &public_url,
            &var("APP_ISSUER").ok_or(ConfigError::Missing("APP_ISSUER", "the issuer URL, e.g. http://127.0.0.1:8080/oauth2/default"))?,
            var("APP_CLIENT_ID").ok_or(ConfigError::Missing("APP_CLIENT_ID", "the client id the identity server registered"))?,
            SecretString::from(
                var("APP_CLIENT_SECRET")
                    .ok_or(ConfigError::Missing("APP_CLIENT_SECRET", "the client secret the identity server issued"))?,
            ),
        )
    }

    pub fn new(
        listen: String,
        public_url: &str,
        issuer: &str,
        client_id: String,
        client_secret: SecretString,
    ) -> Result<Self, ConfigError> {
        let public_url = parse_url("APP_PUBLIC_URL", public_url)?;
        let issuer = parse_url("APP_ISSUER", issuer)?;
        Ok(Self { listen, public_url, issuer, client_id, client_secret, scopes: vec!["openid".into(), "profile".into(), "email".into()] })
    }

    /// `APP_PUBLIC_URL/login/callback`: registered at the identity server, sent at interact.
    pub fn redirect_uri(&self) -> String {
        format!("{}/login/callback", self.public_url.as_str().trim_end_matches('/'))
    }

    /// The issuer without a trailing slash: the `iss` the ID token must carry.
    pub fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }

    /// Scheme, host and port of the issuer: where the widget and IDX live.
    pub fn issuer_origin(&self) -> String {
        self.issuer.origin().ascii_serialization()
    }

    /// Cookies get `Secure` and the `__Host-` prefix over https; plain http is for loopback
    /// development only, where browsers would refuse a Secure cookie.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn parse_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim_end_matches('/')).map_err(|e| ConfigError::Invalid(name, format!("{value:?} is not a URL ({e})")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(ConfigError::Invalid(name, format!("{value} must use https (plain http only on 127.0.0.1/localhost)"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
