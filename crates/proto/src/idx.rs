//! The IDX envelope (idx-protocol §4). Field names follow Okta's JSON exactly.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub const IDX_VERSION: &str = "1.0.0";
pub const ACCEPTS: &str = "application/json; okta-version=1.0.0";
pub const PRODUCES: &str = "application/ion+json; okta-version=1.0.0";

/// `{"type":"array","value":[…]}` / `{"type":"object","value":{…}}`: the `type` wrapper is what
/// makes auth-js look inside for actions (idx-protocol §4.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Wrapped<T> {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: T,
}

impl<T> Wrapped<Vec<T>> {
    pub fn array(value: Vec<T>) -> Self {
        Self { kind: "array".to_owned(), value }
    }
}

impl<T> Wrapped<T> {
    pub fn object(value: T) -> Self {
        Self { kind: "object".to_owned(), value }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IdxResponse {
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Wrapped<Vec<Remediation>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Wrapped<Vec<Message>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_authenticator: Option<Wrapped<Authenticator>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_authenticator_enrollment: Option<Wrapped<Authenticator>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticators: Option<Wrapped<Vec<Authenticator>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticator_enrollments: Option<Wrapped<Vec<Authenticator>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_authenticator: Option<Wrapped<Authenticator>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Wrapped<IdxUser>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<Wrapped<IdxApp>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel: Option<Remediation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_with_interaction_code: Option<Remediation>,
}

/// A form (remediation) or an action (`cancel`, `recover`, `resend`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    pub rel: Vec<String>,
    pub name: String,
    pub href: String,
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub produces: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<Vec<String>>,
    pub value: Vec<FormField>,
}

impl Remediation {
    /// A JSON form posted to `href` (the «FORM» header of idx-protocol §0).
    pub fn form(name: &str, href: String, value: Vec<FormField>) -> Self {
        Self {
            rel: vec!["create-form".to_owned()],
            name: name.to_owned(),
            href,
            method: "POST".to_owned(),
            accepts: Some(ACCEPTS.to_owned()),
            produces: Some(PRODUCES.to_owned()),
            relates_to: None,
            value,
        }
    }

    pub fn relates_to(mut self, path: &str) -> Self {
        self.relates_to = Some(vec![path.to_owned()]);
        self
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<Form>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<FieldOption>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Wrapped<Vec<Message>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

impl FormField {
    pub fn text(name: &str, label: &str, required: bool) -> Self {
        Self { name: name.to_owned(), label: Some(label.to_owned()), required: Some(required), ..Self::default() }
    }

    /// The hidden state-handle field every form and action carries («SH»): auth-js and the
    /// widget only send `stateHandle` back when the form lists it (idx-protocol §4.3).
    pub fn state_handle(value: &str) -> Self {
        Self {
            name: "stateHandle".to_owned(),
            required: Some(true),
            value: Some(Value::String(value.to_owned())),
            visible: Some(false),
            mutable: Some(false),
            ..Self::default()
        }
    }

    /// `credentials` object with nested fields.
    pub fn credentials(fields: Vec<FormField>) -> Self {
        Self {
            name: "credentials".to_owned(),
            kind: Some("object".to_owned()),
            required: Some(true),
            form: Some(Form { value: fields }),
            ..Self::default()
        }
    }

    pub fn with_messages(mut self, messages: Vec<Message>) -> Self {
        if !messages.is_empty() {
            self.messages = Some(Wrapped::array(messages));
        }
        self
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Form {
    pub value: Vec<FormField>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldOption {
    pub label: String,
    pub value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub message: String,
    pub i18n: I18n,
    pub class: String,
}

impl Message {
    pub fn error(key: &str, message: &str, params: Vec<Value>) -> Self {
        Self { message: message.to_owned(), i18n: I18n { key: key.to_owned(), params }, class: "ERROR".to_owned() }
    }

    pub fn info(key: &str, message: &str) -> Self {
        Self { message: message.to_owned(), i18n: I18n { key: key.to_owned(), params: vec![] }, class: "INFO".to_owned() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct I18n {
    pub key: String,
    pub params: Vec<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Authenticator {
    #[serde(rename = "type")]
    pub kind: String,
    pub key: String,
    pub id: String,
    pub display_name: String,
    pub methods: Vec<Method>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contextual_data: Option<Value>,
    /// A passkey enrollment's credential id (base64url): the clients build WebAuthn's
    /// `allowCredentials` / `excludeCredentials` from these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recover: Option<Remediation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resend: Option<Remediation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Method {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdxUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdxApp {
    pub name: String,
    pub label: String,
    pub id: String,
}

// Request bodies (idx-protocol §6). Each endpoint reads its own struct, after the server's
// strict-JSON check (duplicate keys, depth). Unknown members are ignored, never refused: the
// real clients send extras such as `rememberMe` or `methodType` (idx-protocol §6.3). Types stay
// strict: an array, object or number where a string is expected is refused, never coerced
// (security-checklist REC-3, INP-3). `null` reads as absent.
//
// Every step names its transaction by `stateHandle`; auth-js sends `stateToken` on introspect,
// so both are read everywhere.

/// `POST /idp/idx/introspect`: by interaction handle (a new tab, the magic-link tab,
/// idx-protocol §7.4) or by state handle.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntrospectRequest {
    pub state_handle: Option<String>,
    pub state_token: Option<String>,
    pub interaction_handle: Option<String>,
}

/// `POST /idp/idx/identify`: the identifier, with the password when signing in.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentifyRequest {
    pub state_handle: Option<String>,
    pub state_token: Option<String>,
    pub identifier: Option<String>,
    pub credentials: Option<PasscodeCredentials>,
}

/// `credentials` as the identify and answer forms post it (`passcode` is the password or the
/// emailed code; `revokeSessions` comes with a new password, idx-protocol §6.6).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasscodeCredentials {
    pub passcode: Option<String>,
    pub revoke_sessions: Option<bool>,
    /// A passkey's answer (base64url, as Okta's clients send it): `clientData` with
    /// `attestation` when one is registered, with `authenticatorData` and `signatureData`
    /// when one signs a challenge.
    pub client_data: Option<String>,
    pub attestation: Option<String>,
    pub authenticator_data: Option<String>,
    pub signature_data: Option<String>,
}

/// `POST /idp/idx/recover`: "Forgot password?".
#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverRequest {
    pub state_handle: Option<String>,
    pub state_token: Option<String>,
}

/// `POST /idp/idx/challenge`: the authenticator chosen. auth-js sends `{"id":…}`, the widget
/// adds `methodType` (idx-protocol §6.3).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeRequest {
    pub state_handle: Option<String>,
    pub state_token: Option<String>,
    pub authenticator: Option<AuthenticatorRef>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorRef {
    pub id: Option<String>,
    pub method_type: Option<String>,
}

/// `POST /idp/idx/challenge/answer`: the emailed code, or the new password.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnswerRequest {
    pub state_handle: Option<String>,
    pub state_token: Option<String>,
    pub credentials: Option<PasscodeCredentials>,
}

/// `POST /idp/idx/challenge/resend`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResendRequest {
    pub state_handle: Option<String>,
    pub state_token: Option<String>,
}

/// `POST /idp/idx/cancel`: back to the sign-in form on the same transaction.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    pub state_handle: Option<String>,
    pub state_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unknown_members_are_ignored_and_null_reads_as_absent() {
        let body: IdentifyRequest = serde_json::from_value(json!({
            "stateHandle": "02abc", "identifier": "a@example.com", "rememberMe": true,
            "credentials": {"passcode": null, "extra": [1]}
        }))
        .expect("valid");
        assert_eq!(body.state_handle.as_deref(), Some("02abc"));
        assert_eq!(body.identifier.as_deref(), Some("a@example.com"));
        assert_eq!(body.credentials, Some(PasscodeCredentials::default()));
    }

    #[test]
    fn arrays_objects_and_numbers_are_not_strings() {
        for identifier in [json!(["victim@example.com", "attacker@example.com"]), json!({"$ne": 1}), json!(5)] {
            assert!(serde_json::from_value::<IdentifyRequest>(json!({"identifier": identifier})).is_err());
        }
        assert!(serde_json::from_value::<ChallengeRequest>(json!({"authenticator": {"id": 5}})).is_err());
        assert!(serde_json::from_value::<AnswerRequest>(json!({"credentials": {"revokeSessions": "yes"}})).is_err());
    }
}
