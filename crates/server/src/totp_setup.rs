//! What an authenticator app needs to be set up, as Okta sends it (the Factors API's
//! `_embedded.activation`, IDX's `contextualData` of `enroll-authenticator`): the base32 shared
//! secret and a QR code of the `otpauth://` URI, as an inline SVG data URI so the secret never
//! travels in a URL of ours or reaches a log. Shown only while the factor is pending.
use latchkey_domain::totp::{self, TotpPolicy, TotpSecret};
use latchkey_domain::UserId;

use crate::state::AppState;

pub struct TotpSetup {
    pub shared_secret: String,
    pub qr_data_uri: String,
    pub policy: TotpPolicy,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup { .. }")
    }
}

impl TotpSetup {
    pub fn new(state: &AppState, account_login: &str, secret: &TotpSecret) -> Self {
        use base64::Engine;
        let policy = TotpPolicy::default();
        let uri = totp::otpauth_uri(secret, &policy, &state.settings.org.name, account_login);
        let svg = qrcode::QrCode::new(uri.as_bytes())
            .map(|code| code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
            .unwrap_or_default();
        let qr_data_uri = format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg));
        Self { shared_secret: secret.base32(), qr_data_uri, policy }
    }

    /// The user's pending TOTP set-up, opened with the key ring; `None` when there is none.
    pub async fn pending(state: &AppState, user_id: &UserId) -> anyhow::Result<Option<Self>> {
        let Some(factor) = state.store.pending_totp(user_id).await? else { return Ok(None) };
        let Some(account) = state.store.user_by_id(user_id).await? else { return Ok(None) };
        let secret = state.keys().await.open_totp_secret(&factor)?;
        Ok(Some(Self::new(state, account.user.profile.login.as_str(), &secret)))
    }
}
