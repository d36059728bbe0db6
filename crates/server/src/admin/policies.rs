//! Okta's Policy API for the policies Latchkey honours: the `PASSWORD` policy, whose rule's
//! `actions.selfServicePasswordReset.requirement` says what a recovery needs
//! (`primary.methods: ["email"]`, and `stepUp.required: true` — no `methods`: any enrolled
//! second factor — to ask for one after the emailed code), the app sign-in policy
//! (`ACCESS_POLICY`), whose rule's `actions.appSignOn.verificationMethod.factorMode` is `1FA`
//! (password) or `2FA` (password, then any enrolled second factor), and the authenticator
//! enrollment policy (`MFA_ENROLL`), whose `settings.authenticators[key=google_otp].enroll.self`
//! says whether users set up a TOTP app during sign-in (`REQUIRED`, `OPTIONAL`, `NOT_ALLOWED`).
//!
//! `GET /api/v1/policies?type=…`, `GET|PUT /api/v1/policies/{id}` (`PUT`: the enrollment
//! policy's settings), `GET …/{id}/rules`, `GET|PUT …/{id}/rules/{ruleId}`. Each policy has one
//! rule; all have fixed ids. Other policy types list as empty rather than pretending to settings
//! nothing enforces.
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_domain::audit::{EventType, Party};
use latchkey_domain::policy::{EnrollRequirement, PolicyValue, RecoveryStepUp, SignOnFactors};
use latchkey_proto::management::{AccessPolicyRuleWrite, EnrollPolicyWrite, PasswordPolicyRuleWrite};
use latchkey_store::StoredPolicies;
use serde_json::{json, Value};

use super::render::iso;
use super::{AdminAuth, AdminError};
use crate::state::AppState;

pub const PASSWORD_POLICY_ID: &str = "00plkpassword0000001";
pub const PASSWORD_RULE_ID: &str = "0prlkpassword0000001";
pub const ACCESS_POLICY_ID: &str = "rstlkaccess000000001";
pub const ACCESS_RULE_ID: &str = "rullkaccess000000001";
pub const ENROLL_POLICY_ID: &str = "00plkmfaenroll000001";
pub const ENROLL_RULE_ID: &str = "0prlkmfaenroll000001";
const POLICY_NAME: &str = "Default Policy";
const RULE_NAME: &str = "Default Rule";
const ACCESS_RULE_NAME: &str = "Catch-all Rule";

/// The policies Latchkey has, each with its one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Password,
    Access,
    Enroll,
}

impl Kind {
    fn of_type(kind: &str) -> Option<Self> {
        match kind {
            "PASSWORD" => Some(Self::Password),
            "ACCESS_POLICY" => Some(Self::Access),
            "MFA_ENROLL" => Some(Self::Enroll),
            _ => None,
        }
    }

    fn of_id(id: &str) -> Option<Self> {
        match id {
            PASSWORD_POLICY_ID => Some(Self::Password),
            ACCESS_POLICY_ID => Some(Self::Access),
            ENROLL_POLICY_ID => Some(Self::Enroll),
            _ => None,
        }
    }

    fn rule_id(self) -> &'static str {
        match self {
            Self::Password => PASSWORD_RULE_ID,
            Self::Access => ACCESS_RULE_ID,
            Self::Enroll => ENROLL_RULE_ID,
        }
    }

    fn policy(self, state: &AppState, stored: &StoredPolicies) -> Value {
        match self {
            Self::Password => password_policy(state, stored),
            Self::Access => access_policy(state, stored),
            Self::Enroll => enroll_policy(state, stored),
        }
    }

    fn rule(self, state: &AppState, stored: &StoredPolicies) -> Value {
        match self {
            Self::Password => password_rule(state, stored),
            Self::Access => access_rule(state, stored),
            Self::Enroll => enroll_rule(state, stored),
        }
    }
}
/// Okta's policy types; Latchkey has a policy of the first only.
const POLICY_TYPES: [&str; 8] =
    ["PASSWORD", "OKTA_SIGN_ON", "MFA_ENROLL", "ACCESS_POLICY", "PROFILE_ENROLLMENT", "IDP_DISCOVERY", "ENTITY_RISK", "POST_AUTH_SESSION"];

#[tracing::instrument(name = "admin.policies.list", skip_all)]
pub async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let kind = params.get("type").map(String::as_str).unwrap_or_default();
    if !POLICY_TYPES.contains(&kind) {
        return Err(AdminError::Validation(vec![format!("type: one of {}", POLICY_TYPES.join(", "))]));
    }
    let policies = match Kind::of_type(kind) {
        Some(kind) => vec![kind.policy(&state, &state.store.policies().await?)],
        None => vec![],
    };
    Ok(Json(policies).into_response())
}

#[tracing::instrument(name = "admin.policies.get", skip_all)]
pub async fn get(_: AdminAuth, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AdminError> {
    let kind = known_policy(&id)?;
    Ok(Json(kind.policy(&state, &state.store.policies().await?)).into_response())
}

#[tracing::instrument(name = "admin.policies.rules", skip_all)]
pub async fn rules(_: AdminAuth, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AdminError> {
    let kind = known_policy(&id)?;
    Ok(Json(vec![kind.rule(&state, &state.store.policies().await?)]).into_response())
}

#[tracing::instrument(name = "admin.policies.rule", skip_all)]
pub async fn rule(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((id, rule_id)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let kind = known_rule(&id, &rule_id)?;
    Ok(Json(kind.rule(&state, &state.store.policies().await?)).into_response())
}

#[tracing::instrument(name = "admin.policies.replace_rule", skip_all)]
pub async fn replace_rule(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((id, rule_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AdminError> {
    let kind = known_rule(&id, &rule_id)?;
    let (value, target) = match kind {
        Kind::Password => {
            let write: PasswordPolicyRuleWrite = crate::http::json::parse_into(&body)?;
            (PolicyValue::RecoveryStepUp(recovery_step_up(&write)?), Party::policy(PASSWORD_RULE_ID, RULE_NAME))
        }
        Kind::Access => {
            let write: AccessPolicyRuleWrite = crate::http::json::parse_into(&body)?;
            (PolicyValue::SignOn(sign_on_factors(&write)?), Party::policy(ACCESS_RULE_ID, ACCESS_RULE_NAME))
        }
        Kind::Enroll => {
            return Err(AdminError::Validation(vec![
                "actions.enroll.self: the enrollment rule always applies; change the policy's settings.authenticators instead".to_owned(),
            ]))
        }
    };
    let now = state.store.now().await?;
    let stored = state.store.set_policy_values(&[value], (EventType::PolicyRuleUpdate, target), &auth.audit(), now).await?;
    tracing::info!(event = "admin.policy_rule_updated", value = value.text(), "policy rule updated");
    Ok(Json(kind.rule(&state, &stored)).into_response())
}

#[tracing::instrument(name = "admin.policies.replace", skip_all)]
pub async fn replace(auth: AdminAuth, State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Response, AdminError> {
    let kind = known_policy(&id)?;
    if kind != Kind::Enroll {
        return Err(AdminError::Validation(vec![
            "settings: this policy's settings come from the server's configuration; its rule is what changes".to_owned(),
        ]));
    }
    let write: EnrollPolicyWrite = crate::http::json::parse_into(&body)?;
    let values = enroll_values(&write)?;
    let now = state.store.now().await?;
    let target = Party::policy(ENROLL_POLICY_ID, POLICY_NAME);
    let stored = state.store.set_policy_values(&values, (EventType::PolicyUpdate, target), &auth.audit(), now).await?;
    tracing::info!(event = "admin.policy_updated", "enrollment policy updated");
    Ok(Json(kind.policy(&state, &stored)).into_response())
}

/// What the enrollment policy says of TOTP apps and passkeys, or why Latchkey cannot honour it.
/// Password and email are always enrolled (`REQUIRED`); authenticators Latchkey does not have
/// are refused. `google_otp` must be named; a body without `webauthn` (written before passkeys)
/// leaves its setting as it is.
fn enroll_values(write: &EnrollPolicyWrite) -> Result<Vec<PolicyValue>, AdminError> {
    let invalid = |cause: String| AdminError::Validation(vec![cause]);
    if write.kind.as_deref().is_some_and(|k| k != "MFA_ENROLL") {
        return Err(invalid("type: this is an MFA_ENROLL policy".to_owned()));
    }
    let requirement = |key: &str, setting: &str| {
        EnrollRequirement::parse(setting)
            .ok_or_else(|| invalid(format!("settings.authenticators[{key}].enroll.self: REQUIRED, OPTIONAL or NOT_ALLOWED")))
    };
    let (mut totp, mut webauthn) = (None, None);
    for authenticator in &write.settings.authenticators {
        let setting = authenticator.enroll.self_enroll.as_str();
        match authenticator.key.as_str() {
            "google_otp" => totp = Some(PolicyValue::TotpEnroll(requirement("google_otp", setting)?)),
            "webauthn" => webauthn = Some(PolicyValue::WebauthnEnroll(requirement("webauthn", setting)?)),
            "okta_password" | "okta_email" if setting == "REQUIRED" => {}
            "okta_password" | "okta_email" => {
                return Err(invalid(format!("settings.authenticators[{}].enroll.self: always REQUIRED", authenticator.key)))
            }
            other => return Err(invalid(format!("settings.authenticators: Latchkey has no {other} authenticator"))),
        }
    }
    let totp = totp.ok_or_else(|| invalid("settings.authenticators: say what google_otp's enroll.self is".to_owned()))?;
    Ok([Some(totp), webauthn].into_iter().flatten().collect())
}

/// The factor mode an app sign-in rule asks for, or why Latchkey cannot honour it.
fn sign_on_factors(write: &AccessPolicyRuleWrite) -> Result<SignOnFactors, AdminError> {
    let invalid = |cause: &str| AdminError::Validation(vec![cause.to_owned()]);
    if write.kind.as_deref().is_some_and(|k| k != "ACCESS_POLICY") {
        return Err(invalid("type: this is an ACCESS_POLICY rule"));
    }
    let sign_on = &write.actions.app_sign_on;
    if sign_on.access != "ALLOW" {
        return Err(invalid("actions.appSignOn.access: Latchkey's one app sign-in rule allows access (ALLOW)"));
    }
    let method = &sign_on.verification_method;
    if method.kind.as_deref().is_some_and(|k| k != "ASSURANCE") {
        return Err(invalid("actions.appSignOn.verificationMethod.type: ASSURANCE"));
    }
    SignOnFactors::parse(&method.factor_mode).ok_or_else(|| invalid("actions.appSignOn.verificationMethod.factorMode: 1FA or 2FA"))
}

/// The recovery requirement a rule asks for, or why Latchkey cannot honour it.
fn recovery_step_up(write: &PasswordPolicyRuleWrite) -> Result<RecoveryStepUp, AdminError> {
    let invalid = |cause: &str| AdminError::Validation(vec![cause.to_owned()]);
    if write.kind.as_deref().is_some_and(|k| k != "PASSWORD") {
        return Err(invalid("type: this is a PASSWORD policy rule"));
    }
    let reset = &write.actions.self_service_password_reset;
    if reset.access != "ALLOW" {
        return Err(invalid("actions.selfServicePasswordReset.access: Latchkey always allows recovery by email (ALLOW)"));
    }
    let requirement = reset.requirement.as_ref();
    if let Some(primary) = requirement.and_then(|r| r.primary.as_ref()) {
        if primary.methods != ["email"] {
            return Err(invalid("actions.selfServicePasswordReset.requirement.primary.methods: Latchkey recovers by [\"email\"]"));
        }
    }
    match requirement.and_then(|r| r.step_up.as_ref()) {
        None => Ok(RecoveryStepUp::NotRequired),
        Some(step_up) if step_up.methods.as_ref().is_some_and(|m| !m.is_empty()) => Err(invalid(
            "actions.selfServicePasswordReset.requirement.stepUp.methods: leave it out (any enrolled second factor); Latchkey has no security questions",
        )),
        Some(step_up) if step_up.required => Ok(RecoveryStepUp::AnySecondFactor),
        Some(_) => Ok(RecoveryStepUp::NotRequired),
    }
}

fn known_policy(id: &str) -> Result<Kind, AdminError> {
    Kind::of_id(id).ok_or_else(|| AdminError::NotFound(format!("Resource not found: {id} (Policy)")))
}

fn known_rule(id: &str, rule_id: &str) -> Result<Kind, AdminError> {
    let kind = known_policy(id)?;
    if rule_id == kind.rule_id() {
        Ok(kind)
    } else {
        Err(AdminError::NotFound(format!("Resource not found: {rule_id} (PolicyRule)")))
    }
}

fn updated(stored: &StoredPolicies) -> String {
    iso(stored.last_updated_at.unwrap_or(0))
}

/// The policy as Okta shows it; the password settings are the server's configured policy
/// (changed in the configuration, not here).
fn password_policy(state: &AppState, stored: &StoredPolicies) -> Value {
    let base = format!("{}/api/v1/policies/{PASSWORD_POLICY_ID}", state.public_url);
    let password = &state.policies.password;
    json!({
        "id": PASSWORD_POLICY_ID,
        "type": "PASSWORD",
        "status": "ACTIVE",
        "name": POLICY_NAME,
        "description": "The password policy of every user.",
        "priority": 1,
        "system": true,
        "conditions": { "people": { "groups": { "include": [] } }, "authProvider": { "provider": "OKTA" } },
        "created": iso(0),
        "lastUpdated": updated(stored),
        "settings": {
            "password": {
                "complexity": {
                    "minLength": password.min_length,
                    "minLowerCase": 0, "minUpperCase": 0, "minNumber": 0, "minSymbol": 0,
                    "excludeUsername": true, "excludeAttributes": []
                },
                "age": { "maxAgeDays": 0, "expireWarnDays": 0, "minAgeMinutes": 0, "historyCount": 0 },
                "lockout": { "maxAttempts": state.settings.signin.lockout_after, "autoUnlockMinutes": 0, "showLockoutFailures": false }
            },
            "recovery": { "factors": { "okta_email": { "status": "ACTIVE", "properties": {
                "recoveryToken": { "tokenLifetimeMinutes": state.settings.otp.lifetime_secs / 60 }
            } } } },
            "delegation": { "options": { "skipUnlock": false } }
        },
        "_links": {
            "self": { "href": base, "hints": { "allow": ["GET"] } },
            "rules": { "href": format!("{base}/rules"), "hints": { "allow": ["GET"] } }
        }
    })
}

fn password_rule(state: &AppState, stored: &StoredPolicies) -> Value {
    let href = format!("{}/api/v1/policies/{PASSWORD_POLICY_ID}/rules/{PASSWORD_RULE_ID}", state.public_url);
    let step_up = match stored.policies.recovery_step_up {
        RecoveryStepUp::NotRequired => json!({ "required": false }),
        RecoveryStepUp::AnySecondFactor => json!({ "required": true }),
    };
    json!({
        "id": PASSWORD_RULE_ID,
        "type": "PASSWORD",
        "status": "ACTIVE",
        "name": RULE_NAME,
        "priority": 1,
        "system": true,
        "created": iso(0),
        "lastUpdated": updated(stored),
        "conditions": { "people": { "users": { "exclude": [] } }, "network": { "connection": "ANYWHERE" } },
        "actions": {
            "passwordChange": { "access": "ALLOW" },
            "selfServicePasswordReset": {
                "access": "ALLOW",
                "requirement": { "primary": { "methods": ["email"] }, "stepUp": step_up }
            },
            "selfServiceUnlock": { "access": "DENY" }
        },
        "_links": { "self": { "href": href, "hints": { "allow": ["GET", "PUT"] } } }
    })
}

/// The app sign-in policy as Okta shows it (one policy for every app).
fn access_policy(state: &AppState, stored: &StoredPolicies) -> Value {
    let base = format!("{}/api/v1/policies/{ACCESS_POLICY_ID}", state.public_url);
    json!({
        "id": ACCESS_POLICY_ID,
        "type": "ACCESS_POLICY",
        "status": "ACTIVE",
        "name": POLICY_NAME,
        "description": "The app sign-in policy of every app.",
        "priority": 1,
        "system": true,
        "conditions": null,
        "created": iso(0),
        "lastUpdated": updated(stored),
        "_links": {
            "self": { "href": base, "hints": { "allow": ["GET"] } },
            "rules": { "href": format!("{base}/rules"), "hints": { "allow": ["GET"] } }
        }
    })
}

fn access_rule(state: &AppState, stored: &StoredPolicies) -> Value {
    let href = format!("{}/api/v1/policies/{ACCESS_POLICY_ID}/rules/{ACCESS_RULE_ID}", state.public_url);
    let mode = stored.policies.sign_on;
    // Okta's constraints for the mode: a password, and for 2FA also a possession factor.
    let constraints = match mode {
        SignOnFactors::PasswordOnly => json!([{ "knowledge": { "types": ["password"] } }]),
        SignOnFactors::PasswordAndSecondFactor => {
            json!([{ "knowledge": { "types": ["password"] }, "possession": { "deviceBound": "REQUIRED" } }])
        }
    };
    json!({
        "id": ACCESS_RULE_ID,
        "type": "ACCESS_POLICY",
        "status": "ACTIVE",
        "name": ACCESS_RULE_NAME,
        "priority": 99,
        "system": true,
        "created": iso(0),
        "lastUpdated": updated(stored),
        "conditions": null,
        "actions": {
            "appSignOn": {
                "access": "ALLOW",
                "verificationMethod": { "type": "ASSURANCE", "factorMode": mode.as_str(), "reauthenticateIn": "PT0S", "constraints": constraints }
            }
        },
        "_links": { "self": { "href": href, "hints": { "allow": ["GET", "PUT"] } } }
    })
}

/// The authenticator enrollment policy as Okta shows it (`settings.type: AUTHENTICATORS`).
fn enroll_policy(state: &AppState, stored: &StoredPolicies) -> Value {
    let base = format!("{}/api/v1/policies/{ENROLL_POLICY_ID}", state.public_url);
    json!({
        "id": ENROLL_POLICY_ID,
        "type": "MFA_ENROLL",
        "status": "ACTIVE",
        "name": POLICY_NAME,
        "description": "Which authenticators users set up themselves.",
        "priority": 1,
        "system": true,
        "conditions": { "people": { "groups": { "include": [] } } },
        "created": iso(0),
        "lastUpdated": updated(stored),
        "settings": {
            "type": "AUTHENTICATORS",
            "authenticators": [
                { "key": "okta_password", "enroll": { "self": "REQUIRED" } },
                { "key": "okta_email", "enroll": { "self": "REQUIRED" } },
                { "key": "google_otp", "enroll": { "self": stored.policies.totp_enroll.as_str() } },
                { "key": "webauthn", "enroll": { "self": stored.policies.webauthn_enroll.as_str() } }
            ]
        },
        "_links": {
            "self": { "href": base, "hints": { "allow": ["GET", "PUT"] } },
            "rules": { "href": format!("{base}/rules"), "hints": { "allow": ["GET"] } }
        }
    })
}

fn enroll_rule(state: &AppState, stored: &StoredPolicies) -> Value {
    let href = format!("{}/api/v1/policies/{ENROLL_POLICY_ID}/rules/{ENROLL_RULE_ID}", state.public_url);
    json!({
        "id": ENROLL_RULE_ID,
        "type": "MFA_ENROLL",
        "status": "ACTIVE",
        "name": RULE_NAME,
        "priority": 1,
        "system": true,
        "created": iso(0),
        "lastUpdated": updated(stored),
        "conditions": { "people": { "users": { "exclude": [] } }, "network": { "connection": "ANYWHERE" } },
        "actions": { "enroll": { "self": "LOGIN" } },
        "_links": { "self": { "href": href, "hints": { "allow": ["GET"] } } }
    })
}
