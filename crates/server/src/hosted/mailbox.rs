//! `/dev/mailbox`: in development (`serve --dev`, `demo`) the emails the server wrote to
//! `{DATA_DIR}/mailbox/*.eml`, newest first and refreshed while the page is open; each message
//! with its code large and copyable, its links as anchors that open a new tab, and its HTML part
//! (in a sandboxed frame that may run no script) or its text part. Never routed outside
//! development mode.
//!
//! Every recovery code and set-password link is on this page, so it is for the developer's own
//! machine only (finding 11a): it is routed only when the server listens on a loopback address
//! ([`served_on`]), and each request must also have arrived over loopback from loopback
//! ([`loopback_only`]) in case a forwarded port or a proxy brings someone else in.
//!
//! A name from the URL is used only if it looks like a file the mailbox transport writes
//! (`<millis>-<id>.eml`) and, once resolved, is still inside the mailbox directory.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::extract::{ConnectInfo, Path as UrlPath, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::page::{escape, message_page, secure_with_csp, wide_page};
use crate::http::serve::LocalAddr;
use crate::state::AppState;

/// Most messages listed at once.
const LIST_LIMIT: usize = 200;
/// The framed message may show inline styles and images, and run nothing; its links open a new
/// tab (the pages they point at refuse to be framed, rightly).
const MESSAGE_CSP: &str = "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src data: https:; \
                           style-src 'unsafe-inline'; frame-ancestors 'self'";
/// What the list says when nothing arrived yet.
const EMPTY: &str = "<p class=\"lkp-empty\" id=\"mailbox-empty\">No emails yet. In development mode every email this server \
                     sends lands here instead of going out: recovery codes and links, activation and set-password links, \
                     password-change notices and test emails. This page updates by itself when one arrives.</p>";
/// The list refreshes itself: it asks for the newest names and redraws the rows (as text).
const LIST_SCRIPT: &str = r#"(function () {
  var shown = document.getElementById('mailbox-status').getAttribute('data-latest') || '';
  function draw(rows) {
    var table = document.getElementById('mailbox-list'), empty = document.getElementById('mailbox-empty');
    if (!rows.length) return;
    if (empty) empty.hidden = true;
    table.hidden = false;
    var body = table.tBodies[0];
    body.replaceChildren();
    rows.forEach(function (m) {
      var tr = document.createElement('tr');
      [m.date, m.to].forEach(function (v) { var td = document.createElement('td'); td.textContent = v; tr.append(td); });
      var td = document.createElement('td'), a = document.createElement('a');
      a.href = '/dev/mailbox/' + encodeURIComponent(m.name); a.textContent = m.subject || '(no subject)';
      td.append(a); tr.append(td); body.append(tr);
    });
    document.getElementById('mailbox-status').textContent = rows.length + (rows.length === 1 ? ' message' : ' messages');
  }
  setInterval(function () {
    fetch('/dev/mailbox.json', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (rows) {
      var latest = rows.length ? rows[0].name : '';
      if (latest !== shown) { shown = latest; draw(rows); }
    }).catch(function () {});
  }, 2000);
}());"#;
/// Copy buttons, and the HTML/Text switch of a message.
const MESSAGE_SCRIPT: &str = r#"document.querySelectorAll('button[data-copy]').forEach(function (b) {
  b.addEventListener('click', function () {
    navigator.clipboard.writeText(b.getAttribute('data-copy')).then(function () { b.textContent = 'Copied'; });
  });
});
document.querySelectorAll('[role=tab]').forEach(function (tab) {
  tab.addEventListener('click', function () {
    document.querySelectorAll('[role=tab]').forEach(function (t) {
      var on = t === tab;
      t.setAttribute('aria-selected', String(on));
      document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    });
  });
});"#;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/mailbox", get(list))
        .route("/dev/mailbox.json", get(list_json))
        .route("/dev/mailbox/{name}", get(show))
        .route("/dev/mailbox/{name}/html", get(html))
        .layer(axum::middleware::from_fn(loopback_only))
}

/// Whether the mailbox may be routed on a server listening on `listen`; the error says why not,
/// for the start-up log.
pub fn served_on(listen: SocketAddr) -> Result<(), String> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    Err(format!(
        "the development mailbox (/dev/mailbox) is off: the server listens on {listen}, which is not a loopback address, and the mailbox shows every code and link it sent; listen on 127.0.0.1 to use it, or read {{DATA_DIR}}/mailbox/*.eml"
    ))
}

/// Answers as if the page did not exist unless both ends of the connection are loopback.
async fn loopback_only(request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr);
    let local = request.extensions().get::<LocalAddr>().map(|LocalAddr(addr)| *addr);
    if both_loopback(peer, local) {
        next.run(request).await
    } else {
        crate::http::not_found().await
    }
}

fn both_loopback(peer: Option<SocketAddr>, local: Option<SocketAddr>) -> bool {
    matches!((peer, local), (Some(peer), Some(local)) if peer.ip().is_loopback() && local.ip().is_loopback())
}

fn mailbox_dir(state: &AppState) -> PathBuf {
    state.settings.server.data_dir.join("mailbox")
}

/// The file `name` names inside `dir`, if the name is one the mailbox writes and the file is
/// really there (no `..`, no separators, no symlink out of the directory).
fn resolve(dir: &Path, name: &str) -> Option<PathBuf> {
    let plausible = name.len() <= 200
        && name.ends_with(".eml")
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.contains("..");
    if !plausible {
        return None;
    }
    let root = dir.canonicalize().ok()?;
    let path = root.join(name).canonicalize().ok()?;
    (path.starts_with(&root) && path.is_file()).then_some(path)
}

struct Mail {
    date: String,
    to: String,
    subject: String,
    text: Option<String>,
    html: Option<String>,
}

fn read(path: &Path) -> Option<Mail> {
    let raw = std::fs::read(path).ok()?;
    let parsed = mailparse::parse_mail(&raw).ok()?;
    let header =
        |name: &str| parsed.headers.iter().find(|h| h.get_key().eq_ignore_ascii_case(name)).map(|h| h.get_value()).unwrap_or_default();
    let mut mail = Mail { date: header("Date"), to: header("To"), subject: header("Subject"), text: None, html: None };
    let mut parts = vec![&parsed];
    while let Some(part) = parts.pop() {
        parts.extend(part.subparts.iter());
        match part.ctype.mimetype.as_str() {
            "text/plain" if mail.text.is_none() => mail.text = part.get_body().ok(),
            "text/html" if mail.html.is_none() => mail.html = part.get_body().ok(),
            _ => {}
        }
    }
    Some(mail)
}

fn not_found() -> Response {
    message_page(StatusCode::NOT_FOUND, "No such message", "The mailbox has no message by that name.")
}

/// One row of the list, as the page and its refresh see it.
#[derive(Serialize)]
struct Row {
    name: String,
    date: String,
    to: String,
    subject: String,
}

/// The newest messages first (names start with the delivery time in milliseconds).
async fn rows(state: &AppState) -> Vec<Row> {
    let dir = mailbox_dir(state);
    tokio::task::spawn_blocking(move || {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| resolve(&dir, n).is_some())
                    .collect()
            })
            .unwrap_or_default();
        names.sort_unstable_by(|a, b| b.cmp(a));
        names.truncate(LIST_LIMIT);
        names
            .into_iter()
            .filter_map(|name| resolve(&dir, &name).and_then(|p| read(&p)).map(|mail| (name, mail)))
            .map(|(name, mail)| Row { name, date: mail.date, to: mail.to, subject: mail.subject })
            .collect()
    })
    .await
    .unwrap_or_default()
}

#[tracing::instrument(name = "dev.mailbox.list", skip_all)]
async fn list(State(state): State<AppState>) -> Response {
    let rows = rows(&state).await;
    let body: String = rows
        .iter()
        .map(|row| {
            format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/dev/mailbox/{}\">{}</a></td></tr>",
                escape(&row.date),
                escape(&row.to),
                escape(&row.name),
                escape(if row.subject.is_empty() { "(no subject)" } else { &row.subject })
            )
        })
        .collect();
    let count = match rows.len() {
        1 => "1 message".to_owned(),
        n => format!("{n} messages"),
    };
    let content = format!(
        "<p class=\"lkp-muted\">Emails sent by this server in development mode, newest first. \
         <span id=\"mailbox-status\" role=\"status\" data-latest=\"{latest}\">{count}</span></p>{empty}\
         <table class=\"lkp-mail-list\" id=\"mailbox-list\"{hidden}><thead><tr><th scope=\"col\">Time</th><th scope=\"col\">To</th>\
         <th scope=\"col\">Subject</th></tr></thead><tbody>{body}</tbody></table>",
        empty = if rows.is_empty() { EMPTY } else { "" },
        hidden = if rows.is_empty() { " hidden" } else { "" },
        // The newest message the page was drawn with: its refresh redraws only when one is newer.
        latest = rows.first().map(|r| escape(&r.name)).unwrap_or_default(),
    );
    wide_page(StatusCode::OK, "Development mailbox", &content, Some(LIST_SCRIPT))
}

#[tracing::instrument(name = "dev.mailbox.list_json", skip_all)]
async fn list_json(State(state): State<AppState>) -> Response {
    let mut response = Json(rows(&state).await).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The links of a text part, in order, each once.
fn links_in(text: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let word = word.trim_start_matches(['(', '<']).trim_end_matches(['.', ')', '>', ',']);
        if (word.starts_with("https://") || word.starts_with("http://")) && !links.iter().any(|l| l == word) {
            links.push(word.to_owned());
        }
    }
    links
}

/// The one-time code of a message: the first run of 6 to 10 digits standing alone (the codes
/// `otp.digits` allows), as the text part writes it on a line of its own.
fn code_in(text: &str) -> Option<&str> {
    text.split(|c: char| !c.is_alphanumeric()).find(|w| (6..=10).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_digit()))
}

#[tracing::instrument(name = "dev.mailbox.show", skip_all)]
async fn show(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    let dir = mailbox_dir(&state);
    let lookup = name.clone();
    let Ok(Some(mail)) = tokio::task::spawn_blocking(move || resolve(&dir, &lookup).and_then(|p| read(&p))).await else {
        return not_found();
    };
    let text = mail.text.unwrap_or_default();
    let code = code_in(&text)
        .map(|code| {
            format!(
                "<h2 id=\"code-label\">Code</h2><div class=\"lkp-code-box\"><p class=\"lkp-code\" id=\"mail-code\" aria-labelledby=\"code-label\">{c}</p>\
                 <button type=\"button\" class=\"lkp-button\" data-copy=\"{c}\">Copy code</button></div>",
                c = escape(code)
            )
        })
        .unwrap_or_default();
    let links: String = links_in(&text)
        .iter()
        .map(|l| {
            format!(
                "<li><a href=\"{l}\" target=\"_blank\" rel=\"noopener noreferrer\">{l}</a> \
                 <button type=\"button\" class=\"lkp-button\" data-copy=\"{l}\">Copy link</button></li>",
                l = escape(l)
            )
        })
        .collect();
    let links = if links.is_empty() { String::new() } else { format!("<h2>Links</h2><ul class=\"lkp-links\">{links}</ul>") };
    // HTML first when there is one (what a mail client shows); the text part one click away.
    let views = match mail.html {
        Some(_) => format!(
            "<div class=\"lkp-tabs\" role=\"tablist\" aria-label=\"Message view\">\
             <button type=\"button\" class=\"lkp-button\" role=\"tab\" id=\"tab-html\" aria-controls=\"view-html\" aria-selected=\"true\">HTML</button>\
             <button type=\"button\" class=\"lkp-button\" role=\"tab\" id=\"tab-text\" aria-controls=\"view-text\" aria-selected=\"false\">Text</button></div>\
             <div id=\"view-html\" role=\"tabpanel\" aria-labelledby=\"tab-html\"><iframe class=\"lkp-frame\" src=\"/dev/mailbox/{n}/html\" \
             sandbox=\"allow-popups allow-popups-to-escape-sandbox\" title=\"The message as HTML\"></iframe></div>\
             <div id=\"view-text\" role=\"tabpanel\" aria-labelledby=\"tab-text\" hidden><pre>{t}</pre></div>",
            n = escape(&name),
            t = escape(&text),
        ),
        None => format!("<h2>Text</h2><pre>{}</pre>", escape(&text)),
    };
    let content = format!(
        "<p><a href=\"/dev/mailbox\">← All messages</a></p><dl class=\"lkp-meta\"><dt>Time</dt><dd>{}</dd><dt>To</dt><dd>{}</dd></dl>\
         {code}{links}{views}",
        escape(&mail.date),
        escape(&mail.to),
    );
    let subject = if mail.subject.is_empty() { "(no subject)" } else { &mail.subject };
    let mut response = wide_page(StatusCode::OK, subject, &content, Some(MESSAGE_SCRIPT));
    // The page frames its own message route, and nothing else.
    let csp =
        response.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).map(|v| format!("{v}; frame-src 'self'"));
    if let Some(value) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The HTML part itself, for the sandboxed frame, with its links sent to a new tab.
#[tracing::instrument(name = "dev.mailbox.html", skip_all)]
async fn html(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    let dir = mailbox_dir(&state);
    let Ok(Some(html)) = tokio::task::spawn_blocking(move || resolve(&dir, &name).and_then(|p| read(&p)).and_then(|m| m.html)).await else {
        return not_found();
    };
    let mut response = secure_with_csp(Html(format!("<base target=\"_blank\">{html}")).into_response(), MESSAGE_CSP);
    response.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn the_mailbox_is_served_only_on_a_loopback_listener() {
        for listen in ["127.0.0.1:8080", "127.0.0.2:0", "[::1]:8080"] {
            assert!(served_on(addr(listen)).is_ok(), "{listen}");
        }
        for listen in ["0.0.0.0:8080", "[::]:8080", "192.168.1.5:8080"] {
            let why = served_on(addr(listen)).expect_err(listen);
            assert!(why.contains(listen) && why.contains("loopback"), "{why}");
        }
    }

    #[test]
    fn each_request_must_come_over_loopback_from_loopback() {
        let local = Some(addr("127.0.0.1:8080"));
        assert!(both_loopback(Some(addr("127.0.0.1:50000")), local));
        assert!(!both_loopback(Some(addr("192.168.1.9:50000")), local), "a forwarded port");
        assert!(!both_loopback(Some(addr("127.0.0.1:50000")), Some(addr("192.168.1.5:8080"))));
        assert!(!both_loopback(None, local), "an unknown peer is not trusted");
    }

    #[test]
    fn the_code_is_the_first_run_of_six_to_ten_digits_standing_alone() {
        assert_eq!(code_in("Enter this code:\n\n    482913\n\nOr open https://x/?otp=482913"), Some("482913"));
        assert_eq!(code_in("id 12345 and 12345678901 and obx1234567"), None);
        assert_eq!(code_in("no code"), None);
    }

    #[test]
    fn names_never_escape_the_mailbox() {
        let dir = std::env::temp_dir().join(format!("latchkey-mailbox-{}", latchkey_domain::secret::okta_style_id("")));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("1-obx1.eml"), "Subject: x\r\n\r\nbody").expect("write");
        assert!(resolve(&dir, "1-obx1.eml").is_some());
        for bad in ["../1-obx1.eml", "..%2F1-obx1.eml", "/etc/passwd", ".hidden.eml", "1-obx1.eml/..", "nope.eml", "a..eml"] {
            assert!(resolve(&dir, bad).is_none(), "{bad}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
