//! OAuth clients. Secrets are stored as SHA-256 digests (256 random bits make that enough).
//!
//! An administrator's change is logged in its transaction (`application.lifecycle.*`,
//! `app.oauth2.client.secret.rotate`), the client as the target (Okta's `AppInstance`); the
//! start-up sync of configured clients passes no audit and writes no event (the configuration
//! file is the record of those).
use latchkey_domain::audit::{EventType, Party};
use latchkey_domain::Millis;
use sqlx::any::AnyRow;

use crate::{conflict_on_unique, get_i64, get_opt_str, get_str, json_list, parse_json_list, Audit, Result, Store, StoreError, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// Registered through the API; managed there.
    Api,
    /// Declared in the configuration file; re-synchronised at every start.
    Config,
}

impl ClientSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Config => "config",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub client_id: String,
    pub client_name: String,
    pub secret_digest: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    pub redirect_uris: Vec<String>,
    pub trusted_origins: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub created_at: Millis,
}

const COLUMNS: &str = "client_id, client_name, secret_digest, auth_method, redirect_uris, trusted_origins, post_logout_redirect_uris, grant_types, created_at";

fn from_row(row: &AnyRow) -> Result<ClientRecord> {
    Ok(ClientRecord {
        client_id: get_str(row, "client_id")?,
        client_name: get_str(row, "client_name")?,
        secret_digest: get_opt_str(row, "secret_digest")?,
        auth_method: get_str(row, "auth_method")?,
        redirect_uris: parse_json_list(&get_str(row, "redirect_uris")?)?,
        trusted_origins: parse_json_list(&get_str(row, "trusted_origins")?)?,
        post_logout_redirect_uris: parse_json_list(&get_str(row, "post_logout_redirect_uris")?)?,
        grant_types: parse_json_list(&get_str(row, "grant_types")?)?,
        created_at: get_i64(row, "created_at")?,
    })
}

/// Binds the settings every write stores, in column order: name, secret digest, auth method,
/// redirect URIs, trusted origins, post-logout URIs, grant types.
fn bind_settings<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    client: &'q ClientRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&client.client_name)
        .bind(client.secret_digest.clone())
        .bind(&client.auth_method)
        .bind(json_list(&client.redirect_uris))
        .bind(json_list(&client.trusted_origins))
        .bind(json_list(&client.post_logout_redirect_uris))
        .bind(json_list(&client.grant_types))
}

impl Store {
    /// Stores a new client; with `audit`, logs it as `event_type` in the same transaction.
    pub async fn insert_client(
        &self,
        client: &ClientRecord,
        source: ClientSource,
        audit: Option<(EventType, &Audit<'_>)>,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let sql = format!("INSERT INTO clients ({COLUMNS}, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9)");
        bind_settings(sqlx::query(&sql).bind(&client.client_id), client)
            .bind(now)
            .bind(source.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict_on_unique(e, "a client with this client_id"))?;
        record_change(&mut tx, audit, client, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a client's settings (and its secret digest when `Some`); with `audit`, logs
    /// it as `event_type` (an update, or a new secret) in the same transaction.
    pub async fn update_client(&self, client: &ClientRecord, audit: Option<(EventType, &Audit<'_>)>, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let query = sqlx::query(
            "UPDATE clients SET client_name = $1, secret_digest = $2, auth_method = $3, redirect_uris = $4, trusted_origins = $5, \
             post_logout_redirect_uris = $6, grant_types = $7, updated_at = $8 WHERE client_id = $9",
        );
        let changed = bind_settings(query, client).bind(now).bind(&client.client_id).execute(&mut *tx).await?.rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        record_change(&mut tx, audit, client, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM clients WHERE client_id = $1")).bind(client_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn clients(&self) -> Result<Vec<ClientRecord>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM clients ORDER BY created_at, client_id")).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    /// Deletes a client and logs `application.lifecycle.delete`; `false` when there was none.
    pub async fn delete_client(&self, client_id: &str, audit: &Audit<'_>, now: Millis) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let row =
            sqlx::query("DELETE FROM clients WHERE client_id = $1 RETURNING client_name").bind(client_id).fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let name = get_str(&row, "client_name")?;
        audit.record(&mut tx, EventType::AppDelete, app_party(client_id, &name), now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The client as a System Log target, in Okta's `AppInstance` shape (never its secret).
fn app_party(client_id: &str, name: &str) -> Party {
    Party { id: Some(client_id.to_owned()), kind: "AppInstance", alternate_id: Some(name.to_owned()), display_name: Some(name.to_owned()) }
}

async fn record_change(tx: &mut Tx, audit: Option<(EventType, &Audit<'_>)>, client: &ClientRecord, now: Millis) -> Result<()> {
    match audit {
        Some((event_type, audit)) => audit.record(tx, event_type, app_party(&client.client_id, &client.client_name), now).await,
        None => Ok(()),
    }
}
