//! The template variable names Latchkey recognises: Okta's documented names (idx-protocol §10)
//! plus the `request.*` names Latchkey fills. Admin-saved templates are checked against this
//! list so a typo is refused on save instead of printing `${user.profile.fristName}` to users
//! (security-checklist EML-2); a documented name Latchkey cannot fill renders empty.

/// Names that are not under a namespace.
const TOP_LEVEL: &[&str] = &[
    "oneTimePassword",
    "resetPasswordLink",
    // The magic-link guide's name for the same link (idx-protocol §10); the renderer fills it
    // from `resetPasswordLink`.
    "resetPasswordUrl",
    "recoveryToken",
    "resetPasswordTokenExpirationDate",
    "verificationToken",
    "emailAuthenticationLink",
    "activationLink",
    "activationToken",
    "baseURL",
    "orgTechSupportEmail",
];

/// `request.*`: the request that caused the email.
const REQUEST: &[&str] = &[
    "relayState",
    // When it was asked: an RFC 3339 value is shown in the recipient's language by the renderer;
    // any other string is printed as given.
    "time",
    "date",
    // Lifetime of the code or link (or of a lockout) in minutes, and the same as a phrase in the
    // recipient's language ("10 minutes", "7 Tage"), computed by the renderer.
    "expiresInMinutes",
    "expiresIn",
    // Coarse request context for notices (security-checklist NOT-1).
    "ipAddress",
    "browser",
    "os",
    "location",
    // AuthenticatorEnrolled: the authenticator's name ("Google Authenticator"); AuthenticatorReset:
    // the names of those removed; who made the change (Okta's, filled by no Latchkey path yet).
    "factor",
    "factors",
    "performedBySubject",
    // The security notices' "Not you?" link token: `${baseURL}/account/not-me?token=…`.
    "reportSuspiciousActivityToken",
];

const ORG: &[&str] = &["name", "subDomain", "locale", "supportEmail", "supportPhoneNumber"];

const APP: &[&str] = &["id", "name", "label"];

/// Okta's theme variables (`${brand.theme.logo}`, `…primaryColor`, `…secondaryColor`), set when
/// the brand's theme has `emailTemplateTouchPointVariant: FULL_THEME`; `primaryContrastColor`
/// (black or white text on the primary colour) is Latchkey's.
const BRAND: &[&str] = &["theme.logo", "theme.primaryColor", "theme.secondaryColor", "theme.primaryContrastColor"];

/// Okta's base user profile attributes.
const USER_PROFILE: &[&str] = &[
    "login",
    "email",
    "secondEmail",
    "firstName",
    "lastName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "title",
    "displayName",
    "nickName",
    "profileUrl",
    "primaryPhone",
    "mobilePhone",
    "streetAddress",
    "city",
    "state",
    "zipCode",
    "countryCode",
    "postalAddress",
    "preferredLanguage",
    "locale",
    "timezone",
    "userType",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "managerId",
    "manager",
];

/// Whether `name` (a dotted path such as `user.profile.firstName`) is a documented template
/// variable.
pub fn is_documented_variable(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix("request.") {
        REQUEST.contains(&rest)
    } else if let Some(rest) = name.strip_prefix("org.") {
        ORG.contains(&rest)
    } else if let Some(rest) = name.strip_prefix("app.") {
        APP.contains(&rest)
    } else if let Some(rest) = name.strip_prefix("brand.") {
        BRAND.contains(&rest)
    } else if let Some(rest) = name.strip_prefix("user.profile.") {
        USER_PROFILE.contains(&rest)
    } else {
        TOP_LEVEL.contains(&name)
    }
}

/// Every documented name, fully dotted: the renderer sets the ones a payload does not fill to
/// null so they print as nothing rather than as `${name}`.
pub(crate) fn all_documented() -> impl Iterator<Item = String> {
    let prefixed = |prefix: &'static str, names: &'static [&'static str]| names.iter().map(move |n| format!("{prefix}{n}"));
    TOP_LEVEL
        .iter()
        .map(|n| (*n).to_owned())
        .chain(prefixed("request.", REQUEST))
        .chain(prefixed("org.", ORG))
        .chain(prefixed("app.", APP))
        .chain(prefixed("brand.", BRAND))
        .chain(prefixed("user.profile.", USER_PROFILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_names_and_typos() {
        for name in ["oneTimePassword", "request.relayState", "user.profile.firstName", "org.name", "app.label", "baseURL"] {
            assert!(is_documented_variable(name), "{name}");
        }
        for name in ["onetimePassword", "user.profile.fristName", "request", "org", "user.firstName", "f.escapeHtml", ""] {
            assert!(!is_documented_variable(name), "{name}");
        }
        assert!(all_documented().all(|n| is_documented_variable(&n)));
    }
}
