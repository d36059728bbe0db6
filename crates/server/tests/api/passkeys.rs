//! Passkeys (Okta's `webauthn` authenticator) as a second factor, through a software
//! authenticator written here: a P-256 key (RustCrypto), attestation format "none", and the
//! authenticator data and client data a browser would build. Set up during sign-in
//! (`select-authenticator-enroll` → `enroll-authenticator` with `activationData`), asked for at a
//! 2FA sign-in and at a recovery's step-up (`challenge-authenticator` with `challengeData`), and
//! the attacker's answers: another transaction's challenge, a replay, another account's
//! passkey, a wrong origin or RP id, and many wrong answers.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::helpers::{id_token_claims, interaction_code, remediation_names, spawn_app_with, Flow, TestApp, PASSWORD};

const RP_ID: &str = "localhost";
const ORIGIN: &str = "http://localhost:8443";
/// An application's page that embeds the widget (`webauthn.extra_origins`).
const APP_ORIGIN: &str = "http://app.localhost:9000";
const WEBAUTHN_ID: &str = "aut0lkwebauthn000001";

both_backends!(
    a_passkey_is_set_up_during_sign_in_and_then_signs_in,
    a_recovery_steps_up_with_a_passkey,
    an_assertion_for_another_transaction_or_replayed_is_refused,
    another_accounts_passkey_is_refused,
    a_wrong_origin_or_rp_id_is_refused,
    wrong_passkey_answers_back_off_like_totp_values,
    an_account_with_both_kinds_chooses_one,
    a_passkey_is_named_and_removed_on_the_account_page,
    a_passkey_is_added_on_the_account_page_once_and_only_where_allowed,
    a_password_change_ends_every_passkey_step_in_flight,
);

/// A software authenticator: one credential, a signature counter, and what it reports as the
/// page's origin and the RP id it signs for (a browser takes both from the page).
struct SoftAuthenticator {
    key: SigningKey,
    credential_id: Vec<u8>,
    counter: u32,
    origin: String,
    rp_id: String,
}

impl SoftAuthenticator {
    fn new() -> Self {
        let mut credential_id = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut credential_id);
        Self {
            key: SigningKey::random(&mut rand::rngs::OsRng),
            credential_id,
            counter: 0,
            origin: ORIGIN.to_owned(),
            rp_id: RP_ID.to_owned(),
        }
    }

    fn credential_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false}).to_string().into_bytes()
    }

    /// rpIdHash ‖ flags ‖ signCount, and for a registration the attested credential data.
    fn authenticator_data(&self, flags: u8, attested: Option<Vec<u8>>) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data.extend(attested.unwrap_or_default());
        data
    }

    /// `navigator.credentials.create` from Okta's `activationData`: `credentials` for
    /// `enroll-authenticator`.
    fn create(&mut self, activation: &Value) -> Value {
        let challenge = activation["challenge"].as_str().expect("activationData.challenge");
        let point = self.key.verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().expect("x"), point.y().expect("y"));
        // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}, in CBOR.
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        cose.extend_from_slice(x);
        cose.extend_from_slice(&[0x22, 0x58, 0x20]);
        cose.extend_from_slice(y);
        let mut attested = vec![0u8; 16]; // AAGUID
        attested.extend_from_slice(&u16::try_from(self.credential_id.len()).expect("short id").to_be_bytes());
        attested.extend_from_slice(&self.credential_id);
        attested.extend(cose);
        // UP | UV | AT
        let auth_data = self.authenticator_data(0x45, Some(attested));
        // {"fmt": "none", "attStmt": {}, "authData": bytes}, in CBOR.
        let mut object = vec![0xa3, 0x63];
        object.extend_from_slice(b"fmt");
        object.push(0x64);
        object.extend_from_slice(b"none");
        object.push(0x67);
        object.extend_from_slice(b"attStmt");
        object.push(0xa0);
        object.push(0x68);
        object.extend_from_slice(b"authData");
        object.push(0x59);
        object.extend_from_slice(&u16::try_from(auth_data.len()).expect("short").to_be_bytes());
        object.extend(auth_data);
        json!({
            "clientData": URL_SAFE_NO_PAD.encode(self.client_data("webauthn.create", challenge)),
            "attestation": URL_SAFE_NO_PAD.encode(object),
        })
    }

    /// `navigator.credentials.get` from Okta's `challengeData`: `credentials` for
    /// `challenge-authenticator`.
    fn get(&mut self, challenge_data: &Value) -> Value {
        let challenge = challenge_data["challenge"].as_str().expect("challengeData.challenge");
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", challenge);
        // UP | UV
        let auth_data = self.authenticator_data(0x05, None);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "clientData": URL_SAFE_NO_PAD.encode(client_data),
            "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
            "signatureData": URL_SAFE_NO_PAD.encode(signature.to_der().as_bytes()),
        })
    }
}

async fn spawn(backend: latchkey_store::testing::Backend) -> TestApp {
    let app = spawn_app_with(backend, |s| {
        s.webauthn.rp_id = Some(RP_ID.to_owned());
        s.webauthn.rp_origin = Some(ORIGIN.to_owned());
        s.webauthn.extra_origins = vec![APP_ORIGIN.to_owned()];
        s.otp.account_backoff_after = 3;
    })
    .await;
    assert_eq!(app.set_factor_mode("2FA").await.0, 200);
    app
}

async fn logged(app: &TestApp, event_type: &str) -> Vec<Value> {
    let filter = format!("eventType eq \"{event_type}\"");
    let url = format!("/api/v1/logs?filter={}", url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>());
    app.admin_get(&url).await.json().await.expect("json")
}

fn option_ids(body: &Value) -> Vec<String> {
    body["remediation"]["value"][0]["value"][0]["options"]
        .as_array()
        .map(|o| o.iter().filter_map(|o| o["value"]["form"]["value"][0]["value"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn challenge_data(body: &Value) -> Value {
    body["currentAuthenticator"]["value"]["contextualData"]["challengeData"].clone()
}

/// A 2FA sign-in up to the passkey's challenge.
async fn challenged(app: &TestApp, login: &str) -> (Flow, Value) {
    let flow = app.interact("passkey-state").await;
    let (status, body) = app.step(&flow, "identify", json!({"identifier": login, "credentials": {"passcode": PASSWORD}})).await;
    assert_eq!((status, remediation_names(&body)), (200, vec!["challenge-authenticator".to_owned()]), "{body}");
    (flow, body)
}

/// Creates the user and sets up a passkey during a 2FA sign-in; returns the authenticator.
async fn user_with_passkey(app: &TestApp, login: &str) -> SoftAuthenticator {
    user_with_passkey_and_id(app, login).await.0
}

async fn user_with_passkey_and_id(app: &TestApp, login: &str) -> (SoftAuthenticator, String) {
    let user = app.create_user(login).await;
    let flow = app.interact("setup-state").await;
    let (status, select) = app.step(&flow, "identify", json!({"identifier": login, "credentials": {"passcode": PASSWORD}})).await;
    assert_eq!((status, remediation_names(&select)), (200, vec!["select-authenticator-enroll".to_owned()]), "{select}");
    let (status, setup) =
        app.step(&flow, "credential/enroll", json!({"authenticator": {"id": WEBAUTHN_ID, "methodType": "webauthn"}})).await;
    assert_eq!(status, 200, "{setup}");
    let mut authenticator = SoftAuthenticator::new();
    let credentials = authenticator.create(&setup["currentAuthenticator"]["value"]["contextualData"]["activationData"]);
    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": credentials})).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.get("successWithInteractionCode").is_some(), "{done}");
    (authenticator, user["id"].as_str().expect("id").to_owned())
}

async fn a_passkey_is_set_up_during_sign_in_and_then_signs_in(backend: latchkey_store::testing::Backend) {
    let app = spawn(backend).await;
    let policy: Value = app.admin_get("/api/v1/policies/00plkmfaenroll000001").await.json().await.expect("json");
    let webauthn = policy["settings"]["authenticators"].as_array().and_then(|a| a.iter().find(|x| x["key"] == "webauthn")).cloned();
    assert_eq!(webauthn.map(|w| w["enroll"]["self"].clone()), Some(json!("OPTIONAL")), "{policy}");
    let user = app.create_user("passkey@example.com").await;
    let user_id = user["id"].as_str().expect("id");

    let flow = app.interact("setup-state").await;
    let (status, select) =
        app.step(&flow, "identify", json!({"identifier": "passkey@example.com", "credentials": {"passcode": PASSWORD}})).await;
    assert_eq!(status, 200, "{select}");
    assert_eq!(remediation_names(&select), ["select-authenticator-enroll"]);
    assert_eq!(option_ids(&select), ["aut0lkgoogleotp00001", WEBAUTHN_ID]);
    let (status, setup) =
        app.step(&flow, "credential/enroll", json!({"authenticator": {"id": WEBAUTHN_ID, "methodType": "webauthn"}})).await;
    assert_eq!(status, 200, "{setup}");
    assert_eq!(remediation_names(&setup), ["enroll-authenticator"]);
    // Okta's shapes: the webauthn authenticator, its activationData, the two hidden members.
    let current = &setup["currentAuthenticator"]["value"];
    assert_eq!((current["key"].as_str(), current["type"].as_str()), (Some("webauthn"), Some("security_key")), "{current}");
    let activation = &current["contextualData"]["activationData"];
    assert_eq!(activation["rp"]["id"], RP_ID, "{activation}");
    assert_eq!(activation["user"]["name"], "passkey@example.com");
    assert!(activation["user"]["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(activation["pubKeyCredParams"].as_array().is_some_and(|p| p.iter().any(|p| p["alg"] == -7)), "{activation}");
    assert_eq!(activation["authenticatorSelection"]["userVerification"], "required");
    let fields = &setup["remediation"]["value"][0]["value"][0]["form"]["value"];
    let names: Vec<&str> = fields.as_array().expect("fields").iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["clientData", "attestation"]);
    // A reload shows the same challenge: the ceremony is stored with the transaction.
    let (_, again) = app.introspect(&flow.interaction_handle).await;
    assert_eq!(again["currentAuthenticator"]["value"]["contextualData"]["activationData"]["challenge"], activation["challenge"]);

    let mut authenticator = SoftAuthenticator::new();
    let credentials = authenticator.create(activation);
    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": credentials})).await;
    assert_eq!(status, 200, "{done}");
    let (status, tokens) = app.exchange(&interaction_code(&done)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(id_token_claims(&tokens)["amr"], json!(["pwd", "hwk", "user", "mfa"]));
    let factors: Value = app.admin_get(&format!("/api/v1/users/{user_id}/factors")).await.json().await.expect("json");
    assert_eq!((factors[0]["factorType"].as_str(), factors[0]["status"].as_str()), (Some("webauthn"), Some("ACTIVE")), "{factors}");
    let mails = app.wait_for_mail("passkey@example.com", 1).await;
    assert!(mails.iter().any(|m| m.text.as_deref().unwrap_or_default().contains("/account/not-me?token=")), "AuthenticatorEnrolled");
    let activated = logged(&app, "user.mfa.factor.activate").await;
    assert!(activated.iter().any(|e| e["outcome"]["result"] == "SUCCESS"), "{activated:?}");

    // The next 2FA sign-in asks for the passkey: Okta's challengeData, the credential listed.
    let (flow, challenge) = challenged(&app, "passkey@example.com").await;
    assert_eq!(challenge["currentAuthenticator"]["value"]["key"], "webauthn");
    assert_eq!(challenge_data(&challenge)["userVerification"], "required");
    let enrollments = challenge["authenticatorEnrollments"]["value"].as_array().expect("enrollments");
    assert_eq!(enrollments.iter().map(|e| e["credentialId"].as_str()).collect::<Vec<_>>(), [Some(authenticator.credential_id().as_str())]);
    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 200, "{done}");
    let (status, tokens) = app.exchange(&interaction_code(&done)).await;
    assert_eq!(status, 200);
    assert_eq!(id_token_claims(&tokens)["amr"], json!(["pwd", "hwk", "user", "mfa"]));
    // The signature counter moved, and the stored credential with it: an older count is refused.
    let (flow, challenge) = challenged(&app, "passkey@example.com").await;
    authenticator.counter = 0;
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 401, "a counter that went back is refused: {body}");
    app.assert_store_invariants().await;
}

async fn a_recovery_steps_up_with_a_passkey(backend: latchkey_store::testing::Backend) {
    let app = spawn(backend).await;
    let mut authenticator = user_with_passkey(&app, "stepup@example.com").await;
    assert_eq!(app.set_recovery_step_up(json!({"required": true})).await.0, 200);
    let (flow, _) = app.start_recovery("stepup@example.com", "recovery-state").await;
    let code = app.code_from_mail("stepup@example.com", 2).await;
    let (status, select) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 200, "{select}");
    assert_eq!(remediation_names(&select), ["select-authenticator-authenticate"]);
    assert_eq!(option_ids(&select), [WEBAUTHN_ID]);
    let (status, challenge) = app.step(&flow, "challenge", json!({"authenticator": {"id": WEBAUTHN_ID, "methodType": "webauthn"}})).await;
    assert_eq!(status, 200, "{challenge}");
    assert_eq!(remediation_names(&challenge), ["challenge-authenticator"]);
    assert!(challenge["recoveryAuthenticator"].is_object(), "{challenge}");
    let (status, reset) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(remediation_names(&reset), ["reset-authenticator"]);
}

async fn an_assertion_for_another_transaction_or_replayed_is_refused(backend: latchkey_store::testing::Backend) {
    let app = spawn(backend).await;
    let peer = app.spawn_peer().await;
    let mut authenticator = user_with_passkey(&app, "replay@example.com").await;
    let (first, first_challenge) = challenged(&app, "replay@example.com").await;
    let (second, _) = challenged(&peer, "replay@example.com").await;
    // Signed for the first transaction's challenge, presented to the second: refused.
    let signed = authenticator.get(&challenge_data(&first_challenge));
    let (status, body) = peer.step(&second, "challenge/answer", json!({"credentials": signed})).await;
    assert_eq!(status, 401, "{body}");
    // The first transaction accepts it, on another process than the one that challenged.
    let (status, done) = peer.step(&first, "challenge/answer", json!({"credentials": signed})).await;
    assert_eq!(status, 200, "{done}");
    // Once answered, it opens nothing again: not there, not in a new transaction.
    let (status, again) = app.step(&first, "challenge/answer", json!({"credentials": signed})).await;
    assert_eq!(status, 400, "{again}");
    let (third, _) = challenged(&app, "replay@example.com").await;
    assert_eq!(app.step(&third, "challenge/answer", json!({"credentials": signed})).await.0, 401);
    let refused = logged(&app, "user.authentication.auth_via_mfa.webauthn").await;
    assert!(refused.iter().filter(|e| e["outcome"]["result"] == "FAILURE").count() >= 2, "{refused:?}");
}

async fn another_accounts_passkey_is_refused(backend: latchkey_store::testing::Backend) {
    let app = spawn(backend).await;
    let mut attacker = user_with_passkey(&app, "attacker@example.com").await;
    let mut victim = user_with_passkey(&app, "victim@example.com").await;
    let (flow, challenge) = challenged(&app, "victim@example.com").await;
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": attacker.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 401, "{body}");
    // The victim's own passkey still answers the same challenge.
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": victim.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 200, "{body}");
}

async fn a_wrong_origin_or_rp_id_is_refused(backend: latchkey_store::testing::Backend) {
    let app = spawn(backend).await;
    let mut authenticator = user_with_passkey(&app, "phished@example.com").await;
    let (flow, challenge) = challenged(&app, "phished@example.com").await;
    authenticator.origin = "http://localhost.evil.example:8443".to_owned();
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 401, "another origin");
    authenticator.origin = ORIGIN.to_owned();
    authenticator.rp_id = "evil.example".to_owned();
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 401, "another RP id");
    authenticator.rp_id = RP_ID.to_owned();
    // Malformed answers are refused before anything is counted.
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"clientData": "e30"}})).await;
    assert_eq!(status, 400);
    // A page of an application configured to embed the widget is one of the relying party's.
    authenticator.origin = APP_ORIGIN.to_owned();
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 200, "{body}");
}

async fn wrong_passkey_answers_back_off_like_totp_values(backend: latchkey_store::testing::Backend) {
    let app = spawn(backend).await;
    let mut authenticator = user_with_passkey(&app, "guessed@example.com").await;
    let (flow, challenge) = challenged(&app, "guessed@example.com").await;
    let mut forged = SoftAuthenticator::new();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.step(&flow, "challenge/answer", json!({"credentials": forged.get(&challenge_data(&challenge))})).await.0);
    }
    // `otp.account_backoff_after` = 3 here: the third failure starts the back-off.
    assert_eq!(statuses, [401, 401, 401, 429]);
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 429, "the right passkey waits too");
}

async fn an_account_with_both_kinds_chooses_one(backend: latchkey_store::testing::Backend) {
    let app = spawn(backend).await;
    let (mut authenticator, user_id) = user_with_passkey_and_id(&app, "both@example.com").await;
    app.enroll_totp(&user_id).await;
    let flow = app.interact("both-state").await;
    let (status, select) =
        app.step(&flow, "identify", json!({"identifier": "both@example.com", "credentials": {"passcode": PASSWORD}})).await;
    assert_eq!(status, 200, "{select}");
    assert_eq!(remediation_names(&select), ["select-authenticator-authenticate"]);
    assert_eq!(option_ids(&select), ["aut0lkgoogleotp00001", WEBAUTHN_ID]);
    let (status, challenge) = app.step(&flow, "challenge", json!({"authenticator": {"id": WEBAUTHN_ID}})).await;
    assert_eq!(status, 200, "{challenge}");
    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.get("successWithInteractionCode").is_some());
}

async fn a_passkey_is_named_and_removed_on_the_account_page(backend: latchkey_store::testing::Backend) {
    use crate::account_page::{factor_field, open, post, signed_in};
    let app = spawn(backend).await;
    let (_, user_id) = user_with_passkey_and_id(&app, "page@example.com").await;
    // The hosted sign-in here proves the password only; the page asks nothing more.
    assert_eq!(app.set_factor_mode("1FA").await.0, 200);
    let session = signed_in(&app, "page@example.com").await;
    let page = open(&app, &session).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<strong>Passkey</strong>"), "a passkey by its default name: {}", page.body);
    let factor_id = factor_field(&page);
    let renamed = post(&app, "/account/factors/rename", &session, &page, &[("factor", &factor_id), ("name", "Laptop")]).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert!(renamed.body.contains("<strong>Laptop</strong>"), "{}", renamed.body);
    let removed = post(&app, "/account/factors/remove", &session, &renamed, &[("factor", &factor_id), ("current", PASSWORD)]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let factors: Value = app.admin_get(&format!("/api/v1/users/{user_id}/factors")).await.json().await.expect("json");
    assert_eq!(factors.as_array().map(Vec::len), Some(0), "{factors}");
    let deactivated = logged(&app, "user.mfa.factor.deactivate").await;
    assert!(deactivated.iter().any(|e| e["outcome"]["result"] == "SUCCESS"), "{deactivated:?}");
}

/// The enrollment policy's setting for passkeys.
async fn set_passkey_enroll(app: &TestApp, setting: &str) -> u16 {
    app.replace_policy(crate::helpers::ENROLL_POLICY, |policy| {
        for a in policy["settings"]["authenticators"].as_array_mut().into_iter().flatten() {
            if a["key"] == "webauthn" {
                a["enroll"]["self"] = json!(setting);
            }
        }
    })
    .await
    .0
}

async fn a_passkey_is_added_on_the_account_page_once_and_only_where_allowed(backend: latchkey_store::testing::Backend) {
    use crate::account_page::{open, post, signed_in};
    let app = spawn(backend).await;
    assert_eq!(app.set_factor_mode("1FA").await.0, 200);
    let user = app.create_user("added@example.com").await;
    let user_id = user["id"].as_str().expect("id");
    let session = signed_in(&app, "added@example.com").await;
    let page = open(&app, &session).await;
    assert!(page.body.contains("action=\"/account/passkey\""), "the page offers a passkey: {}", page.body);
    let started = post(&app, "/account/passkey", &session, &page, &[]).await;
    assert_eq!(started.status, 200, "{}", started.body);
    let attribute = started.body.split("data-options=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("the options");
    let options: Value = serde_json::from_str(
        &attribute.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"),
    )
    .expect("JSON options");
    assert_eq!(options["rp"]["id"], RP_ID, "{options}");
    let mut authenticator = SoftAuthenticator::new();
    let answer = authenticator.create(&options);
    let fields =
        [("clientData", answer["clientData"].as_str().expect("cd")), ("attestation", answer["attestation"].as_str().expect("att"))];
    let added = post(&app, "/account/passkey/activate", &session, &started, &fields).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("Passkey added."), "{}", added.body);
    // The registration is spent: the same answer adds nothing again.
    let again = post(&app, "/account/passkey/activate", &session, &added, &fields).await;
    assert_ne!(again.status, 200, "{}", again.body);
    let factors: Value = app.admin_get(&format!("/api/v1/users/{user_id}/factors")).await.json().await.expect("json");
    assert_eq!(factors.as_array().map(Vec::len), Some(1), "{factors}");
    let mails = app.wait_for_mail("added@example.com", 1).await;
    assert!(mails.iter().any(|m| m.text.as_deref().unwrap_or_default().contains("/account/not-me?token=")), "AuthenticatorEnrolled");

    // It signs in.
    assert_eq!(app.set_factor_mode("2FA").await.0, 200);
    let (flow, challenge) = challenged(&app, "added@example.com").await;
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_eq!(status, 200, "{body}");

    // NOT_ALLOWED hides the form and refuses it.
    assert_eq!(set_passkey_enroll(&app, "NOT_ALLOWED").await, 200);
    let page = open(&app, &session).await;
    assert!(!page.body.contains("action=\"/account/passkey\""), "{}", page.body);
    assert_eq!(post(&app, "/account/passkey", &session, &page, &[]).await.status, 403);
}

/// An administrator sets a new password while a 2FA sign-in waits for the passkey and another
/// account registers one during its sign-in: neither may finish afterwards (each proved only the
/// old password), as for a TOTP app.
async fn a_password_change_ends_every_passkey_step_in_flight(backend: latchkey_store::testing::Backend) {
    let app = spawn(backend).await;
    let (mut authenticator, user_id) = user_with_passkey_and_id(&app, "inflight@example.com").await;
    let (signin, challenge) = challenged(&app, "inflight@example.com").await;
    let newcomer = app.create_user("newcomer@example.com").await;
    let newcomer_id = newcomer["id"].as_str().expect("id").to_owned();
    let setup = app.interact("in-flight-set-up").await;
    let (status, _) =
        app.step(&setup, "identify", json!({"identifier": "newcomer@example.com", "credentials": {"passcode": PASSWORD}})).await;
    assert_eq!(status, 200);
    let (status, shown) = app.step(&setup, "credential/enroll", json!({"authenticator": {"id": WEBAUTHN_ID}})).await;
    assert_eq!(status, 200, "{shown}");
    for (id, password) in [(&user_id, "an administrator chose this passphrase"), (&newcomer_id, "an administrator chose this one too")] {
        let response =
            app.admin_post(&format!("/api/v1/users/{id}"), json!({"profile": {}, "credentials": {"password": {"value": password}}})).await;
        assert_eq!(response.status(), 200);
    }
    let (status, body) =
        app.step(&signin, "challenge/answer", json!({"credentials": authenticator.get(&challenge_data(&challenge))})).await;
    assert_ne!(status, 200, "a sign-in that proved the old password ended: {body}");
    assert!(body.get("successWithInteractionCode").is_none(), "{body}");
    let mut newcomer_key = SoftAuthenticator::new();
    let answer = newcomer_key.create(&shown["currentAuthenticator"]["value"]["contextualData"]["activationData"]);
    let (status, body) = app.step(&setup, "challenge/answer", json!({"credentials": answer})).await;
    assert_ne!(status, 200, "a set-up under the old password ended: {body}");
    let factors: Value = app.admin_get(&format!("/api/v1/users/{newcomer_id}/factors")).await.json().await.expect("json");
    assert_eq!(factors.as_array().map(Vec::len), Some(0), "{factors}");
}
