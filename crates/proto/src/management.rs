//! Okta management API shapes (`/api/v1/*`).
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Okta's error body: `{"errorCode","errorSummary","errorLink","errorId","errorCauses":[…]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OktaError {
    pub error_code: String,
    pub error_summary: String,
    pub error_link: String,
    pub error_id: String,
    pub error_causes: Vec<ErrorCause>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCause {
    pub error_summary: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    pub login: String,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
}

/// `POST /api/v1/users` and `POST /api/v1/users/{id}` request body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserWrite {
    pub profile: UserProfileWrite,
    #[serde(default)]
    pub credentials: Option<CredentialsWrite>,
}

/// Profile attributes accepted on write. Unknown attributes are refused (security-checklist
/// ADM-2, INP-3) rather than silently dropped.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserProfileWrite {
    pub login: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsWrite {
    pub password: Option<PasswordWrite>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordWrite {
    pub value: String,
}

/// The user as Okta returns it. No hash, code or link ever appears here (ADM-3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OktaUser {
    pub id: String,
    pub status: String,
    pub created: String,
    pub activated: Option<String>,
    pub status_changed: Option<String>,
    pub last_login: Option<String>,
    pub last_updated: String,
    pub password_changed: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = Object)]
    pub kind: Value,
    pub profile: UserProfile,
    #[schema(value_type = Object)]
    pub credentials: Value,
    #[serde(rename = "_links")]
    #[schema(value_type = Object)]
    pub links: Value,
}
