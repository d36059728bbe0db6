//! Security-checklist §3.9's last part: one process's machine clock five minutes ahead
//! (libfaketime) changes no decision, because expiry and token times come from the database.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::client::{email_authenticator_id, interaction_code, remediation_names, NEW_PASSWORD, VERIFIER};
use crate::harness::{epoch_ms, Cluster, PUBLIC_CLIENT, REDIRECT_URI};
use crate::{code_from_mail, SERIAL};

const AHEAD: usize = 2;

/// The `Date` header of `base`, in seconds since the epoch: the process's own clock.
async fn clock_of(cluster: &Cluster, base: &str) -> i64 {
    let response = cluster.http.get(format!("{base}/healthz")).send().await.expect("GET /healthz");
    let date = response.headers().get("date").and_then(|v| v.to_str().ok()).expect("a Date header").to_owned();
    chrono::DateTime::parse_from_rfc2822(&date).expect("an HTTP date").timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_with_its_clock_ahead_decides_by_database_time() {
    let _turn = SERIAL.lock().await;
    // Codes live 4 minutes: by the fast process's own clock, every code is already expired.
    let cluster = Cluster::start_with_clock_ahead(&[("LATCHKEY_OTP__LIFETIME_SECS", "240")], Some((AHEAD, "+5m"))).await;
    let (normal, ahead) = (cluster.direct_url(0), cluster.direct_url(AHEAD));
    let skew = clock_of(&cluster, &ahead).await - clock_of(&cluster, &normal).await;
    assert!((290..=310).contains(&skew), "libfaketime moved the process's clock by 5 minutes: {skew} s");

    let login = "early@example.com";
    cluster.create_user(login).await;
    let flow = cluster.begin("openid", "clock").await;
    assert_eq!(cluster.step_at(&normal, &flow, "recover", json!({})).await.status, 200);
    let identify = cluster.step_at(&normal, &flow, "identify", json!({"identifier": login})).await;
    let id = email_authenticator_id(&identify.body).expect("the email authenticator");
    let challenge = cluster.step_at(&normal, &flow, "challenge", json!({"authenticator": {"id": id}})).await;
    assert_eq!(challenge.status, 200, "{}", challenge.body);
    let code = code_from_mail(&cluster, login, 1).await;

    let answer = cluster.step_at(&ahead, &flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(answer.status, 200, "the fast process judged the code by its own clock: {}", answer.body);
    assert_eq!(remediation_names(&answer.body), ["reset-authenticator"]);
    let reset = cluster.step_at(&ahead, &flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(reset.status, 200, "{}", reset.body);

    let interaction_code = interaction_code(&reset.body);
    let form = [
        ("grant_type", "interaction_code"),
        ("client_id", PUBLIC_CLIENT),
        ("interaction_code", interaction_code.as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT_URI),
    ];
    let response = cluster.http.post(format!("{ahead}/oauth2/default/v1/token")).form(&form).send().await.expect("the exchange");
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.expect("json");
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let payload = id_token.split('.').nth(1).expect("a JWT payload");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("claims");
    let real_now = i64::try_from(epoch_ms() / 1000).expect("fits");
    let iat = claims["iat"].as_i64().expect("iat");
    assert!((iat - real_now).abs() < 120, "the fast process stamped iat by its own clock: iat {iat}, now {real_now}");
    let userinfo = cluster
        .http
        .get(format!("{normal}/oauth2/default/v1/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().expect("an access token"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(userinfo.status(), 200, "the fast process's token is valid at the others");
}
