//! The "Not you?" page's words in the five languages of the hosted pages. The language is
//! picked as on the set-password page (`set_password_text::pick`): `ui_locales`, then the
//! account's locale, then `Accept-Language`.
//!
//! Placeholders, replaced after escaping: `{login}` (in bold), `{time}` (when the notice's change
//! happened), `{since}` (24 hours before it), `{factor}` (the authenticator's name), `{n}`.
pub struct Text {
    pub title: &'static str,
    pub password_changed: &'static str,
    pub authenticator_enrolled: &'static str,
    pub authenticator_removed: &'static str,
    pub if_you: &'static str,
    pub if_not: &'static str,
    pub effect_sessions: &'static str,
    pub effect_factors: &'static str,
    pub button: &'static str,
    pub done_title: &'static str,
    pub done_sessions: &'static str,
    pub done_factors: &'static str,
    pub done_no_factors: &'static str,
    pub done_next: &'static str,
    pub sign_in_page: &'static str,
    pub unusable_title: &'static str,
    pub unusable_text: &'static str,
    pub refused_title: &'static str,
    pub refused_text: &'static str,
    /// An authenticator whose name Latchkey does not know.
    pub an_authenticator: &'static str,
}

const EN: Text = Text {
    title: "Was this you?",
    password_changed: "The password of {login} was changed on {time}.",
    authenticator_enrolled: "An authenticator ({factor}) was added to {login} on {time}.",
    authenticator_removed: "An authenticator ({factor}) was removed from {login} on {time}.",
    if_you: "If this was you, close this page: nothing has changed.",
    if_not: "If it wasn’t you, secure your account now. This will:",
    effect_sessions: "sign the account out everywhere: every session and every app’s tokens end",
    effect_factors: "remove every authenticator added since {since}",
    button: "This wasn’t me — secure my account",
    done_title: "Your account is secured",
    done_sessions: "Every session of your account has ended, and every app has to sign in again.",
    done_factors: "Authenticators added since {since} that were removed: {n}.",
    done_no_factors: "No authenticator was added since {since}, so none was removed.",
    done_next: "Now reset your password: on the sign-in page, choose “Forgot password?”. Then make sure your email account is secure, and tell your administrator what happened.",
    sign_in_page: "Go to the sign-in page",
    unusable_title: "Link not valid",
    unusable_text: "This link has expired, was already used, or is not valid. If you still think someone else is using your account, reset your password and contact your administrator.",
    refused_title: "Request refused",
    refused_text: "This form can only be sent from its own page. Open the link from your email again.",
    an_authenticator: "unknown type",
};

const FR: Text = Text {
    title: "Était-ce vous ?",
    password_changed: "Le mot de passe de {login} a été modifié le {time}.",
    authenticator_enrolled: "Une méthode d’authentification ({factor}) a été ajoutée à {login} le {time}.",
    authenticator_removed: "Une méthode d’authentification ({factor}) a été supprimée de {login} le {time}.",
    if_you: "Si c’était vous, fermez cette page : rien n’a été modifié.",
    if_not: "Si ce n’était pas vous, sécurisez votre compte maintenant. Cela va :",
    effect_sessions: "déconnecter le compte partout : toutes les sessions et les jetons de toutes les applications prennent fin",
    effect_factors: "supprimer toute méthode d’authentification ajoutée depuis le {since}",
    button: "Ce n’était pas moi — sécuriser mon compte",
    done_title: "Votre compte est sécurisé",
    done_sessions: "Toutes les sessions de votre compte ont pris fin, et chaque application devra se reconnecter.",
    done_factors: "Méthodes d’authentification ajoutées depuis le {since} et supprimées : {n}.",
    done_no_factors: "Aucune méthode d’authentification n’a été ajoutée depuis le {since} ; aucune n’a donc été supprimée.",
    done_next: "Réinitialisez maintenant votre mot de passe : sur la page de connexion, choisissez « Mot de passe oublié ? ». Vérifiez ensuite que votre messagerie est bien protégée et prévenez votre administrateur.",
    sign_in_page: "Aller à la page de connexion",
    unusable_title: "Lien non valide",
    unusable_text: "Ce lien a expiré, a déjà été utilisé ou n’est pas valide. Si vous pensez toujours que quelqu’un d’autre utilise votre compte, réinitialisez votre mot de passe et contactez votre administrateur.",
    refused_title: "Demande refusée",
    refused_text: "Ce formulaire ne peut être envoyé que depuis sa propre page. Rouvrez le lien de votre e-mail.",
    an_authenticator: "type inconnu",
};

const DE: Text = Text {
    title: "Waren Sie das?",
    password_changed: "Das Passwort von {login} wurde am {time} geändert.",
    authenticator_enrolled: "Eine Authentifizierungsmethode ({factor}) wurde am {time} zu {login} hinzugefügt.",
    authenticator_removed: "Eine Authentifizierungsmethode ({factor}) wurde am {time} aus {login} entfernt.",
    if_you: "Wenn Sie das waren, schließen Sie diese Seite: Es wurde nichts geändert.",
    if_not: "Wenn Sie es nicht waren, sichern Sie Ihr Konto jetzt. Dabei wird:",
    effect_sessions: "das Konto überall abgemeldet: Alle Sitzungen und die Tokens aller Apps enden",
    effect_factors: "jede seit {since} hinzugefügte Authentifizierungsmethode entfernt",
    button: "Das war ich nicht – Konto sichern",
    done_title: "Ihr Konto ist gesichert",
    done_sessions: "Alle Sitzungen Ihres Kontos wurden beendet, und jede App muss sich neu anmelden.",
    done_factors: "Seit {since} hinzugefügte und jetzt entfernte Authentifizierungsmethoden: {n}.",
    done_no_factors: "Seit {since} wurde keine Authentifizierungsmethode hinzugefügt, daher wurde keine entfernt.",
    done_next: "Setzen Sie jetzt Ihr Passwort zurück: Wählen Sie auf der Anmeldeseite „Passwort vergessen?“. Prüfen Sie danach, ob Ihr E-Mail-Konto sicher ist, und informieren Sie Ihren Administrator.",
    sign_in_page: "Zur Anmeldeseite",
    unusable_title: "Link ungültig",
    unusable_text: "Dieser Link ist abgelaufen, wurde bereits verwendet oder ist ungültig. Wenn Sie weiterhin glauben, dass jemand anderes Ihr Konto nutzt, setzen Sie Ihr Passwort zurück und wenden Sie sich an Ihren Administrator.",
    refused_title: "Anfrage abgelehnt",
    refused_text: "Dieses Formular kann nur von seiner eigenen Seite gesendet werden. Öffnen Sie den Link aus Ihrer E-Mail erneut.",
    an_authenticator: "unbekannter Typ",
};

const ES: Text = Text {
    title: "¿Has sido tú?",
    password_changed: "La contraseña de {login} se cambió el {time}.",
    authenticator_enrolled: "Se añadió un método de autenticación ({factor}) a {login} el {time}.",
    authenticator_removed: "Se eliminó un método de autenticación ({factor}) de {login} el {time}.",
    if_you: "Si has sido tú, cierra esta página: no ha cambiado nada.",
    if_not: "Si no has sido tú, protege tu cuenta ahora. Esto:",
    effect_sessions: "cerrará la sesión de la cuenta en todas partes: terminan todas las sesiones y los tokens de todas las aplicaciones",
    effect_factors: "eliminará todos los métodos de autenticación añadidos desde el {since}",
    button: "No he sido yo: proteger mi cuenta",
    done_title: "Tu cuenta está protegida",
    done_sessions: "Se han cerrado todas las sesiones de tu cuenta y todas las aplicaciones tendrán que volver a iniciar sesión.",
    done_factors: "Métodos de autenticación añadidos desde el {since} que se han eliminado: {n}.",
    done_no_factors: "No se añadió ningún método de autenticación desde el {since}, así que no se ha eliminado ninguno.",
    done_next: "Ahora restablece tu contraseña: en la página de inicio de sesión, elige «¿Has olvidado tu contraseña?». Después comprueba que tu cuenta de correo es segura y avisa a tu administrador.",
    sign_in_page: "Ir a la página de inicio de sesión",
    unusable_title: "Enlace no válido",
    unusable_text: "Este enlace ha caducado, ya se usó o no es válido. Si sigues pensando que otra persona usa tu cuenta, restablece tu contraseña y contacta con tu administrador.",
    refused_title: "Solicitud rechazada",
    refused_text: "Este formulario solo se puede enviar desde su propia página. Vuelve a abrir el enlace de tu correo.",
    an_authenticator: "tipo desconocido",
};

const JA: Text = Text {
    title: "ご本人による操作ですか？",
    password_changed: "{time} に {login} のパスワードが変更されました。",
    authenticator_enrolled: "{time} に {login} に認証方法（{factor}）が追加されました。",
    authenticator_removed: "{time} に {login} から認証方法（{factor}）が削除されました。",
    if_you: "ご本人による操作であれば、このページを閉じてください。何も変更されていません。",
    if_not: "お心当たりがない場合は、今すぐアカウントを保護してください。次の処理が行われます。",
    effect_sessions: "すべての場所でアカウントをサインアウトします（すべてのセッションとアプリのトークンが無効になります）",
    effect_factors: "{since} 以降に追加された認証方法をすべて削除します",
    button: "心当たりがありません（アカウントを保護する）",
    done_title: "アカウントを保護しました",
    done_sessions: "アカウントのすべてのセッションを終了しました。各アプリでは再度サインインが必要です。",
    done_factors: "{since} 以降に追加され、削除した認証方法：{n} 件",
    done_no_factors: "{since} 以降に追加された認証方法はないため、削除したものはありません。",
    done_next: "今すぐパスワードを再設定してください。サインイン画面で「パスワードをお忘れですか？」を選択します。その後、メールアカウントの安全を確認し、管理者にご連絡ください。",
    sign_in_page: "サインイン画面へ",
    unusable_title: "無効なリンク",
    unusable_text: "このリンクは有効期限が切れたか、すでに使用されたか、無効です。ほかの人がアカウントを使っている疑いがある場合は、パスワードを再設定し、管理者にご連絡ください。",
    refused_title: "リクエストが拒否されました",
    refused_text: "このフォームは専用のページからのみ送信できます。メールのリンクをもう一度開いてください。",
    an_authenticator: "不明な種類",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_placeholder_it_needs() {
        for lang in super::super::language::SUPPORTED {
            let t = text(lang);
            for sentence in [t.password_changed, t.authenticator_enrolled, t.authenticator_removed] {
                assert!(sentence.contains("{login}") && sentence.contains("{time}"), "{lang}: {sentence}");
            }
            assert!(t.authenticator_enrolled.contains("{factor}") && t.authenticator_removed.contains("{factor}"), "{lang}");
            assert!(t.effect_factors.contains("{since}") && t.done_no_factors.contains("{since}"), "{lang}");
            assert!(t.done_factors.contains("{since}") && t.done_factors.contains("{n}"), "{lang}");
        }
        assert_ne!(text("de").button, text("en").button);
    }
}
