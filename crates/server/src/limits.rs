//! Per-address failure budgets for the endpoints a guesser would hammer: sign-in, code answers,
//! recovery starts, the token endpoint and the admin API (security-checklist RL-3).
//!
//! A unit is taken before the work, in the same atomic statement that decides whether any is
//! left, and given back when the attempt turns out to be no failure (finding 7: a budget read
//! in one call and counted in another let 300 parallel attempts through a limit of 100).
use std::net::SocketAddr;

use axum::http::HeaderMap;
use latchkey_domain::{Millis, HOUR};
use latchkey_store::{RateTicket, StoreError};

use crate::state::AppState;

/// What a budget limits; each has its own bucket per client address.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    SignInFailures,
    CodeFailures,
    RecoveryStarts,
    TokenFailures,
    AdminFailures,
}

impl Budget {
    /// The rate bucket's prefix; also the `budget` label in `/metrics`.
    pub(crate) fn bucket(self) -> &'static str {
        match self {
            Self::SignInFailures => "signin-failures",
            Self::CodeFailures => "otp-failures",
            Self::RecoveryStarts => "recovery",
            Self::TokenFailures => "token-failures",
            Self::AdminFailures => "admin-failures",
        }
    }

    fn per_hour(self, state: &AppState) -> i64 {
        let s = &state.settings;
        match self {
            Self::SignInFailures => s.signin.per_ip_failures_per_hour,
            Self::CodeFailures => s.otp.per_ip_failures_per_hour,
            Self::RecoveryStarts => s.recovery.per_ip_per_hour,
            Self::TokenFailures => s.tokens.per_ip_failures_per_hour,
            Self::AdminFailures => s.admin.per_ip_failures_per_hour,
        }
    }
}

/// The client address limits count (the socket peer, or the forwarded client behind a trusted
/// proxy; IPv6 by /64).
pub fn client_key(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    crate::http::client_ip::limit_key(crate::http::client_ip::resolve(peer, headers, &state.trusted_proxies))
}

/// Takes one unit of `budget` for `client`; `Err(retry_after)` when the hour's budget is spent.
pub async fn take(state: &AppState, budget: Budget, client: &str, now: Millis) -> Result<Result<RateTicket, Millis>, StoreError> {
    let bucket = format!("{}:{client}", budget.bucket());
    Ok(match state.store.take_rate(&bucket, HOUR, budget.per_hour(state), now).await? {
        Some(ticket) => Ok(ticket),
        None => {
            crate::metrics::funnel::budget_spent(budget);
            Err(HOUR - now.rem_euclid(HOUR))
        }
    })
}
