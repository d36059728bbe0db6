//! What the outbox worker counts, through the `metrics` facade: whichever exporter the process
//! installed (the server's `/metrics`) sees it; without one the counts cost nothing.
use latchkey_domain::funnel::{FunnelOutcome, FunnelStep, RECOVERY_FUNNEL};

use crate::EmailKind;

pub(crate) const DELIVERIES: &str = "latchkey_email_deliveries_total";

/// How one attempt at a message ended, as counted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Delivery {
    Sent,
    Deferred,
    Failed,
}

impl Delivery {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Deferred => "deferred",
            Self::Failed => "failed",
        }
    }
}

/// Counts one attempt by template; a ForgotPassword message that was sent or failed for good
/// also moves the recovery funnel's `delivered` step (a deferral is neither yet).
pub(crate) fn record(kind: &str, delivery: Delivery) {
    let kind = EmailKind::parse(kind).map_or("unknown", EmailKind::as_str);
    metrics::counter!(DELIVERIES, "kind" => kind, "outcome" => delivery.as_str()).increment(1);
    if kind == EmailKind::ForgotPassword.as_str() {
        let outcome = match delivery {
            Delivery::Sent => FunnelOutcome::Ok,
            Delivery::Failed => FunnelOutcome::Failed,
            Delivery::Deferred => return,
        };
        metrics::counter!(RECOVERY_FUNNEL, "step" => FunnelStep::Delivered.as_str(), "outcome" => outcome.as_str()).increment(1);
    }
}

/// Registers the descriptions, so a scrape explains each series.
pub fn describe() {
    metrics::describe_counter!(DELIVERIES, "Outbox delivery attempts by email template and outcome (sent, deferred, failed).");
}
