//! `GET /api/v1/logs`: the System Log in Okta's LogEvent shape, with Okta's query parameters
//! (`since`, `until`, `after`, `filter`, `q`, `limit`, `sortOrder`) and Link-header paging.
//!
//! `filter` accepts the SCIM subset administrators use to follow one account or one kind of
//! event: `eventType eq "…"`, `target.id eq "…"` and `actor.id eq "…"`, joined by `and`. Any
//! other expression is refused with E0000001 rather than silently ignored, so a query never
//! returns more than was asked for.
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header::LINK;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_domain::{Millis, DAY};
use latchkey_proto::management::{
    LogAuthenticationContext, LogClient, LogDebugContext, LogEvent, LogIp, LogOutcome, LogParty, LogRequest, LogTransaction, LogUserAgent,
};
use latchkey_store::{LogQuery, LoggedEvent, StoredParty};
use serde_json::{json, Value};

use super::render::iso;
use super::{AdminAuth, AdminError};
use crate::state::AppState;

/// Okta's defaults and bounds: 100 events a page, at most 1000; seven days back.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
const DEFAULT_WINDOW: Millis = 7 * DAY;
/// `q` is for a few words, not a document.
const MAX_KEYWORDS: usize = 10;
const MAX_KEYWORD_CHARS: usize = 40;

#[tracing::instrument(name = "admin.logs.list", skip_all)]
pub async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let now = state.store.now().await?;
    let query = parse(&params, now)?;
    let events = state.store.log_events(&query).await?;
    let mut response = Json(events.iter().map(render).collect::<Vec<_>>()).into_response();
    let self_link = link(&state, &params, None, "self");
    let mut links = vec![self_link];
    // A full page may have a successor; a short one is the end (the SDK stops at a page
    // without a `next` link).
    if let Some(last) = events.last().filter(|_| i64::try_from(events.len()).unwrap_or(0) == query.limit) {
        links.push(link(&state, &params, Some(&format!("{}.{}", last.published, last.uuid)), "next"));
    }
    for value in links {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(LINK, value);
        }
    }
    Ok(response)
}

fn parse(params: &HashMap<String, String>, now: Millis) -> Result<LogQuery, AdminError> {
    let invalid = |what: String| AdminError::Validation(vec![what]);
    let time = |name: &str| -> Result<Option<Millis>, AdminError> {
        params
            .get(name)
            .map(|v| {
                chrono::DateTime::parse_from_rfc3339(v)
                    .map(|t| t.timestamp_millis())
                    .map_err(|_| invalid(format!("{name}: not an ISO 8601 date and time, e.g. 2026-11-30T08:00:00.000Z")))
            })
            .transpose()
    };
    let until = time("until")?;
    let since = time("since")?.unwrap_or(until.unwrap_or(now) - DEFAULT_WINDOW);
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| invalid(format!("limit: a number from 1 to {MAX_LIMIT}")))?,
    };
    let descending = match params.get("sortOrder").map(String::as_str) {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(_) => return Err(invalid("sortOrder: ASCENDING or DESCENDING".to_owned())),
    };
    let after = params
        .get("after")
        .map(|cursor| {
            cursor
                .split_once('.')
                .and_then(|(published, uuid)| Some((published.parse::<Millis>().ok()?, uuid.to_owned())))
                .filter(|(_, uuid)| !uuid.is_empty() && uuid.len() <= 64)
                .ok_or_else(|| invalid("after: not a cursor this server returned".to_owned()))
        })
        .transpose()?;
    let keywords: Vec<String> = params.get("q").map(|q| q.split_whitespace().map(str::to_owned).collect()).unwrap_or_default();
    if keywords.len() > MAX_KEYWORDS || keywords.iter().any(|k| k.chars().count() > MAX_KEYWORD_CHARS) {
        return Err(invalid(format!("q: at most {MAX_KEYWORDS} words of at most {MAX_KEYWORD_CHARS} characters")));
    }
    let mut query = LogQuery { since: Some(since), until, after, keywords, descending, limit, ..LogQuery::default() };
    if let Some(filter) = params.get("filter") {
        apply_filter(&mut query, filter).map_err(invalid)?;
    }
    Ok(query)
}

/// `attr eq "value" [and attr eq "value" …]` for the attributes the store can filter on.
fn apply_filter(query: &mut LogQuery, filter: &str) -> Result<(), String> {
    let unsupported = || format!("filter: {filter:?} is not supported; use eventType, target.id or actor.id with eq, joined by and");
    for clause in split_and(filter) {
        let (attribute, rest) = clause.trim().split_once(char::is_whitespace).ok_or_else(unsupported)?;
        let value = rest
            .trim_start()
            .strip_prefix("eq")
            .map(str::trim)
            .and_then(|v| v.strip_prefix('"'))
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"'))
            .ok_or_else(unsupported)?
            .to_owned();
        let slot = match attribute {
            "eventType" => &mut query.event_type,
            "target.id" => &mut query.target_id,
            "actor.id" => &mut query.actor_id,
            _ => return Err(unsupported()),
        };
        if slot.replace(value).is_some() {
            return Err(format!("filter: {attribute} appears twice"));
        }
    }
    Ok(())
}

/// Splits on ` and ` outside quotes, case-insensitively.
fn split_and(filter: &str) -> Vec<&str> {
    let mut parts = vec![];
    let (mut start, mut quoted) = (0, false);
    let bytes = filter.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'"') => quoted = !quoted,
            Some(b' ') if !quoted && filter.get(i..i + 5).is_some_and(|w| w.eq_ignore_ascii_case(" and ")) => {
                parts.push(filter.get(start..i).unwrap_or_default());
                start = i + 5;
                i += 4;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(filter.get(start..).unwrap_or_default());
    parts
}

/// The same request with `after` replaced (`None`: the request itself).
fn link(state: &AppState, params: &HashMap<String, String>, after: Option<&str>, rel: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut names: Vec<&String> = params.keys().filter(|k| after.is_none() || k.as_str() != "after").collect();
    names.sort();
    for name in names {
        if let Some(value) = params.get(name) {
            query.append_pair(name, value);
        }
    }
    if let Some(after) = after {
        query.append_pair("after", after);
    }
    let query = query.finish();
    let separator = if query.is_empty() { "" } else { "?" };
    format!("<{}/api/v1/logs{separator}{query}>; rel=\"{rel}\"", state.public_url)
}

fn party(p: &StoredParty) -> LogParty {
    LogParty {
        id: p.id.clone(),
        kind: p.kind.clone(),
        alternate_id: p.alternate_id.clone(),
        display_name: p.display_name.clone(),
        detail_entry: None,
    }
}

fn render(event: &LoggedEvent) -> LogEvent {
    let debug: Value = serde_json::from_str(&event.debug_data).unwrap_or_else(|_| json!({}));
    let ip = event.context.client_ip.clone();
    LogEvent {
        uuid: event.uuid.clone(),
        published: iso(event.published),
        event_type: event.event_type.clone(),
        version: "0".to_owned(),
        severity: event.severity.clone(),
        legacy_event_type: None,
        display_message: event.display_message.clone(),
        actor: party(&event.actor),
        client: LogClient {
            user_agent: event.context.user_agent.clone().map(|raw| LogUserAgent { raw_user_agent: raw, os: None, browser: None }),
            zone: None,
            device: None,
            id: None,
            ip_address: ip.clone(),
            geographical_context: None,
        },
        outcome: LogOutcome { result: event.outcome_result.clone(), reason: event.outcome_reason.clone() },
        target: event.target.iter().map(party).collect(),
        transaction: LogTransaction {
            kind: if event.context.request_id.is_some() { "WEB" } else { "JOB" }.to_owned(),
            id: event.context.request_id.clone(),
            detail: json!({}),
        },
        debug_context: LogDebugContext { debug_data: debug },
        authentication_context: LogAuthenticationContext {
            authentication_provider: None,
            credential_provider: None,
            credential_type: None,
            issuer: None,
            interface: None,
            authentication_step: 0,
            external_session_id: None,
        },
        security_context: json!({}),
        request: LogRequest {
            ip_chain: ip
                .into_iter()
                .map(|ip| LogIp {
                    version: if ip.contains(':') { "V6" } else { "V4" }.to_owned(),
                    ip,
                    geographical_context: None,
                    source: None,
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(filter: &str) -> Result<LogQuery, String> {
        let mut q = LogQuery::default();
        apply_filter(&mut q, filter).map(|()| q)
    }

    #[test]
    fn the_supported_filters_combine_with_and() {
        let q = query(r#"eventType eq "user.session.start" AND target.id eq "00u1""#).expect("valid");
        assert_eq!(q.event_type.as_deref(), Some("user.session.start"));
        assert_eq!(q.target_id.as_deref(), Some("00u1"));
        assert_eq!(q.actor_id, None);
    }

    #[test]
    fn a_quoted_and_is_part_of_the_value() {
        let q = query(r#"actor.id eq "a and b""#).expect("valid");
        assert_eq!(q.actor_id.as_deref(), Some("a and b"));
    }

    #[test]
    fn other_expressions_are_refused_not_ignored() {
        for filter in
            [r#"eventType co "user""#, r#"outcome.result eq "SUCCESS""#, "eventType eq user", r#"eventType eq "a" or actor.id eq "b""#, ""]
        {
            assert!(query(filter).is_err(), "{filter}");
        }
        assert!(query(r#"eventType eq "a" and eventType eq "b""#).is_err());
    }
}
