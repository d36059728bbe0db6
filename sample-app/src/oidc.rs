//! The app's calls to the identity server: discovery, interact, the code exchange, and the
//! widget's integrity hashes. Every call is server to server; the browser never sees the
//! client secret or the PKCE verifier.
use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Unreachable, an HTTP error status, or a body that is not the expected JSON.
    #[error("the call to the identity server failed ({0})")]
    Http(#[from] reqwest::Error),
    #[error("the identity server answered {error}: {description}")]
    Refused { error: String, description: String },
    #[error("the ID token was rejected: {0}")]
    InvalidIdToken(String),
    #[error("the identity server's discovery document is not usable: {0}")]
    Discovery(String),
}

/// The parts of `{issuer}/.well-known/openid-configuration` the app uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub id_token: Option<String>,
}

/// The two ways a code reaches `/login/callback`: from the widget after IDX
/// (`interaction_code`), or from the hosted `/v1/authorize` flow (`code`).
pub enum Grant<'a> {
    InteractionCode(&'a str),
    AuthorizationCode(&'a str),
}

/// Where the widget comes from, with its Subresource Integrity hashes.
pub struct WidgetAssets {
    pub script_url: String,
    pub script_integrity: String,
    pub style_url: String,
    pub style_integrity: String,
}

pub struct Provider {
    pub(crate) config: Config,
    pub(crate) http: reqwest::Client,
    discovery: OnceCell<Discovery>,
}

/// PKCE (RFC 7636) with S256: the verifier stays in the session, the challenge goes to interact.
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: Option<String>,
    error_description: Option<String>,
}

impl Provider {
    pub fn new(config: Config) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a client without custom TLS settings always builds");
        Self { config, http, discovery: OnceCell::new() }
    }

    /// Fetched on first use and kept, so the app may start before the identity server.
    pub async fn discovery(&self) -> Result<&Discovery, OidcError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer_str());
                let document: Discovery = self.http.get(url).send().await?.error_for_status()?.json().await?;
                // OpenID Connect Discovery §4.3: the document must be about the issuer we trust.
                if document.issuer != self.config.issuer_str() {
                    return Err(OidcError::Discovery(format!("issuer {} is not APP_ISSUER {}", document.issuer, self.config.issuer_str())));
                }
                Ok(document)
            })
            .await
    }

    /// `POST {issuer}/v1/interact` (idx-protocol §3): starts the interaction server-side and
    /// returns its handle. `state` comes back in the emailed link as `${request.relayState}`.
    pub async fn interact(&self, code_challenge: &str, state: &str, nonce: &str) -> Result<String, OidcError> {
        #[derive(Deserialize)]
        struct Interact {
            interaction_handle: String,
        }
        let redirect_uri = self.config.redirect_uri();
        let scope = self.config.scopes.join(" ");
        let form = [
            ("client_id", self.config.client_id.as_str()),
            ("scope", scope.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_challenge", code_challenge),
            ("code_challenge_method", "S256"),
            ("state", state),
            ("nonce", nonce),
        ];
        let response = self.http.post(format!("{}/v1/interact", self.config.issuer_str())).form(&form).send().await?;
        Ok(Self::json_or_refusal::<Interact>(response).await?.interaction_handle)
    }

    /// Redeems a code at the token endpoint, authenticating with client_secret_basic.
    pub async fn exchange(&self, grant: Grant<'_>, code_verifier: &SecretString) -> Result<TokenResponse, OidcError> {
        let token_endpoint = self.discovery().await?.token_endpoint.clone();
        let redirect_uri = self.config.redirect_uri();
        let (grant_type, code_name, code) = match grant {
            Grant::InteractionCode(code) => ("interaction_code", "interaction_code", code),
            Grant::AuthorizationCode(code) => ("authorization_code", "code", code),
        };
        let form = [
            ("grant_type", grant_type),
            (code_name, code),
            ("code_verifier", code_verifier.expose_secret()),
            ("redirect_uri", redirect_uri.as_str()),
        ];
        let response = self.http.post(token_endpoint).header("Authorization", self.basic_auth()).form(&form).send().await?;
        Self::json_or_refusal(response).await
    }

    /// `{origin}/widget/v1/sri.json`, fetched for each page so a widget upgrade never breaks
    /// the page; a real app would pin the version and hashes it tested with.
    pub async fn widget_assets(&self) -> Result<WidgetAssets, OidcError> {
        let origin = self.config.issuer_origin();
        let hashes: HashMap<String, String> =
            self.http.get(format!("{origin}/widget/v1/sri.json")).send().await?.error_for_status()?.json().await?;
        let hash = |name: &str| hashes.get(name).cloned().ok_or_else(|| OidcError::Discovery(format!("sri.json has no entry for {name}")));
        Ok(WidgetAssets {
            script_url: format!("{origin}/widget/v1/latchkey-sign-in.js"),
            script_integrity: hash("latchkey-sign-in.js")?,
            style_url: format!("{origin}/widget/v1/latchkey-sign-in.css"),
            style_integrity: hash("latchkey-sign-in.css")?,
        })
    }

    /// RFC 6749 §2.3.1: id and secret are form-encoded before Base64.
    fn basic_auth(&self) -> String {
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!("{}:{}", encode(&self.config.client_id), encode(self.config.client_secret.expose_secret()));
        format!("Basic {}", STANDARD.encode(pair))
    }

    async fn json_or_refusal<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, OidcError> {
        if response.status().is_success() {
            return Ok(response.json().await?);
        }
        let status = response.status();
        let body: Option<OAuthErrorBody> = response.json().await.ok();
        let (error, description) = body.map(|b| (b.error, b.error_description)).unwrap_or_default();
        Err(OidcError::Refused {
            error: error.unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
            description: description.unwrap_or_default(),
        })
    }
}
