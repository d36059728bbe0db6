//! Signing-key rotation, on a schedule and on demand (`latchkey keys rotate`). The schedule is
//! `latchkey_domain::keys`; this file carries it out against the shared `keys` table, and keeps
//! each process's key ring fresh so a key another process created is published and used here
//! too.
//!
//! Two processes may both find rotation due in the same instant and both add a key. That is
//! harmless: both are published before they sign, the newer one signs, and the other retires
//! with the rest at the next rotation.
use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::keys::RotationPolicy;
use latchkey_domain::Millis;
use latchkey_store::{KeyRecord, Store};
use tokio_util::sync::CancellationToken;

use super::keyring::{create_signing_key, KeyRing, KeyRingError, SIGNING_KIND};
use super::master::MasterKey;
use crate::state::AppState;

/// Adds a key that is published now and signs after the publication delay, and schedules every
/// older key to retire once the last token it can still sign has expired.
pub async fn rotate(store: &Store, master: &MasterKey, policy: &RotationPolicy, now: Millis) -> Result<KeyRecord, KeyRingError> {
    let plan = policy.plan(now);
    let record = create_signing_key(store, master, plan.publish_at, plan.sign_from).await?;
    store.retire_keys_except(SIGNING_KIND, &record.id, plan.retire_old_at).await?;
    tracing::info!(event = "keys.rotated", kid = %record.id, sign_from = plan.sign_from, "signing key rotation started");
    Ok(record)
}

pub async fn rotate_if_due(
    store: &Store,
    master: &MasterKey,
    policy: &RotationPolicy,
    now: Millis,
) -> Result<Option<KeyRecord>, KeyRingError> {
    let newest = store.newest_key_created_at(SIGNING_KIND).await?;
    if !policy.is_due(newest, now) {
        return Ok(None);
    }
    rotate(store, master, policy, now).await.map(Some)
}

/// Re-reads the key ring from the database into this process.
pub async fn reload(state: &AppState) -> Result<(), KeyRingError> {
    let now = state.store.now().await?;
    let ring = KeyRing::load(&state.store, &state.master_key, now).await?;
    *state.keys.write().await = Arc::new(ring);
    Ok(())
}

/// Every `keys.reload_secs`: rotate when the schedule says so, then reload the ring.
pub async fn key_loop(state: AppState, stop: CancellationToken) {
    let every = Duration::from_secs(state.settings.keys.reload_secs.max(1));
    let policy = state.settings.rotation_policy();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let outcome = async {
            let now = state.store.now().await?;
            rotate_if_due(&state.store, &state.master_key, &policy, now).await?;
            reload(&state).await
        }
        .await;
        if let Err(error) = outcome {
            tracing::warn!(%error, "key ring refresh failed; keeping the keys already loaded");
        }
    }
}
