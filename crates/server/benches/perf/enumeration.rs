//! Enumeration timing (security-checklist §4): existing (E) against unknown (U) identifiers of
//! the same shape, side by side with ABBA ordering so that drift in the machine's load hits
//! both classes alike. Every recovery step is timed on its own — identify-recovery, select
//! Email (challenge), resend, a wrong code at answer — and so is the password sign-in with a
//! wrong password. The goal is a median ratio of 1.00 ± 0.05 and |t| < 3 at every step (the
//! checklist's pass line is 4.5). The server runs with a mail gap of 0 (unsafe test settings),
//! so resend issues a new code, its heavier path.
use serde_json::json;

use super::flows::{self, EMAIL_AUTHENTICATOR};

pub const STEPS: [&str; 5] = ["identify", "challenge", "resend", "answer (wrong code)", "sign-in (wrong password)"];

/// Milliseconds per step and class.
pub struct Samples {
    pub existing: Vec<Vec<f64>>,
    pub unknown: Vec<Vec<f64>>,
}

/// `existing` are real accounts, each used once; the unknown identifiers are made up alongside.
pub async fn measure(base: &str, existing: &[String]) -> Samples {
    let http = flows::client();
    for i in 0..existing.len().min(20) {
        let _ = recovery_steps(&http, base, &format!("warm{i:05}@example.com")).await;
    }
    let mut samples = Samples { existing: vec![Vec::new(); STEPS.len()], unknown: vec![Vec::new(); STEPS.len()] };
    for (i, real) in existing.iter().enumerate() {
        let order = if i % 2 == 0 { [true, false] } else { [false, true] };
        for is_real in order {
            let who = if is_real { real.clone() } else { format!("nobody{i:05}@example.com") };
            let mut times = recovery_steps(&http, base, &who).await.to_vec();
            times.push(sign_in(&http, base, &who).await);
            let class = if is_real { &mut samples.existing } else { &mut samples.unknown };
            for (step, t) in times.into_iter().enumerate() {
                class[step].push(t);
            }
        }
    }
    samples
}

/// One recovery, each step timed on its own: identify, challenge, resend, answer.
async fn recovery_steps(http: &reqwest::Client, base: &str, who: &str) -> [f64; 4] {
    let Ok(sh) = flows::state_handle(http, base).await else { return [f64::NAN; 4] };
    flows::timed(http, base, "recover", json!({"stateHandle": sh})).await;
    let identify = flows::timed(http, base, "identify", json!({"stateHandle": sh, "identifier": who})).await;
    let challenge = flows::timed(http, base, "challenge", json!({"stateHandle": sh, "authenticator": {"id": EMAIL_AUTHENTICATOR}})).await;
    let resend = flows::timed(http, base, "challenge/resend", json!({"stateHandle": sh})).await;
    // A wrong code: no real code is known to the bench, which is the attacker's position.
    let answer = flows::timed(http, base, "challenge/answer", json!({"stateHandle": sh, "credentials": {"passcode": "000000"}})).await;
    [identify, challenge, resend, answer]
}

async fn sign_in(http: &reqwest::Client, base: &str, who: &str) -> f64 {
    let Ok(sh) = flows::state_handle(http, base).await else { return f64::NAN };
    flows::timed(
        http,
        base,
        "identify",
        json!({"stateHandle": sh, "identifier": who, "credentials": {"passcode": "a wrong password of some length"}}),
    )
    .await
}

/// Median ratio existing/unknown and Welch's t on the raw samples.
pub fn compare(existing: &[f64], unknown: &[f64]) -> (f64, f64) {
    let median = |v: &[f64]| super::load::quantile(v, 0.5);
    (median(existing) / median(unknown), welch(existing, unknown))
}

pub fn welch(a: &[f64], b: &[f64]) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0);
    let (ma, mb) = (mean(a), mean(b));
    (ma - mb) / (var(a, ma) / a.len() as f64 + var(b, mb) / b.len() as f64).sqrt()
}

/// The long form the enumeration bench always printed: quantiles per class and Welch's t on
/// samples cropped at several percentiles (a few outliers from a noisy neighbour should not
/// decide the verdict).
pub fn report(name: &str, e: &[f64], u: &[f64]) {
    let q = super::load::quantile;
    println!("  {name}: {} samples per class, ms", e.len());
    println!("    existing  p10 {:7.3}  median {:7.3}  p90 {:7.3}", q(e, 0.1), q(e, 0.5), q(e, 0.9));
    println!("    unknown   p10 {:7.3}  median {:7.3}  p90 {:7.3}", q(u, 0.1), q(u, 0.5), q(u, 0.9));
    let mut line = String::from("    Welch t cropped at");
    for crop in [1.0, 0.95, 0.9, 0.75, 0.5] {
        let (le, lu) = (q(e, crop), q(u, crop));
        let ce: Vec<f64> = e.iter().copied().filter(|x| *x <= le).collect();
        let cu: Vec<f64> = u.iter().copied().filter(|x| *x <= lu).collect();
        line.push_str(&format!("  p{}: {:.2}", (crop * 100.0) as u32, welch(&ce, &cu)));
    }
    println!("{line}");
}
