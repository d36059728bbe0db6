//! The cluster suite: three real `latchkey serve` processes on one PostgreSQL database behind
//! HAProxy (round robin, no stickiness), one SMTP sink. It proves what a single process
//! cannot: that recoveries roam between processes, that every race and limit holds in total
//! and not per process (security-checklist §3.9), that every process publishes the same keys,
//! that a process whose clock runs ahead decides by database time, and that a process killed
//! with SIGKILL loses no committed email and leaves a password change it interrupts all or
//! nothing (§3.10).
//!
//! Each test starts its own cluster; the tests take turns (`SERIAL`) so two shared cores run
//! one cluster at a time.
mod client;
mod clock;
mod crash;
mod harness;
mod jwks;
mod password;
mod races;
mod recovery;
mod reset_crash;

use serde_json::json;

use client::{email_authenticator_id, extract_code, remediation_names, Flow, NoAnswer, Reply};
use harness::Cluster;

/// One cluster at a time: each is three servers, HAProxy and a database.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The steps of a recovery start after `begin`: recover → identify → challenge (Email). Returns
/// every reply, the last being the challenge's.
async fn recover_by_email(cluster: &Cluster, flow: &Flow, identifier: &str) -> Result<Vec<Reply>, NoAnswer> {
    let recover = cluster.try_step(flow, "recover", json!({})).await?;
    assert_eq!(recover.status, 200, "recover: {}", recover.body);
    let identify = cluster.try_step(flow, "identify", json!({"identifier": identifier})).await?;
    assert_eq!(identify.status, 200, "identify: {}", identify.body);
    assert_eq!(remediation_names(&identify.body), ["select-authenticator-authenticate"]);
    let id = email_authenticator_id(&identify.body).expect("the email authenticator");
    let challenge = cluster.try_step(flow, "challenge", json!({"authenticator": {"id": id}})).await?;
    Ok(vec![recover, identify, challenge])
}

/// The newest code mailed to `to`, once at least `count` messages arrived.
async fn code_from_mail(cluster: &Cluster, to: &str, count: usize) -> String {
    let messages =
        cluster.sink.wait_for_count(Some(to), count, std::time::Duration::from_secs(30)).await.expect("the recovery email arrives");
    extract_code(messages.last().and_then(|m| m.text.as_deref()).unwrap_or_default()).expect("a code in the text part")
}
