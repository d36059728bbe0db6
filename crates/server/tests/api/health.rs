//! Health, readiness, CORS, headers and the `latchkey` binary's start-up behaviour.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::both_backends;
use crate::helpers::spawn_app;

both_backends!(health_and_readiness_answer, cors_answers_only_registered_origins, responses_carry_security_headers);

async fn health_and_readiness_answer(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for path in ["/healthz", "/readyz"] {
        let response = app.http.get(format!("{}{path}", app.base)).send().await.expect("req");
        assert_eq!(response.status(), 200, "{path}");
    }
}

async fn cors_answers_only_registered_origins(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, format!("{}/idp/idx/introspect", app.base))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type,x-okta-user-agent-extended")
            .send()
    };
    let allowed = preflight("http://127.0.0.1:7777").await.expect("req");
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "http://127.0.0.1:7777");
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    for evil in ["https://evil.test", "http://127.0.0.1:7778", "null", "http://127.0.0.1:7777.evil.test"] {
        let refused = preflight(evil).await.expect("req");
        assert!(refused.headers().get("access-control-allow-origin").is_none(), "{evil}");
    }
}

async fn responses_carry_security_headers(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let response = app.http.post(format!("{}/idp/idx/introspect", app.base)).json(&serde_json::json!({})).send().await.expect("req");
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let widget = app.http.get(format!("{}/widget/v1/latchkey-sign-in.js", app.base)).send().await.expect("req");
    assert_eq!(widget.headers()["access-control-allow-origin"], "*");
    assert_eq!(widget.headers()["cross-origin-resource-policy"], "cross-origin");
}

fn latchkey() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

#[test]
fn serve_without_smtp_refuses_to_start_unless_dev() {
    let dir = std::env::temp_dir().join(format!("latchkey-bin-{}", latchkey_domain::secret::okta_style_id("")));
    let output = latchkey()
        .args(["serve"])
        .env("LATCHKEY_DATA_DIR", &dir)
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("LATCHKEY_SMTP_URL") && stderr.contains("--dev"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_configuration_and_busy_ports_get_clear_messages() {
    let output = latchkey()
        .args(["serve", "--dev"])
        .env("LATCHKEY_LISTEN", "not-an-address")
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("LATCHKEY_LISTEN"));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let dir = std::env::temp_dir().join(format!("latchkey-bin-{}", latchkey_domain::secret::okta_style_id("")));
    let output = latchkey()
        .args(["serve", "--dev"])
        .env("LATCHKEY_DATA_DIR", &dir)
        .env("LATCHKEY_LISTEN", format!("127.0.0.1:{port}"))
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot listen"), "{}", String::from_utf8_lossy(&output.stderr));

    let output = latchkey()
        .args(["serve", "--dev"])
        .env("LATCHKEY_DATA_DIR", &dir)
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("database"), "{}", String::from_utf8_lossy(&output.stderr));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dev_mode_prints_the_url_serves_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("latchkey-bin-{}", latchkey_domain::secret::okta_style_id("")));
    let mut child = latchkey()
        .args(["serve", "--dev"])
        .env("LATCHKEY_DATA_DIR", &dir)
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let url = line.trim().strip_prefix("listening on ").expect("the ready line").to_owned();
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let status = rt.block_on(async { reqwest::get(format!("{url}/readyz")).await.expect("req").status() });
    assert_eq!(status, 200);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "SIGTERM ends the server cleanly: {exit:?}");
    assert!(dir.join("master.key").exists() && dir.join("latchkey.db").exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// The README's walkthrough (`docs/recovery-with-curl.sh`) works against the real binary.
#[test]
fn the_readme_curl_walkthrough_recovers_and_signs_in() {
    let dir = std::env::temp_dir().join(format!("latchkey-walk-{}", latchkey_domain::secret::okta_style_id("")));
    let token = "walkthrough-admin-token-0123456789abcdef";
    let mut child = latchkey()
        .args(["serve", "--dev"])
        .env("LATCHKEY_DATA_DIR", &dir)
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_ADMIN_TOKEN", token)
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read");
    let url = line.trim().strip_prefix("listening on ").expect("the ready line").to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/recovery-with-curl.sh");
    let output =
        Command::new("bash").arg(script).arg(&url).arg(&dir).env("LATCHKEY_ADMIN_TOKEN", token).output().expect("run the walkthrough");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("signed in with the new password"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}
