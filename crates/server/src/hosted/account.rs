//! `/account`: the account page of the user signed in to Latchkey itself (the `session.rs`
//! cookie a sign-in through our hosted page starts). It shows the login and email and the
//! authenticators (password, email, a TOTP app), and lets the user add a TOTP app, name or
//! remove it, and change the password.
//!
//! The GET only renders; it changes nothing (besides the session's idle deadline, which any
//! request in the session extends). Every change is a plain HTML form POST under `/account/…`,
//! refused from other sites as the set-password form's is (security-checklist WEB-1:
//! `Sec-Fetch-Site`/`Origin` same-origin, and the CSRF field matching the Strict
//! `latchkey_csrf` cookie the GET set), and made by one store use case that logs it.
//!
//! Removing an authenticator and changing the password need the current password (SES-5). It
//! is checked like a sign-in: the address's sign-in failure budget and the identifier's
//! throttle are taken before one Argon2 verification, and a wrong password is a sign-in failure
//! (counted, logged, and towards the lock-out). The store then applies the change only while
//! the verified hash is still the account's.
//!
//! A TOTP enrollment's secret lives sealed in its pending factor row (`Store::enroll_totp`); the
//! page opens it to show the QR code and the key while the enrollment is pending, and never
//! puts it in a URL, a cookie or a log.
//!
//! Without a live session the page says to sign in from an application and come back: an
//! OAuth sign-in needs a client, and Latchkey has none of its own to bring the browser back.
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_domain::audit::{EventType, Party};
use latchkey_domain::factor::FactorName;
use latchkey_domain::interaction::Subject;
use latchkey_domain::policy::EnrollRequirement;
use latchkey_domain::secret::{constant_time_eq, sha256_hex};
use latchkey_domain::totp::{self, TotpCheck, TotpPolicy, TotpSecret};
use latchkey_domain::{BearerToken, Millis, Password, PolicyViolation};
use latchkey_store::{
    Audit, EventContext, FactorRecord, PasswordChange, ProvedChange, SessionRecord, SignInGate, UserRecord, TOTP_FACTOR_TYPE,
};
use std::collections::HashMap;

use super::account_text::{text, Text};
use super::error::HostedError;
use super::page::{content_page, escape, message_page, message_page_in};
use super::set_password::{same_origin, CSRF_COOKIE};
use super::set_password_text::{self, pick};
use crate::crypto::password::HashError;
use crate::http::cookies;
use crate::limits::Budget;
use crate::state::AppState;

/// Long enough to fill in a form, short enough that a stale one is not kept around.
const CSRF_MAX_AGE_SECS: i64 = 3600;
/// Largest form accepted (CSRF token, language, a factor id, a name, three passwords).
const MAX_FORM_BYTES: usize = 16 * 1024;
const PENDING: &str = "PENDING_ACTIVATION";
const ACTIVE: &str = "ACTIVE";

/// The page after an authenticator's set-up: done (the AuthenticatorEnrolled notice is queued, so
/// the outbox is woken), refused with its message, or an internal error.
async fn enrolled(
    state: &AppState,
    posted: &Posted,
    result: anyhow::Result<Result<(), (StatusCode, &'static str)>>,
    done: &'static str,
) -> Response {
    match result {
        Ok(Ok(())) => {
            state.outbox_wake.notify_one();
            page(state, posted.lang, &posted.account, StatusCode::OK, Outcome::Done(done)).await
        }
        Ok(Err((status, message))) => page(state, posted.lang, &posted.account, status, Outcome::Errors(vec![message.to_owned()])).await,
        Err(e) => internal(e),
    }
}

fn internal(error: impl Into<anyhow::Error>) -> Response {
    HostedError::Internal(error.into()).into_response()
}

/// What a page shows above its sections after a POST: a confirmation or the errors.
enum Outcome {
    None,
    /// A passkey registration was started: its creation options, for the page's script.
    PasskeySetup(serde_json::Value),
    Done(&'static str),
    Errors(Vec<String>),
}

/// `GET /account`.
#[tracing::instrument(name = "hosted.account.show", skip_all)]
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let ui_locales = query.get("ui_locales").map(String::as_str);
    let signed_in = async {
        let now = state.store.now().await?;
        let Some(session) = crate::session::current(&state, &headers, now).await? else { return Ok(None) };
        state.store.user_by_id(&session.user_id).await
    };
    match signed_in.await {
        Ok(Some(account)) => {
            let lang = pick(ui_locales, account.user.profile.locale.as_deref(), &headers);
            page(&state, lang, &account, StatusCode::OK, Outcome::None).await
        }
        Ok(None) => signed_out(&state, pick(ui_locales, None, &headers), StatusCode::OK),
        Err(e) => internal(e),
    }
}

fn signed_out(state: &AppState, lang: &str, status: StatusCode) -> Response {
    let t = text(lang);
    let content = format!(
        "<p id=\"account-signed-out\">{text}</p><p><a href=\"{home}/\">{link}</a></p>",
        text = escape(t.signed_out_text),
        home = escape(&state.public_url),
        link = escape(t.home),
    );
    content_page(status, lang, &format!("{} – {}", t.signed_out_title, state.settings.org.name), &content, None)
}

/// A checked POST: same origin, the CSRF token, a live session and its account.
struct Posted {
    fields: HashMap<String, String>,
    account: UserRecord,
    lang: &'static str,
    context: EventContext,
    peer: SocketAddr,
    session_id: String,
}

impl Posted {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A unit of the address's code-failure budget before an authenticator's first answer is
    /// checked (given back when it is right); `None` when the budget is spent.
    async fn take_code_budget(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        now: latchkey_domain::Millis,
    ) -> Result<Option<latchkey_store::RateTicket>, latchkey_store::StoreError> {
        let client = crate::limits::client_key(state, self.peer, headers);
        Ok(crate::limits::take(state, Budget::CodeFailures, &client, now).await?.ok())
    }

    fn audit(&self) -> Audit<'_> {
        Audit { actor: Party::user(&self.account.user.id, self.account.user.profile.login.as_str()), context: &self.context }
    }

    fn subject(&self) -> Subject {
        Subject::new(self.account.user.profile.login.canonical(), Some(self.account.user.id.clone()))
    }
}

async fn accept(state: &AppState, peer: SocketAddr, headers: &HeaderMap, body: &Bytes) -> Result<Posted, Response> {
    let is_form =
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(message_page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Request refused", "This form must be sent as a web form."));
    }
    let refused = |lang: &str| {
        let t = text(lang);
        message_page_in(StatusCode::FORBIDDEN, lang, t.refused_title, t.refused_text)
    };
    let browser_lang = super::language::from_headers(headers);
    if body.len() > MAX_FORM_BYTES || !same_origin(state, headers) {
        return Err(refused(browser_lang));
    }
    let Ok(fields) = crate::http::form::parse(body) else { return Err(refused(browser_lang)) };
    let ui_locales = fields.get("ui_locales").map(String::as_str);
    let cookie = cookies::read(headers, CSRF_COOKIE).unwrap_or_default();
    let csrf = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if cookie.is_empty() || !constant_time_eq(&sha256_hex(&cookie), &sha256_hex(csrf)) {
        return Err(refused(pick(ui_locales, None, headers)));
    }
    let now = state.store.now().await.map_err(internal)?;
    let Some(session): Option<SessionRecord> = crate::session::current(state, headers, now).await.map_err(internal)? else {
        return Err(signed_out(state, pick(ui_locales, None, headers), StatusCode::UNAUTHORIZED));
    };
    let Some(account) = state.store.user_by_id(&session.user_id).await.map_err(internal)? else {
        return Err(signed_out(state, pick(ui_locales, None, headers), StatusCode::UNAUTHORIZED));
    };
    let lang = pick(ui_locales, account.user.profile.locale.as_deref(), headers);
    Ok(Posted { fields, account, lang, context: crate::http::event_context::of(state, peer, headers), peer, session_id: session.id })
}

/// `POST /account/totp`: starts a TOTP enrollment (a pending factor holding the sealed secret;
/// one the user left unfinished is replaced) and shows its QR code and key.
#[tracing::instrument(name = "hosted.account.totp_start", skip_all)]
pub async fn totp_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let posted = match accept(&state, peer, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    // Users add an app themselves only where the enrollment policy lets them.
    match state.store.policies().await {
        Ok(stored) if stored.policies.totp_enroll == EnrollRequirement::NotAllowed => {
            return page(&state, posted.lang, &posted.account, StatusCode::FORBIDDEN, Outcome::None).await;
        }
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    let started = async {
        let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
        let factor_id = latchkey_store::new_factor_id();
        let sealed = state.keys().await.seal_factor_secret(&factor_id, secret.expose_bytes())?;
        let now = state.store.now().await?;
        Ok::<_, anyhow::Error>(state.store.enroll_totp(&posted.account.user.id, &factor_id, &sealed, &posted.audit(), now).await)
    };
    match started.await {
        Ok(Ok(_)) => {
            tracing::info!(event = "account.factor_enroll_started", user_id = %posted.account.user.id.as_str(), "TOTP enrollment started");
            page(&state, posted.lang, &posted.account, StatusCode::OK, Outcome::None).await
        }
        // An app is active already: the page shows it, and no second one is offered.
        Ok(Err(latchkey_store::StoreError::Conflict(_))) => {
            page(&state, posted.lang, &posted.account, StatusCode::CONFLICT, Outcome::None).await
        }
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// `POST /account/passkey`: starts registering a passkey (webauthn-rs' ceremony, kept with this
/// browser session; the account's passkeys are excluded) and shows the page with the button that
/// runs the browser's WebAuthn. Refused (403) where the enrollment policy says `NOT_ALLOWED` or
/// the server has no relying party.
#[tracing::instrument(name = "hosted.account.passkey_start", skip_all)]
pub async fn passkey_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let posted = match accept(&state, peer, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let started = async {
        let allowed = state.store.policies().await?.policies.enroll().on_server(state.relying_party.is_some()).offered().webauthn;
        let Some(rp) = state.relying_party.as_ref().filter(|_| allowed) else { return Ok(None) };
        let user_id = &posted.account.user.id;
        let existing = crate::passkeys::active(&state, user_id).await?;
        let login = posted.account.user.profile.login.as_str();
        let ceremony = rp.start_registration(user_id, login, login, &existing)?;
        if !state.store.start_session_passkey(&posted.session_id, user_id, &ceremony.to_stored()).await? {
            return Ok(None);
        }
        Ok::<_, anyhow::Error>(Some(ceremony.options))
    };
    match started.await {
        Ok(Some(options)) => {
            tracing::info!(event = "account.passkey_setup_started", user_id = %posted.account.user.id.as_str(), "passkey set-up started");
            page(&state, posted.lang, &posted.account, StatusCode::OK, Outcome::PasskeySetup(options)).await
        }
        Ok(None) => page(&state, posted.lang, &posted.account, StatusCode::FORBIDDEN, Outcome::None).await,
        Err(e) => internal(e),
    }
}

/// `POST /account/passkey/activate`: the authenticator's answer (`clientData`, `attestation`,
/// base64url) to the session's registration. webauthn-rs checks it against the ceremony; the
/// store adds the passkey only while that ceremony is still the session's (once) and its
/// credential id new, and queues AuthenticatorEnrolled. A refused answer is logged and counted
/// against the address's code-failure budget, like a wrong TOTP value here.
#[tracing::instrument(name = "hosted.account.passkey_activate", skip_all)]
pub async fn passkey_activate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let posted = match accept(&state, peer, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let t = text(posted.lang);
    let added = async {
        let (Some(rp), Some(stored)) = (state.relying_party.as_ref(), state.store.session_passkey(&posted.session_id).await?) else {
            return Ok(Err((StatusCode::NOT_FOUND, t.gone)));
        };
        let now = state.store.now().await?;
        let Some(ticket) = posted.take_code_budget(&state, &headers, now).await? else {
            return Ok(Err((StatusCode::TOO_MANY_REQUESTS, t.too_many)));
        };
        let ceremony = latchkey_domain::webauthn::Ceremony::from_stored(&stored)?;
        let answer =
            latchkey_domain::webauthn::Attestation { client_data: posted.field("clientData"), attestation: posted.field("attestation") };
        let passkey = match rp.finish_registration(&ceremony, &answer) {
            Ok(passkey) => passkey,
            Err(error) => {
                tracing::info!(event = "webauthn.refused", reason = %error, "passkey registration refused");
                return Ok(Err((StatusCode::BAD_REQUEST, t.passkey_failed)));
            }
        };
        state.store.refund_rate(ticket).await?;
        let user_id = &posted.account.user.id;
        let notice =
            crate::mail::authenticator_enrolled(&state, &*state.keys().await, &posted.account, latchkey_store::WEBAUTHN_FACTOR_TYPE, now)?;
        let factor_id = latchkey_store::new_factor_id();
        let added = state
            .store
            .add_session_passkey((&posted.session_id, &stored), user_id, &factor_id, &passkey, &notice, &posted.audit(), now)
            .await?;
        Ok::<_, anyhow::Error>(match added {
            latchkey_store::PasskeyAdded::Added => Ok(()),
            latchkey_store::PasskeyAdded::Replayed | latchkey_store::PasskeyAdded::Taken => {
                Err((StatusCode::BAD_REQUEST, t.passkey_failed))
            }
        })
    };
    let result = added.await;
    if matches!(result, Ok(Ok(()))) {
        tracing::info!(event = "account.passkey_added", user_id = %posted.account.user.id.as_str(), "passkey added");
    }
    enrolled(&state, &posted, result, t.passkey_added).await
}

/// `POST /account/totp/activate`: the first value from the app activates the pending factor
/// (`Store::use_totp_step`, which queues the AuthenticatorEnrolled notice). A wrong value is
/// logged and counted against the address's code-failure budget.
#[tracing::instrument(name = "hosted.account.totp_activate", skip_all)]
pub async fn totp_activate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let posted = match accept(&state, peer, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let t = text(posted.lang);
    let activated = async {
        let factor = match state.store.factor_of(&posted.account.user.id, posted.field("factor")).await? {
            Some(factor) if factor.status == PENDING && factor.factor_type == TOTP_FACTOR_TYPE => factor,
            _ => return Ok(Err((StatusCode::NOT_FOUND, t.gone))),
        };
        let now = state.store.now().await?;
        let Some(ticket) = posted.take_code_budget(&state, &headers, now).await? else {
            return Ok(Err((StatusCode::TOO_MANY_REQUESTS, t.too_many)));
        };
        let secret = state.keys().await.open_totp_secret(&factor)?;
        let last_used = factor.last_used_step.and_then(|s| u64::try_from(s).ok());
        let step = match totp::decide(&secret, &TotpPolicy::default(), posted.field("code").trim(), last_used, now) {
            TotpCheck::Accepted { step } => i64::try_from(step)?,
            TotpCheck::Wrong | TotpCheck::Replayed => {
                state.store.record_wrong_factor_value(&factor, &posted.audit(), now).await?;
                return Ok(Err((StatusCode::BAD_REQUEST, t.wrong_code)));
            }
        };
        state.store.refund_rate(ticket).await?;
        let notice = crate::mail::authenticator_enrolled(&state, &*state.keys().await, &posted.account, &factor.factor_type, now)?;
        match state.store.use_totp_step(&factor, step, Some(&notice), &posted.audit(), now).await? {
            Some(_) => Ok::<_, anyhow::Error>(Ok(())),
            None => Ok(Err((StatusCode::BAD_REQUEST, t.wrong_code))),
        }
    };
    let result = activated.await;
    if matches!(result, Ok(Ok(()))) {
        tracing::info!(event = "account.factor_activated", user_id = %posted.account.user.id.as_str(), "TOTP factor activated");
    }
    enrolled(&state, &posted, result, t.added).await
}

/// `POST /account/factors/rename`: names an authenticator; an empty name goes back to the
/// default. Needs no password: a name changes nothing about how the account signs in.
#[tracing::instrument(name = "hosted.account.rename", skip_all)]
pub async fn rename(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let posted = match accept(&state, peer, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let t = text(posted.lang);
    let name = match posted.field("name").trim() {
        "" => None,
        raw => match FactorName::parse(raw) {
            Ok(name) => Some(name),
            Err(_) => {
                return page(&state, posted.lang, &posted.account, StatusCode::BAD_REQUEST, Outcome::Errors(vec![t.bad_name.to_owned()]))
                    .await
            }
        },
    };
    let renamed = async {
        let now = state.store.now().await?;
        state.store.rename_factor(&posted.account.user.id, posted.field("factor"), name.as_ref(), &posted.audit(), now).await
    };
    match renamed.await {
        Ok(Some(_)) => {
            tracing::info!(event = "account.factor_renamed", user_id = %posted.account.user.id.as_str(), "factor renamed");
            page(&state, posted.lang, &posted.account, StatusCode::OK, Outcome::Done(t.renamed)).await
        }
        Ok(None) => page(&state, posted.lang, &posted.account, StatusCode::NOT_FOUND, Outcome::Errors(vec![t.gone.to_owned()])).await,
        Err(e) => internal(e),
    }
}

/// Whether the typed current password is the account's: `Ok(hash)` with the hash it matched.
enum Proof {
    Proved(String),
    Refused(StatusCode, &'static str, Option<Millis>),
}

/// Checks the current password like a sign-in (SES-5): the address's failure budget and the
/// identifier's throttle before one Argon2 verification; a wrong one counts and is logged as
/// a failed sign-in, and may lock the account at the lock-out ceiling.
async fn prove_password(state: &AppState, headers: &HeaderMap, posted: &Posted) -> anyhow::Result<Proof> {
    let t = text(posted.lang);
    // A malformed entry (empty, or longer than any password) is refused before anything is
    // counted, as the sign-in refuses it.
    let Ok(password) = Password::parse(posted.field("current")) else {
        return Ok(Proof::Refused(StatusCode::BAD_REQUEST, t.wrong_password, None));
    };
    let now = state.store.now().await?;
    let client = crate::limits::client_key(state, posted.peer, headers);
    let ticket = match crate::limits::take(state, Budget::SignInFailures, &client, now).await? {
        Ok(ticket) => ticket,
        Err(wait) => return Ok(Proof::Refused(StatusCode::TOO_MANY_REQUESTS, t.too_many, Some(wait))),
    };
    let subject = posted.subject();
    if let SignInGate::Wait { retry_after } = state.store.begin_sign_in(&subject, &state.policies.signin, now).await? {
        state.store.refund_rate(ticket).await?;
        return Ok(Proof::Refused(StatusCode::TOO_MANY_REQUESTS, t.too_many, Some(retry_after)));
    }
    let stored = posted.account.password_hash.clone();
    let verification = match state.hasher.verify(password, stored.clone()).await {
        Ok(verification) => verification,
        Err(HashError::Busy) => {
            let busy = set_password_text::text(posted.lang).busy;
            return Ok(Proof::Refused(
                StatusCode::SERVICE_UNAVAILABLE,
                busy,
                Some(i64::from(crate::crypto::password::BUSY_RETRY_AFTER_SECS) * 1000),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    match stored {
        Some(hash) if verification.matches => {
            state.store.refund_rate(ticket).await?;
            Ok(Proof::Proved(hash))
        }
        _ => {
            if state.store.finish_failed_sign_in(&subject, state.settings.signin.lockout_after, &posted.context, now).await? {
                tracing::warn!(event = "signin.locked_out", "account locked after repeated wrong current passwords");
            }
            tracing::info!(event = "account.wrong_password", "wrong current password on the account page");
            Ok(Proof::Refused(StatusCode::UNAUTHORIZED, t.wrong_password, None))
        }
    }
}

/// A refused proof as a page, with `Retry-After` when waiting helps.
async fn refused_proof(state: &AppState, posted: &Posted, status: StatusCode, message: &str, wait: Option<Millis>) -> Response {
    let mut response = page(state, posted.lang, &posted.account, status, Outcome::Errors(vec![message.to_owned()])).await;
    if let Some(wait) = wait {
        let secs = u64::try_from((wait + 999) / 1000).unwrap_or(1).max(1);
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// `POST /account/factors/remove`: removes an authenticator after the current password
/// (`Store::remove_factor_with_password`: System Log, AuthenticatorReset notice).
#[tracing::instrument(name = "hosted.account.remove", skip_all)]
pub async fn remove(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let posted = match accept(&state, peer, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let t = text(posted.lang);
    let factor = match state.store.factor_of(&posted.account.user.id, posted.field("factor")).await {
        Ok(Some(factor)) => factor,
        Ok(None) => {
            return page(&state, posted.lang, &posted.account, StatusCode::NOT_FOUND, Outcome::Errors(vec![t.gone.to_owned()])).await
        }
        Err(e) => return internal(e),
    };
    let hash = match prove_password(&state, &headers, &posted).await {
        Ok(Proof::Proved(hash)) => hash,
        Ok(Proof::Refused(status, message, wait)) => return refused_proof(&state, &posted, status, message, wait).await,
        Err(e) => return internal(e),
    };
    let removed = async {
        let now = state.store.now().await?;
        let notice = crate::mail::authenticator_reset(&state, &*state.keys().await, &posted.account, &factor, now)?;
        Ok::<_, anyhow::Error>(
            state.store.remove_factor_with_password(&posted.subject(), &hash, &factor.id, &notice, &posted.audit(), now).await?,
        )
    };
    match removed.await {
        Ok(ProvedChange::Done) => {
            state.outbox_wake.notify_one();
            tracing::info!(event = "account.factor_removed", user_id = %posted.account.user.id.as_str(), "factor removed by its user");
            page(&state, posted.lang, &posted.account, StatusCode::OK, Outcome::Done(t.removed)).await
        }
        Ok(ProvedChange::NotFound) => {
            page(&state, posted.lang, &posted.account, StatusCode::NOT_FOUND, Outcome::Errors(vec![t.gone.to_owned()])).await
        }
        Ok(ProvedChange::CredentialChanged) => {
            page(&state, posted.lang, &posted.account, StatusCode::CONFLICT, Outcome::Errors(vec![t.credential_changed.to_owned()])).await
        }
        Err(e) => internal(e),
    }
}

/// `POST /account/password`: the current password, then the new one checked by the password
/// policy and set through the one password pipeline. This browser's session stays; every other
/// session and refresh token ends, and PasswordChanged is mailed.
#[tracing::instrument(name = "hosted.account.password", skip_all)]
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let posted = match accept(&state, peer, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let (t, words) = (text(posted.lang), set_password_text::text(posted.lang));
    let again = |status, messages: Vec<String>| page(&state, posted.lang, &posted.account, status, Outcome::Errors(messages));
    // The new password's own faults are shown before the current one is checked: they cost
    // no verification and say nothing about the account.
    if posted.field("password") != posted.field("confirm") {
        return again(StatusCode::BAD_REQUEST, vec![words.mismatch.to_owned()]).await;
    }
    let password = match Password::parse(posted.field("password")) {
        Ok(password) => password,
        Err(_) if posted.field("password").is_empty() => return again(StatusCode::BAD_REQUEST, vec![words.empty.to_owned()]).await,
        Err(_) => {
            let too_long = PolicyViolation::TooLong { max: state.policies.password.max_length };
            return again(StatusCode::BAD_REQUEST, vec![words.violation(posted.lang, &too_long)]).await;
        }
    };
    let verified = match prove_password(&state, &headers, &posted).await {
        Ok(Proof::Proved(hash)) => hash,
        Ok(Proof::Refused(status, message, wait)) => return refused_proof(&state, &posted, status, message, wait).await,
        Err(e) => return internal(e),
    };
    let hash = match state.hasher.check_and_hash(&state.policies.password, password, &posted.account.user.profile).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(violations)) => {
            // The current password was right: the failure `begin_sign_in` counted up front
            // is taken back, as a sign-in's success does.
            if let Err(e) = state.store.clear_sign_in_failures(&posted.subject()).await {
                return internal(e);
            }
            return again(StatusCode::BAD_REQUEST, violations.iter().map(|v| words.violation(posted.lang, v)).collect()).await;
        }
        Err(HashError::Busy) => {
            let mut response = again(StatusCode::SERVICE_UNAVAILABLE, vec![words.busy.to_owned()]).await;
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(crate::crypto::password::BUSY_RETRY_AFTER_SECS));
            return response;
        }
        Err(e) => return internal(e),
    };
    let keep = crate::session::presented_digest(&headers);
    let changed = async {
        let now = state.store.now().await?;
        let keys = state.keys().await;
        let request = crate::mail::RequestInfo::from_request(&state, posted.peer, &headers);
        let notice = crate::mail::password_changed(&state, &keys, &posted.account, Some(&request), now)?;
        let change = PasswordChange {
            user_id: &posted.account.user.id,
            hash: &hash,
            notice,
            // This browser stays signed in: `accept` found its cookie's session live.
            keep_session_digest: keep.as_deref(),
            completing_interaction: None,
            event_type: EventType::PasswordUpdate,
            audit: posted.audit(),
        };
        Ok::<_, anyhow::Error>(state.store.change_password_with_password(&verified, change, now).await?)
    };
    match changed.await {
        Ok(ProvedChange::Done) => {
            state.outbox_wake.notify_one();
            tracing::info!(event = "account.password_changed", user_id = %posted.account.user.id.as_str(), "password changed by its user");
            match state.store.user_by_id(&posted.account.user.id).await {
                Ok(Some(account)) => page(&state, posted.lang, &account, StatusCode::OK, Outcome::Done(t.changed)).await,
                Ok(None) => signed_out(&state, posted.lang, StatusCode::UNAUTHORIZED),
                Err(e) => internal(e),
            }
        }
        Ok(_) => again(StatusCode::CONFLICT, vec![t.credential_changed.to_owned()]).await,
        Err(e) => internal(e),
    }
}

/// The day a factor was added, the same in every language (UTC).
fn day(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at).map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// The page of a signed-in user, with a fresh CSRF token in every form and in the Strict
/// cookie; the language travels to each POST as `ui_locales`.
async fn page(state: &AppState, lang: &'static str, account: &UserRecord, status: StatusCode, outcome: Outcome) -> Response {
    let factors = match state.store.factors_of(&account.user.id).await {
        Ok(factors) => factors,
        Err(e) => return internal(e),
    };
    // The enrollment policy may keep users from adding an app themselves (`NOT_ALLOWED`).
    let (may_enroll, may_add_passkey) = match state.store.policies().await {
        Ok(stored) => (
            stored.policies.totp_enroll != EnrollRequirement::NotAllowed,
            stored.policies.enroll().on_server(state.relying_party.is_some()).offered().webauthn,
        ),
        Err(e) => return internal(e),
    };
    let pending = factors.iter().find(|f| f.status == PENDING && f.factor_type == TOTP_FACTOR_TYPE);
    let pending_secret = match pending {
        Some(factor) => match state.keys().await.open_totp_secret(factor) {
            Ok(secret) => Some((factor, secret)),
            Err(e) => return internal(e),
        },
        None => None,
    };
    let t = text(lang);
    let csrf = BearerToken::generate();
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"ui_locales\" value=\"{}\">",
        escape(csrf.expose()),
        escape(lang)
    );
    let login = escape(account.user.profile.login.as_str());
    let passkey_options = match &outcome {
        Outcome::PasskeySetup(options) => Some(options.clone()),
        _ => None,
    };
    let outcome = match outcome {
        Outcome::None | Outcome::PasskeySetup(_) => String::new(),
        Outcome::Done(message) => format!("<p class=\"lkp-done\" role=\"status\" id=\"account-done\">{}</p>", escape(message)),
        Outcome::Errors(messages) => format!(
            "<div class=\"latchkey-error\" role=\"alert\" id=\"account-error\"><ul>{}</ul></div>",
            messages.iter().map(|m| format!("<li>{}</li>", escape(m))).collect::<String>()
        ),
    };
    let active: Vec<&FactorRecord> = factors.iter().filter(|f| f.status == ACTIVE).collect();
    let mut list = format!(
        "<li><strong>{password}</strong> – {password_detail}</li><li><strong>{email_label}</strong> – {email}</li>",
        password = escape(t.password),
        password_detail = escape(t.password_detail),
        email_label = escape(t.email),
        email = escape(t.email_detail).replace("{email}", &escape(account.user.profile.email.as_str())),
    );
    for factor in &active {
        list.push_str(&format!(
            "<li><strong>{name}</strong> – {detail}</li>",
            name = escape(factor_name(t, factor)),
            detail = escape(factor_detail(t, factor)).replace("{date}", &escape(&day(factor.created_at))),
        ));
    }
    let mut sections = String::new();
    for (i, factor) in active.iter().enumerate() {
        sections.push_str(&format!(
            "<h2 id=\"factor-{i}\">{name}</h2>\
             <form method=\"post\" action=\"/account/factors/rename\" class=\"lkp-form\" aria-label=\"{rename}: {name}\">{hidden}\
             <input type=\"hidden\" name=\"factor\" value=\"{id}\">\
             <div><label for=\"name-{i}\">{name_label}</label><input id=\"name-{i}\" type=\"text\" name=\"name\" value=\"{current}\" maxlength=\"{max}\" autocomplete=\"off\"></div>\
             <div><button type=\"submit\" class=\"lkp-button\">{rename}</button></div></form>\
             <form method=\"post\" action=\"/account/factors/remove\" class=\"lkp-form\" aria-label=\"{remove}: {name}\">{hidden}\
             <input type=\"hidden\" name=\"factor\" value=\"{id}\">\
             <input type=\"text\" name=\"username\" value=\"{login}\" autocomplete=\"username\" readonly hidden>\
             <div><label for=\"remove-current-{i}\">{current_password}</label><input id=\"remove-current-{i}\" type=\"password\" name=\"current\" autocomplete=\"current-password\" required></div>\
             <div><button type=\"submit\" class=\"lkp-button\">{remove}</button></div></form>",
            name = escape(factor_name(t, factor)),
            id = escape(&factor.id),
            name_label = escape(t.name),
            current = escape(factor.display_name.as_deref().unwrap_or_default()),
            max = latchkey_domain::factor::MAX_FACTOR_NAME_CHARS,
            rename = escape(t.rename),
            current_password = escape(t.current_password),
            remove = escape(t.remove),
        ));
    }
    if let Some((factor, secret)) = &pending_secret {
        sections.push_str(&format!(
            "<h2 id=\"setup\">{title}</h2><p>{scan}</p>\
             <p><img id=\"totp-qr\" src=\"{qr}\" alt=\"{alt}\" width=\"200\" height=\"200\"></p>\
             <p>{key_label}: <code id=\"totp-secret\">{key}</code></p>\
             <form method=\"post\" action=\"/account/totp/activate\" class=\"lkp-form\" aria-labelledby=\"setup\">{hidden}\
             <input type=\"hidden\" name=\"factor\" value=\"{id}\">\
             <div><label for=\"totp-code\">{code}</label><input id=\"totp-code\" type=\"text\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]*\" maxlength=\"10\" required></div>\
             <div><button type=\"submit\" class=\"lkp-button lkp-primary\">{confirm}</button></div></form>",
            title = escape(t.setup_title),
            scan = escape(t.setup_scan),
            qr = escape(&qr_code(state, account, secret)),
            alt = escape(t.qr_alt),
            key_label = escape(t.setup_key),
            key = escape(&secret.base32()),
            id = escape(&factor.id),
            code = escape(t.code),
            confirm = escape(t.confirm),
        ));
    } else if may_enroll && !active.iter().any(|f| f.factor_type == TOTP_FACTOR_TYPE) {
        sections.push_str(&format!(
            "<h2 id=\"add\">{title}</h2><p>{intro}</p>\
             <form method=\"post\" action=\"/account/totp\" class=\"lkp-form\" aria-labelledby=\"add\">{hidden}\
             <div><button type=\"submit\" class=\"lkp-button\">{button}</button></div></form>",
            title = escape(t.add_title),
            intro = escape(t.add_intro),
            button = escape(t.add_button),
        ));
    }
    let mut script = None;
    if let Some(options) = &passkey_options {
        // The creation options travel as an inert attribute; the page's one nonce'd script runs
        // the browser's WebAuthn and posts its answer with the form's CSRF field.
        sections.push_str(&format!(
            "<h2 id=\"passkey-setup\">{title}</h2><p>{intro}</p>\
             <form method=\"post\" action=\"/account/passkey/activate\" class=\"lkp-form\" id=\"passkey-form\" aria-labelledby=\"passkey-setup\" data-options=\"{options}\" data-failed=\"{failed}\">{hidden}\
             <input type=\"hidden\" name=\"clientData\"><input type=\"hidden\" name=\"attestation\">\
             <div><button type=\"submit\" class=\"lkp-button lkp-primary\">{create}</button></div></form>",
            title = escape(t.passkey_add_title),
            intro = escape(t.passkey_add_intro),
            options = escape(&options.to_string()),
            failed = escape(t.passkey_failed),
            create = escape(t.passkey_create),
        ));
        script = Some(PASSKEY_SCRIPT);
    } else if may_add_passkey {
        sections.push_str(&format!(
            "<h2 id=\"add-passkey\">{title}</h2><p>{intro}</p>\
             <form method=\"post\" action=\"/account/passkey\" class=\"lkp-form\" aria-labelledby=\"add-passkey\">{hidden}\
             <div><button type=\"submit\" class=\"lkp-button\">{button}</button></div></form>",
            title = escape(t.passkey_add_title),
            intro = escape(t.passkey_add_intro),
            button = escape(t.passkey_add_button),
        ));
    }
    let words = set_password_text::text(lang);
    let policy = &state.policies.password;
    let rules = [
        PolicyViolation::TooShort { min: policy.min_length },
        PolicyViolation::TooLong { max: policy.max_length },
        PolicyViolation::TooGuessable { reason: String::new() },
        PolicyViolation::ContainsLogin,
    ];
    let requirements: String = rules.iter().map(|r| format!("<li>{}</li>", escape(&words.violation(lang, r)))).collect();
    let content = format!(
        "<p id=\"account-login\">{signed_in}</p>{outcome}\
         <h2 id=\"authenticators\">{authenticators}</h2><ul class=\"lkp-list\" aria-labelledby=\"authenticators\" id=\"authenticator-list\">{list}</ul>\
         {sections}\
         <h2 id=\"change-password\">{change_title}</h2>\
         <p id=\"requirements\">{req_title}</p><ul class=\"lkp-list\" aria-labelledby=\"requirements\">{requirements}</ul>\
         <form method=\"post\" action=\"/account/password\" class=\"lkp-form\" aria-labelledby=\"change-password\">{hidden}\
         <input type=\"text\" name=\"username\" value=\"{login}\" autocomplete=\"username\" readonly hidden>\
         <div><label for=\"current-password\">{current_password}</label><input id=\"current-password\" type=\"password\" name=\"current\" autocomplete=\"current-password\" required></div>\
         <div><label for=\"new-password\">{new_password}</label><input id=\"new-password\" type=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{max}\"></div>\
         <div><label for=\"confirm-password\">{repeat}</label><input id=\"confirm-password\" type=\"password\" name=\"confirm\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{max}\"></div>\
         <div><button type=\"submit\" class=\"lkp-button lkp-primary\">{change_button}</button></div></form>",
        signed_in = escape(t.signed_in_as).replace("{login}", &format!("<strong>{login}</strong>")),
        authenticators = escape(t.authenticators),
        change_title = escape(t.change_title),
        req_title = escape(words.requirements),
        current_password = escape(t.current_password),
        new_password = escape(words.new_password),
        repeat = escape(words.repeat),
        change_button = escape(t.change_button),
        min = policy.min_length,
        max = policy.max_length,
    );
    let mut response = content_page(status, lang, &format!("{} – {}", t.title, state.settings.org.name), &content, script);
    cookies::set(&mut response, state.secure_cookies(), CSRF_COOKIE, csrf.expose(), CSRF_MAX_AGE_SECS, "Strict");
    response
}

/// The account page's one script: on the passkey form's submit, `navigator.credentials.create`
/// with the server's options (base64url members decoded), then the answer posted base64url.
const PASSKEY_SCRIPT: &str = r#"(() => {
  const form = document.getElementById('passkey-form');
  if (!form) return;
  const dec = (s) => Uint8Array.from(atob(String(s).replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const enc = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  form.addEventListener('submit', async (event) => {
    if (form.elements.clientData.value) return;
    event.preventDefault();
    try {
      const o = JSON.parse(form.dataset.options);
      delete o.u2fParams;
      for (const k of Object.keys(o)) if (o[k] === null) delete o[k];
      const publicKey = { ...o, challenge: dec(o.challenge), user: { ...o.user, id: dec(o.user.id) },
        excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: dec(c.id) })) };
      const cred = await navigator.credentials.create({ publicKey });
      form.elements.clientData.value = enc(cred.response.clientDataJSON);
      form.elements.attestation.value = enc(cred.response.attestationObject);
      form.submit();
    } catch (e) {
      const p = document.createElement('p');
      p.className = 'latchkey-error';
      p.setAttribute('role', 'alert');
      p.textContent = form.dataset.failed;
      form.before(p);
    }
  });
})();"#;

fn factor_name<'a>(t: &'a Text, factor: &'a FactorRecord) -> &'a str {
    let default = if factor.factor_type == latchkey_store::WEBAUTHN_FACTOR_TYPE { t.passkey_name } else { t.default_name };
    factor.display_name.as_deref().unwrap_or(default)
}

/// What a factor is, in the authenticators' list.
fn factor_detail<'a>(t: &'a Text, factor: &FactorRecord) -> &'a str {
    if factor.factor_type == latchkey_store::WEBAUTHN_FACTOR_TYPE {
        t.passkey_detail
    } else {
        t.app_detail
    }
}

/// The `otpauth://` URI as an inline SVG QR code (a `data:` URI the page's CSP allows), so the
/// secret never travels in a URL of ours.
fn qr_code(state: &AppState, account: &UserRecord, secret: &TotpSecret) -> String {
    crate::totp_setup::TotpSetup::new(state, account.user.profile.login.as_str(), secret).qr_data_uri
}
