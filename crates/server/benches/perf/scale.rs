//! Identify and answer latency as the user table grows (1 thousand, 100 thousand, 1 million
//! users). Not wired yet: the users must be inserted through the store in bulk with
//! pre-computed hashes, not through the API (a million Argon2 hashes would take hours), and
//! that import is being written as a public `Store` method on another branch. After the merge,
//! call `measure` from `main.rs` with an `insert` that imports users up to a total.
use std::future::Future;

use serde_json::json;

use super::flows::{self, EMAIL_AUTHENTICATOR};
use super::load::quantile;

/// p50 and p99 (ms) of identify-recovery and of a wrong answer, per user count.
#[allow(dead_code)] // read once `measure` is wired
pub struct ScalePoint {
    pub users: u64,
    pub identify_ms: (f64, f64),
    pub answer_ms: (f64, f64),
}

/// For each total in `counts` (ascending): `insert(total)` brings the table to that many users
/// named by `login(i)`, then `samples` recoveries of users spread over the table are timed at
/// identify and at a wrong answer.
#[allow(dead_code)] // wired after the bulk import lands (see the module comment)
pub async fn measure<F, Fut>(base: &str, counts: &[u64], samples: u64, login: impl Fn(u64) -> String, insert: F) -> Vec<ScalePoint>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let http = flows::client();
    let mut points = Vec::new();
    for &users in counts {
        insert(users).await;
        let (mut identify, mut answer) = (Vec::new(), Vec::new());
        for i in 0..samples {
            // Spread over the whole table, so the look-ups are not all in one hot page.
            let who = login(i.wrapping_mul(2_654_435_761) % users);
            let Ok(sh) = flows::state_handle(&http, base).await else { continue };
            flows::timed(&http, base, "recover", json!({"stateHandle": sh})).await;
            identify.push(flows::timed(&http, base, "identify", json!({"stateHandle": sh, "identifier": who})).await);
            flows::timed(&http, base, "challenge", json!({"stateHandle": sh, "authenticator": {"id": EMAIL_AUTHENTICATOR}})).await;
            answer.push(
                flows::timed(&http, base, "challenge/answer", json!({"stateHandle": sh, "credentials": {"passcode": "000000"}})).await,
            );
        }
        points.push(ScalePoint {
            users,
            identify_ms: (quantile(&identify, 0.5), quantile(&identify, 0.99)),
            answer_ms: (quantile(&answer, 0.5), quantile(&answer, 0.99)),
        });
    }
    points
}
