//! The pages of the app. Every value is written through `escape` or `script_json`.
use axum::http::StatusCode;
use serde::Serialize;

use crate::html::{escape, script_json};
use crate::oidc::WidgetAssets;
use crate::page::Page;
use crate::session::{SignedInUser, WidgetConfig};

/// `signed_out`: the browser just came back from `/logout`, so the page confirms it.
pub fn home(user: Option<(&SignedInUser, &str)>, signed_out: bool) -> Page {
    let mut page = Page::new("Home");
    page.body = match user {
        // The widget page leaves a flag (not a secret) in this tab when the sign-in ended with a
        // new password; the home page confirms the change once and drops the flag.
        Some((user, csrf_token)) => format!(
            "<h1>Signed in</h1><p class=\"notice\" id=\"password-changed\" role=\"status\" hidden>Your password was changed.</p>\
             <p class=\"notice\" id=\"signed-in\">Welcome, <strong id=\"name\">{name}</strong> \
             (<span id=\"email\">{email}</span>).</p>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
             <button type=\"submit\">Sign out</button></form><script nonce=\"{nonce}\">{SHOW_PASSWORD_CHANGED}</script>",
            name = escape(user.name.as_deref().unwrap_or(&user.subject)),
            email = escape(user.email.as_deref().unwrap_or("no email shared")),
            csrf = escape(csrf_token),
            nonce = page.nonce,
        ),
        None => format!(
            "<h1>Welcome</h1>{}<p>You are not signed in.</p><p><a id=\"sign-in\" href=\"/login\">Sign in</a></p>",
            if signed_out { "<p class=\"notice\" id=\"signed-out\" role=\"status\">You signed out.</p>" } else { "" }
        ),
    };
    page
}

/// What the page hands to `new LatchkeySignIn(…)`: the configuration from `/login`, plus the
/// emailed `otp` and `state` when it is rendered by the magic-link callback.
#[derive(Serialize)]
struct WidgetOptions<'a> {
    #[serde(flatten)]
    config: &'a WidgetConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    otp: Option<&'a str>,
}

/// The sign-in widget. `showSignInAndRedirect` sends the browser to
/// `/login/callback?interaction_code=…&state=…` when IDX succeeds.
pub fn widget(config: &WidgetConfig, otp: Option<&str>, assets: &WidgetAssets, origin: String) -> Page {
    let mut page = Page::new("Sign in");
    let options = script_json(&WidgetOptions { config, otp });
    // The brand's theme from the identity server (its colours and logo over the widget's
    // stylesheet). It changes when an administrator changes the theme, so it has no SRI hash:
    // the CSP allows styles from that origin only.
    page.head = format!(
        "<link rel=\"stylesheet\" href=\"{}\" integrity=\"{}\" crossorigin=\"anonymous\">\
         <link rel=\"stylesheet\" href=\"{}/branding/v1/theme.css\">",
        escape(&assets.style_url),
        escape(&assets.style_integrity),
        escape(&origin),
    );
    page.body = format!(
        // No page heading of our own: the widget's heading says which step this is ("Sign in",
        // "Set a new password"), and a second one above it would contradict it.
        "<div id=\"sign-in-widget\"></div><p id=\"widget-error\" class=\"notice error\" hidden></p>\
         <script type=\"application/json\" id=\"widget-options\">{options}</script>\
         <script src=\"{src}\" integrity=\"{integrity}\" crossorigin=\"anonymous\" nonce=\"{nonce}\"></script>\
         <script nonce=\"{nonce}\">{FORGET_LINK}{START_WIDGET}</script>",
        src = escape(&assets.script_url),
        integrity = escape(&assets.script_integrity),
        nonce = page.nonce,
    );
    page.widget_origin = Some(origin);
    page
}

/// The recipe's answer when the link is opened where the sign-in did not start (another
/// browser, another device, or after the session expired): show the code, do nothing else
/// (security-checklist LNK-3). The page takes otp and state out of the address bar and keeps
/// the code in this tab's history entry, so a reload shows it again ([`incomplete_link`]).
pub fn enter_otp_in_original_tab(otp: &str) -> Page {
    let mut page = Page::new("Enter the code");
    page.body = format!(
        "{ALMOST_THERE_START}{otp}{ALMOST_THERE_END}<script nonce=\"{nonce}\">{KEEP_CODE}{FORGET_LINK}</script>",
        otp = escape(otp),
        nonce = page.nonce,
    );
    page
}

/// The callback with neither otp and state nor a sign-in of this browser's: a reload of the
/// "Almost there" page (whose code the tab's history entry kept: shown again, nothing stored
/// anywhere else), or a link cut short.
pub fn incomplete_link() -> Page {
    let mut page = Page::new("Something went wrong").status(StatusCode::BAD_REQUEST);
    page.body = format!(
        "<div id=\"incomplete\"><h1>Something went wrong</h1><p class=\"notice error\" id=\"error\">This link is incomplete: \
         it needs both otp and state.</p><p><a href=\"/login\">Start again</a></p></div>\
         <div id=\"kept\" hidden>{ALMOST_THERE_START}{ALMOST_THERE_END}</div><script nonce=\"{nonce}\">{SHOW_KEPT_CODE}</script>",
        nonce = page.nonce,
    );
    page
}

/// An OAuth error returned to a callback: shown as `error: error_description`, as text.
pub fn oauth_error(error: &str, description: &str) -> Page {
    let text = if description.is_empty() { escape(error) } else { format!("{}: {}", escape(error), escape(description)) };
    Page::new("Sign-in error")
        .status(StatusCode::BAD_REQUEST)
        .body(format!("<h1>Sign-in error</h1><p class=\"notice error\" id=\"error\">{text}</p><p><a href=\"/login\">Try again</a></p>"))
}

pub fn problem(status: StatusCode, message: &str) -> Page {
    Page::new("Something went wrong").status(status).body(format!(
        "<h1>Something went wrong</h1><p class=\"notice error\" id=\"error\">{}</p><p><a href=\"/login\">Start again</a></p>",
        escape(message)
    ))
}

/// Removes `otp` and `state` from the address bar and history, so the code does not linger
/// in the browser's history or get shared with the URL (security-checklist LNK-4).
const FORGET_LINK: &str = "if (location.search) history.replaceState(history.state, '', location.pathname);";

/// The recipe's sentence, with "code" where it said "OTP": people get a code, not an acronym.
const ALMOST_THERE_START: &str = "<h1>Almost there</h1><p class=\"notice\" id=\"otp-message\">Please enter the code '<code id=\"otp\">";
const ALMOST_THERE_END: &str = "</code>' in the original browser tab to finish the flow.</p>";

/// The code lives in this tab's history entry: it survives a reload of this entry only, and is
/// never written to web storage (security-checklist WEB-3), a cookie or the server.
const KEEP_CODE: &str = "history.replaceState({ magicLinkCode: document.getElementById('otp').textContent }, '');";
const SHOW_KEPT_CODE: &str = "\
const kept = history.state && history.state.magicLinkCode;\
if (typeof kept === 'string' && kept) {\
  document.getElementById('otp').textContent = kept;\
  document.getElementById('incomplete').remove();\
  document.getElementById('kept').hidden = false;\
  document.title = 'Enter the code · Magic link sample';\
}";

/// Which sign-ins ended with a new password: the home page confirms those (one flag,
/// `magic-link-sample.password-changed`, in this tab's sessionStorage; no code, no token).
const SHOW_PASSWORD_CHANGED: &str = "\
try { if (sessionStorage.getItem('magic-link-sample.password-changed')) {\
  sessionStorage.removeItem('magic-link-sample.password-changed');\
  document.getElementById('password-changed').hidden = false; } } catch (e) {}";

const START_WIDGET: &str = "\
const options = JSON.parse(document.getElementById('widget-options').textContent);\
const signIn = new LatchkeySignIn({ el: '#sign-in-widget', ...options });\
let resetting = false;\
signIn.on('afterRender', (context) => {\
  if (context.formName === 'reset-authenticator') resetting = true;\
  else if (context.formName === 'success' && resetting) { try { sessionStorage.setItem('magic-link-sample.password-changed', '1'); } catch (e) {} }\
  else resetting = false;\
});\
signIn.showSignInAndRedirect().catch((err) => {\
  const box = document.getElementById('widget-error');\
  box.textContent = 'The sign-in widget stopped: ' + err.message; box.hidden = false;\
});";
