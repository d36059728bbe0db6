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

/// One System Log event (`GET /api/v1/logs`), in Okta's LogEvent shape. Members Okta sends
/// that Latchkey has no value for are present and `null`, as Okta sends them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub uuid: String,
    /// RFC 3339 with milliseconds, UTC.
    pub published: String,
    pub event_type: String,
    pub version: String,
    pub severity: String,
    pub legacy_event_type: Option<String>,
    pub display_message: String,
    pub actor: LogParty,
    pub client: LogClient,
    pub outcome: LogOutcome,
    pub target: Vec<LogParty>,
    pub transaction: LogTransaction,
    pub debug_context: LogDebugContext,
    pub authentication_context: LogAuthenticationContext,
    pub security_context: Value,
    pub request: LogRequest,
}

/// An actor or a target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogParty {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub alternate_id: Option<String>,
    pub display_name: Option<String>,
    pub detail_entry: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogClient {
    pub user_agent: Option<LogUserAgent>,
    pub zone: Option<String>,
    pub device: Option<String>,
    pub id: Option<String>,
    pub ip_address: Option<String>,
    pub geographical_context: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogUserAgent {
    pub raw_user_agent: String,
    pub os: Option<String>,
    pub browser: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogOutcome {
    pub result: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogTransaction {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub detail: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogDebugContext {
    pub debug_data: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogAuthenticationContext {
    pub authentication_provider: Option<String>,
    pub credential_provider: Option<String>,
    pub credential_type: Option<String>,
    pub issuer: Option<Value>,
    pub interface: Option<String>,
    pub authentication_step: i64,
    pub external_session_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogRequest {
    pub ip_chain: Vec<LogIp>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogIp {
    pub ip: String,
    pub geographical_context: Option<Value>,
    pub version: String,
    pub source: Option<String>,
}

/// `POST /api/v1/users/{id}/factors` request body (Okta's factor enrollment).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FactorEnroll {
    pub factor_type: String,
    pub provider: String,
    #[serde(default)]
    pub profile: Option<Value>,
}

/// `POST /api/v1/users/{id}/factors/{factorId}/lifecycle/activate` request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FactorActivate {
    pub pass_code: String,
}

/// A user's factor in Okta's shape. `_embedded.activation` (the shared secret) appears only in
/// the enrollment's answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserFactor {
    pub id: String,
    pub factor_type: String,
    pub provider: String,
    pub vendor_name: String,
    pub status: String,
    pub created: String,
    pub last_updated: String,
    #[serde(rename = "_links")]
    pub links: Value,
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none", default)]
    pub embedded: Option<Value>,
}

/// `PUT /api/v1/policies/{policyId}/rules/{ruleId}` request body for the password policy's rule
/// (Okta's `PasswordPolicyRule`). What a client read back may be sent whole: the read-only
/// members are accepted and ignored; `actions.selfServicePasswordReset` is what changes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordPolicyRuleWrite {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub system: Option<bool>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub conditions: Option<Value>,
    #[serde(default, rename = "_links")]
    pub links: Option<Value>,
    pub actions: PasswordRuleActions,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordRuleActions {
    #[serde(default)]
    pub password_change: Option<Value>,
    #[serde(default)]
    pub self_service_unlock: Option<Value>,
    pub self_service_password_reset: SelfServicePasswordReset,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelfServicePasswordReset {
    pub access: String,
    #[serde(default)]
    pub requirement: Option<RecoveryRequirement>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoveryRequirement {
    #[serde(default)]
    pub primary: Option<RecoveryMethods>,
    #[serde(default)]
    pub step_up: Option<RecoveryStepUpWrite>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoveryMethods {
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoveryStepUpWrite {
    pub required: bool,
    #[serde(default)]
    pub methods: Option<Vec<String>>,
}

/// `PUT /api/v1/policies/{policyId}/rules/{ruleId}` request body for the app sign-in rule
/// (Okta's `AccessPolicyRule`); `actions.appSignOn.verificationMethod.factorMode` is what
/// changes, the read-only members are accepted and ignored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessPolicyRuleWrite {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub system: Option<bool>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub conditions: Option<Value>,
    #[serde(default, rename = "_links")]
    pub links: Option<Value>,
    pub actions: AccessRuleActions,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessRuleActions {
    pub app_sign_on: AppSignOn,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppSignOn {
    pub access: String,
    pub verification_method: VerificationMethod,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationMethod {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    pub factor_mode: String,
    #[serde(default)]
    pub reauthenticate_in: Option<String>,
    #[serde(default)]
    pub constraints: Option<Value>,
}

/// `PUT /api/v1/policies/{policyId}` request body for the authenticator enrollment policy
/// (Okta's `MFA_ENROLL` policy, `settings.type: AUTHENTICATORS`); what a client read back may
/// be sent whole.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollPolicyWrite {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub system: Option<bool>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub conditions: Option<Value>,
    #[serde(default, rename = "_links")]
    pub links: Option<Value>,
    pub settings: EnrollPolicySettings,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollPolicySettings {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    pub authenticators: Vec<EnrollPolicyAuthenticator>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollPolicyAuthenticator {
    pub key: String,
    pub enroll: EnrollSelf,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollSelf {
    #[serde(rename = "self")]
    pub self_enroll: String,
}
