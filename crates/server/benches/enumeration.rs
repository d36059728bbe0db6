//! Enumeration timing bench (security-checklist §4), run on demand, never in CI assertions:
//!
//!     cargo bench -p latchkey-server --bench enumeration [-- samples-per-class]
//!
//! Starts a real server (release build, SQLite, a real SMTP sink) and measures, side by side in
//! one run with ABBA ordering, every recovery step one at a time — identify-recovery, select
//! Email (challenge), resend, and a wrong code at answer — and the password sign-in, for
//! existing (E) and unknown (U) identifiers of the same shape. Prints medians, p10/p90 and
//! Welch's t on raw and cropped samples; the goal is |t| < 3 at every step (the checklist's
//! pass line is 4.5). The mail gap is 0 (unsafe test settings) so resend issues a new code,
//! its heavier path.
use std::time::{Duration, Instant};

use latchkey_mail_sink::MailSink;
use latchkey_server::config::{ClientSettings, Settings};
use latchkey_server::startup::Application;
use serde_json::{json, Value};

const TOKEN: &str = "bench-admin-token-0123456789abcdefghijkl";
const CLIENT: &str = "bench-client";
const REDIRECT: &str = "http://127.0.0.1:7777/cb";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const PASSWORD: &str = "correct horse battery staple orbit";

#[tokio::main]
async fn main() {
    let samples: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(300);
    let sink = MailSink::start().await.expect("sink");
    let dir = std::env::temp_dir().join(format!("latchkey-bench-{}", std::process::id()));
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".into();
    settings.server.data_dir = dir.clone();
    settings.smtp.url = Some(sink.smtp_url().into());
    settings.admin.token = Some(TOKEN.to_owned().into());
    settings.recovery.per_ip_per_hour = i64::MAX / 2;
    settings.signin.per_ip_failures_per_hour = i64::MAX / 2;
    settings.otp.per_ip_failures_per_hour = i64::MAX / 2;
    settings.recovery.mail_min_gap_secs = 0;
    settings.unsafe_test_settings = true;
    settings.clients = vec![ClientSettings { client_id: CLIENT.into(), redirect_uris: vec![REDIRECT.into()], ..ClientSettings::default() }];
    let app = Application::build(settings).await.expect("server");
    let base = app.public_url().to_owned();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");

    println!("creating {samples} accounts…");
    for i in 0..samples {
        let login = format!("exists{i:05}@example.com");
        http.post(format!("{base}/api/v1/users?activate=true"))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .json(&json!({"profile": {"login": login, "email": login}, "credentials": {"password": {"value": PASSWORD}}}))
            .send()
            .await
            .expect("user");
    }
    let warmup = samples.min(100);
    for i in 0..warmup {
        recovery_steps(&http, &base, &format!("warm{i:05}@example.com")).await;
    }

    const STEPS: [&str; 4] = ["identify-recovery", "challenge (select Email)", "resend", "answer with a wrong code"];
    let mut e: Vec<Vec<f64>> = vec![Vec::new(); STEPS.len()];
    let mut u: Vec<Vec<f64>> = vec![Vec::new(); STEPS.len()];
    for i in 0..samples {
        // ABBA: drift in the machine's load affects both classes alike.
        let order = if i % 2 == 0 { [true, false] } else { [false, true] };
        for existing in order {
            let who = if existing { format!("exists{i:05}@example.com") } else { format!("nobody{i:05}@example.com") };
            let times = recovery_steps(&http, &base, &who).await;
            for (step, t) in times.into_iter().enumerate() {
                if existing {
                    e[step].push(t)
                } else {
                    u[step].push(t)
                }
            }
        }
    }
    for (step, name) in STEPS.iter().enumerate() {
        report(name, &e[step], &u[step]);
    }

    let (mut e, mut u) = (Vec::new(), Vec::new());
    for i in 0..samples {
        let order = if i % 2 == 0 { [true, false] } else { [false, true] };
        for existing in order {
            let who = if existing { format!("exists{i:05}@example.com") } else { format!("nobody{i:05}@example.com") };
            let t = sign_in(&http, &base, &who).await;
            if existing {
                e.push(t)
            } else {
                u.push(t)
            }
        }
    }
    report("password sign-in with a wrong password", &e, &u);
    let _ = std::fs::remove_dir_all(dir);
}

async fn state_handle(http: &reqwest::Client, base: &str) -> String {
    let r: Value = http
        .post(format!("{base}/oauth2/default/v1/interact"))
        .form(&[
            ("client_id", CLIENT),
            ("scope", "openid"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "s"),
        ])
        .send()
        .await
        .expect("interact")
        .json()
        .await
        .expect("json");
    let h = r["interaction_handle"].as_str().expect("handle");
    let r: Value = http
        .post(format!("{base}/idp/idx/introspect"))
        .json(&json!({"interactionHandle": h}))
        .send()
        .await
        .expect("introspect")
        .json()
        .await
        .expect("json");
    r["stateHandle"].as_str().expect("sh").to_owned()
}

async fn timed(http: &reqwest::Client, url: String, body: Value) -> Duration {
    let start = Instant::now();
    let response = http.post(url).json(&body).send().await.expect("request");
    let _ = response.bytes().await;
    start.elapsed()
}

/// One recovery, each step timed on its own (milliseconds): identify, challenge, resend, answer.
async fn recovery_steps(http: &reqwest::Client, base: &str, who: &str) -> [f64; 4] {
    let sh = state_handle(http, base).await;
    timed(http, format!("{base}/idp/idx/recover"), json!({"stateHandle": sh})).await;
    let identify = timed(http, format!("{base}/idp/idx/identify"), json!({"stateHandle": sh, "identifier": who})).await;
    let challenge =
        timed(http, format!("{base}/idp/idx/challenge"), json!({"stateHandle": sh, "authenticator": {"id": "aut0lkemail000000001"}})).await;
    let resend = timed(http, format!("{base}/idp/idx/challenge/resend"), json!({"stateHandle": sh})).await;
    // A wrong code: no real code is known to the bench, which is the attacker's position.
    let answer =
        timed(http, format!("{base}/idp/idx/challenge/answer"), json!({"stateHandle": sh, "credentials": {"passcode": "000000"}})).await;
    [identify, challenge, resend, answer].map(|d| d.as_secs_f64() * 1000.0)
}

async fn sign_in(http: &reqwest::Client, base: &str, who: &str) -> f64 {
    let sh = state_handle(http, base).await;
    timed(
        http,
        format!("{base}/idp/idx/identify"),
        json!({"stateHandle": sh, "identifier": who, "credentials": {"passcode": "a wrong password of some length"}}),
    )
    .await
    .as_secs_f64()
        * 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or(f64::NAN)
}

fn welch(a: &[f64], b: &[f64]) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0);
    let (ma, mb) = (mean(a), mean(b));
    (ma - mb) / (var(a, ma) / a.len() as f64 + var(b, mb) / b.len() as f64).sqrt()
}

fn report(name: &str, e: &[f64], u: &[f64]) {
    let mut es = e.to_vec();
    let mut us = u.to_vec();
    es.sort_by(f64::total_cmp);
    us.sort_by(f64::total_cmp);
    println!("\n{name}: {} samples per class, milliseconds", e.len());
    println!("  existing  p10 {:7.3}  median {:7.3}  p90 {:7.3}", percentile(&es, 0.1), percentile(&es, 0.5), percentile(&es, 0.9));
    println!("  unknown   p10 {:7.3}  median {:7.3}  p90 {:7.3}", percentile(&us, 0.1), percentile(&us, 0.5), percentile(&us, 0.9));
    println!("  median ratio existing/unknown: {:.3}", percentile(&es, 0.5) / percentile(&us, 0.5));
    for crop in [1.0, 0.95, 0.9, 0.75, 0.5] {
        let ce: Vec<f64> = es.iter().copied().filter(|x| *x <= percentile(&es, crop)).collect();
        let cu: Vec<f64> = us.iter().copied().filter(|x| *x <= percentile(&us, crop)).collect();
        let t = welch(&ce, &cu);
        let verdict = if t.abs() <= 4.5 {
            "pass"
        } else if t.abs() <= 10.0 {
            "investigate"
        } else {
            "FAIL"
        };
        println!("  Welch t (cropped at p{:>3}): {t:7.2}  {verdict}", (crop * 100.0) as u32);
    }
}
