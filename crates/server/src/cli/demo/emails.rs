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
    ("en", "Reset your password", "Hello ${user.profile.firstName},",
     "Open this link in the browser where you asked to reset your password:", "Reset my password",
     "Or enter this code:", "If you did not ask for this, you can ignore this email."),
    ("fr", "Réinitialisez votre mot de passe", "Bonjour ${user.profile.firstName},",
     "Ouvrez ce lien dans le navigateur où vous avez demandé la réinitialisation :", "Réinitialiser mon mot de passe",
     "Ou saisissez ce code :", "Si vous n'avez rien demandé, ignorez cet e-mail."),
    ("de", "Passwort zurücksetzen", "Hallo ${user.profile.firstName},",
     "Öffnen Sie diesen Link in dem Browser, in dem Sie das Zurücksetzen angefordert haben:", "Passwort zurücksetzen",
     "Oder geben Sie diesen Code ein:", "Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail."),
    ("es", "Restablezca su contraseña", "Hola, ${user.profile.firstName}:",
     "Abra este enlace en el navegador donde solicitó restablecer la contraseña:", "Restablecer mi contraseña",
     "O introduzca este código:", "Si no lo solicitó, ignore este correo."),
    ("ja", "パスワードの再設定", "${user.profile.firstName} 様",
     "パスワードの再設定を申請したブラウザーでこのリンクを開いてください：", "パスワードを再設定する",
     "または次のコードを入力してください：", "お心当たりがない場合は、このメールを無視してください。"),
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
