//! `latchkey policies list|show|recovery-step-up|sign-on|totp-enroll|passkey-enroll`: the three policies
//! Latchkey honours, through the management API (`LATCHKEY_URL`, `LATCHKEY_ADMIN_TOKEN`), the
//! way Okta's own tools change them: read the object, change one member, write it back whole.
use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{json, Value};

use super::api::Api;

const PASSWORD_RULE: &str = "/00plkpassword0000001/rules/0prlkpassword0000001";
const ACCESS_RULE: &str = "/rstlkaccess000000001/rules/rullkaccess000000001";
const ENROLL_POLICY: &str = "/00plkmfaenroll000001";

#[derive(Subcommand)]
pub enum Command {
    /// Every policy with its rules.
    List,
    /// One policy and its rules, by id.
    Show { policy_id: String },
    /// Whether a recovery asks for a second factor after the emailed code (the password rule).
    RecoveryStepUp {
        #[arg(value_enum)]
        setting: Required,
    },
    /// What an app sign-in needs: the password (`1fa`) or the password and a second factor (`2fa`).
    SignOn {
        #[arg(value_enum)]
        factors: FactorMode,
    },
    /// Whether users set up a TOTP app themselves during sign-in (the enrollment policy).
    TotpEnroll {
        #[arg(value_enum)]
        setting: Enroll,
    },
    /// Whether users set up a passkey themselves during sign-in (the enrollment policy's
    /// `webauthn` authenticator).
    PasskeyEnroll {
        #[arg(value_enum)]
        setting: Enroll,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Required {
    Required,
    NotRequired,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FactorMode {
    #[value(name = "1fa")]
    OneFactor,
    #[value(name = "2fa")]
    TwoFactors,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Enroll {
    Required,
    Optional,
    NotAllowed,
}

pub async fn run(command: Command) -> Result<(), String> {
    let api = Api::from_env("/api/v1/policies")?;
    let out = match command {
        Command::List => {
            let mut all = Vec::new();
            for kind in ["PASSWORD", "ACCESS_POLICY", "MFA_ENROLL"] {
                for policy in array(api.send(Method::GET, &format!("?type={kind}"), None).await?) {
                    all.push(with_rules(&api, policy).await?);
                }
            }
            Value::Array(all)
        }
        Command::Show { policy_id } => with_rules(&api, api.send(Method::GET, &format!("/{policy_id}"), None).await?).await?,
        Command::RecoveryStepUp { setting } => {
            let required = matches!(setting, Required::Required);
            replace(&api, PASSWORD_RULE, |rule| {
                rule["actions"]["selfServicePasswordReset"]["requirement"]["stepUp"] = json!({ "required": required })
            })
            .await?
        }
        Command::SignOn { factors } => {
            let mode = match factors {
                FactorMode::OneFactor => "1FA",
                FactorMode::TwoFactors => "2FA",
            };
            replace(&api, ACCESS_RULE, |rule| rule["actions"]["appSignOn"]["verificationMethod"]["factorMode"] = json!(mode)).await?
        }
        Command::TotpEnroll { setting } => enroll(&api, "google_otp", setting).await?,
        Command::PasskeyEnroll { setting } => enroll(&api, "webauthn", setting).await?,
    };
    super::api::print(&out);
    Ok(())
}

/// Sets one authenticator's `enroll.self` in the enrollment policy, writing the policy back whole.
async fn enroll(api: &Api, key: &str, setting: Enroll) -> Result<Value, String> {
    let setting = match setting {
        Enroll::Required => "REQUIRED",
        Enroll::Optional => "OPTIONAL",
        Enroll::NotAllowed => "NOT_ALLOWED",
    };
    replace(api, ENROLL_POLICY, |policy| {
        for authenticator in policy["settings"]["authenticators"].as_array_mut().into_iter().flatten() {
            if authenticator["key"] == key {
                authenticator["enroll"]["self"] = json!(setting);
            }
        }
    })
    .await
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        _ => vec![],
    }
}

/// The policy with its rules under `rules`, as one object to print.
async fn with_rules(api: &Api, mut policy: Value) -> Result<Value, String> {
    let id = policy["id"].as_str().unwrap_or_default().to_owned();
    policy["rules"] = api.send(Method::GET, &format!("/{id}/rules"), None).await?;
    Ok(policy)
}

/// Reads the object at `path`, changes it, writes it back whole, and returns what the server kept.
async fn replace(api: &Api, path: &str, change: impl FnOnce(&mut Value)) -> Result<Value, String> {
    let mut object = api.send(Method::GET, path, None).await?;
    change(&mut object);
    api.send(Method::PUT, path, Some(object)).await
}
