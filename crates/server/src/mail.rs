//! Composing the emails the server sends: which template, which variables (Okta's names), to
//! whom, and until when. Rendering and delivery happen later in the outbox worker, off the
//! request path (security-checklist REC-2), so nothing here touches SMTP.
use latchkey_domain::{BearerToken, Millis, Otp};
use latchkey_email::{new_outbox_message, EmailKind, EmailPayload};
use latchkey_store::{FactorRecord, NewMessage, SecurityNotice, UserRecord};

use crate::crypto::keyring::KeyRing;
use crate::idx::Transaction;
use crate::state::AppState;

/// A stand-in account that mail is composed for when the identifier names none; the store
/// writes that message as suppressed, never sends it.
pub fn decoy_account(now: Millis) -> UserRecord {
    use latchkey_domain::identifier::Login;
    use latchkey_domain::{EmailAddress, Profile, User, UserStatus};
    const ADDRESS: &str = "nobody@decoy.latchkey.invalid";
    UserRecord {
        user: User {
            id: latchkey_domain::UserId::decoy(),
            status: UserStatus::Active,
            profile: Profile {
                login: Login::parse(ADDRESS).expect("a constant, valid login"),
                email: EmailAddress::parse(ADDRESS).expect("a constant, valid address"),
                first_name: Some("Decoy".to_owned()),
                last_name: Some("Account".to_owned()),
                locale: None,
            },
            has_password: true,
            created_at: now,
            activated_at: None,
            status_changed_at: None,
            last_login_at: None,
            last_updated_at: now,
            password_changed_at: None,
        },
        password_hash: None,
    }
}

/// Where a request that causes an email came from, for the "Request details" of ForgotPassword
/// and PasswordChanged (`${request.ipAddress}`, `${request.browser}`; security-checklist NOT-1),
/// so the owner of the mailbox can tell whether it was them.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub ip_address: String,
    pub browser: String,
}

impl RequestInfo {
    pub fn from_request(state: &AppState, peer: std::net::SocketAddr, headers: &axum::http::HeaderMap) -> Self {
        let ip = crate::http::client_ip::resolve(peer, headers, &state.trusted_proxies);
        let agent = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Self { ip_address: ip.to_string(), browser: browser_of(agent) }
    }
}

/// A short, fixed-vocabulary description of a User-Agent ("Firefox on Linux"). The header is the
/// client's to choose, so nothing of it is copied into the email verbatim.
pub fn browser_of(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(token, _)| user_agent.contains(token))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| user_agent.contains(token))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) if user_agent.is_empty() => String::new(),
        (None, None) => "An unrecognised client".to_owned(),
    }
}

fn with_request(payload: EmailPayload, request: Option<&RequestInfo>) -> EmailPayload {
    match request {
        Some(r) => payload.with("request.ipAddress", r.ip_address.clone()).with("request.browser", r.browser.clone()),
        None => payload,
    }
}

/// Composes `compose` for the account the store read, or for the decoy account when it read
/// none (an unknown identifier): both cost the same composing and sealing (security-checklist §4).
pub fn for_account_or_decoy(
    account: Option<&UserRecord>,
    now: Millis,
    compose: impl FnOnce(&UserRecord) -> anyhow::Result<NewMessage>,
) -> Result<NewMessage, String> {
    let decoy;
    let account = match account {
        Some(account) => account,
        None => {
            decoy = decoy_account(now);
            &decoy
        }
    };
    compose(account).map_err(|e| e.to_string())
}

/// Bound into every recovery code's MAC (security-checklist OTP-6).
pub const RECOVERY_PURPOSE: &str = "recovery";

/// The hosted page that continues a recovery from the emailed link (`${resetPasswordLink}`).
pub fn reset_password_link(public_url: &str, code: &str, oauth_state: &str) -> String {
    let mut url = format!("{public_url}/signin/reset-password?");
    url.push_str(&url::form_urlencoded::Serializer::new(String::new()).append_pair("otp", code).append_pair("state", oauth_state).finish());
    url
}

fn base(state: &AppState, kind: EmailKind, account: &UserRecord, now: Millis) -> EmailPayload {
    let profile = &account.user.profile;
    let mut payload = EmailPayload::new(kind)
        .with("user.profile.login", profile.login.as_str())
        .with("user.profile.email", profile.email.as_str())
        .with("user.profile.firstName", profile.first_name.clone().unwrap_or_default())
        .with("user.profile.lastName", profile.last_name.clone().unwrap_or_default())
        .with("org.name", state.settings.org.name.clone())
        .with("baseURL", state.public_url.clone())
        .with("request.time", format_time(now));
    if let Some(support) = &state.settings.org.support_email {
        payload = payload.with("org.supportEmail", support.clone());
    }
    if let Some(locale) = &profile.locale {
        payload = payload.with("user.profile.locale", locale.clone()).with_locale(locale.clone());
    }
    payload
}

/// RFC 3339; the renderer shows it in the recipient's language.
pub fn format_time(now: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(now).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}

fn seal(keys: &KeyRing, account: &UserRecord, payload: &EmailPayload, expires_at: Option<Millis>) -> anyhow::Result<NewMessage> {
    Ok(new_outbox_message(&keys.outbox_key(), account.user.profile.email.as_str(), payload, expires_at)?)
}

/// ForgotPassword: the code, the link to continue, and the interact `state` as
/// `${request.relayState}` so a customized link can point at the application (the recipe).
/// The message expires with the code.
pub fn forgot_password(
    state: &AppState,
    keys: &KeyRing,
    account: &UserRecord,
    code: &Otp,
    tx: &Transaction,
    request: &RequestInfo,
    now: Millis,
) -> anyhow::Result<NewMessage> {
    let lifetime = state.policies.otp.lifetime;
    let payload = with_request(base(state, EmailKind::ForgotPassword, account, now), Some(request))
        .with("oneTimePassword", code.expose())
        .with("request.relayState", tx.record.oauth_state.clone())
        .with("resetPasswordLink", reset_password_link(&state.public_url, code.expose(), &tx.record.oauth_state))
        .with("resetPasswordUrl", reset_password_link(&state.public_url, code.expose(), &tx.record.oauth_state))
        .with("request.expiresInMinutes", (lifetime / latchkey_domain::MINUTE).max(1).to_string())
        .with("app.id", tx.record.client_id.clone());
    seal(keys, account, &payload, Some(now + lifetime))
}

/// PasswordChanged: sent after every way of setting a password (security-checklist NOT-1), with
/// the request's details when a person's browser did it, and the "Not you?" link.
pub fn password_changed(
    state: &AppState,
    keys: &KeyRing,
    account: &UserRecord,
    request: Option<&RequestInfo>,
    now: Millis,
) -> anyhow::Result<SecurityNotice> {
    let payload = with_request(base(state, EmailKind::PasswordChanged, account, now), request);
    with_not_me_link(state, keys, account, payload, now)
}

/// AuthenticatorEnrolled: a factor was activated (`${request.factor}` names it), with the
/// "Not you?" link.
pub fn authenticator_enrolled(
    state: &AppState,
    keys: &KeyRing,
    account: &UserRecord,
    factor_type: &str,
    now: Millis,
) -> anyhow::Result<SecurityNotice> {
    let payload = base(state, EmailKind::AuthenticatorEnrolled, account, now).with("request.factor", factor_name(factor_type));
    with_not_me_link(state, keys, account, payload, now)
}

/// AuthenticatorReset: a factor was removed (`${request.factors}`, Okta's name for the list of
/// those reset), with the "Not you?" link.
pub fn authenticator_reset(
    state: &AppState,
    keys: &KeyRing,
    account: &UserRecord,
    factor: &FactorRecord,
    now: Millis,
) -> anyhow::Result<SecurityNotice> {
    let payload = base(state, EmailKind::AuthenticatorReset, account, now).with("request.factors", factor_name(&factor.factor_type));
    with_not_me_link(state, keys, account, payload, now)
}

/// The name a person knows an authenticator by (Okta's for the factor types Latchkey enrolls).
pub fn factor_name(factor_type: &str) -> &'static str {
    match factor_type {
        latchkey_store::TOTP_FACTOR_TYPE => "Google Authenticator",
        latchkey_store::WEBAUTHN_FACTOR_TYPE => "Security Key or Biometric Authenticator",
        _ => "",
    }
}

/// Seals a security notice with a fresh "Not you?" token (256 bits; the store keeps only its
/// digest, bound to the account and to the change) in `${request.reportSuspiciousActivityToken}`,
/// which the templates append to `${baseURL}/account/not-me?token=`. The message itself does not
/// expire: the link opens a page that asks before it changes anything, and says when it expired.
fn with_not_me_link(
    state: &AppState,
    keys: &KeyRing,
    account: &UserRecord,
    payload: EmailPayload,
    now: Millis,
) -> anyhow::Result<SecurityNotice> {
    let token = BearerToken::generate();
    let lifetime = crate::config::ms(state.settings.recovery.not_me_token_secs);
    let payload = payload
        .with("request.reportSuspiciousActivityToken", token.expose())
        .with("request.expiresInMinutes", (lifetime / latchkey_domain::MINUTE).max(1).to_string());
    Ok(SecurityNotice { message: seal(keys, account, &payload, None)?, token_digest: token.digest(), expires_at: now + lifetime })
}

/// The lockout notice, sent once when an account starts backing off (OTP-8).
pub fn lockout_notice(state: &AppState, keys: &KeyRing, account: &UserRecord, now: Millis) -> anyhow::Result<NewMessage> {
    let pause = state.policies.otp.account_backoff_base / latchkey_domain::MINUTE;
    let payload = base(state, EmailKind::LockoutNotice, account, now).with("request.expiresInMinutes", pause.max(1).to_string());
    seal(keys, account, &payload, None)
}

/// The hosted page where an emailed activation or admin-reset link lets the user choose a
/// password. The token is base64url, so it needs no encoding.
pub fn set_password_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/signin/set-password?token={token}")
}

/// An email whose only content is a set-password link in `variable`, expiring with the link:
/// UserActivation (`${activationLink}`) or PasswordResetByAdmin (`${resetPasswordLink}`, with
/// `${oneTimePassword}` left empty so the default template shows its link-only variant).
pub fn link_email(
    state: &AppState,
    keys: &KeyRing,
    account: &UserRecord,
    (kind, variable): (EmailKind, &str),
    link: &str,
    expires_at: Millis,
    now: Millis,
) -> anyhow::Result<NewMessage> {
    let minutes_left = ((expires_at - now) / latchkey_domain::MINUTE).max(1).to_string();
    let payload = base(state, kind, account, now).with(variable, link).with("request.expiresInMinutes", minutes_left);
    seal(keys, account, &payload, Some(expires_at))
}

/// Sample values for previews and test messages: every variable a template may use is filled
/// with something plausible, and no real code or link is ever used.
pub fn sample_payload(state: &AppState, kind: EmailKind, language: Option<&str>, recipient: &str, now: Millis) -> EmailPayload {
    let sample_link = |path: &str| format!("{}/{path}?token=sample-token-for-preview", state.public_url);
    let mut payload = EmailPayload::new(kind)
        .with("user.profile.login", recipient)
        .with("user.profile.email", recipient)
        .with("user.profile.firstName", "Alex")
        .with("user.profile.lastName", "Example")
        .with("org.name", state.settings.org.name.clone())
        .with("baseURL", state.public_url.clone())
        .with("request.time", format_time(now))
        .with("request.relayState", "sample-state")
        .with("request.expiresInMinutes", "10")
        .with("oneTimePassword", "123456")
        .with("resetPasswordLink", sample_link("signin/reset-password"))
        .with("activationLink", sample_link("signin/set-password"))
        .with("request.factor", "Google Authenticator")
        .with("request.factors", "Google Authenticator")
        .with("request.reportSuspiciousActivityToken", "sample-token-for-preview");
    if kind.carries_not_me_link() {
        let minutes = crate::config::ms(state.settings.recovery.not_me_token_secs) / latchkey_domain::MINUTE;
        payload = payload.with("request.expiresInMinutes", minutes.to_string());
    }
    if let Some(support) = &state.settings.org.support_email {
        payload = payload.with("org.supportEmail", support.clone());
    }
    if let Some(language) = language {
        payload = payload.with_locale(language).with("user.profile.locale", language);
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::browser_of;

    #[test]
    fn user_agents_become_a_fixed_vocabulary() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser_of(chrome), "Chrome on Linux");
        assert_eq!(browser_of("Mozilla/5.0 (Windows NT 10.0; rv:130.0) Gecko/20100101 Firefox/130.0"), "Firefox on Windows");
        assert_eq!(browser_of("<script>alert(1)</script>"), "An unrecognised client");
        assert_eq!(browser_of(""), "");
    }
}
