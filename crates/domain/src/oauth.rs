//! OAuth 2.0 values: client ids, redirect URIs, `state`, nonce, scopes and PKCE.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct OAuthValueError(pub String);

fn err(msg: impl Into<String>) -> OAuthValueError {
    OAuthValueError(msg.into())
}

/// RFC 6749 Appendix A: VSCHAR is %x20-7E.
fn is_vschar(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, OAuthValueError> {
        if raw.is_empty() || raw.len() > 128 || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(err("client_id must be 1–128 characters of letters, digits, '-', '_' or '.'"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A redirect URI as registered. Compared by exact string equality (security-checklist OA-1):
/// no normalisation, so a trailing slash or a case change is a different URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Registration-time rules: absolute, no fragment, https, or http only to a loopback host.
    pub fn parse(raw: &str) -> Result<Self, OAuthValueError> {
        if raw.len() > 2048 || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(err("redirect_uri must be at most 2048 characters without spaces"));
        }
        let url = url::Url::parse(raw).map_err(|_| err("redirect_uri must be an absolute URL"))?;
        if url.fragment().is_some() {
            return Err(err("redirect_uri must not contain a fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("redirect_uri must not contain user information"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(url.host_str().unwrap_or_default()) => {}
            "http" => return Err(err("redirect_uri must use https (plain http is allowed only for loopback hosts)")),
            _ => return Err(err("redirect_uri must use https")),
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The origin (`scheme://host[:port]`) a browser reports in `Origin` for pages at this URI.
    pub fn origin(&self) -> Option<String> {
        origin_of(&self.0)
    }
}

pub fn origin_of(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// Whether `host` (as `url::Url::host_str` gives it) names this machine: an IP literal in
/// 127.0.0.0/8, `::1` (bracketed or not), or exactly `localhost`. A prefix test is not enough:
/// `127.evil.test` and `127.0.0.1.nip.io` are names anyone can point anywhere (finding 10), and
/// they would otherwise be accepted as plain-http loopback redirect URIs or public URLs.
pub fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    literal.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The client's OAuth `state`, kept verbatim and echoed in the recovery link
/// (security-checklist LNK-1: at most 512 VSCHAR characters).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthState(String);

impl OAuthState {
    pub fn parse(raw: &str) -> Result<Self, OAuthValueError> {
        if raw.is_empty() {
            return Err(err("state is required"));
        }
        if raw.chars().count() > 512 {
            return Err(err("state must be at most 512 characters"));
        }
        if !is_vschar(raw) {
            return Err(err("state must contain only printable ASCII characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OAuthState(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce(String);

impl Nonce {
    pub fn parse(raw: &str) -> Result<Self, OAuthValueError> {
        if raw.is_empty() || raw.chars().count() > 512 || !is_vschar(raw) {
            return Err(err("nonce must be 1–512 printable ASCII characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Space-separated scopes; each a non-empty NQCHAR run (RFC 6749 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

pub const SUPPORTED_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

impl Scopes {
    pub fn parse(raw: &str) -> Result<Self, OAuthValueError> {
        let mut scopes: Vec<String> = Vec::new();
        for scope in raw.split(' ').filter(|s| !s.is_empty()) {
            if !SUPPORTED_SCOPES.contains(&scope) {
                return Err(err(format!("unsupported scope: {scope}")));
            }
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
        if scopes.is_empty() {
            return Err(err("scope is required"));
        }
        Ok(Self(scopes))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn joined(&self) -> String {
        self.0.join(" ")
    }
}

/// A PKCE S256 challenge. `plain` is refused (security-checklist OA-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(challenge: &str, method: &str) -> Result<Self, OAuthValueError> {
        if method != "S256" {
            return Err(err("code_challenge_method must be S256"));
        }
        if challenge.len() != 43 || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(err("code_challenge must be a base64url SHA-256 digest (43 characters)"));
        }
        Ok(Self(challenge.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// RFC 7636 §4.6, compared in constant time.
    pub fn is_satisfied_by(&self, verifier: &CodeVerifier) -> bool {
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes()));
        crate::secret::constant_time_eq(&computed, &self.0)
    }
}

/// RFC 7636 §4.1: 43–128 unreserved characters.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    pub fn parse(raw: &str) -> Result<Self, OAuthValueError> {
        let ok =
            (43..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(err("code_verifier must be 43–128 unreserved characters"))
        }
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_limited_to_512_vschar() {
        assert!(OAuthState::parse(&"a".repeat(512)).is_ok());
        assert!(OAuthState::parse(&"a".repeat(513)).is_err());
        assert!(OAuthState::parse("tab\there").is_err());
        assert!(OAuthState::parse("\"><a href=//evil.test>x</a>&otp=1").is_ok());
    }

    #[test]
    fn redirect_uris_need_https_except_loopback() {
        assert!(RedirectUri::parse("https://app.example/cb").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:3000/cb").is_ok());
        assert!(RedirectUri::parse("http://localhost:3000/cb").is_ok());
        assert!(RedirectUri::parse("http://app.example/cb").is_err());
        assert!(RedirectUri::parse("https://app.example/cb#x").is_err());
        assert!(RedirectUri::parse("https://good@evil.example/cb").is_err());
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
    }

    #[test]
    fn only_loopback_literals_and_localhost_are_loopback() {
        for host in ["localhost", "127.0.0.1", "127.8.9.10", "[::1]", "::1"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["127.evil.test", "127.0.0.1.nip.io", "localhost.evil.test", "127.", "1.2.7.0", "[::2]", "::ffff:10.0.0.1", ""] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn loopback_look_alike_hosts_are_not_plain_http_redirects() {
        for uri in
            ["http://127.evil.test/cb", "http://127.0.0.1.nip.io/cb", "http://localhost.evil.test/cb", "http://127.0.0.1@evil.test/cb"]
        {
            assert!(RedirectUri::parse(uri).is_err(), "{uri}");
        }
        assert!(RedirectUri::parse("http://[::1]:8080/cb").is_ok());
    }

    #[test]
    fn pkce_s256_round_trip() {
        let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").expect("valid");
        let challenge = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256").expect("valid");
        assert!(challenge.is_satisfied_by(&verifier));
        let other = CodeVerifier::parse(&"a".repeat(43)).expect("valid");
        assert!(!challenge.is_satisfied_by(&other));
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "plain").is_err());
    }

    #[test]
    fn scopes_are_deduplicated_and_checked() {
        assert_eq!(Scopes::parse("openid email openid").map(|s| s.joined()), Ok("openid email".to_owned()));
        assert!(Scopes::parse("openid admin").is_err());
        assert!(Scopes::parse("").is_err());
    }
}

/// The two authorization servers Latchkey has: the org server (issuer `{PUBLIC_URL}`) and
/// `default` (issuer `{PUBLIC_URL}/oauth2/default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthServer {
    Org,
    Default,
}

impl AuthServer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Default => "default",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "org" => Some(Self::Org),
            "default" => Some(Self::Default),
            _ => None,
        }
    }
}
