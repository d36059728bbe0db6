//! The set-password page's words in the five languages the widget and the other hosted pages
//! speak (issue 13, item 8), and the rule that picks one: OIDC's `ui_locales` (on the link or
//! carried by the form), then the account's `locale`, then `Accept-Language`, then English.
use axum::http::HeaderMap;
use latchkey_domain::PolicyViolation;

pub struct Text {
    pub title: &'static str,
    /// `{login}` is replaced by the escaped login, in bold.
    pub intro: &'static str,
    pub requirements: &'static str,
    pub new_password: &'static str,
    pub repeat: &'static str,
    pub submit: &'static str,
    pub mismatch: &'static str,
    pub empty: &'static str,
    pub busy: &'static str,
    pub done_title: &'static str,
    pub done_text: &'static str,
    pub expired_title: &'static str,
    pub expired_text: &'static str,
    pub refused_title: &'static str,
    pub refused_text: &'static str,
    /// `{0}` is the number.
    pub at_least: &'static str,
    pub at_most: &'static str,
    pub hard_to_guess: &'static str,
    pub no_username: &'static str,
}

const EN: Text = Text {
    title: "Set your password",
    intro: "Choose a password for {login}.",
    requirements: "Password requirements",
    new_password: "New password",
    repeat: "Repeat the new password",
    submit: "Set password",
    mismatch: "The two passwords are not the same.",
    empty: "Enter a password.",
    busy: "The server is busy. Please try again in a moment.",
    done_title: "Password set",
    done_text: "Your password is set. Sign in from your application with your new password.",
    expired_title: "Link expired",
    expired_text: "This link has expired, was already used, or was replaced by a newer one. Ask your administrator for a new link.",
    refused_title: "Request refused",
    refused_text: "This form can only be sent from its own page. Open the link from your email again.",
    at_least: "At least {0} characters",
    at_most: "At most {0} characters",
    hard_to_guess: "Not a common password or one that is easy to guess",
    no_username: "Does not contain your username",
};

const FR: Text = Text {
    title: "Définir votre mot de passe",
    intro: "Choisissez un mot de passe pour {login}.",
    requirements: "Exigences du mot de passe",
    new_password: "Nouveau mot de passe",
    repeat: "Confirmer le nouveau mot de passe",
    submit: "Définir le mot de passe",
    mismatch: "Les deux mots de passe ne sont pas identiques.",
    empty: "Saisissez un mot de passe.",
    busy: "Le serveur est occupé. Réessayez dans un instant.",
    done_title: "Mot de passe défini",
    done_text: "Votre mot de passe est défini. Connectez-vous depuis votre application avec votre nouveau mot de passe.",
    expired_title: "Lien expiré",
    expired_text:
        "Ce lien a expiré, a déjà été utilisé ou a été remplacé par un lien plus récent. Demandez un nouveau lien à votre administrateur.",
    refused_title: "Demande refusée",
    refused_text: "Ce formulaire ne peut être envoyé que depuis sa propre page. Rouvrez le lien de votre e-mail.",
    at_least: "Au moins {0} caractères",
    at_most: "Au plus {0} caractères",
    hard_to_guess: "Pas un mot de passe courant ni facile à deviner",
    no_username: "Ne contient pas votre nom d’utilisateur",
};

const DE: Text = Text {
    title: "Passwort festlegen",
    intro: "Wählen Sie ein Passwort für {login}.",
    requirements: "Passwortanforderungen",
    new_password: "Neues Passwort",
    repeat: "Neues Passwort wiederholen",
    submit: "Passwort festlegen",
    mismatch: "Die beiden Passwörter stimmen nicht überein.",
    empty: "Geben Sie ein Passwort ein.",
    busy: "Der Server ist ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
    done_title: "Passwort festgelegt",
    done_text: "Ihr Passwort ist festgelegt. Melden Sie sich in Ihrer Anwendung mit dem neuen Passwort an.",
    expired_title: "Link abgelaufen",
    expired_text: "Dieser Link ist abgelaufen, wurde bereits verwendet oder durch einen neueren ersetzt. Bitten Sie Ihren Administrator um einen neuen Link.",
    refused_title: "Anfrage abgelehnt",
    refused_text: "Dieses Formular kann nur von seiner eigenen Seite gesendet werden. Öffnen Sie den Link aus Ihrer E-Mail erneut.",
    at_least: "Mindestens {0} Zeichen",
    at_most: "Höchstens {0} Zeichen",
    hard_to_guess: "Kein gängiges oder leicht zu erratendes Passwort",
    no_username: "Enthält nicht Ihren Benutzernamen",
};

const ES: Text = Text {
    title: "Establezca su contraseña",
    intro: "Elija una contraseña para {login}.",
    requirements: "Requisitos de la contraseña",
    new_password: "Contraseña nueva",
    repeat: "Repita la contraseña nueva",
    submit: "Establecer contraseña",
    mismatch: "Las dos contraseñas no coinciden.",
    empty: "Introduzca una contraseña.",
    busy: "El servidor está ocupado. Inténtelo de nuevo en un momento.",
    done_title: "Contraseña establecida",
    done_text: "Su contraseña está establecida. Inicie sesión desde su aplicación con la contraseña nueva.",
    expired_title: "Enlace caducado",
    expired_text: "Este enlace ha caducado, ya se usó o fue sustituido por uno más reciente. Pida un enlace nuevo a su administrador.",
    refused_title: "Solicitud rechazada",
    refused_text: "Este formulario solo se puede enviar desde su propia página. Vuelva a abrir el enlace de su correo.",
    at_least: "Al menos {0} caracteres",
    at_most: "Como máximo {0} caracteres",
    hard_to_guess: "No es una contraseña común ni fácil de adivinar",
    no_username: "No contiene su nombre de usuario",
};

const JA: Text = Text {
    title: "パスワードの設定",
    intro: "{login} のパスワードを選択してください。",
    requirements: "パスワードの要件",
    new_password: "新しいパスワード",
    repeat: "新しいパスワード（確認）",
    submit: "パスワードを設定",
    mismatch: "2 つのパスワードが一致しません。",
    empty: "パスワードを入力してください。",
    busy: "サーバーが混み合っています。しばらくしてからもう一度お試しください。",
    done_title: "パスワードを設定しました",
    done_text: "パスワードを設定しました。新しいパスワードでアプリケーションからサインインしてください。",
    expired_title: "リンクの有効期限切れ",
    expired_text:
        "このリンクは有効期限が切れたか、すでに使用されたか、新しいリンクに置き換えられました。管理者に新しいリンクを依頼してください。",
    refused_title: "リクエストが拒否されました",
    refused_text: "このフォームは専用のページからのみ送信できます。メールのリンクをもう一度開いてください。",
    at_least: "{0} 文字以上",
    at_most: "{0} 文字以下",
    hard_to_guess: "よく使われるパスワードや推測しやすいパスワードではない",
    no_username: "ユーザー名を含まない",
};

/// The words for `lang`, one of [`super::language::SUPPORTED`] (English otherwise).
pub fn text(lang: &str) -> &'static Text {
    match lang {
        "fr" => &FR,
        "de" => &DE,
        "es" => &ES,
        "ja" => &JA,
        _ => &EN,
    }
}

/// `ui_locales` (space-separated, in order of preference), then the account's locale, then the
/// browser's `Accept-Language`.
pub fn pick(ui_locales: Option<&str>, account_locale: Option<&str>, headers: &HeaderMap) -> &'static str {
    ui_locales
        .into_iter()
        .flat_map(str::split_whitespace)
        .chain(account_locale)
        .find_map(super::language::supported)
        .unwrap_or_else(|| super::language::from_headers(headers))
}

impl Text {
    /// One rule of the policy, as the requirement list and the error list show it. zxcvbn's own
    /// advice is English: it is added only to the English text.
    pub fn violation(&self, lang: &str, violation: &PolicyViolation) -> String {
        match violation {
            PolicyViolation::TooShort { min } => self.at_least.replace("{0}", &min.to_string()),
            PolicyViolation::TooLong { max } => self.at_most.replace("{0}", &max.to_string()),
            PolicyViolation::TooGuessable { reason } if lang == "en" && !reason.is_empty() => {
                format!("{}: {reason}", self.hard_to_guess)
            }
            PolicyViolation::TooGuessable { .. } => self.hard_to_guess.to_owned(),
            PolicyViolation::ContainsLogin => self.no_username.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_win_then_the_account_then_the_browser() {
        let mut headers = HeaderMap::new();
        headers.insert("accept-language", "es-ES, en;q=0.5".parse().expect("valid"));
        assert_eq!(pick(Some("pt-BR ja"), Some("fr_FR"), &headers), "ja");
        assert_eq!(pick(Some("pt-BR"), Some("fr_FR"), &headers), "fr");
        assert_eq!(pick(None, Some("xx"), &headers), "es");
        assert_eq!(pick(None, None, &HeaderMap::new()), "en");
    }

    #[test]
    fn every_language_names_every_rule_with_its_number() {
        for lang in super::super::language::SUPPORTED {
            let t = text(lang);
            assert!(t.violation(lang, &PolicyViolation::TooShort { min: 15 }).contains("15"), "{lang}");
            assert!(t.violation(lang, &PolicyViolation::TooLong { max: 128 }).contains("128"), "{lang}");
            assert!(t.intro.contains("{login}"), "{lang}");
        }
        assert_ne!(text("ja").title, text("en").title);
    }
}
