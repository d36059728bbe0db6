//! `spawn_app`: the server under test, its SMTP sink, and one method per call the tests make.
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_mail_sink::{MailSink, ReceivedMessage};
pub use latchkey_server::config::ClientSettings;
use latchkey_server::config::Settings;
use latchkey_server::startup::Application;
use latchkey_store::testing::{check_at_end, fresh, Backend, EndCheck, TestDatabase};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghijklmnop";
pub const PUBLIC_CLIENT: &str = "test-public-client";
pub const CONFIDENTIAL_CLIENT: &str = "test-confidential-client";
pub const CONFIDENTIAL_SECRET: &str = "confidential-secret-0123456789abcdefghij";
pub const REDIRECT_URI: &str = "http://127.0.0.1:7777/login/callback";
pub const VERIFIER: &str = "0123456789abcdef0123456789abcdef0123456789a";
/// A password every test user gets; strong enough for the default policy.
pub const PASSWORD: &str = "correct horse battery staple orbit";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub sink: MailSink,
    pub state: latchkey_server::state::AppState,
    /// Where this server answers `GET /metrics` (its own listener, not `base`); read by the
    /// `metrics` test binary, which shares this file.
    #[allow(dead_code)]
    pub metrics: Option<std::net::SocketAddr>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// `None` for a peer: the first server owns (and drops) the database, unless the
    /// end-of-test check still holds it.
    _db: Option<Arc<TestDatabase>>,
    /// What the end-of-test check (`both_backends!`) accepts for this deployment; `None` when
    /// no check runs (a test outside the macro).
    end_check: Option<Arc<EndCheck>>,
    _data_dir: TempDir,
}

pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn test_settings(db_url: &str, data_dir: &std::path::Path, smtp_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".to_owned();
    // Tests run many servers at once: each gets a free metrics port, not the default.
    settings.metrics.listen = "127.0.0.1:0".to_owned();
    settings.server.data_dir = data_dir.to_owned();
    settings.database.url = Some(db_url.to_owned().into());
    settings.admin.token = Some(ADMIN_TOKEN.to_owned().into());
    settings.admin.email = Some("admin@example.com".to_owned());
    settings.admin.return_links = true;
    settings.smtp.url = Some(smtp_url.to_owned().into());
    settings.smtp.from = "Latchkey Test <no-reply@latchkey.test>".to_owned();
    settings.outbox.poll_interval_ms = 50;
    settings.outbox.retry_base_secs = 1;
    // Distinct users per test keep the per-identifier mail limits out of the way; the limits
    // themselves are tested with their own settings.
    settings.recovery.per_ip_per_hour = 10_000;
    settings.signin.per_ip_failures_per_hour = 10_000;
    settings.otp.per_ip_failures_per_hour = 10_000;
    settings.tokens.per_ip_failures_per_hour = 10_000;
    settings.admin.per_ip_failures_per_hour = 10_000;
    settings.clients = vec![
        ClientSettings {
            client_id: PUBLIC_CLIENT.to_owned(),
            client_name: "Test SPA".to_owned(),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            ..ClientSettings::default()
        },
        ClientSettings {
            client_id: CONFIDENTIAL_CLIENT.to_owned(),
            client_name: "Test web app".to_owned(),
            client_secret: Some(CONFIDENTIAL_SECRET.to_owned().into()),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            ..ClientSettings::default()
        },
    ];
    settings.unsafe_test_settings = true;
    settings
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let db = fresh(backend).await;
    let sink = MailSink::start().await.expect("start the SMTP sink");
    let data_dir = std::env::temp_dir().join(format!("latchkey-app-{}", latchkey_domain::secret::okta_style_id("").to_lowercase()));
    if std::env::var_os("TEST_LOG").is_some() {
        latchkey_server::telemetry::init(Default::default());
    }
    // Every process of one deployment shares one master key; each test gets its own.
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let master_key = data_dir.join("master.key");
    std::fs::write(&master_key, latchkey_domain::BearerToken::generate().expose().as_bytes().get(..32).expect("32 bytes"))
        .expect("write master key");
    let mut settings = test_settings(&db.url, &data_dir, &sink.smtp_url());
    settings.database.master_key_file = Some(master_key);
    customize(&mut settings);
    let db = Arc::new(db);
    let end_check = check_at_end(&db);
    start(settings, sink, (Some(db), end_check), TempDir(data_dir)).await
}

type Database = (Option<Arc<TestDatabase>>, Option<Arc<EndCheck>>);

async fn start(settings: Settings, sink: MailSink, (db, end_check): Database, data_dir: TempDir) -> TestApp {
    let app = Application::build(settings).await.expect("the server starts");
    // Requests go straight to the listener: a test may give the server an https public URL
    // (as behind a TLS-terminating proxy) that nothing here answers.
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let metrics = app.metrics_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client"),
        sink,
        state,
        metrics,
        shutdown: Some(tx),
        server: Some(server),
        _db: db,
        end_check,
        _data_dir: data_dir,
    }
}

impl TestApp {
    /// A second server process of the same deployment: the same database and master key, its
    /// own listener, SMTP sink, caches and outbox worker (what another replica sees).
    pub async fn spawn_peer(&self) -> TestApp {
        let sink = MailSink::start().await.expect("start the SMTP sink");
        let data_dir = std::env::temp_dir().join(format!("latchkey-peer-{}", latchkey_domain::secret::okta_style_id("").to_lowercase()));
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let mut settings = self.state.settings.clone();
        settings.server.listen = "127.0.0.1:0".to_owned();
        settings.server.data_dir = data_dir.clone();
        settings.smtp.url = Some(sink.smtp_url().into());
        start(settings, sink, (None, self.end_check.clone()), TempDir(data_dir)).await
    }

    /// This test breaks mail delivery on purpose, so the end-of-test check accepts deferred and
    /// failed emails.
    pub fn expect_mail_failures(&self) {
        if let Some(check) = &self.end_check {
            check.expect_mail_failures();
        }
    }
}

impl TestApp {
    /// Stops this server process and starts a new one on the same database, data directory and
    /// SMTP sink (a restart: nothing in the old process's memory survives).
    pub async fn restart(self) -> TestApp {
        self.restart_after(async {}).await
    }

    /// `restart`, with `meanwhile` run while no server is up (a restore, for instance).
    pub async fn restart_after(mut self, meanwhile: impl std::future::Future<Output = ()>) -> TestApp {
        let settings = self.state.settings.clone();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
        }
        // The old process's connections go now, not whenever its last handle is dropped.
        self.state.store.close().await;
        meanwhile.await;
        let db = (self._db.take(), self.end_check.take());
        let data_dir = TempDir(std::mem::take(&mut self._data_dir.0));
        let sink = std::mem::replace(&mut self.sink, MailSink::start().await.expect("a placeholder sink"));
        let mut settings = settings;
        // The new process binds a fresh port; the public URL follows it.
        settings.server.public_url = None;
        start(settings, sink, db, data_dir).await
    }

    /// Moves the database clock every process of this deployment reads (the controllable
    /// clock; only with `LATCHKEY_UNSAFE_TEST_SETTINGS`).
    pub async fn advance_clock(&self, by: Duration) {
        self.state.store.advance_test_clock(i64::try_from(by.as_millis()).expect("a sane duration")).await.expect("advance the clock");
    }

    /// Waits until the outbox holds nothing left to send (queued or deferred), instead of
    /// sleeping and hoping: after it, every email a request caused is in the sink or has
    /// failed for good.
    pub async fn drain_outbox(&self) {
        use latchkey_store::OutboxStatus;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let mut pending = 0;
            for status in [OutboxStatus::Queued, OutboxStatus::Deferred] {
                pending += self.state.store.outbox_messages(Some(status), 10).await.expect("list the outbox").len();
            }
            if pending == 0 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the outbox did not drain: {pending} messages pending");
            self.state.outbox_wake.notify_one();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The store's invariants (`Store::invariant_violations`): one live code per account and
    /// identifier, each at its own challenge step; no deliverable decoy email; no payload kept
    /// past sending.
    pub async fn store_invariant_violations(&self) -> Vec<String> {
        let now = self.state.store.now().await.expect("now");
        self.state.store.invariant_violations(now).await.expect("check the invariants")
    }

    pub async fn assert_store_invariants(&self) {
        let broken = self.store_invariant_violations().await;
        assert!(broken.is_empty(), "store invariants broken: {broken:#?}");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// One IDX transaction as a client sees it.
#[derive(Clone, Debug)]
pub struct Flow {
    pub interaction_handle: String,
    pub state_handle: String,
}

impl TestApp {
    pub fn issuer(&self) -> String {
        format!("{}/oauth2/default", self.base)
    }

    pub async fn create_user(&self, login: &str) -> Value {
        self.create_user_with(json!({
            "profile": {"login": login, "email": login, "firstName": "Test", "lastName": "User"},
            "credentials": {"password": {"value": PASSWORD}}
        }))
        .await
    }

    pub async fn create_user_with(&self, body: Value) -> Value {
        let response = self.admin_post("/api/v1/users?activate=true", body).await;
        assert_eq!(response.status(), 200, "create user");
        response.json().await.expect("json")
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).header("Authorization", format!("SSWS {ADMIN_TOKEN}")).send().await.expect("request")
    }

    pub async fn interact(&self, oauth_state: &str) -> Flow {
        let response = self
            .interact_raw(&[
                ("client_id", PUBLIC_CLIENT),
                ("scope", "openid profile email"),
                ("redirect_uri", REDIRECT_URI),
                ("code_challenge", &challenge_for(VERIFIER)),
                ("code_challenge_method", "S256"),
                ("state", oauth_state),
                ("nonce", "test-nonce"),
            ])
            .await;
        assert_eq!(response.status(), 200, "interact");
        let body: Value = response.json().await.expect("json");
        let handle = body["interaction_handle"].as_str().expect("interaction_handle").to_owned();
        let (status, state) = self.introspect(&handle).await;
        assert_eq!(status, 200, "introspect: {state}");
        Flow { interaction_handle: handle, state_handle: state["stateHandle"].as_str().expect("stateHandle").to_owned() }
    }

    pub async fn interact_raw(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(format!("{}/v1/interact", self.issuer())).form(form).send().await.expect("request")
    }

    pub async fn introspect(&self, handle: &str) -> (u16, Value) {
        self.idx("introspect", json!({"interactionHandle": handle})).await
    }

    /// POSTs to `/idp/idx/{path}` and returns status and body.
    pub async fn idx(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/idp/idx/{path}", self.base))
            .header("Content-Type", "application/ion+json; okta-version=1.0.0")
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(content_type.starts_with("application/json"), "IDX answers application/json, got {content_type}");
        (status, response.json().await.expect("json body"))
    }

    pub async fn step(&self, flow: &Flow, path: &str, mut body: Value) -> (u16, Value) {
        body["stateHandle"] = Value::String(flow.state_handle.clone());
        self.idx(path, body).await
    }

    /// interact → recover → identify-recovery → select Email: the email is queued.
    pub async fn start_recovery(&self, identifier: &str, oauth_state: &str) -> (Flow, Value) {
        let flow = self.interact(oauth_state).await;
        let (status, body) = self.step(&flow, "recover", json!({})).await;
        assert_eq!(status, 200, "recover: {body}");
        assert_eq!(remediation_names(&body), ["identify-recovery"]);
        let (status, body) = self.step(&flow, "identify", json!({"identifier": identifier})).await;
        assert_eq!(status, 200, "identify-recovery: {body}");
        assert_eq!(remediation_names(&body), ["select-authenticator-authenticate"]);
        let (status, body) = self.step(&flow, "challenge", json!({"authenticator": {"id": email_authenticator_id(&body)}})).await;
        assert_eq!(status, 200, "challenge: {body}");
        assert_eq!(remediation_names(&body), ["challenge-authenticator"]);
        (flow, body)
    }

    pub async fn wait_for_mail(&self, to: &str, count: usize) -> Vec<ReceivedMessage> {
        self.sink.wait_for_count(Some(to), count, Duration::from_secs(15)).await.expect("the email arrives")
    }

    /// The newest recovery code mailed to `to`, after waiting for the `count`-th message. Only a
    /// recovery email counts (its link to the reset page says which): notices — a factor's
    /// AuthenticatorEnrolled, PasswordChanged — may be delivered in any order around it.
    pub async fn code_from_mail(&self, to: &str, count: usize) -> String {
        let messages = self.wait_for_mail(to, count).await;
        let recovery = messages
            .iter()
            .rev()
            .filter_map(|m| m.text.as_deref())
            .find(|text| text.contains("/signin/reset-password?"))
            .expect("a recovery email");
        extract_code(recovery).expect("a code in the recovery email's text part")
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.http.post(format!("{}/v1/token", self.issuer())).form(form).send().await.expect("request");
        (response.status().as_u16(), response.json().await.expect("json"))
    }

    pub async fn exchange(&self, interaction_code: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "interaction_code"),
            ("client_id", PUBLIC_CLIENT),
            ("interaction_code", interaction_code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await
    }

    /// A full sign-in; returns the IDX status and body of the identify step.
    pub async fn sign_in(&self, identifier: &str, password: &str) -> (u16, Value) {
        let flow = self.interact("signin-state").await;
        self.step(&flow, "identify", json!({"identifier": identifier, "credentials": {"passcode": password}})).await
    }
}

/// The password rule, the app sign-in rule and the enrollment policy, by their fixed ids.
pub const PASSWORD_RULE: &str = "/api/v1/policies/00plkpassword0000001/rules/0prlkpassword0000001";
pub const ACCESS_RULE: &str = "/api/v1/policies/rstlkaccess000000001/rules/rullkaccess000000001";
pub const ENROLL_POLICY: &str = "/api/v1/policies/00plkmfaenroll000001";

impl TestApp {
    /// Enrolls and activates a TOTP app for the user through the Factors API, activated with the
    /// previous time step's value so the current one is still fresh for the test's next answer.
    pub async fn enroll_totp(&self, user_id: &str) -> latchkey_domain::totp::TotpSecret {
        use latchkey_domain::totp::{self, TotpPolicy, TotpSecret};
        let factor: Value = self
            .admin_post(&format!("/api/v1/users/{user_id}/factors"), json!({"factorType": "token:software:totp", "provider": "GOOGLE"}))
            .await
            .json()
            .await
            .expect("json");
        let shared = factor["_embedded"]["activation"]["sharedSecret"].as_str().expect("the shared secret");
        let secret = TotpSecret::from_base32(shared).expect("base32");
        let now = self.state.store.now().await.expect("now");
        let value = totp::value_at(&secret, &TotpPolicy::default(), now - 30_000);
        let path = format!("/api/v1/users/{user_id}/factors/{}/lifecycle/activate", factor["id"].as_str().expect("id"));
        assert_eq!(self.admin_post(&path, json!({"passCode": value})).await.status(), 200);
        secret
    }

    /// The current value of a TOTP app, by the server's clock.
    pub async fn totp_now(&self, secret: &latchkey_domain::totp::TotpSecret) -> String {
        latchkey_domain::totp::value_at(secret, &Default::default(), self.state.store.now().await.expect("now"))
    }

    /// Reads a policy or rule, changes it, and writes it back whole (as Okta's tools do).
    pub async fn replace_policy(&self, path: &str, change: impl FnOnce(&mut Value)) -> (u16, Value) {
        let mut object: Value = self.admin_get(path).await.json().await.expect("json");
        change(&mut object);
        let response =
            self.http.put(format!("{}{path}", self.base)).header("Authorization", format!("SSWS {ADMIN_TOKEN}")).json(&object).send().await;
        let response = response.expect("put");
        (response.status().as_u16(), response.json().await.expect("json"))
    }

    /// The app sign-in rule's factor mode: `1FA` or `2FA` (or anything, to see it refused).
    pub async fn set_factor_mode(&self, mode: &str) -> (u16, Value) {
        self.replace_policy(ACCESS_RULE, |rule| rule["actions"]["appSignOn"]["verificationMethod"]["factorMode"] = json!(mode)).await
    }

    /// The enrollment policy's setting for TOTP apps.
    pub async fn set_totp_enroll(&self, setting: &str) -> (u16, Value) {
        self.replace_policy(ENROLL_POLICY, |policy| {
            for a in policy["settings"]["authenticators"].as_array_mut().into_iter().flatten() {
                if a["key"] == "google_otp" {
                    a["enroll"]["self"] = json!(setting);
                }
            }
        })
        .await
    }

    /// The password rule's step-up: `{"required": …}` or anything else to see it refused.
    pub async fn set_recovery_step_up(&self, step_up: Value) -> (u16, Value) {
        self.replace_policy(PASSWORD_RULE, |rule| rule["actions"]["selfServicePasswordReset"]["requirement"]["stepUp"] = step_up).await
    }
}

/// The claims of the ID token in a token response (not verified: tests that need that use the
/// JWKS helpers).
pub fn id_token_claims(tokens: &Value) -> Value {
    let payload = tokens["id_token"].as_str().unwrap_or_default().split('.').nth(1).unwrap_or_default();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap_or_default()).unwrap_or_default()
}

pub fn remediation_names(body: &Value) -> Vec<String> {
    body["remediation"]["value"]
        .as_array()
        .map(|v| v.iter().filter_map(|r| r["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

pub fn email_authenticator_id(body: &Value) -> String {
    body["remediation"]["value"][0]["value"][0]["options"][0]["value"]["form"]["value"][0]["value"]
        .as_str()
        .expect("email option id")
        .to_owned()
}

pub fn interaction_code(body: &Value) -> String {
    body["successWithInteractionCode"]["value"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == "interaction_code"))
        .and_then(|f| f["value"].as_str())
        .expect("an interaction code")
        .to_owned()
}

pub fn extract_code(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 6).map(str::to_owned)
}

/// The first http(s) link in a text part.
pub fn extract_link(text: &str, prefix: &str) -> Option<String> {
    text.split_whitespace().find(|w| w.starts_with(prefix)).map(|w| w.trim_end_matches(['.', ')', '>', ',']).to_owned())
}

/// Removes what legitimately differs between two transactions (handles, expiry) so their
/// bodies can be compared byte for byte (security-checklist REC-1).
pub fn normalize(body: &Value, flow: &Flow) -> String {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("expiresAt");
    }
    serde_json::to_string(&body).expect("json").replace(&flow.state_handle, "<SH>")
}

/// Runs the `latchkey` binary with `args` (and `stdin`) as an operator of this deployment would:
/// the server's URL and admin token, and its database. Returns success, stdout and stderr.
pub async fn latchkey(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    latchkey_with(app, args, stdin, &[]).await
}

/// `latchkey` with more environment on top (or instead of the defaults above).
pub async fn latchkey_with(app: &TestApp, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> (bool, String, String) {
    run_latchkey(app.base.clone(), app.state.settings.clone(), args, stdin, env).await
}

/// `latchkey` for the deployment `settings` describe, with its server at `base` (which may
/// be down: a restore runs while it is).
pub async fn run_latchkey(
    base: String,
    settings: Settings,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(&args)
            .env("LATCHKEY_URL", &base)
            .env("LATCHKEY_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("LATCHKEY_DATABASE_URL", settings.database_url())
            .env("LATCHKEY_DATA_DIR", &settings.server.data_dir)
            .env("LATCHKEY_UNSAFE_TEST_SETTINGS", "1")
            .envs(settings.database.master_key_file.iter().map(|key| ("LATCHKEY_MASTER_KEY_FILE", key.as_os_str())))
            .env("RUST_LOG", "off")
            .envs(env)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run latchkey");
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.unwrap_or_default().as_bytes()).expect("stdin");
        }
        let output = child.wait_with_output().expect("latchkey exits");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .expect("join")
}
