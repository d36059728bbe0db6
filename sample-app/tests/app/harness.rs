//! `spawn`: the identity server and the app under test, and one method per step a browser
//! (or the widget inside it) takes.
use std::time::Duration;

use latchkey_mail_sink::MailSink;
use latchkey_server::config::{ClientSettings, Settings};
use latchkey_server::startup::Application;
use latchkey_store::testing::{fresh, Backend, TestDatabase};
use secrecy::SecretString;
use serde_json::{json, Value};

pub const ADMIN_TOKEN: &str = "sample-app-admin-token-0123456789abcdefghij";
pub const CLIENT_ID: &str = "magic-link-sample";
pub const CLIENT_SECRET: &str = "magic-link-sample-secret-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery staple orbit";
pub const NEW_PASSWORD: &str = "a brand new passphrase for winter";

pub struct TestEnv {
    /// The identity server, e.g. `http://127.0.0.1:41234`.
    pub idp: String,
    /// The app, e.g. `http://127.0.0.1:41235`.
    pub app: String,
    pub sink: MailSink,
    /// Dropping it stops both servers.
    _stop: tokio::sync::watch::Sender<bool>,
    _db: TestDatabase,
    _data_dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn spawn() -> TestEnv {
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the app");
    let app = format!("http://{}", app_listener.local_addr().expect("app address"));
    let db = fresh(Backend::Sqlite).await;
    let sink = MailSink::start().await.expect("start the SMTP sink");
    let data_dir = std::env::temp_dir().join(format!("magic-link-app-{}", latchkey_domain::secret::okta_style_id("").to_lowercase()));
    std::fs::create_dir_all(&data_dir).expect("data dir");

    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".to_owned();
    settings.server.data_dir = data_dir.clone();
    settings.database.url = Some(db.url.clone().into());
    settings.admin.token = Some(ADMIN_TOKEN.to_owned().into());
    settings.smtp.url = Some(sink.smtp_url().into());
    settings.outbox.poll_interval_ms = 50;
    // Several servers run at once in this binary: each its own metrics port.
    settings.metrics.listen = "127.0.0.1:0".to_owned();
    settings.clients = vec![ClientSettings {
        client_id: CLIENT_ID.to_owned(),
        client_name: "Magic link sample".to_owned(),
        client_secret: Some(CLIENT_SECRET.to_owned().into()),
        redirect_uris: vec![format!("{app}/login/callback")],
        trusted_origins: vec![app.clone()],
        ..ClientSettings::default()
    }];
    let server = Application::build(settings).await.expect("the identity server starts");
    let idp = server.public_url().to_owned();
    let config = magic_link_app::Config::new(
        String::new(),
        &app,
        &format!("{idp}/oauth2/default"),
        CLIENT_ID.to_owned(),
        SecretString::from(CLIENT_SECRET.to_owned()),
    )
    .expect("a valid app configuration");
    let sample = magic_link_app::App::with_listener(config, app_listener);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Resolves when the sender is dropped with the TestEnv.
    let until_dropped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    tokio::spawn(server.run_until_stopped(until_dropped(stopped.clone())));
    tokio::spawn(sample.run_until_stopped(until_dropped(stopped)));
    TestEnv { idp, app, sink, _stop: stop, _db: db, _data_dir: TempDir(data_dir) }
}

/// A browser: its own cookie jar; redirects are followed like a browser's.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().expect("client")
}

/// A client that keeps no cookies, like a mail scanner.
pub fn scanner() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// What `/login` hands the widget.
pub struct LoginPage {
    pub interaction_handle: String,
    pub state: String,
    pub options: Value,
}

impl TestEnv {
    pub async fn create_user(&self, login: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/users?activate=true", self.idp))
            .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
            .json(&json!({
                "profile": {"login": login, "email": login, "firstName": "Ada", "lastName": "Lovelace"},
                "credentials": {"password": {"value": PASSWORD}}
            }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "create user");
    }

    pub async fn open_login(&self, browser: &reqwest::Client) -> LoginPage {
        let response = browser.get(format!("{}/login", self.app)).send().await.expect("GET /login");
        assert_eq!(response.status(), 200);
        let options = widget_options(&response.text().await.expect("body")).expect("the login page configures the widget");
        LoginPage {
            interaction_handle: options["interactionHandle"].as_str().expect("interactionHandle").to_owned(),
            state: options["state"].as_str().expect("state").to_owned(),
            options,
        }
    }

    /// POSTs to `/idp/idx/{path}` the way the widget does (JSON, ion content type).
    pub async fn idx(&self, path: &str, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/idp/idx/{path}", self.idp))
            .header("Content-Type", "application/ion+json; okta-version=1.0.0")
            .header("Accept", "application/ion+json; okta-version=1.0.0")
            .json(&body)
            .send()
            .await
            .expect("IDX request");
        (response.status().as_u16(), response.json().await.expect("IDX answers JSON"))
    }

    /// The widget's first call: introspect with the interaction handle from the page.
    pub async fn introspect(&self, page: &LoginPage) -> String {
        let (status, body) = self.idx("introspect", json!({"interactionHandle": page.interaction_handle})).await;
        assert_eq!(status, 200, "introspect: {body}");
        body["stateHandle"].as_str().expect("stateHandle").to_owned()
    }

    /// identify with the password → the interaction code.
    pub async fn sign_in_with_password(&self, page: &LoginPage, login: &str) -> String {
        let state_handle = self.introspect(page).await;
        let (status, body) =
            self.idx("identify", json!({"identifier": login, "credentials": {"passcode": PASSWORD}, "stateHandle": state_handle})).await;
        assert_eq!(status, 200, "identify: {body}");
        interaction_code(&body)
    }

    /// Forgot password → identifier → Email: the email is on its way. Returns the state handle.
    pub async fn start_recovery(&self, page: &LoginPage, login: &str) -> String {
        let state_handle = self.introspect(page).await;
        let (status, body) = self.idx("recover", json!({"stateHandle": state_handle})).await;
        assert_eq!(status, 200, "recover: {body}");
        let (status, body) = self.idx("identify", json!({"identifier": login, "stateHandle": state_handle})).await;
        assert_eq!(status, 200, "identify-recovery: {body}");
        let email_id = body["remediation"]["value"][0]["value"][0]["options"][0]["value"]["form"]["value"][0]["value"]
            .as_str()
            .expect("the Email option")
            .to_owned();
        let (status, body) = self.idx("challenge", json!({"authenticator": {"id": email_id}, "stateHandle": state_handle})).await;
        assert_eq!(status, 200, "challenge: {body}");
        state_handle
    }

    /// The code and the `state` the ForgotPassword email carries.
    pub async fn emailed_code(&self, to: &str) -> (String, String) {
        let messages = self.sink.wait_for_count(Some(to), 1, Duration::from_secs(15)).await.expect("the email arrives");
        let text = messages.last().and_then(|m| m.text.clone()).expect("a text part");
        let link = text.split_whitespace().find(|w| w.contains("otp=") && w.contains("state=")).expect("a link with otp and state");
        let url = url::Url::parse(link.trim_end_matches(['.', ')', '>'])).expect("a URL");
        let get = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).expect("parameter");
        (get("otp"), get("state"))
    }

    /// A browser following the emailed link.
    pub async fn open_link(&self, client: &reqwest::Client, otp: &str, state: &str) -> reqwest::Response {
        client.get(format!("{}/magic-link/callback", self.app)).query(&[("otp", otp), ("state", state)]).send().await.expect("GET the link")
    }

    /// The widget's redirect after IDX succeeded.
    pub async fn login_callback(&self, client: &reqwest::Client, interaction_code: &str, state: &str) -> reqwest::Response {
        client
            .get(format!("{}/login/callback", self.app))
            .query(&[("interaction_code", interaction_code), ("state", state)])
            .send()
            .await
            .expect("GET /login/callback")
    }

    /// The code, then a new password, in the original transaction → the interaction code.
    pub async fn finish_recovery(&self, state_handle: &str, otp: &str) -> String {
        let (status, body) = self.idx("challenge/answer", json!({"credentials": {"passcode": otp}, "stateHandle": state_handle})).await;
        assert_eq!(status, 200, "the code is accepted: {body}");
        let (status, body) =
            self.idx("challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}, "stateHandle": state_handle})).await;
        assert_eq!(status, 200, "the new password is accepted: {body}");
        interaction_code(&body)
    }
}

pub fn interaction_code(body: &Value) -> String {
    body["successWithInteractionCode"]["value"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == "interaction_code"))
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("an interaction code in {body}"))
        .to_owned()
}

/// The JSON the page passes to `new LatchkeySignIn(…)`.
pub fn widget_options(html: &str) -> Option<Value> {
    let start = html.find(r#"<script type="application/json" id="widget-options">"#)?;
    let rest = &html[start..];
    let json = &rest[rest.find('>')? + 1..rest.find("</script>")?];
    serde_json::from_str(json).ok()
}

/// The page's text, without tags and with entities decoded (enough for our own pages).
pub fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#x27;", "'").replace("&amp;", "&")
}
