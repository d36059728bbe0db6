//! `/dev/mailbox`: in development (`serve --dev`, `demo`) the emails the server wrote to
//! `{DATA_DIR}/mailbox/*.eml`, newest first, each openable with its HTML part in a sandboxed
//! frame that may run no script, its text part, and a "copy link" button per link. Never
//! routed outside development mode.
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
use axum::Router;

use super::page::{content_page, escape, message_page, secure_with_csp};
use crate::http::serve::LocalAddr;
use crate::state::AppState;

/// Most messages listed at once.
const LIST_LIMIT: usize = 200;
/// The framed message may show inline styles and images, and run nothing.
const MESSAGE_CSP: &str = "sandbox; default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; frame-ancestors 'self'";
const COPY_SCRIPT: &str = "document.querySelectorAll('button[data-link]').forEach(function (b) { b.addEventListener('click', function () { navigator.clipboard.writeText(b.getAttribute('data-link')).then(function () { b.textContent = 'Copied'; }); }); });";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/mailbox", get(list))
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

#[tracing::instrument(name = "dev.mailbox.list", skip_all)]
async fn list(State(state): State<AppState>) -> Response {
    let dir = mailbox_dir(&state);
    let rows = tokio::task::spawn_blocking(move || {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| resolve(&dir, n).is_some())
                    .collect()
            })
            .unwrap_or_default();
        // Names start with the delivery time in milliseconds: the newest sort last.
        names.sort_unstable_by(|a, b| b.cmp(a));
        names.truncate(LIST_LIMIT);
        names
            .into_iter()
            .filter_map(|name| resolve(&dir, &name).and_then(|p| read(&p)).map(|mail| (name, mail)))
            .map(|(name, mail)| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td><a href=\"/dev/mailbox/{}\">{}</a></td></tr>",
                    escape(&mail.date),
                    escape(&mail.to),
                    escape(&name),
                    escape(if mail.subject.is_empty() { "(no subject)" } else { &mail.subject })
                )
            })
            .collect::<String>()
    })
    .await
    .unwrap_or_default();
    let content = if rows.is_empty() {
        "<p>No messages yet. Emails the server sends in development mode appear here.</p>".to_owned()
    } else {
        format!("<table><thead><tr><th>Time</th><th>To</th><th>Subject</th></tr></thead><tbody>{rows}</tbody></table>")
    };
    content_page(StatusCode::OK, "en", "Development mailbox", &content, None)
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

#[tracing::instrument(name = "dev.mailbox.show", skip_all)]
async fn show(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    let dir = mailbox_dir(&state);
    let lookup = name.clone();
    let Ok(Some(mail)) = tokio::task::spawn_blocking(move || resolve(&dir, &lookup).and_then(|p| read(&p))).await else {
        return not_found();
    };
    let text = mail.text.unwrap_or_default();
    let links: String = links_in(&text)
        .iter()
        .map(|l| format!("<li><code>{l}</code> <button type=\"button\" data-link=\"{l}\">Copy link</button></li>", l = escape(l)))
        .collect();
    let frame = if mail.html.is_some() {
        format!("<h2>HTML</h2><iframe src=\"/dev/mailbox/{}/html\" sandbox title=\"HTML part\" style=\"width:100%;height:32rem;border:1px solid #ccc\"></iframe>", escape(&name))
    } else {
        String::new()
    };
    let content = format!(
        "<p><a href=\"/dev/mailbox\">← All messages</a></p><dl><dt>Time</dt><dd>{}</dd><dt>To</dt><dd>{}</dd><dt>Subject</dt><dd>{}</dd></dl>\
         <h2>Links</h2><ul>{links}</ul>{frame}<h2>Text</h2><pre>{}</pre>",
        escape(&mail.date),
        escape(&mail.to),
        escape(&mail.subject),
        escape(&text),
    );
    let mut response = content_page(StatusCode::OK, "en", &mail.subject, &content, Some(COPY_SCRIPT));
    // The page frames its own message route, and nothing else.
    let csp =
        response.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).map(|v| format!("{v}; frame-src 'self'"));
    if let Some(value) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The HTML part itself, for the sandboxed frame.
#[tracing::instrument(name = "dev.mailbox.html", skip_all)]
async fn html(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    let dir = mailbox_dir(&state);
    let Ok(Some(html)) = tokio::task::spawn_blocking(move || resolve(&dir, &name).and_then(|p| read(&p)).and_then(|m| m.html)).await else {
        return not_found();
    };
    let mut response = secure_with_csp(Html(html).into_response(), MESSAGE_CSP);
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
