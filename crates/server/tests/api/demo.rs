//! `latchkey demo` as a person runs it: the real binary, its printed lines, its URLs, SIGINT.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::TempDir;

const KEYS: [&str; 8] = ["app", "mailbox", "issuer", "user", "password", "admin-token", "recovery-mail-gap", "recovery-mail-per-hour"];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

struct Demo {
    child: Child,
    lines: HashMap<String, String>,
    /// Everything the process wrote to stderr so far (its log).
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Starts the binary as a person would (no `RUST_LOG`) and reads its `key: value` lines.
fn start(data_dir: &std::path::Path, server_port: u16, app_port: u16) -> Demo {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("LATCHKEY_") || name.starts_with("APP_") || name == "RUST_LOG") {
        command.env_remove(name);
    }
    let mut child = command
        .arg("demo")
        .env("LATCHKEY_DATA_DIR", data_dir)
        .env("LATCHKEY_LISTEN", format!("127.0.0.1:{server_port}"))
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .env("APP_LISTEN", format!("127.0.0.1:{app_port}"))
        .env("APP_PUBLIC_URL", format!("http://127.0.0.1:{app_port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the latchkey binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            sink.lock().expect("log lock").push_str(&format!("{line}\n"));
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines.len() < KEYS.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("demo printed only {lines:?}"));
        if let Some((key, value)) = line.split_once(": ") {
            lines.insert(key.to_owned(), value.to_owned());
        }
    }
    Demo { child, lines, log }
}

fn interrupt_and_wait(mut demo: Demo) {
    let status = Command::new("kill").args(["-INT", &demo.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = demo.child.try_wait().expect("wait") {
            assert!(status.success(), "the demo exits cleanly on SIGINT: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "the demo did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_its_urls_answers_on_them_stops_on_sigint_and_restarts_the_same() {
    let data_dir =
        TempDir(std::env::temp_dir().join(format!("latchkey-demo-{}", latchkey_domain::secret::okta_style_id("").to_lowercase())));
    let (server_port, app_port) = (free_port(), free_port());
    let demo = start(&data_dir.0, server_port, app_port);
    let lines = demo.lines.clone();
    assert_eq!(lines["app"], format!("http://127.0.0.1:{app_port}"));
    assert_eq!(lines["issuer"], format!("http://127.0.0.1:{server_port}/oauth2/default"));
    assert_eq!(lines["mailbox"], format!("http://127.0.0.1:{server_port}/dev/mailbox"));
    assert_eq!(lines["user"], "demo@example.com");
    assert!(lines["password"].len() >= 15 && lines["admin-token"].len() >= 32);
    // The most permissive mail limits inside the safe floors, printed (issue 13).
    assert_eq!((lines["recovery-mail-gap"].as_str(), lines["recovery-mail-per-hour"].as_str()), ("10 s", "20"));

    let http = reqwest::Client::new();
    let home = http.get(&lines["app"]).send().await.expect("the app answers");
    assert_eq!(home.status(), 200);
    let login = http.get(format!("{}/login", lines["app"])).send().await.expect("the login page");
    assert_eq!(login.status(), 200, "interact works with the registered client");
    let discovery = http.get(format!("{}/.well-known/openid-configuration", lines["issuer"])).send().await.expect("discovery");
    assert_eq!(discovery.status(), 200);
    // Being built by the email work: answers, whatever its status today.
    http.get(&lines["mailbox"]).send().await.expect("the server answers on the mailbox URL");
    let me = http
        .get(format!("http://127.0.0.1:{server_port}/api/v1/users/demo@example.com"))
        .header("Authorization", format!("SSWS {}", lines["admin-token"]))
        .send()
        .await
        .expect("admin API");
    assert_eq!(me.status(), 200, "the printed admin token works and the user exists");
    // The printed lines are not buried in a request log: the demo logs warnings only.
    let log = demo.log.lock().expect("log lock").clone();
    assert!(!log.contains(" INFO "), "the demo's default log level is warn: {log}");
    #[cfg(unix)]
    for file in ["admin-token", "demo.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.0.join(file)).expect(file).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} is private");
    }
    interrupt_and_wait(demo);

    let again = start(&data_dir.0, server_port, app_port);
    assert_eq!(again.lines, lines, "a second run reprints the same values");
    let login = http.get(format!("{}/login", lines["app"])).send().await.expect("the login page");
    assert_eq!(login.status(), 200, "the client registered by the first run still works");
    interrupt_and_wait(again);
}
