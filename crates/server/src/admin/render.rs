//! Domain user → Okta's user JSON. No hash, code or link ever appears (security-checklist ADM-3).
use latchkey_domain::{Millis, User};
use latchkey_proto::management::{OktaUser, UserProfile};
use serde_json::json;

pub fn iso(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)).unwrap_or_default()
}

pub fn okta_user(public_url: &str, user: &User) -> OktaUser {
    let p = &user.profile;
    let mut credentials = json!({
        "emails": [{"value": p.email.as_str(), "status": "VERIFIED", "type": "PRIMARY"}],
        "provider": {"type": "OKTA", "name": "OKTA"}
    });
    if user.has_password {
        credentials["password"] = json!({});
    }
    OktaUser {
        id: user.id.as_str().to_owned(),
        status: user.status.as_str().to_owned(),
        created: iso(user.created_at),
        activated: user.activated_at.map(iso),
        status_changed: user.status_changed_at.map(iso),
        last_login: user.last_login_at.map(iso),
        last_updated: iso(user.last_updated_at),
        password_changed: user.password_changed_at.map(iso),
        kind: json!({"id": "oty0lkdefault0000001"}),
        profile: UserProfile {
            login: p.login.as_str().to_owned(),
            email: p.email.as_str().to_owned(),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            locale: p.locale.clone(),
        },
        credentials,
        links: json!({"self": {"href": format!("{public_url}/api/v1/users/{}", user.id.as_str())}}),
    }
}
