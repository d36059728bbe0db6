//! No secret ever reaches the logs, even at `trace` (security-checklist LOG-1): the real binary
//! runs a whole recovery and sign-in, then its stderr is searched for every secret it handled.
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use latchkey_mail_sink::MailSink;
use serde_json::{json, Value};

use crate::helpers::{challenge_for, extract_code, ADMIN_TOKEN, PASSWORD, VERIFIER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_recovery_at_trace_level_logs_no_secret() {
    let sink = MailSink::start().await.expect("sink");
    let server = Binary::start(&sink, &[("RUST_LOG", "trace"), ("LATCHKEY_OUTBOX__POLL_INTERVAL_MS", "50")]);
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let admin = |path: &str, body: Value| {
        http.post(format!("{base}{path}")).header("Authorization", format!("SSWS {ADMIN_TOKEN}")).json(&body).send()
    };
    admin(
        "/api/v1/users?activate=true",
        json!({"profile": {"login": "logs@example.com", "email": "logs@example.com"}, "credentials": {"password": {"value": PASSWORD}}}),
    )
    .await
    .expect("user");
    // The admin API addresses users by login too; the path must not carry it into the logs.
    for path in ["/api/v1/users/logs@example.com", "/api/v1/users/logs%40example.com"] {
        let response =
            http.get(format!("{base}{path}")).header("Authorization", format!("SSWS {ADMIN_TOKEN}")).send().await.expect("user by login");
        assert_eq!(response.status(), 200, "{path}");
    }
    let client: Value = admin("/oauth2/v1/clients", json!({"client_name": "logs", "redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none", "grant_types": ["interaction_code", "refresh_token"]}))
        .await
        .expect("client")
        .json()
        .await
        .expect("json");
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    let oauth_state = "secret-oauth-state-value-42";
    let (handle, sh) = server.transaction(&http, &client_id, oauth_state, "openid email offline_access").await;
    let idx = |path: &str, body: Value| http.post(format!("{base}/idp/idx/{path}")).json(&body).send();
    idx("recover", json!({"stateHandle": sh})).await.expect("recover");
    idx("identify", json!({"stateHandle": sh, "identifier": "logs@example.com"})).await.expect("identify");
    idx("challenge", json!({"stateHandle": sh, "authenticator": {"id": "aut0lkemail000000001"}})).await.expect("challenge");
    let mail = sink.wait_for_count(Some("logs@example.com"), 1, Duration::from_secs(15)).await.expect("mail").remove(0);
    let code = extract_code(mail.text.as_deref().unwrap_or_default()).expect("code");
    idx("challenge/answer", json!({"stateHandle": sh, "credentials": {"passcode": code}})).await.expect("answer");
    let new_password = "a different passphrase for the log test";
    let done: Value = idx("challenge/answer", json!({"stateHandle": sh, "credentials": {"passcode": new_password}}))
        .await
        .expect("reset")
        .json()
        .await
        .expect("json");
    let interaction_code = crate::helpers::interaction_code(&done);
    let tokens: Value = http
        .post(format!("{base}/oauth2/default/v1/token"))
        .form(&[
            ("grant_type", "interaction_code"),
            ("client_id", client_id.as_str()),
            ("interaction_code", interaction_code.as_str()),
            ("code_verifier", VERIFIER),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let access_token = tokens["access_token"].as_str().expect("access token").to_owned();
    let id_token = tokens["id_token"].as_str().expect("id token").to_owned();
    let first_refresh = tokens["refresh_token"].as_str().expect("refresh token").to_owned();
    let rotated: Value = http
        .post(format!("{base}/oauth2/default/v1/token"))
        .form(&[("grant_type", "refresh_token"), ("client_id", client_id.as_str()), ("refresh_token", first_refresh.as_str())])
        .send()
        .await
        .expect("refresh")
        .json()
        .await
        .expect("json");
    let second_refresh = rotated["refresh_token"].as_str().expect("rotated refresh token").to_owned();
    sink.wait_for_count(Some("logs@example.com"), 2, Duration::from_secs(15)).await.expect("PasswordChanged");

    // A sign-in from our own origin starts a session: its id travels in Set-Cookie and Cookie.
    let (_, sh2) = server.transaction(&http, &client_id, "second-state", "openid").await;
    let signed_in = http
        .post(format!("{base}/idp/idx/identify"))
        .header("Origin", &base)
        .json(&json!({"stateHandle": sh2, "identifier": "logs@example.com", "credentials": {"passcode": new_password}}))
        .send()
        .await
        .expect("identify");
    let session_id = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("latchkey_sid=").map(str::to_owned))
        .next()
        .expect("a session cookie");
    // Raw Cookie and Authorization headers with values of their own.
    let cookie_secret = "cookie-value-that-must-not-be-logged-7f3a";
    let userinfo = http
        .get(format!("{base}/oauth2/default/v1/userinfo"))
        .header("Authorization", format!("Bearer {access_token}"))
        .header("Cookie", format!("latchkey_sid={session_id}; tracker={cookie_secret}"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(userinfo.status(), 200);
    // A confidential client: its secret at registration, rotation and client authentication.
    let confidential: Value = admin("/oauth2/v1/clients", json!({"client_name": "logs-confidential", "redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["authorization_code"]}))
        .await
        .expect("confidential client")
        .json()
        .await
        .expect("json");
    let confidential_id = confidential["client_id"].as_str().expect("client_id").to_owned();
    let first_secret = confidential["client_secret"].as_str().expect("client_secret").to_owned();
    let rotated: Value = admin(&format!("/oauth2/v1/clients/{confidential_id}/lifecycle/newSecret"), json!({}))
        .await
        .expect("new secret")
        .json()
        .await
        .expect("json");
    let client_secret = rotated["client_secret"].as_str().expect("rotated client_secret").to_owned();
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{confidential_id}:{client_secret}"))
    };
    let introspected = http
        .post(format!("{base}/oauth2/default/v1/introspect"))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[("token", second_refresh.as_str())])
        .send()
        .await
        .expect("introspect");
    assert_eq!(introspected.status(), 200);
    // And wrong ones, which are refused (and logged as refusals).
    let wrong = http
        .post(format!("{base}/oauth2/default/v1/token"))
        .basic_auth(&confidential_id, Some("a-wrong-client-secret-that-is-a-secret"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "a-wrong-refresh-token-that-is-a-secret")])
        .send()
        .await
        .expect("token");
    assert_eq!(wrong.status(), 401);

    let logs = server.stop();
    assert!(logs.contains("/idp/idx/challenge/answer"), "the request log records paths");
    assert!(logs.contains("/api/v1/users/l***@example.com"), "admin paths are logged with the login masked");
    for (what, secret) in [
        ("the old password", PASSWORD),
        ("the new password", new_password),
        ("the one-time code", code.as_str()),
        ("the interaction handle", handle.as_str()),
        ("the state handle", sh.as_str()),
        ("the OAuth state", oauth_state),
        ("the interaction code", interaction_code.as_str()),
        ("the access token", access_token.as_str()),
        ("the ID token", id_token.as_str()),
        ("the first refresh token", first_refresh.as_str()),
        ("the rotated refresh token", second_refresh.as_str()),
        ("the session id", session_id.as_str()),
        ("a raw Cookie value", cookie_secret),
        ("the first client secret", first_secret.as_str()),
        ("the rotated client secret", client_secret.as_str()),
        ("a raw Authorization value", basic.as_str()),
        ("a wrong client secret", "a-wrong-client-secret-that-is-a-secret"),
        ("a wrong refresh token", "a-wrong-refresh-token-that-is-a-secret"),
        ("the admin token", ADMIN_TOKEN),
        ("the full email address", "logs@example.com"),
        ("the percent-encoded email address", "logs%40example.com"),
    ] {
        assert!(!logs.contains(secret), "{what} appears in the logs");
    }
}

/// LOG-2: security events are structured records, one per scenario, saying where the request
/// came from; a client string shaped like a log line never becomes a line of its own. The real
/// binary logs JSON (`LATCHKEY_LOG_FORMAT=json`) at `info`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_events_are_structured_records_with_the_client_address() {
    let sink = MailSink::start().await.expect("sink");
    let server = Binary::start(&sink, &[("RUST_LOG", "info"), ("LATCHKEY_LOG_FORMAT", "json"), ("LATCHKEY_ADMIN__RETURN_LINKS", "true")]);
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let client: Value = http
        .post(format!("{base}/oauth2/v1/clients"))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .json(&json!({"client_name": "events", "redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none", "grant_types": ["interaction_code"]}))
        .send()
        .await
        .expect("client")
        .json()
        .await
        .expect("json");
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    let (_, sh) = server.transaction(&http, &client_id, "events-state", "openid email").await;
    let idx = |path: &str, body: Value| http.post(format!("{base}/idp/idx/{path}")).json(&body).send();
    // A forged log line as the identifier of a failed sign-in.
    let forged = "x@example.com\n{\"level\":\"INFO\",\"fields\":{\"message\":\"admin ok\"}}";
    let response =
        idx("identify", json!({"stateHandle": sh, "identifier": forged, "credentials": {"passcode": "a wrong passphrase here"}}))
            .await
            .expect("identify");
    assert_eq!(response.status(), 400, "an identifier with a line break is no identifier");
    // And an ordinary failed sign-in.
    let response = idx(
        "identify",
        json!({"stateHandle": sh, "identifier": "nobody@example.com", "credentials": {"passcode": "a wrong passphrase here"}}),
    )
    .await
    .expect("identify");
    assert_eq!(response.status(), 401);

    // ADM-3: a set-password link handed to the administrator instead of emailed is audited.
    let user: Value = http
        .post(format!("{base}/api/v1/users?activate=true"))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .json(&json!({"profile": {"login": "linked@example.com", "email": "linked@example.com"}, "credentials": {"password": {"value": PASSWORD}}}))
        .send()
        .await
        .expect("user")
        .json()
        .await
        .expect("json");
    let user_id = user["id"].as_str().expect("id").to_owned();
    let returned: Value = http
        .post(format!("{base}/api/v1/users/{user_id}/lifecycle/reset_password?sendEmail=false"))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("reset")
        .json()
        .await
        .expect("json");
    let link = returned["resetPasswordUrl"].as_str().unwrap_or_else(|| panic!("a returned link: {returned}")).to_owned();
    let token = link.rsplit("token=").next().expect("token").to_owned();

    let logs = server.stop();
    let records: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line that is not one JSON record ({e}): {l}")))
        .collect();
    assert!(!records.iter().any(|r| r.to_string().contains("admin ok")), "the forged line was never logged, as a line or a field");
    let failures: Vec<&Value> = records.iter().filter(|r| r["fields"]["event"] == "signin.failure").collect();
    assert_eq!(failures.len(), 1, "one event for the failed sign-in: {logs}");
    let record = failures[0].to_string();
    assert!(record.contains("\"client_ip\":\"127.0.0.1\""), "the event says where the request came from: {record}");
    assert!(record.contains("request_id"), "and which request it was: {record}");
    let audits: Vec<&Value> = records.iter().filter(|r| r["fields"]["event"] == "admin.set_password_link_returned").collect();
    assert_eq!(audits.len(), 1, "one audit event for the returned link: {logs}");
    assert_eq!(audits[0]["level"], "WARN");
    assert!(audits[0].to_string().contains(&user_id), "the audit names the user: {}", audits[0]);
    assert!(!logs.contains(&token), "the link itself is not logged");
}

/// The real binary, serving on a free loopback port with `env` on top of a data directory, the
/// SMTP sink and the admin token; its stderr is collected until it exits.
struct Binary {
    child: std::process::Child,
    base: String,
    stderr: std::thread::JoinHandle<String>,
    dir: std::path::PathBuf,
}

impl Binary {
    fn start(sink: &MailSink, env: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("latchkey-logs-{}", latchkey_domain::secret::okta_style_id("")));
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .arg("serve")
            .env("LATCHKEY_LISTEN", "127.0.0.1:0")
            .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
            .env("LATCHKEY_DATA_DIR", &dir)
            .env("LATCHKEY_SMTP_URL", sink.smtp_url())
            .env("LATCHKEY_ADMIN_TOKEN", ADMIN_TOKEN)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
        let base = line.trim().strip_prefix("listening on ").expect("ready").to_owned();
        let mut pipe = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = pipe.read_to_string(&mut all);
            all
        });
        Self { child, base, stderr, dir }
    }

    /// interact → introspect for `client_id`: the interaction handle and the state handle.
    async fn transaction(&self, http: &reqwest::Client, client_id: &str, oauth_state: &str, scope: &str) -> (String, String) {
        let base = &self.base;
        let interact: Value = http
            .post(format!("{base}/oauth2/default/v1/interact"))
            .form(&[
                ("client_id", client_id),
                ("scope", scope),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_challenge", &challenge_for(VERIFIER)),
                ("code_challenge_method", "S256"),
                ("state", oauth_state),
            ])
            .send()
            .await
            .expect("interact")
            .json()
            .await
            .expect("json");
        let handle = interact["interaction_handle"].as_str().expect("handle").to_owned();
        let introspect: Value = http
            .post(format!("{base}/idp/idx/introspect"))
            .json(&json!({"interactionHandle": handle}))
            .send()
            .await
            .expect("introspect")
            .json()
            .await
            .expect("json");
        let state_handle = introspect["stateHandle"].as_str().expect("state handle").to_owned();
        (handle, state_handle)
    }

    /// Stops the server with SIGTERM and returns everything it logged.
    fn stop(mut self) -> String {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let logs = self.stderr.join().expect("stderr");
        let _ = std::fs::remove_dir_all(&self.dir);
        logs
    }
}
