//! The pages of the app. Every value is written through `escape` or `script_json`.
use axum::http::StatusCode;
use serde::Serialize;

use crate::html::{escape, script_json};
use crate::oidc::WidgetAssets;
use crate::page::Page;
use crate::session::{SignedInUser, WidgetConfig};

pub fn home(user: Option<(&SignedInUser, &str)>) -> Page {
    let body = match user {
        Some((user, csrf_token)) => format!(
            "<h1>Signed in</h1><p class=\"notice\" id=\"signed-in\">Welcome, <strong id=\"name\">{name}</strong> \
             (<span id=\"email\">{email}</span>).</p>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
             <button type=\"submit\">Sign out</button></form>",
            name = escape(user.name.as_deref().unwrap_or(&user.subject)),
            email = escape(user.email.as_deref().unwrap_or("no email shared")),
            csrf = escape(csrf_token),
        ),
        None => "<h1>Welcome</h1><p>You are not signed in.</p><p><a id=\"sign-in\" href=\"/login\">Sign in</a></p>".to_owned(),
    };
    Page::new("Home").body(body)
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
    page.head = format!(
        "<link rel=\"stylesheet\" href=\"{}\" integrity=\"{}\" crossorigin=\"anonymous\">",
        escape(&assets.style_url),
        escape(&assets.style_integrity)
    );
    page.body = format!(
        "<h1>Sign in</h1><div id=\"sign-in-widget\"></div><p id=\"widget-error\" class=\"notice error\" hidden></p>\
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
/// (security-checklist LNK-3).
pub fn enter_otp_in_original_tab(otp: &str) -> Page {
    let mut page = Page::new("Enter the code");
    page.body = format!(
        "<h1>Almost there</h1><p class=\"notice\" id=\"otp-message\">Please enter the OTP '<code id=\"otp\">{otp}</code>' \
         in the original browser tab to finish the flow.</p><script nonce=\"{nonce}\">{FORGET_LINK}</script>",
        otp = escape(otp),
        nonce = page.nonce,
    );
    page
}

/// An OAuth error returned to a callback: shown as `error: error_description`, as text.
pub fn oauth_error(error: &str, description: &str) -> Page {
    Page::new("Sign-in error").status(StatusCode::BAD_REQUEST).body(format!(
        "<h1>Sign-in error</h1><p class=\"notice error\" id=\"error\">{}: {}</p><p><a href=\"/login\">Try again</a></p>",
        escape(error),
        escape(description)
    ))
}

pub fn problem(status: StatusCode, message: &str) -> Page {
    Page::new("Something went wrong").status(status).body(format!(
        "<h1>Something went wrong</h1><p class=\"notice error\" id=\"error\">{}</p><p><a href=\"/login\">Start again</a></p>",
        escape(message)
    ))
}

/// Removes `otp` and `state` from the address bar and history, so the code does not linger
/// in the browser's history or get shared with the URL (security-checklist LNK-4).
const FORGET_LINK: &str = "if (location.search) history.replaceState(null, '', location.pathname);";

const START_WIDGET: &str = "\
const options = JSON.parse(document.getElementById('widget-options').textContent);\
new LatchkeySignIn({ el: '#sign-in-widget', ...options }).showSignInAndRedirect().catch((err) => {\
  const box = document.getElementById('widget-error');\
  box.textContent = 'The sign-in widget stopped: ' + err.message; box.hidden = false;\
});";
