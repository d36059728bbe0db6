//! Points the ForgotPassword email at the sample app (the recipe's link), in every language
//! Latchkey ships, through Okta's email customization API:
//! `/api/v1/brands/{brandId}/templates/email/ForgotPassword/customizations`, bodies
//! `{"language","subject","body","isDefault"}`. Okta answers 409 when a language already has a
//! customization, so an existing one is updated in place (`PUT …/customizations/{id}`).
use serde_json::{json, Value};

use super::provision::Admin;

const PATH: &str = "/api/v1/brands/default/templates/email/ForgotPassword/customizations";

/// (language, subject, greeting, explanation, button, code label, closing).
const TEXTS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    (
        "en",
        "Reset your password",
        "Hello ${user.profile.firstName},",
        "Open this link in the browser where you asked to reset your password:",
        "Reset my password",
        "Or enter this code:",
        "If you did not ask for this, you can ignore this email.",
    ),
    (
        "fr",
        "Réinitialisez votre mot de passe",
        "Bonjour ${user.profile.firstName},",
        "Ouvrez ce lien dans le navigateur où vous avez demandé la réinitialisation :",
        "Réinitialiser mon mot de passe",
        "Ou saisissez ce code :",
        "Si vous n'avez rien demandé, ignorez cet e-mail.",
    ),
    (
        "de",
        "Passwort zurücksetzen",
        "Hallo ${user.profile.firstName},",
        "Öffnen Sie diesen Link in dem Browser, in dem Sie das Zurücksetzen angefordert haben:",
        "Passwort zurücksetzen",
        "Oder geben Sie diesen Code ein:",
        "Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail.",
    ),
    (
        "es",
        "Restablezca su contraseña",
        "Hola, ${user.profile.firstName}:",
        "Abra este enlace en el navegador donde solicitó restablecer la contraseña:",
        "Restablecer mi contraseña",
        "O introduzca este código:",
        "Si no lo solicitó, ignore este correo.",
    ),
    (
        "ja",
        "パスワードの再設定",
        "${user.profile.firstName} 様",
        "パスワードの再設定を申請したブラウザーでこのリンクを開いてください：",
        "パスワードを再設定する",
        "または次のコードを入力してください：",
        "お心当たりがない場合は、このメールを無視してください。",
    ),
];

/// The recipe's link: `${oneTimePassword}` and `${request.relayState}` (the `state` the app
/// sent at interact) are percent-encoded by the template engine inside the URL query.
pub fn link(app_public_url: &str) -> String {
    format!("{}/magic-link/callback?otp=${{oneTimePassword}}&state=${{request.relayState}}", app_public_url.trim_end_matches('/'))
}

fn customization(language: &str, app_public_url: &str) -> Option<Value> {
    let (lang, subject, hello, explain, button, code, closing) = TEXTS.iter().find(|t| t.0 == language)?;
    let body = format!(
        "<p>{hello}</p><p>{explain}</p><p><a id=\"reset-link\" href=\"{link}\">{button}</a></p>\
         <p>{code} <strong>${{oneTimePassword}}</strong></p><p>{closing}</p>",
        link = link(app_public_url)
    );
    Some(json!({"language": lang, "subject": subject, "body": body, "isDefault": false}))
}

/// Creates or updates the five customizations. `Err` is a message for the operator: the demo
/// still runs, with the built-in email (whose link goes to Latchkey's own reset page).
pub async fn customize_forgot_password(admin: &Admin, app_public_url: &str) -> Result<(), String> {
    let (status, existing) = admin.send(reqwest::Method::GET, PATH, None).await?;
    if status == 404 || status == 405 {
        return Err("the email customization API is not available in this build: ForgotPassword emails keep the built-in link to Latchkey's own reset page instead of the app's /magic-link/callback".to_owned());
    }
    if status != 200 {
        return Err(format!("listing the ForgotPassword customizations failed (HTTP {status})"));
    }
    let existing = existing.as_array().cloned().unwrap_or_default();
    // Okta allows one default per template and refuses a second (409).
    let has_default = existing.iter().any(|c| c["isDefault"] == true);
    for (language, ..) in TEXTS {
        let mut wanted = customization(language, app_public_url).expect("every language of TEXTS has a text");
        wanted["isDefault"] = json!(*language == "en" && !has_default);
        let current = existing.iter().find(|c| c["language"] == *language);
        let (status, body) = match current {
            Some(c) if c["subject"] == wanted["subject"] && c["body"] == wanted["body"] => continue,
            Some(c) => {
                let id = c["id"].as_str().ok_or("a customization without an id")?;
                // Keep whichever customization is the default now: Okta refuses un-defaulting it.
                wanted["isDefault"] = c["isDefault"].clone();
                admin.send(reqwest::Method::PUT, &format!("{PATH}/{id}"), Some(wanted)).await?
            }
            None => admin.send(reqwest::Method::POST, PATH, Some(wanted)).await?,
        };
        if !(200..300).contains(&status) {
            return Err(format!("the {language} ForgotPassword customization was refused (HTTP {status}): {}", body["errorCauses"]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::routing::{get, put};
    use axum::{Json, Router};
    use latchkey_template::{parse, Context, OutputMode};

    use super::*;

    #[test]
    fn every_language_links_to_the_app_with_documented_names_only() {
        let languages: Vec<&str> = TEXTS.iter().map(|t| t.0).collect();
        assert_eq!(languages, latchkey_email::LANGUAGES, "one customization per shipped language");
        for language in languages {
            let wanted = customization(language, "http://127.0.0.1:3000/").expect("a text");
            for part in ["subject", "body"] {
                let template = parse(wanted[part].as_str().expect("a string")).expect("the template parses");
                template.check_names(latchkey_email::is_documented_variable).expect("only documented variables");
            }
            let body = parse(wanted["body"].as_str().expect("body")).expect("parses");
            let context = Context::new(chrono::Utc::now())
                .with("oneTimePassword", "123456")
                .with("request.relayState", "a&b c")
                .with("user.profile.firstName", "Ada");
            let html = body.render(&context, OutputMode::Html).expect("renders");
            assert!(html.contains(r#"href="http://127.0.0.1:3000/magic-link/callback?otp=123456&state=a%26b%20c""#), "{language}: {html}");
            assert!(html.contains("<strong>123456</strong>"), "{language}: the code is in the body too");
        }
    }

    /// Okta's semantics, as far as the demo relies on them: one customization per language,
    /// one default (the first is made default), 409 on conflicts.
    #[derive(Default)]
    struct Mock {
        items: Vec<Value>,
        posts: usize,
        puts: usize,
    }

    type Shared = Arc<Mutex<Mock>>;

    async fn list(State(m): State<Shared>) -> Json<Value> {
        Json(Value::Array(m.lock().expect("lock").items.clone()))
    }

    async fn create(State(m): State<Shared>, Json(mut body): Json<Value>) -> (StatusCode, Json<Value>) {
        let mut m = m.lock().expect("lock");
        m.posts += 1;
        let duplicate = m.items.iter().any(|c| c["language"] == body["language"]);
        let second_default = body["isDefault"] == true && m.items.iter().any(|c| c["isDefault"] == true);
        if duplicate || second_default {
            return (StatusCode::CONFLICT, Json(json!({"errorCode": "E0000182"})));
        }
        body["id"] = json!(format!("oel{}", m.items.len()));
        if m.items.is_empty() {
            body["isDefault"] = json!(true);
        }
        m.items.push(body.clone());
        (StatusCode::CREATED, Json(body))
    }

    async fn update(State(m): State<Shared>, Path(id): Path<String>, Json(mut body): Json<Value>) -> (StatusCode, Json<Value>) {
        let mut m = m.lock().expect("lock");
        m.puts += 1;
        let Some(index) = m.items.iter().position(|c| c["id"] == id.as_str()) else {
            return (StatusCode::NOT_FOUND, Json(json!({})));
        };
        if m.items[index]["isDefault"] == true && body["isDefault"] != true {
            return (StatusCode::CONFLICT, Json(json!({"errorCode": "E0000183"})));
        }
        body["id"] = json!(id);
        m.items[index] = body.clone();
        (StatusCode::OK, Json(body))
    }

    async fn serve(router: Router) -> Admin {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Admin { base, token: "unused".to_owned(), http: reqwest::Client::new() }
    }

    #[tokio::test]
    async fn customizing_creates_five_once_then_updates_in_place() {
        let mock = Shared::default();
        let router =
            Router::new().route(PATH, get(list).post(create)).route(&format!("{PATH}/{{id}}"), put(update)).with_state(mock.clone());
        let admin = serve(router).await;

        customize_forgot_password(&admin, "http://127.0.0.1:3000").await.expect("first run");
        customize_forgot_password(&admin, "http://127.0.0.1:3000").await.expect("second run");
        {
            let m = mock.lock().expect("lock");
            assert_eq!((m.items.len(), m.posts, m.puts), (5, 5, 0), "the second run changes nothing");
            let defaults: Vec<&Value> = m.items.iter().filter(|c| c["isDefault"] == true).collect();
            assert_eq!(defaults.len(), 1);
            assert_eq!(defaults[0]["language"], "en");
        }

        customize_forgot_password(&admin, "http://127.0.0.1:4000").await.expect("a new app URL");
        let m = mock.lock().expect("lock");
        assert_eq!((m.items.len(), m.puts), (5, 5), "updated in place");
        assert!(m.items.iter().all(|c| c["body"].as_str().is_some_and(|b| b.contains("http://127.0.0.1:4000/magic-link/callback?"))));
        assert_eq!(m.items.iter().filter(|c| c["isDefault"] == true).count(), 1);
    }

    #[tokio::test]
    async fn a_build_without_the_api_gets_a_clear_message() {
        let admin = serve(Router::new()).await;
        let message = customize_forgot_password(&admin, "http://127.0.0.1:3000").await.expect_err("no API");
        assert!(message.contains("not available"), "{message}");
    }
}
