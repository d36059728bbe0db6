//! The IDX envelope (idx-protocol §4). Field names follow Okta's JSON exactly.
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
