//! The one IDX renderer: the transaction's current step → the IDX envelope (idx-protocol §4).
//!
//! Rules the real clients depend on, each pinned by a compatibility test:
//! - every body has `version`; every form and action carries the state-handle field «SH»;
//! - the sign-in form's `currentAuthenticator` carries `recover` (the widget's "Forgot
//!   password?" link and auth-js v8 `recoverPassword()` need it, §5), and no later recovery step
//!   carries a `recover` action or a password option (§6.7: the clients would loop);
//! - every `relatesTo` resolves inside the same body (§4.5);
//! - recovery bodies contain no masked email and one constant enrollment id, so a real and an
//!   unknown identifier render byte-identically apart from the handles (shared/README).
use latchkey_domain::interaction::{FactorKind, FactorKinds, Step};
use latchkey_domain::PasswordPolicy;
use latchkey_proto::idx::{Authenticator, FieldOption, FormField, IdxResponse, Message, Method, Remediation, Wrapped, IDX_VERSION};
use latchkey_store::InteractionRecord;
use serde_json::{json, Value};

pub const PASSWORD_AUTHENTICATOR_ID: &str = "aut0lkpassword000001";
pub const EMAIL_AUTHENTICATOR_ID: &str = "aut0lkemail000000001";
/// One constant enrollment id for everybody's email (enumeration: shared/README).
pub const EMAIL_ENROLLMENT_ID: &str = "eae0lkemail000000001";
/// TOTP apps (Okta's `google_otp` authenticator).
pub const GOOGLE_OTP_AUTHENTICATOR_ID: &str = "aut0lkgoogleotp00001";
/// One constant enrollment id for a TOTP factor in IDX bodies: the step-up needs no more, and
/// the factor's own id stays in the management API.
pub const GOOGLE_OTP_ENROLLMENT_ID: &str = "uft0lkgoogleotp00001";
/// Passkeys (Okta's `webauthn` authenticator: security keys and platform authenticators).
pub const WEBAUTHN_AUTHENTICATOR_ID: &str = "aut0lkwebauthn000001";
/// One constant enrollment id for every passkey in IDX bodies, as for TOTP; each passkey is told
/// apart by its `credentialId`, which is what the clients read.
pub const WEBAUTHN_ENROLLMENT_ID: &str = "uft0lkwebauthn000001";

/// The authenticator id a client names when it chooses a kind of second factor.
pub fn factor_kind_of(authenticator_id: &str) -> Option<FactorKind> {
    match authenticator_id {
        GOOGLE_OTP_AUTHENTICATOR_ID => Some(FactorKind::Totp),
        WEBAUTHN_AUTHENTICATOR_ID => Some(FactorKind::Webauthn),
        _ => None,
    }
}

pub struct View<'a> {
    pub public_url: &'a str,
    pub state_handle: &'a str,
    pub record: &'a InteractionRecord,
    pub policy: &'a PasswordPolicy,
    /// The token endpoint of the transaction's authorization server (informational in success).
    pub token_url: String,
    /// A pending TOTP set-up's secret and QR code (only at `SignInEnrollTotp`).
    pub setup: Option<&'a crate::totp_setup::TotpSetup>,
    /// A passkey step's ceremony options and the account's passkeys.
    pub passkey: Option<&'a crate::passkeys::PasskeyStep>,
    /// The kinds of second factor a choice offers.
    pub choices: FactorKinds,
}

impl View<'_> {
    fn href(&self, path: &str) -> String {
        format!("{}/idp/idx/{path}", self.public_url)
    }

    fn sh(&self) -> FormField {
        FormField::state_handle(self.state_handle)
    }

    fn action(&self, name: &str, path: &str) -> Remediation {
        Remediation::form(name, self.href(path), vec![self.sh()])
    }

    /// A form choosing one authenticator (`select-authenticator-authenticate` or `-enroll`):
    /// Okta's option shape, each option's `relatesTo` into the same body (`relates_to` with the
    /// option's index), posted to `path`.
    fn choice(&self, name: &str, path: &str, authenticators: &[(Authenticator, usize)], relates_to: &str) -> Remediation {
        let options = authenticators
            .iter()
            .map(|(authenticator, i)| {
                let method = authenticator.methods.first().map_or("", |m| m.kind.as_str());
                FieldOption {
                    label: authenticator.display_name.clone(),
                    relates_to: Some(format!("{relates_to}[{i}]")),
                    value: json!({"form": {"value": [
                        {"name": "id", "required": true, "value": authenticator.id, "mutable": false},
                        {"name": "methodType", "required": false, "value": method, "mutable": false}
                    ]}}),
                }
            })
            .collect();
        let field = FormField {
            name: "authenticator".to_owned(),
            kind: Some("object".to_owned()),
            // Okta marks the choice required in an enrollment only.
            required: (name == "select-authenticator-enroll").then_some(true),
            options: Some(options),
            ..FormField::default()
        };
        Remediation::form(name, self.href(path), vec![field, self.sh()])
    }

    /// The kinds a choice offers; TOTP when nothing is known (the account's factors were
    /// removed meanwhile: the choice then leads to a challenge nobody can answer).
    fn choice_kinds(&self) -> Vec<FactorKind> {
        let kinds = self.choices.list();
        if kinds.is_empty() {
            vec![FactorKind::Totp]
        } else {
            kinds
        }
    }

    /// The enrollments of a kind, as listed in `authenticatorEnrollments` (every passkey with
    /// its credential id).
    fn enrollments(&self, kind: FactorKind) -> Vec<Authenticator> {
        match kind {
            FactorKind::Totp => vec![google_otp_enrollment()],
            FactorKind::Webauthn => {
                let ids = self.passkey.map(|p| p.credential_ids.clone()).unwrap_or_default();
                if ids.is_empty() {
                    vec![webauthn_enrollment(None)]
                } else {
                    ids.into_iter().map(|id| webauthn_enrollment(Some(id))).collect()
                }
            }
        }
    }

    /// A form answering with a passkey (Okta's hidden `credentials` members, base64url), posted
    /// to `challenge/answer` and related to `currentAuthenticator`.
    fn webauthn_form(&self, name: &str, members: &[(&str, &str)]) -> Remediation {
        let fields =
            members.iter().map(|(member, label)| FormField { visible: Some(false), ..FormField::text(member, label, true) }).collect();
        Remediation::form(name, self.href("challenge/answer"), vec![FormField::credentials(fields), self.sh()])
            .relates_to("$.currentAuthenticator")
    }

    /// A form answering with `credentials.passcode` (a code, a TOTP value), posted to
    /// `challenge/answer` and related to the authenticator it answers for.
    fn code_form(&self, name: &str, relates_to: &str) -> Remediation {
        let passcode = FormField::text("passcode", "Enter code", true);
        Remediation::form(name, self.href("challenge/answer"), vec![FormField::credentials(vec![passcode]), self.sh()])
            .relates_to(relates_to)
    }

    fn envelope(&self) -> IdxResponse {
        IdxResponse {
            version: IDX_VERSION.to_owned(),
            state_handle: Some(self.state_handle.to_owned()),
            expires_at: chrono::DateTime::from_timestamp_millis(self.record.expires_at)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            intent: Some("LOGIN".to_owned()),
            cancel: Some(self.action("cancel", "cancel")),
            ..IdxResponse::default()
        }
    }

    /// The current step. `Success` is rendered by `success` because the code exists only in
    /// the response that issues it.
    pub fn render(&self) -> IdxResponse {
        match &self.record.step {
            Step::Identify | Step::Success { .. } => self.identify(),
            Step::RecoveryIdentify => self.recovery_identify(),
            Step::RecoverySelect { .. } => self.recovery_select(),
            Step::RecoveryChallenge { .. } => self.recovery_challenge(),
            Step::RecoveryReset { .. } => self.recovery_reset(),
            Step::RecoveryFactorSelect { .. } => self.factor_select(true),
            Step::SignInFactorSelect { .. } => self.factor_select(false),
            Step::RecoveryFactorChallenge { factor: FactorKind::Totp, .. } => self.factor_challenge(true),
            Step::SignInFactorChallenge { factor: FactorKind::Totp, .. } => self.factor_challenge(false),
            Step::RecoveryFactorChallenge { factor: FactorKind::Webauthn, .. } => self.webauthn_challenge(true),
            Step::SignInFactorChallenge { factor: FactorKind::Webauthn, .. } => self.webauthn_challenge(false),
            Step::RecoveryFactorMissing { .. } => self.factor_missing(
                "api.latchkey.recovery.secondFactorRequired",
                "Resetting your password also needs a second authenticator, and none is set up for your account. \
                 Contact your administrator to reset it.",
            ),
            Step::SignInEnrollSelect { .. } => self.enroll_select(),
            Step::SignInEnrollTotp { .. } => self.enroll_totp(),
            Step::SignInEnrollWebauthn { .. } => self.enroll_webauthn(),
            Step::SignInFactorMissing { .. } => self.factor_missing(
                "api.latchkey.signin.secondFactorRequired",
                "Signing in also needs a second authenticator, and none is set up for your account. Contact your administrator.",
            ),
        }
    }

    fn identify(&self) -> IdxResponse {
        let password = FormField { secret: Some(true), ..FormField::text("passcode", "Password", true) };
        let form = Remediation::form(
            "identify",
            self.href("identify"),
            vec![
                FormField::text("identifier", "Username", true),
                FormField::credentials(vec![password]),
                FormField { kind: Some("boolean".to_owned()), ..FormField::text("rememberMe", "Keep me signed in", false) },
                self.sh(),
            ],
        );
        let mut authenticator = password_authenticator();
        authenticator.recover = Some(self.action("recover", "recover"));
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            current_authenticator: Some(Wrapped::object(authenticator)),
            ..self.envelope()
        }
    }

    fn recovery_identify(&self) -> IdxResponse {
        let form =
            Remediation::form("identify-recovery", self.href("identify"), vec![FormField::text("identifier", "Username", true), self.sh()]);
        IdxResponse { remediation: Some(Wrapped::array(vec![form])), ..self.envelope() }
    }

    fn recovery_select(&self) -> IdxResponse {
        let form = self.choice(
            "select-authenticator-authenticate",
            "challenge",
            &[(email_authenticator(), 0)],
            "$.authenticatorEnrollments.value",
        );
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            authenticator_enrollments: Some(Wrapped::array(vec![email_enrollment()])),
            authenticators: Some(Wrapped::array(vec![email_authenticator()])),
            recovery_authenticator: Some(Wrapped::object(password_authenticator())),
            ..self.envelope()
        }
    }

    fn recovery_challenge(&self) -> IdxResponse {
        let form = self.code_form("challenge-authenticator", "$.currentAuthenticatorEnrollment");
        let mut enrollment = email_enrollment();
        enrollment.resend = Some(self.action("resend", "challenge/resend"));
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            current_authenticator_enrollment: Some(Wrapped::object(enrollment)),
            authenticator_enrollments: Some(Wrapped::array(vec![email_enrollment()])),
            recovery_authenticator: Some(Wrapped::object(password_authenticator())),
            ..self.envelope()
        }
    }

    /// The account's kinds of second factor to choose from (Okta's shape): after the email
    /// code when the password policy asks for one, or after the password when the account has
    /// both a TOTP app and passkeys.
    fn factor_select(&self, recovery: bool) -> IdxResponse {
        // Each option relates to its kind's first enrollment, as Okta's do.
        let (mut options, mut enrollments) = (vec![], vec![]);
        for kind in self.choice_kinds() {
            options.push((authenticator_of(kind), enrollments.len()));
            enrollments.extend(self.enrollments(kind));
        }
        let form = self.choice("select-authenticator-authenticate", "challenge", &options, "$.authenticatorEnrollments.value");
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            authenticator_enrollments: Some(Wrapped::array(enrollments)),
            authenticators: Some(Wrapped::array(options.into_iter().map(|(a, _)| a).collect())),
            recovery_authenticator: recovery.then(|| Wrapped::object(password_authenticator())),
            ..self.envelope()
        }
    }

    /// A passkey's challenge (Okta's `challenge-authenticator` for `webauthn`):
    /// `currentAuthenticator.contextualData.challengeData` carries the challenge and the user
    /// verification asked for, and `authenticatorEnrollments` every passkey's `credentialId`
    /// (the clients' `allowCredentials`). Answered with `clientData`, `authenticatorData` and
    /// `signatureData`.
    fn webauthn_challenge(&self, recovery: bool) -> IdxResponse {
        let form = self.webauthn_form(
            "challenge-authenticator",
            &[("clientData", "Client Data"), ("authenticatorData", "Authenticator Data"), ("signatureData", "Signature Data")],
        );
        let mut authenticator = webauthn_authenticator();
        authenticator.contextual_data = self.passkey.map(|p| json!({"challengeData": p.options}));
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            current_authenticator: Some(Wrapped::object(authenticator)),
            authenticators: Some(Wrapped::array(vec![webauthn_authenticator()])),
            authenticator_enrollments: Some(Wrapped::array(self.enrollments(FactorKind::Webauthn))),
            recovery_authenticator: recovery.then(|| Wrapped::object(password_authenticator())),
            ..self.envelope()
        }
    }

    /// A passkey's registration during sign-in (Okta's `enroll-authenticator` for `webauthn`):
    /// `currentAuthenticator.contextualData.activationData` carries the creation options
    /// (challenge, rp, user, pubKeyCredParams, attestation, authenticatorSelection,
    /// excludeCredentials, u2fParams). Answered with `clientData` and `attestation`.
    fn enroll_webauthn(&self) -> IdxResponse {
        let form = self.webauthn_form("enroll-authenticator", &[("clientData", "Client Data"), ("attestation", "Attestation")]);
        let mut authenticator = webauthn_authenticator();
        authenticator.contextual_data = self.passkey.map(|p| json!({"activationData": p.options}));
        let enrolled: Vec<Authenticator> =
            self.passkey.map(|p| p.credential_ids.iter().map(|id| webauthn_enrollment(Some(id.clone()))).collect()).unwrap_or_default();
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            current_authenticator: Some(Wrapped::object(authenticator)),
            authenticators: Some(Wrapped::array(vec![webauthn_authenticator()])),
            // Okta's widget reads this list (its `excludeCredentials`) even when it is empty.
            authenticator_enrollments: Some(Wrapped::array(enrolled)),
            ..self.envelope()
        }
    }

    /// The TOTP value (Okta's `challenge-authenticator` for `google_otp`, which relates to
    /// `currentAuthenticator`, not to the enrollment, and has no resend), in a recovery's
    /// step-up or a sign-in's second step.
    fn factor_challenge(&self, recovery: bool) -> IdxResponse {
        let form = self.code_form("challenge-authenticator", "$.currentAuthenticator");
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            current_authenticator: Some(Wrapped::object(google_otp_authenticator())),
            authenticators: Some(Wrapped::array(vec![google_otp_authenticator()])),
            authenticator_enrollments: Some(Wrapped::array(vec![google_otp_enrollment()])),
            recovery_authenticator: recovery.then(|| Wrapped::object(password_authenticator())),
            ..self.envelope()
        }
    }

    /// The password was right and the account sets up a second factor first: the
    /// authenticators the enrollment policy lets it enroll (Okta's `select-authenticator-enroll`,
    /// posted to `credential/enroll`).
    fn enroll_select(&self) -> IdxResponse {
        let options: Vec<(Authenticator, usize)> = self.choice_kinds().into_iter().map(authenticator_of).zip(0..).collect();
        let form = self.choice("select-authenticator-enroll", "credential/enroll", &options, "$.authenticators.value");
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            authenticators: Some(Wrapped::array(options.into_iter().map(|(a, _)| a).collect())),
            ..self.envelope()
        }
    }

    /// The TOTP app's set-up: its secret and QR code in `currentAuthenticator.contextualData`
    /// (Okta's shape), and the first value to prove the app holds it (`enroll-authenticator`).
    fn enroll_totp(&self) -> IdxResponse {
        let form = self.code_form("enroll-authenticator", "$.currentAuthenticator");
        let mut authenticator = google_otp_authenticator();
        authenticator.contextual_data = self.setup.map(|setup| {
            json!({
                "qrcode": {"method": "embedded", "href": setup.qr_data_uri, "type": "image/svg+xml"},
                "sharedSecret": setup.shared_secret,
            })
        });
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            current_authenticator: Some(Wrapped::object(authenticator)),
            authenticators: Some(Wrapped::array(vec![google_otp_authenticator()])),
            ..self.envelope()
        }
    }

    /// The first proof was right (the emailed code, or the password), but a policy asks for a
    /// second factor the account does not have: a terminal message (no remediation; cancel
    /// starts over). Only whoever holds that first proof gets here, so saying so reveals
    /// nothing it did not.
    fn factor_missing(&self, key: &str, text: &str) -> IdxResponse {
        let message = Message::error(key, text, vec![]);
        IdxResponse { messages: Some(Wrapped::array(vec![message])), ..self.envelope() }
    }

    fn recovery_reset(&self) -> IdxResponse {
        let password = FormField { secret: Some(true), ..FormField::text("passcode", "New password", true) };
        let revoke =
            FormField { kind: Some("boolean".to_owned()), ..FormField::text("revokeSessions", "Sign me out of all other devices", false) };
        let form = Remediation::form(
            "reset-authenticator",
            self.href("challenge/answer"),
            vec![FormField::credentials(vec![password, revoke]), self.sh()],
        )
        .relates_to("$.currentAuthenticator");
        let mut authenticator = password_authenticator();
        authenticator.settings = Some(password_settings(self.policy));
        IdxResponse {
            remediation: Some(Wrapped::array(vec![form])),
            current_authenticator: Some(Wrapped::object(authenticator)),
            recovery_authenticator: Some(Wrapped::object(password_authenticator())),
            ..self.envelope()
        }
    }

    /// The success body with its single-use interaction code (idx-protocol §5).
    pub fn success(&self, interaction_code: &str) -> IdxResponse {
        let field = |name: &str, value: Option<&str>| FormField {
            name: name.to_owned(),
            required: Some(true),
            value: value.map(|v| Value::String(v.to_owned())),
            ..FormField::default()
        };
        let issue = Remediation {
            rel: vec!["create-form".to_owned()],
            name: "issue".to_owned(),
            href: self.token_url.clone(),
            method: "POST".to_owned(),
            accepts: Some("application/x-www-form-urlencoded".to_owned()),
            produces: None,
            relates_to: None,
            value: vec![
                field("grant_type", Some("interaction_code")),
                field("interaction_code", Some(interaction_code)),
                field("client_id", Some(&self.record.client_id)),
                field("code_verifier", None),
            ],
        };
        IdxResponse { success_with_interaction_code: Some(issue), ..self.envelope() }
    }
}

fn password_authenticator() -> Authenticator {
    Authenticator {
        kind: "password".to_owned(),
        key: "okta_password".to_owned(),
        id: PASSWORD_AUTHENTICATOR_ID.to_owned(),
        display_name: "Password".to_owned(),
        methods: vec![Method { kind: "password".to_owned() }],
        ..Authenticator::default()
    }
}

fn email_authenticator() -> Authenticator {
    Authenticator {
        kind: "email".to_owned(),
        key: "okta_email".to_owned(),
        id: EMAIL_AUTHENTICATOR_ID.to_owned(),
        display_name: "Email".to_owned(),
        methods: vec![Method { kind: "email".to_owned() }],
        ..Authenticator::default()
    }
}

fn google_otp_authenticator() -> Authenticator {
    Authenticator {
        kind: "app".to_owned(),
        key: "google_otp".to_owned(),
        id: GOOGLE_OTP_AUTHENTICATOR_ID.to_owned(),
        display_name: "Google Authenticator".to_owned(),
        methods: vec![Method { kind: "otp".to_owned() }],
        ..Authenticator::default()
    }
}

fn webauthn_authenticator() -> Authenticator {
    Authenticator {
        kind: "security_key".to_owned(),
        key: "webauthn".to_owned(),
        id: WEBAUTHN_AUTHENTICATOR_ID.to_owned(),
        display_name: "Security Key or Biometric Authenticator".to_owned(),
        methods: vec![Method { kind: "webauthn".to_owned() }],
        ..Authenticator::default()
    }
}

fn webauthn_enrollment(credential_id: Option<String>) -> Authenticator {
    Authenticator { id: WEBAUTHN_ENROLLMENT_ID.to_owned(), credential_id, ..webauthn_authenticator() }
}

fn authenticator_of(kind: FactorKind) -> Authenticator {
    match kind {
        FactorKind::Totp => google_otp_authenticator(),
        FactorKind::Webauthn => webauthn_authenticator(),
    }
}

fn google_otp_enrollment() -> Authenticator {
    Authenticator { id: GOOGLE_OTP_ENROLLMENT_ID.to_owned(), ..google_otp_authenticator() }
}

fn email_enrollment() -> Authenticator {
    Authenticator { id: EMAIL_ENROLLMENT_ID.to_owned(), ..email_authenticator() }
}

/// The policy in the only keys the Okta widget understands (idx-protocol §6.5: any other key
/// with a truthy value crashes it). Maximum length and strength are enforced server-side and
/// explained in the error message instead.
fn password_settings(policy: &PasswordPolicy) -> Value {
    json!({
        "complexity": {
            "minLength": policy.min_length,
            "minLowerCase": 0,
            "minUpperCase": 0,
            "minNumber": 0,
            "minSymbol": 0,
            "excludeUsername": true,
            "excludeAttributes": []
        },
        "age": {"minAgeMinutes": 0, "historyCount": 0}
    })
}
