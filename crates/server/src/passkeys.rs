//! What a passkey step needs besides the record, for IDX (and any later adapter): the
//! transaction's WebAuthn ceremony — started here, with webauthn-rs through
//! `latchkey_domain::webauthn`, the first time the step is rendered, and stored in the
//! transaction's row so every process finishes the same one — and the account's passkeys
//! (Okta's `authenticatorEnrollments` with their `credentialId`).
use latchkey_domain::interaction::{FactorKind, Step, Subject};
use latchkey_domain::webauthn::{Ceremony, StoredPasskey};
use latchkey_domain::UserId;
use latchkey_store::InteractionRecord;
use serde_json::Value;

use crate::state::AppState;

/// A passkey step as rendered: the ceremony's options (`activationData` when registering,
/// `challengeData` when signing) and the credential ids of the account's passkeys.
#[derive(Debug)]
pub struct PasskeyStep {
    pub options: Value,
    pub credential_ids: Vec<String>,
}

/// The account's active passkeys, as webauthn-rs reads them.
pub async fn active(state: &AppState, user_id: &UserId) -> anyhow::Result<Vec<StoredPasskey>> {
    let rows = state.store.active_passkeys(user_id).await?;
    rows.iter()
        .map(|f| StoredPasskey::from_stored(&f.id, f.credential.as_deref().unwrap_or_default()).map_err(anyhow::Error::from))
        .collect()
}

/// For a step that asks for a passkey (its challenge, or its registration), the ceremony —
/// started and stored now if the step has none yet — and the account's passkeys. Returns the
/// record as it now stands. `None` for every other step, and on a server without a relying
/// party (nothing can be answered there; the step renders without options).
pub async fn prepare(state: &AppState, record: InteractionRecord) -> anyhow::Result<(InteractionRecord, Option<PasskeyStep>)> {
    let registering = match &record.step {
        Step::SignInEnrollWebauthn { .. } => true,
        step if step.answered_factor() == Some(FactorKind::Webauthn) => false,
        _ => return Ok((record, None)),
    };
    let (Some(rp), Ok(Subject { user_id: Some(user_id), .. })) = (&state.relying_party, record.step.factor_challenged(i64::MIN)) else {
        return Ok((record, None));
    };
    let user_id = user_id.clone();
    let passkeys = active(state, &user_id).await?;
    if passkeys.is_empty() && !registering {
        // Removed meanwhile: nothing to sign with; an answer is refused like a wrong value.
        return Ok((record, None));
    }
    let mut record = record;
    if record.webauthn_ceremony.is_none() {
        let ceremony = if registering {
            let account = state.store.user_by_id(&user_id).await?.ok_or_else(|| anyhow::anyhow!("the account is gone"))?;
            let profile = &account.user.profile;
            let login = profile.login.as_str();
            let name = [profile.first_name.as_deref(), profile.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
            rp.start_registration(&user_id, login, if name.is_empty() { login } else { &name }, &passkeys)?
        } else {
            rp.start_authentication(&passkeys)?
        };
        // Two processes rendering the step at once store one ceremony: the first one's stands.
        match state.store.start_webauthn_ceremony(&record.id, record.version, &ceremony.to_stored()).await? {
            Some(stored) => record = stored,
            None => return Ok((record, None)),
        }
    }
    let ceremony = record.webauthn_ceremony.as_deref().map(Ceremony::from_stored).transpose()?;
    let step =
        ceremony.map(|c| PasskeyStep { options: c.options, credential_ids: passkeys.iter().map(StoredPasskey::credential_id).collect() });
    Ok((record, step))
}
