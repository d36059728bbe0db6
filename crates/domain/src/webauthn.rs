//! Passkeys (WebAuthn, Okta's `webauthn` authenticator): the relying party, its two ceremonies
//! and what each leaves to store. Every check of a signature, an origin, an RP id hash, a
//! challenge, a flag or a counter is webauthn-rs's; nothing here parses CBOR or verifies
//! anything itself.
//!
//! A ceremony (a registration or an authentication) is started when a transaction reaches the
//! step that needs it, and its state is kept *in the transaction's row* (webauthn-rs'
//! `danger-allow-state-serialisation`): any process behind the load balancer can finish it, it is
//! bound to that transaction, and it ends with the step (every move of the step clears it), so a
//! challenge answered once cannot be answered again. An assertion made for another
//! transaction's challenge fails webauthn-rs' challenge comparison.
use serde_json::{json, Value};
use url::Url;
use webauthn_rs::prelude::{
    Base64UrlSafeData, CredentialID, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::UserId;

/// Why the relying party cannot be built from the configured `rp_id` and `rp_origin`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RelyingPartyError {
    #[error("webauthn.rp_origin is not a URL: {0}")]
    BadOrigin(String),
    #[error("webauthn.rp_id {rp_id:?} must be the host of webauthn.rp_origin ({origin}) or a parent domain of it, and a domain name (not an IP address)")]
    Mismatch { rp_id: String, origin: String },
    #[error("webauthn.extra_origins: {0} is not an origin on webauthn.rp_id's domain")]
    BadExtraOrigin(String),
}

/// Why a ceremony could not start or finish. The adapter logs the kind and answers every
/// refusal the same way as a wrong TOTP value.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// The client's answer is not a WebAuthn response of the right shape (bad base64url, JSON).
    #[error("the WebAuthn response is malformed")]
    Malformed,
    /// The stored ceremony could not be read (written by another version, or damaged).
    #[error("the stored WebAuthn ceremony cannot be read")]
    BadCeremony,
    /// webauthn-rs refused: wrong challenge, origin, RP id hash, flags, signature, counter…
    #[error("WebAuthn refused the response: {0}")]
    Refused(WebauthnError),
}

/// The relying party: Latchkey's RP id, the origin the browser must report, the name shown.
pub struct RelyingParty {
    webauthn: Webauthn,
    origin: Url,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty").field("origin", &self.origin.as_str()).finish_non_exhaustive()
    }
}

/// A ceremony in progress: what the client gets (`options`, WebAuthn's `publicKey` member) and
/// what the server keeps to finish it (`state`). Stored whole with the transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceremony {
    pub options: Value,
    state: Value,
}

impl Ceremony {
    /// The stored form (one JSON text).
    pub fn to_stored(&self) -> String {
        json!({"options": self.options, "state": self.state}).to_string()
    }

    pub fn from_stored(text: &str) -> Result<Self, CeremonyError> {
        let mut value: Value = serde_json::from_str(text).map_err(|_| CeremonyError::BadCeremony)?;
        let options = value.get_mut("options").map(Value::take).ok_or(CeremonyError::BadCeremony)?;
        let state = value.get_mut("state").map(Value::take).ok_or(CeremonyError::BadCeremony)?;
        Ok(Self { options, state })
    }

    /// The challenge the client must sign, base64url (as Okta sends it).
    pub fn challenge(&self) -> Option<&str> {
        self.options.get("challenge").and_then(Value::as_str)
    }
}

/// A stored passkey of the account: its factor id and webauthn-rs' credential (public key,
/// counter, backup flags), as stored in the factor's row.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub factor_id: String,
    credential: Passkey,
}

impl StoredPasskey {
    pub fn from_stored(factor_id: &str, credential: &str) -> Result<Self, CeremonyError> {
        let credential = serde_json::from_str(credential).map_err(|_| CeremonyError::BadCeremony)?;
        Ok(Self { factor_id: factor_id.to_owned(), credential })
    }

    /// The credential id, base64url (Okta's `credentialId`).
    pub fn credential_id(&self) -> String {
        b64url(self.credential.cred_id().as_ref())
    }
}

/// A passkey the registration produced, to store as an active factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasskey {
    /// base64url; unique across every account (webauthn-rs: "you MUST assert that the registered
    /// CredentialID has not previously been registered").
    pub credential_id: String,
    /// webauthn-rs' credential as JSON.
    pub credential: String,
}

/// An assertion webauthn-rs verified: whose passkey, and the credential to store back when its
/// counter or backup state moved (`AuthenticationResult`, `Passkey::update_credential`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub factor_id: String,
    pub updated_credential: Option<String>,
}

/// What a registration answer carries (Okta's `credentials.clientData` and `.attestation`).
pub struct Attestation<'a> {
    pub client_data: &'a str,
    pub attestation: &'a str,
}

/// What an authentication answer carries (Okta's `credentials.clientData`, `.authenticatorData`,
/// `.signatureData`; auth-js adds the credential's `id`, Okta's widget does not).
pub struct Assertion<'a> {
    pub credential_id: Option<&'a str>,
    pub client_data: &'a str,
    pub authenticator_data: &'a str,
    pub signature: &'a str,
    pub user_handle: Option<&'a str>,
}

impl RelyingParty {
    /// `rp_id` must be the origin's host or a parent domain of it (WebAuthn §5.1.4); an IP
    /// address cannot be an RP id. `extra_origins` are further pages the browser may report
    /// (an application embedding the widget), each on `rp_id`'s domain as well.
    pub fn new(rp_id: &str, origin: &str, extra_origins: &[String], name: &str) -> Result<Self, RelyingPartyError> {
        let origin = Url::parse(origin).map_err(|_| RelyingPartyError::BadOrigin(origin.to_owned()))?;
        let mismatch = || RelyingPartyError::Mismatch { rp_id: rp_id.to_owned(), origin: origin.to_string() };
        let mut builder = WebauthnBuilder::new(rp_id, &origin).map_err(|_| mismatch())?.rp_name(name);
        for extra in extra_origins {
            let bad = || RelyingPartyError::BadExtraOrigin(extra.clone());
            let url = Url::parse(extra).map_err(|_| bad())?;
            // The check webauthn-rs makes of the main origin: the RP id's domain, or under it.
            WebauthnBuilder::new(rp_id, &url).map_err(|_| bad())?;
            builder = builder.append_allowed_origin(&url);
        }
        let webauthn = builder.build().map_err(|_| mismatch())?;
        Ok(Self { webauthn, origin })
    }

    /// Starts registering a passkey for `user`: the creation options (in Okta's
    /// `activationData` shape) and the ceremony. `existing` are excluded, so an authenticator
    /// that already holds one of the account's passkeys is not registered twice.
    pub fn start_registration(
        &self,
        user: &UserId,
        login: &str,
        display_name: &str,
        existing: &[StoredPasskey],
    ) -> Result<Ceremony, CeremonyError> {
        let exclude: Vec<CredentialID> = existing.iter().map(|p| p.credential.cred_id().clone()).collect();
        let (options, state) = self
            .webauthn
            .start_passkey_registration(user_handle(user), login, display_name, Some(exclude).filter(|e| !e.is_empty()))
            .map_err(CeremonyError::Refused)?;
        let mut options = serde_json::to_value(&options).map_err(|_| CeremonyError::BadCeremony)?;
        let mut public_key = options.get_mut("publicKey").map(Value::take).ok_or(CeremonyError::BadCeremony)?;
        // Okta's activationData also names the U2F app id (its origin), for legacy security keys.
        if let Some(members) = public_key.as_object_mut() {
            members.insert("u2fParams".to_owned(), json!({"appid": self.origin.origin().ascii_serialization()}));
        }
        Ok(Ceremony { options: public_key, state: serde_json::to_value(&state).map_err(|_| CeremonyError::BadCeremony)? })
    }

    /// Finishes a registration: the new passkey, or why it was refused (challenge, origin,
    /// RP id hash, user verification, attestation format: webauthn-rs decides).
    pub fn finish_registration(&self, ceremony: &Ceremony, answer: &Attestation<'_>) -> Result<NewPasskey, CeremonyError> {
        let state: PasskeyRegistration = serde_json::from_value(ceremony.state.clone()).map_err(|_| CeremonyError::BadCeremony)?;
        // The credential id inside the attestation is the one webauthn-rs uses; `id` and `rawId`
        // are not read during a registration, and Okta's clients do not send them.
        let response: RegisterPublicKeyCredential = serde_json::from_value(json!({
            "id": "",
            "rawId": "",
            "type": "public-key",
            "response": {"clientDataJSON": decode(answer.client_data)?, "attestationObject": decode(answer.attestation)?},
        }))
        .map_err(|_| CeremonyError::Malformed)?;
        let passkey = self.webauthn.finish_passkey_registration(&response, &state).map_err(CeremonyError::Refused)?;
        Ok(NewPasskey {
            credential_id: b64url(passkey.cred_id().as_ref()),
            credential: serde_json::to_string(&passkey).map_err(|_| CeremonyError::BadCeremony)?,
        })
    }

    /// Starts an authentication with the account's passkeys: the request options (Okta's
    /// `challengeData` shape: `challenge`, `userVerification`, plus `rpId` and `timeout`) and
    /// the ceremony. The allowed credentials go to the client as `authenticatorEnrollments`.
    pub fn start_authentication(&self, passkeys: &[StoredPasskey]) -> Result<Ceremony, CeremonyError> {
        let credentials: Vec<Passkey> = passkeys.iter().map(|p| p.credential.clone()).collect();
        let (options, state) = self.webauthn.start_passkey_authentication(&credentials).map_err(CeremonyError::Refused)?;
        let options = serde_json::to_value(&options).map_err(|_| CeremonyError::BadCeremony)?;
        let public_key = options.get("publicKey").ok_or(CeremonyError::BadCeremony)?;
        let mut challenge_data = serde_json::Map::new();
        for member in ["challenge", "userVerification", "rpId", "timeout"] {
            if let Some(value) = public_key.get(member) {
                challenge_data.insert(member.to_owned(), value.clone());
            }
        }
        let challenge_data = Value::Object(challenge_data);
        Ok(Ceremony { options: challenge_data, state: serde_json::to_value(&state).map_err(|_| CeremonyError::BadCeremony)? })
    }

    /// Finishes an authentication against the ceremony, with one of `passkeys` (the account's
    /// active ones). Without a credential id in the answer, each allowed credential is tried
    /// (Okta's widget sends none); the signature binds the answer to one of them at most.
    pub fn finish_authentication(
        &self,
        ceremony: &Ceremony,
        answer: &Assertion<'_>,
        passkeys: &[StoredPasskey],
    ) -> Result<VerifiedAssertion, CeremonyError> {
        let state: PasskeyAuthentication = serde_json::from_value(ceremony.state.clone()).map_err(|_| CeremonyError::BadCeremony)?;
        let response = json!({
            "clientDataJSON": decode(answer.client_data)?,
            "authenticatorData": decode(answer.authenticator_data)?,
            "signature": decode(answer.signature)?,
            "userHandle": answer.user_handle.map(decode).transpose()?,
        });
        let candidates: Vec<&StoredPasskey> = match answer.credential_id {
            Some(id) => {
                let id = decode(id)?;
                passkeys.iter().filter(|p| p.credential_id() == id).collect()
            }
            None => passkeys.iter().collect(),
        };
        let mut refusal = CeremonyError::Refused(WebauthnError::CredentialNotFound);
        for passkey in candidates {
            let id = passkey.credential_id();
            let credential: PublicKeyCredential =
                serde_json::from_value(json!({"id": id, "rawId": id, "type": "public-key", "response": response}))
                    .map_err(|_| CeremonyError::Malformed)?;
            match self.webauthn.finish_passkey_authentication(&credential, &state) {
                Ok(result) => {
                    let mut updated = passkey.credential.clone();
                    let changed = updated.update_credential(&result).unwrap_or(false);
                    let updated_credential =
                        if changed { Some(serde_json::to_string(&updated).map_err(|_| CeremonyError::BadCeremony)?) } else { None };
                    return Ok(VerifiedAssertion { factor_id: passkey.factor_id.clone(), updated_credential });
                }
                Err(error) => refusal = CeremonyError::Refused(error),
            }
        }
        Err(refusal)
    }
}

/// The WebAuthn user handle of an account: a name-based UUID of its id, so it is stable without
/// a column of its own and names nothing but the account.
fn user_handle(user: &UserId) -> uuid::Uuid {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("urn:latchkey:user:{}", user.as_str()).as_bytes())
}

/// Re-encodes a client's base64url (padded or not; some clients send standard base64) as the
/// unpadded base64url webauthn-rs reads.
fn decode(text: &str) -> Result<String, CeremonyError> {
    let bytes: Base64UrlSafeData = serde_json::from_value(Value::String(text.trim().to_owned())).map_err(|_| CeremonyError::Malformed)?;
    Ok(b64url(bytes.as_ref()))
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_id_must_be_the_origins_domain_or_a_parent_of_it() {
        assert!(RelyingParty::new("example.com", "https://login.example.com", &[], "Latchkey").is_ok());
        assert!(RelyingParty::new("localhost", "http://localhost:8080", &[], "Latchkey").is_ok());
        assert!(matches!(RelyingParty::new("other.com", "https://login.example.com", &[], "L"), Err(RelyingPartyError::Mismatch { .. })));
        assert!(matches!(RelyingParty::new("127.0.0.1", "http://127.0.0.1:8080", &[], "L"), Err(RelyingPartyError::Mismatch { .. })));
        assert!(matches!(RelyingParty::new("x", "not a url", &[], "L"), Err(RelyingPartyError::BadOrigin(_))));
        let app = ["https://app.example.com".to_owned()];
        assert!(RelyingParty::new("example.com", "https://login.example.com", &app, "L").is_ok());
        let elsewhere = ["https://app.example.net".to_owned()];
        assert!(matches!(
            RelyingParty::new("example.com", "https://login.example.com", &elsewhere, "L"),
            Err(RelyingPartyError::BadExtraOrigin(_))
        ));
    }

    #[test]
    fn a_registration_ceremony_survives_its_stored_form_and_names_the_account() {
        let rp = RelyingParty::new("localhost", "http://localhost:8080", &[], "Latchkey").expect("valid");
        let user = UserId::from_trusted("00uTEST".to_owned());
        let ceremony = rp.start_registration(&user, "jane", "Jane", &[]).expect("starts");
        let stored = Ceremony::from_stored(&ceremony.to_stored()).expect("reads back");
        assert_eq!(stored, ceremony);
        assert_eq!(stored.options.pointer("/rp/id"), Some(&Value::from("localhost")));
        assert_eq!(stored.options.pointer("/user/name"), Some(&Value::from("jane")));
        assert!(stored.challenge().is_some_and(|c| c.len() >= 43), "{:?}", stored.options);
        // Garbage is refused as malformed before webauthn-rs sees it.
        let refused = rp.finish_registration(&stored, &Attestation { client_data: "%%%", attestation: "" });
        assert!(matches!(refused, Err(CeremonyError::Malformed)));
    }
}
