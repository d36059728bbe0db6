//! The System Log: security events, appended in the write transaction of the change each one
//! records (`record`), read back in pages for `GET /api/v1/logs` (`Store::log_events`).
//!
//! Nothing here updates a row: the only other statement is the retention purge.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::Millis;
use sqlx::any::AnyRow;

use crate::{get_i64, get_opt_str, get_str, Result, Store, StoreError, Tx};

/// Where the request behind an event came from (Okta's `client` and `transaction`). Filled by
/// the adapter from the connection and headers; `EventContext::system()` for work no request
/// caused (the outbox worker, the CLI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventContext {
    pub client_ip: Option<String>,
    /// The raw header, cut to `USER_AGENT_LIMIT` characters.
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id`, which is also in the request's log lines.
    pub request_id: Option<String>,
}

/// Who made a change and where the request came from: what an event records besides the change.
#[derive(Debug, Clone)]
pub struct Audit<'a> {
    pub actor: Party,
    pub context: &'a EventContext,
}

impl<'a> Audit<'a> {
    /// The administrator behind the admin API's token.
    pub fn admin(context: &'a EventContext) -> Self {
        Self { actor: Party::admin(), context }
    }

    /// Records `event_type` about `target`, done by this actor, in the caller's transaction.
    pub(crate) async fn record(&self, tx: &mut Tx, event_type: EventType, target: Party, now: Millis) -> Result<()> {
        let event = SecurityEvent::new(event_type, Outcome::Success, self.actor.clone()).target(target);
        record(tx, &event, self.context, now).await
    }
}

/// Long enough for every real browser's User-Agent; a longer header is cut, not refused.
pub const USER_AGENT_LIMIT: usize = 512;

impl EventContext {
    pub fn system() -> Self {
        Self::default()
    }
}

/// A stored event with its context, as `log_events` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub uuid: String,
    pub published: Millis,
    pub event_type: String,
    pub severity: String,
    pub display_message: String,
    pub outcome_result: String,
    pub outcome_reason: Option<String>,
    pub actor: StoredParty,
    pub target: Option<StoredParty>,
    pub context: EventContext,
    /// `debugContext.debugData`, as the JSON object it was written as.
    pub debug_data: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredParty {
    pub id: Option<String>,
    pub kind: String,
    pub alternate_id: Option<String>,
    pub display_name: Option<String>,
}

/// What `log_events` may filter on (Okta's `filter` subset, `q`, `since`, `until`, `after`).
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    /// Cursor: the `(published, uuid)` of the last event of the previous page.
    pub after: Option<(Millis, String)>,
    pub event_type: Option<String>,
    pub target_id: Option<String>,
    pub actor_id: Option<String>,
    /// Keywords that must each appear in the message, the event type, or an actor's or
    /// target's id or alternate id (case-insensitive).
    pub keywords: Vec<String>,
    pub descending: bool,
    pub limit: i64,
}

/// Appends one event. Called inside the write transaction of the change it records.
pub(crate) async fn record(tx: &mut Tx, event: &SecurityEvent, context: &EventContext, now: Millis) -> Result<()> {
    let debug: serde_json::Map<String, serde_json::Value> =
        event.detail.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone()))).collect();
    let target = event.target.as_ref();
    let party = |p: Option<&Party>, f: fn(&Party) -> Option<String>| p.and_then(f);
    sqlx::query(
        "INSERT INTO system_log (uuid, published, event_type, severity, display_message, outcome_result, outcome_reason, \
         actor_id, actor_type, actor_alternate_id, actor_display_name, target_id, target_type, target_alternate_id, \
         target_display_name, client_ip, user_agent, request_id, debug_data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(now)
    .bind(event.event_type.as_str())
    .bind(event.severity.as_str())
    .bind(event.event_type.display_message())
    .bind(event.outcome.result())
    .bind(event.outcome.reason())
    .bind(event.actor.id.clone())
    .bind(event.actor.kind)
    .bind(event.actor.alternate_id.clone())
    .bind(event.actor.display_name.clone())
    .bind(party(target, |p| p.id.clone()))
    .bind(target.map(|p| p.kind))
    .bind(party(target, |p| p.alternate_id.clone()))
    .bind(party(target, |p| p.display_name.clone()))
    .bind(context.client_ip.clone())
    .bind(context.user_agent.as_deref().map(|ua| ua.chars().take(USER_AGENT_LIMIT).collect::<String>()))
    .bind(context.request_id.clone())
    .bind(serde_json::Value::Object(debug).to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const COLUMNS: &str = "uuid, published, event_type, severity, display_message, outcome_result, outcome_reason, actor_id, \
    actor_type, actor_alternate_id, actor_display_name, target_id, target_type, target_alternate_id, target_display_name, \
    client_ip, user_agent, request_id, debug_data";

fn from_row(row: &AnyRow) -> Result<LoggedEvent> {
    let target = match get_opt_str(row, "target_type")? {
        Some(kind) => Some(StoredParty {
            id: get_opt_str(row, "target_id")?,
            kind,
            alternate_id: get_opt_str(row, "target_alternate_id")?,
            display_name: get_opt_str(row, "target_display_name")?,
        }),
        None => None,
    };
    Ok(LoggedEvent {
        uuid: get_str(row, "uuid")?,
        published: get_i64(row, "published")?,
        event_type: get_str(row, "event_type")?,
        severity: get_str(row, "severity")?,
        display_message: get_str(row, "display_message")?,
        outcome_result: get_str(row, "outcome_result")?,
        outcome_reason: get_opt_str(row, "outcome_reason")?,
        actor: StoredParty {
            id: get_opt_str(row, "actor_id")?,
            kind: get_str(row, "actor_type")?,
            alternate_id: get_opt_str(row, "actor_alternate_id")?,
            display_name: get_opt_str(row, "actor_display_name")?,
        },
        target,
        context: EventContext {
            client_ip: get_opt_str(row, "client_ip")?,
            user_agent: get_opt_str(row, "user_agent")?,
            request_id: get_opt_str(row, "request_id")?,
        },
        debug_data: get_str(row, "debug_data")?,
    })
}

impl Store {
    /// Appends one event in its own transaction, for events whose change is no write of ours
    /// (a sign-out of a session that had already ended, say).
    pub async fn record_event(&self, event: &SecurityEvent, context: &EventContext, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        record(&mut tx, event, context, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One page of events, oldest first unless `descending`.
    pub async fn log_events(&self, query: &LogQuery) -> Result<Vec<LoggedEvent>> {
        if query.limit <= 0 {
            return Err(StoreError::Corrupt("log page size must be positive".to_owned()));
        }
        let mut conditions: Vec<String> = vec![];
        let mut binds: Vec<Bind> = vec![];
        let mut push = |sql: &str, values: Vec<Bind>| {
            let mut text = sql.to_owned();
            for value in values {
                binds.push(value);
                text = text.replacen('?', &format!("${}", binds.len()), 1);
            }
            conditions.push(text);
        };
        if let Some(since) = query.since {
            push("published >= ?", vec![Bind::Int(since)]);
        }
        if let Some(until) = query.until {
            push("published < ?", vec![Bind::Int(until)]);
        }
        if let Some((published, uuid)) = &query.after {
            let cmp = if query.descending { "<" } else { ">" };
            push(
                &format!("(published {cmp} ? OR (published = ? AND uuid {cmp} ?))"),
                vec![Bind::Int(*published), Bind::Int(*published), Bind::Text(uuid.clone())],
            );
        }
        for (column, value) in [("event_type", &query.event_type), ("target_id", &query.target_id), ("actor_id", &query.actor_id)] {
            if let Some(value) = value {
                push(&format!("{column} = ?"), vec![Bind::Text(value.clone())]);
            }
        }
        for keyword in &query.keywords {
            let pattern = format!("%{}%", escape_like(&keyword.to_lowercase()));
            let searched = ["display_message", "event_type", "actor_id", "actor_alternate_id", "target_id", "target_alternate_id"];
            let any = searched.iter().map(|c| format!("LOWER(COALESCE({c}, '')) LIKE ? ESCAPE '\\'")).collect::<Vec<_>>().join(" OR ");
            push(&format!("({any})"), searched.iter().map(|_| Bind::Text(pattern.clone())).collect());
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let order = if query.descending { "DESC" } else { "ASC" };
        let sql = format!("SELECT {COLUMNS} FROM system_log{filter} ORDER BY published {order}, uuid {order} LIMIT {}", query.limit);
        let mut statement = sqlx::query(&sql);
        for bind in binds {
            statement = match bind {
                Bind::Int(v) => statement.bind(v),
                Bind::Text(v) => statement.bind(v),
            };
        }
        statement.fetch_all(self.pool()).await?.iter().map(from_row).collect()
    }
}

enum Bind {
    Int(i64),
    Text(String),
}

/// `%`, `_` and the escape itself match literally in a LIKE pattern with `ESCAPE '\'`.
fn escape_like(value: &str) -> String {
    value.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_in_keywords_match_literally() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
