//! Interactions (IDX transactions): the persisted form of `latchkey_domain::interaction::Step`.
//!
//! Every step change is a compare-and-set on `version`, so two requests racing on one
//! transaction (two tabs, a replay) cannot both move it: the loser sees `Ok(false)` and answers
//! with the current state.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::interaction::{FactorKind, Flow, Step, Subject};
use latchkey_domain::oauth::AuthServer;
use latchkey_domain::{Millis, UserId};
use sqlx::any::AnyRow;

use crate::{get_i64, get_opt_i64, get_opt_str, get_str, random_id, EventContext, Result, Store, StoreError, Tx};

#[derive(Debug, Clone)]
pub struct InteractionRecord {
    pub id: String,
    pub auth_server: AuthServer,
    pub flow: Flow,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: String,
    pub oauth_state: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub step: Step,
    pub version: i64,
    /// When the user authenticated for this transaction (the ID token's `auth_time`).
    pub auth_time: Option<Millis>,
    /// The password the completing sign-in proved (`credential_version`); the code redeems only
    /// while the account's password is still that one. NULL before completion.
    pub credential_at: Option<Millis>,
    /// What the sign-in proved so far (the ID token's `amr`).
    pub methods: latchkey_domain::session::AuthMethods,
    /// The WebAuthn ceremony of the current step (`latchkey_domain::webauthn::Ceremony`'s stored
    /// form), while one is in progress; cleared by every move of the step.
    pub webauthn_ceremony: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A successful password sign-in, for `complete_sign_in`.
pub struct SignInCompletion<'a> {
    pub interaction_id: &'a str,
    pub expected_version: i64,
    /// The identifier as typed and the account it names (`user_id` below).
    pub subject: &'a Subject,
    pub user_id: &'a UserId,
    pub code_digest: &'a str,
    pub code_expires_at: Millis,
    pub context: &'a EventContext,
    /// The stored hash the password was verified against: the sign-in completes only while it
    /// is still the account's (a reset racing the sign-in wins).
    pub verified_hash: &'a str,
    /// How long the second step may take when the app sign-in rule asks for one.
    pub second_factor_window: Millis,
    /// Whether this server can register passkeys (a relying party is configured); when it
    /// cannot, the enrollment policy's passkey setting reads as `NOT_ALLOWED`.
    pub passkeys_available: bool,
}

/// How `complete_sign_in` ended.
#[derive(Debug, Clone)]
pub enum SignInCompleted {
    Done(Box<InteractionRecord>),
    /// The transaction had moved; nothing changed.
    Moved,
    /// The password changed after it was verified; nothing changed.
    CredentialChanged,
}

pub struct NewInteraction<'a> {
    pub handle_digest: &'a str,
    pub state_handle_digest: &'a str,
    pub auth_server: AuthServer,
    pub flow: Flow,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a str,
    pub oauth_state: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: &'a str,
    pub lifetime: Millis,
}

const COLUMNS: &str = "id, auth_server, flow, client_id, redirect_uri, scopes, oauth_state, nonce, code_challenge, step, \
    subject_key, user_id, grant_expires_at, version, auth_time, credential_at, amr, webauthn_ceremony, created_at, expires_at";

/// The columns a step is stored in: kind, subject key, user id, grant expiry.
pub(crate) fn step_columns(step: &Step) -> (&'static str, Option<String>, Option<String>, Option<Millis>) {
    match step {
        Step::Identify | Step::RecoveryIdentify => (step.kind(), None, None, None),
        Step::RecoverySelect { subject }
        | Step::RecoveryChallenge { subject }
        | Step::RecoveryFactorMissing { subject }
        | Step::SignInFactorMissing { subject } => {
            (step.kind(), Some(subject.identifier_key().storage_key()), subject.user_id.as_ref().map(|u| u.as_str().to_owned()), None)
        }
        Step::RecoveryFactorSelect { subject, grant_expires_at }
        | Step::RecoveryFactorChallenge { subject, grant_expires_at, .. }
        | Step::SignInFactorSelect { subject, grant_expires_at }
        | Step::SignInFactorChallenge { subject, grant_expires_at, .. }
        | Step::SignInEnrollSelect { subject, grant_expires_at }
        | Step::SignInEnrollTotp { subject, grant_expires_at }
        | Step::SignInEnrollWebauthn { subject, grant_expires_at } => (
            step.kind(),
            Some(subject.identifier_key().storage_key()),
            subject.user_id.as_ref().map(|u| u.as_str().to_owned()),
            Some(*grant_expires_at),
        ),
        Step::RecoveryReset { user_id, grant_expires_at } => {
            (step.kind(), None, Some(user_id.as_str().to_owned()), Some(*grant_expires_at))
        }
        Step::Success { user_id } => (step.kind(), None, Some(user_id.as_str().to_owned()), None),
    }
}

fn step_from_row(row: &AnyRow) -> Result<Step> {
    let kind = get_str(row, "step")?;
    let subject_key = get_opt_str(row, "subject_key")?;
    let user_id = get_opt_str(row, "user_id")?.map(UserId::from_trusted);
    let corrupt = || StoreError::Corrupt(format!("interaction step {kind} is missing its data"));
    let subject = || -> Result<Subject> { Ok(Subject::from_storage(subject_key.as_deref().ok_or_else(corrupt)?, user_id.clone())) };
    let grant = || -> Result<Millis> { get_opt_i64(row, "grant_expires_at")?.ok_or_else(corrupt) };
    Ok(match kind.as_str() {
        "identify" => Step::Identify,
        "recovery_identify" => Step::RecoveryIdentify,
        "recovery_select" => Step::RecoverySelect { subject: subject()? },
        "recovery_challenge" => Step::RecoveryChallenge { subject: subject()? },
        "recovery_factor_select" => {
            Step::RecoveryFactorSelect { subject: subject()?, grant_expires_at: get_opt_i64(row, "grant_expires_at")?.ok_or_else(corrupt)? }
        }
        "recovery_factor_challenge" => {
            Step::RecoveryFactorChallenge { subject: subject()?, grant_expires_at: grant()?, factor: FactorKind::Totp }
        }
        "recovery_webauthn_challenge" => {
            Step::RecoveryFactorChallenge { subject: subject()?, grant_expires_at: grant()?, factor: FactorKind::Webauthn }
        }
        "signin_factor_select" => Step::SignInFactorSelect { subject: subject()?, grant_expires_at: grant()? },
        "signin_webauthn_challenge" => {
            Step::SignInFactorChallenge { subject: subject()?, grant_expires_at: grant()?, factor: FactorKind::Webauthn }
        }
        "signin_enroll_webauthn" => Step::SignInEnrollWebauthn { subject: subject()?, grant_expires_at: grant()? },
        "recovery_factor_missing" => Step::RecoveryFactorMissing { subject: subject()? },
        "signin_factor_challenge" => {
            Step::SignInFactorChallenge { subject: subject()?, grant_expires_at: grant()?, factor: FactorKind::Totp }
        }
        "signin_factor_missing" => Step::SignInFactorMissing { subject: subject()? },
        "signin_enroll_select" => {
            Step::SignInEnrollSelect { subject: subject()?, grant_expires_at: get_opt_i64(row, "grant_expires_at")?.ok_or_else(corrupt)? }
        }
        "signin_enroll_totp" => {
            Step::SignInEnrollTotp { subject: subject()?, grant_expires_at: get_opt_i64(row, "grant_expires_at")?.ok_or_else(corrupt)? }
        }
        "recovery_reset" => Step::RecoveryReset {
            user_id: user_id.clone().ok_or_else(corrupt)?,
            grant_expires_at: get_opt_i64(row, "grant_expires_at")?.ok_or_else(corrupt)?,
        },
        "success" => Step::Success { user_id: user_id.clone().ok_or_else(corrupt)? },
        other => return Err(StoreError::Corrupt(format!("unknown interaction step {other}"))),
    })
}

/// A column holding one of a closed set of names, parsed where it is read.
fn parsed<T>(row: &AnyRow, column: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let value = get_str(row, column)?;
    parse(&value).ok_or_else(|| StoreError::Corrupt(format!("interaction {column} {value:?} is not one Latchkey writes")))
}

fn from_row(row: &AnyRow) -> Result<InteractionRecord> {
    Ok(InteractionRecord {
        id: get_str(row, "id")?,
        auth_server: parsed(row, "auth_server", AuthServer::parse)?,
        flow: parsed(row, "flow", Flow::parse)?,
        client_id: get_str(row, "client_id")?,
        redirect_uri: get_str(row, "redirect_uri")?,
        scopes: get_str(row, "scopes")?,
        oauth_state: get_str(row, "oauth_state")?,
        nonce: get_opt_str(row, "nonce")?,
        code_challenge: get_str(row, "code_challenge")?,
        step: step_from_row(row)?,
        version: get_i64(row, "version")?,
        auth_time: get_opt_i64(row, "auth_time")?,
        credential_at: get_opt_i64(row, "credential_at")?,
        methods: crate::get_methods(row, "amr")?,
        webauthn_ceremony: get_opt_str(row, "webauthn_ceremony")?,
        created_at: get_i64(row, "created_at")?,
        expires_at: get_i64(row, "expires_at")?,
    })
}

impl Store {
    /// Starts a transaction. Its start and expiry are the database clock's, read inside the
    /// insert (`clock_expr`), and RETURNING reads the stored row back in the same statement:
    /// one round trip where a clock read, an insert and a look-up were three (SQLite ≥ 3.35 and
    /// PostgreSQL both accept it).
    pub async fn insert_interaction(&self, new: &NewInteraction<'_>) -> Result<InteractionRecord> {
        let id = random_id();
        let clock = self.clock_expr();
        let row = sqlx::query(&format!(
            "INSERT INTO interactions (id, handle_digest, state_handle_digest, auth_server, client_id, redirect_uri, scopes, \
             oauth_state, nonce, code_challenge, step, version, created_at, expires_at, flow) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'identify', 1, {clock}, {clock} + $11, $12) RETURNING {COLUMNS}"
        ))
        .bind(&id)
        .bind(new.handle_digest)
        .bind(new.state_handle_digest)
        .bind(new.auth_server.as_str())
        .bind(new.client_id)
        .bind(new.redirect_uri)
        .bind(new.scopes)
        .bind(new.oauth_state)
        .bind(new.nonce)
        .bind(new.code_challenge)
        .bind(new.lifetime)
        .bind(new.flow.as_str())
        .fetch_one(self.pool())
        .await?;
        from_row(&row)
    }

    /// A live (unexpired) interaction by the digest of its interaction handle.
    pub async fn interaction_by_handle(&self, handle_digest: &str, now: Millis) -> Result<Option<InteractionRecord>> {
        self.interaction_where("handle_digest", handle_digest, now).await
    }

    /// A live (unexpired) interaction by the digest of its state handle.
    pub async fn interaction_by_state_handle(&self, state_digest: &str, now: Millis) -> Result<Option<InteractionRecord>> {
        self.interaction_where("state_handle_digest", state_digest, now).await
    }

    /// As `interaction_by_handle`, judged by the database clock inside the look-up: one round
    /// trip instead of reading `now` first, for a read that decides nothing else on time.
    pub async fn live_interaction_by_handle(&self, handle_digest: &str) -> Result<Option<InteractionRecord>> {
        self.live_interaction_where("handle_digest", handle_digest).await
    }

    /// As `interaction_by_state_handle`, judged by the database clock inside the look-up.
    pub async fn live_interaction_by_state_handle(&self, state_digest: &str) -> Result<Option<InteractionRecord>> {
        self.live_interaction_where("state_handle_digest", state_digest).await
    }

    async fn live_interaction_where(&self, column: &'static str, value: &str) -> Result<Option<InteractionRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM interactions WHERE {column} = $1 AND expires_at > {}", self.clock_expr());
        let row = sqlx::query(&sql).bind(value).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn interaction_where(&self, column: &'static str, value: &str, now: Millis) -> Result<Option<InteractionRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM interactions WHERE {column} = $1 AND expires_at > $2"))
            .bind(value)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Moves a transaction to `step` if nobody moved it since `expected_version` was read, and
    /// returns the transaction as committed (`None`: it had moved; nothing changed).
    /// Stores the WebAuthn ceremony started for the transaction's current step (see
    /// `start_ceremony`); `None`: the transaction moved meanwhile.
    pub async fn start_webauthn_ceremony(&self, id: &str, expected_version: i64, ceremony: &str) -> Result<Option<InteractionRecord>> {
        let mut tx = self.write_tx().await?;
        let record = start_ceremony(&mut tx, id, expected_version, ceremony).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn advance_interaction(&self, id: &str, expected_version: i64, step: &Step) -> Result<Option<InteractionRecord>> {
        let mut tx = self.write_tx().await?;
        let moved = advance(&mut tx, id, expected_version, step).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// A password sign-in succeeded: the transaction moves to `Success` with the digest of its
    /// single-use interaction code, `last_login_at` is set and the sign-in is logged, in one
    /// transaction; then the identifier's and the account's sign-in counters clear.
    /// `None`: the transaction had moved; nothing changed.
    ///
    /// *Why two commits:* the counters are always locked before anything else a writer
    /// touches (`counters::lock`, key order), and a password change holds the account's row
    /// while it clears them. Clearing them here, inside the transaction that updates the
    /// account's row, took the two locks in the opposite order and deadlocked with a reset
    /// racing sign-ins (tests/cluster, §3.6). A crash between the commits leaves the attempt
    /// counted as the failure `begin_sign_in` recorded up front, which only errs on the safe side.
    ///
    /// When the app sign-in rule asks for a second factor (`signin::after_password`), the
    /// transaction moves to that factor's challenge instead, and no code is issued yet (or to a
    /// terminal step for an account without one); the password is proved all the same.
    pub async fn complete_sign_in(&self, done: SignInCompletion<'_>, now: Millis) -> Result<SignInCompleted> {
        let mut tx = self.write_tx().await?;
        let facts = crate::policies::sign_on_facts(&mut tx, done.user_id).await?;
        let step = latchkey_domain::signin::after_password(
            (facts.rule, facts.enroll.on_server(done.passkeys_available)),
            facts.enrolled,
            done.subject,
            done.user_id,
            done.second_factor_window,
            now,
        );
        if advance(&mut tx, done.interaction_id, done.expected_version, &step).await?.is_none() {
            return Ok(SignInCompleted::Moved);
        }
        // The account's row is locked here; a password change holds the same lock, so this
        // either sees the hash it verified (and the change comes after, ending this sign-in's
        // code and tokens by `credential_at`) or sees the new one and refuses.
        let proved = sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2 AND password_hash = $3 RETURNING password_changed_at")
            .bind(now)
            .bind(done.user_id.as_str())
            .bind(done.verified_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(proved) = proved else {
            return Ok(SignInCompleted::CredentialChanged);
        };
        let credential = crate::credential_version(get_opt_i64(&proved, "password_changed_at")?);
        let user = Party::user(done.user_id, &done.subject.identifier);
        match step {
            Step::Success { .. } => {
                set_interaction_code(&mut tx, done.interaction_id, done.code_digest, done.code_expires_at, now).await?;
                let event = SecurityEvent::new(EventType::SessionStart, Outcome::Success, user);
                crate::system_log::record(&mut tx, &event, done.context, now).await?;
            }
            Step::SignInFactorMissing { .. } => {
                let event = SecurityEvent::new(EventType::SessionStart, Outcome::Deny("NO_SECOND_FACTOR"), user).warn();
                crate::system_log::record(&mut tx, &event, done.context, now).await?;
            }
            // The second step logs the sign-in when it succeeds.
            _ => {}
        }
        let record = set_credential(&mut tx, done.interaction_id, credential).await?;
        tx.commit().await?;
        let mut tx = self.write_tx().await?;
        crate::counters::lock(&mut tx, self, done.subject).await?;
        crate::counters::set_sign_in(&mut tx, done.subject, (0, 0), Some((0, 0))).await?;
        tx.commit().await?;
        Ok(SignInCompleted::Done(Box::new(record)))
    }

    /// Completes a fresh `/v1/authorize` transaction from the browser's live session: no new
    /// authentication happened, so `auth_time` is the session's and `last_login_at` is untouched.
    /// `code` is the digest of the new code and its expiry.
    pub async fn complete_from_session(
        &self,
        id: &str,
        expected_version: i64,
        user_id: &UserId,
        (digest, expires_at): (&str, Millis),
        (auth_time, methods): (Millis, latchkey_domain::session::AuthMethods),
    ) -> Result<Option<InteractionRecord>> {
        let mut tx = self.write_tx().await?;
        if advance(&mut tx, id, expected_version, &Step::Success { user_id: user_id.clone() }).await?.is_none() {
            return Ok(None);
        }
        set_interaction_code(&mut tx, id, digest, expires_at, auth_time).await?;
        // The session's own sign-in proved the password it had then; a password change ends
        // sessions, so a live session speaks for the account's current one.
        let credential = current_credential(&mut tx, user_id).await?;
        set_credential(&mut tx, id, credential).await?;
        // The session's own sign-in proved what it proved; this code carries the same.
        let record = set_methods(&mut tx, id, methods).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    /// The transaction whose interaction code this is, while the code is unredeemed and live
    /// (the hosted page's callback reads it to redirect to the client; it redeems nothing).
    pub async fn interaction_by_code(&self, code_digest: &str, now: Millis) -> Result<Option<InteractionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM interactions WHERE interaction_code_digest = $1 AND code_redeemed_at IS NULL AND code_expires_at > $2"
        ))
        .bind(code_digest)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Redeems an interaction code exactly once: the first caller gets the transaction, every
    /// later or concurrent caller gets `None` (one atomic UPDATE decides).
    /// `flow` names the kind of transaction the grant may redeem (`idx` for `interaction_code`,
    /// `authorize` for `authorization_code`); a code presented to the wrong grant is refused
    /// without being spent.
    pub async fn redeem_interaction_code(&self, code_digest: &str, flow: Flow, now: Millis) -> Result<Option<InteractionRecord>> {
        let mut tx = self.write_tx().await?;
        let redeemed = sqlx::query(
            "UPDATE interactions SET code_redeemed_at = $1 WHERE interaction_code_digest = $2 \
             AND code_redeemed_at IS NULL AND code_expires_at > $1 AND flow = $3",
        )
        .bind(now)
        .bind(code_digest)
        .bind(flow.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if redeemed == 0 {
            return Ok(None);
        }
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM interactions WHERE interaction_code_digest = $1"))
            .bind(code_digest)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        from_row(&row).map(Some)
    }
}

/// Compare-and-set of the step. A move to a step that `ends_codes` (cancel, recover, identify)
/// ends the transaction's earlier codes in the same transaction: a code never outlives the
/// step it was issued for.
///
/// Returns the transaction as this write leaves it (`RETURNING`, no extra statement), so the
/// caller renders what was written rather than re-deriving it; `None` when it had moved.
pub(crate) async fn advance(tx: &mut Tx, id: &str, expected_version: i64, step: &Step) -> Result<Option<InteractionRecord>> {
    let (kind, subject_key, user_id, grant) = step_columns(step);
    let row = sqlx::query(&format!(
        "UPDATE interactions SET step = $1, subject_key = $2, user_id = $3, grant_expires_at = $4, version = version + 1, \
         webauthn_ceremony = NULL \
         WHERE id = $5 AND version = $6 RETURNING {COLUMNS}"
    ))
    .bind(kind)
    .bind(subject_key)
    .bind(user_id)
    .bind(grant)
    .bind(id)
    .bind(expected_version)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if step.ends_codes() {
        crate::recovery::end_transaction_codes(tx, id).await?;
    }
    from_row(&row).map(Some)
}

/// Stores the WebAuthn ceremony of the transaction's current step, unless the step moved or a
/// ceremony was stored already (two processes rendering the step at once: the first one's
/// stands). Returns the transaction as it now stands, or `None` when it moved.
pub(crate) async fn start_ceremony(tx: &mut Tx, id: &str, expected_version: i64, ceremony: &str) -> Result<Option<InteractionRecord>> {
    sqlx::query("UPDATE interactions SET webauthn_ceremony = $1 WHERE id = $2 AND version = $3 AND webauthn_ceremony IS NULL")
        .bind(ceremony)
        .bind(id)
        .bind(expected_version)
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM interactions WHERE id = $1 AND version = $2"))
        .bind(id)
        .bind(expected_version)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Moves a transaction whose row this write transaction already holds (see `lock_step`): the
/// compare-and-set on the version read under the lock cannot miss.
pub(crate) async fn set_step(tx: &mut Tx, locked: &InteractionRecord, step: &Step) -> Result<InteractionRecord> {
    advance(tx, &locked.id, locked.version, step)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("interaction {} moved while its row was locked", locked.id)))
}

/// The live transaction, locked for the rest of this write transaction: the snapshot a
/// decision is taken on.
/// The live transaction as it is now, read without a lock: only to name the subject whose
/// counters a writer locks first (the store's lock order), before it locks the row itself
/// with `lock_step` and checks that the step still names that subject.
pub(crate) async fn read_step(tx: &mut Tx, id: &str, now: Millis) -> Result<Option<InteractionRecord>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM interactions WHERE id = $1 AND expires_at > $2"))
        .bind(id)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn lock_step(tx: &mut Tx, store: &Store, id: &str, now: Millis) -> Result<Option<InteractionRecord>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM interactions WHERE id = $1 AND expires_at > $2{}", store.dialect().for_update()))
        .bind(id)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The account's current credential version, read in the caller's transaction.
pub(crate) async fn current_credential(tx: &mut Tx, user_id: &UserId) -> Result<Millis> {
    let row = sqlx::query("SELECT password_changed_at FROM users WHERE id = $1").bind(user_id.as_str()).fetch_optional(&mut **tx).await?;
    Ok(crate::credential_version(row.as_ref().map(|r| get_opt_i64(r, "password_changed_at")).transpose()?.flatten()))
}

/// Records the password the completing sign-in proved.
/// Records what the transaction proved (`AuthMethods`), in the caller's transaction.
pub(crate) async fn set_methods(tx: &mut Tx, id: &str, methods: latchkey_domain::session::AuthMethods) -> Result<InteractionRecord> {
    let row = sqlx::query(&format!("UPDATE interactions SET amr = $1 WHERE id = $2 RETURNING {COLUMNS}"))
        .bind(methods.as_str())
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    from_row(&row)
}

pub(crate) async fn set_credential(tx: &mut Tx, id: &str, credential: Millis) -> Result<InteractionRecord> {
    let row = sqlx::query(&format!("UPDATE interactions SET credential_at = $1 WHERE id = $2 RETURNING {COLUMNS}"))
        .bind(credential)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    from_row(&row)
}

pub(crate) async fn set_last_login(tx: &mut Tx, user_id: &UserId, at: Millis) -> Result<()> {
    sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2").bind(at).bind(user_id.as_str()).execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn set_interaction_code(
    tx: &mut Tx,
    id: &str,
    code_digest: &str,
    code_expires_at: Millis,
    auth_time: Millis,
) -> Result<InteractionRecord> {
    let row = sqlx::query(&format!(
        "UPDATE interactions SET interaction_code_digest = $1, code_expires_at = $2, auth_time = $4 WHERE id = $3 RETURNING {COLUMNS}"
    ))
    .bind(code_digest)
    .bind(code_expires_at)
    .bind(id)
    .bind(auth_time)
    .fetch_one(&mut **tx)
    .await?;
    from_row(&row)
}
