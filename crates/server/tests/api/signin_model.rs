//! Sign-in with a second factor explored the way an attacker explores it: random sequences of
//! IDX calls against a real server (two processes on one database), checked after every step
//! against a small reference model.
//!
//! Two accounts, Alice and Bob. The attacker knows both passwords (a stolen password is the case
//! a second factor exists for) and Alice's TOTP app, never Bob's. Operations: interact, sign in
//! as either account, choose the TOTP set-up, answer a challenge with either account's app, answer
//! a set-up with the secret another transaction was shown, cancel, switch the app sign-in rule
//! (`1FA`/`2FA`) and the enrollment policy, remove an account's factor through the admin API,
//! and move the clock one TOTP step. Invariants, after every step:
//! - an interaction code for an account comes only from what the rules allow: the password
//!   alone under `1FA` (unless set-up is required of an account without an app), else a fresh
//!   value of that account's own active app, or of the app whose set-up a transaction of that
//!   same account was shown;
//! - no TOTP step of an account's app opens two sign-ins;
//! - the tokens name that account, and their `amr` says what was proved (`pwd`, or
//!   `pwd otp mfa`).
//!
//! `LATCHKEY_MODEL_CASES` sets the number of random cases (CI runs a few).
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use latchkey_domain::totp::{self, TotpPolicy, TotpSecret};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{id_token_claims, interaction_code, spawn_app, Flow, TestApp, ADMIN_TOKEN, PASSWORD};

both_backends!(random_sign_in_sequences_never_skip_the_second_factor);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Alice,
    Bob,
}

#[derive(Debug, Clone)]
enum Op {
    Interact(u8),
    SignIn(u8, Who),
    ChooseSetUp(u8),
    /// Answer a challenge or set-up in a slot with the current value of this account's active app.
    AnswerApp(u8, Who),
    /// Answer in a slot with the current value of the secret another slot's set-up showed.
    AnswerSetUpOf(u8, u8),
    Cancel(u8),
    TwoFactors(bool),
    Enroll(u8),
    RemoveFactor(Who),
    NextStep,
}

/// Sequences run first: a set-up with a stolen password, then another account's app and another
/// transaction's set-up tried where they must not work; and a rule switched mid-sign-in.
const SEEDS: &[&[Op]] = &[
    &[
        Op::Interact(0),
        Op::TwoFactors(true),
        Op::RemoveFactor(Who::Bob),
        Op::SignIn(0, Who::Bob),
        Op::ChooseSetUp(0),
        Op::AnswerApp(0, Who::Alice),
        Op::Interact(1),
        Op::SignIn(1, Who::Alice),
        Op::AnswerSetUpOf(1, 0),
        Op::AnswerSetUpOf(0, 0),
        Op::AnswerApp(1, Who::Bob),
        Op::AnswerApp(1, Who::Alice),
    ],
    &[
        Op::Interact(0),
        Op::SignIn(0, Who::Alice),
        Op::TwoFactors(true),
        Op::Interact(1),
        Op::SignIn(1, Who::Alice),
        Op::AnswerApp(1, Who::Bob),
        Op::AnswerApp(1, Who::Alice),
        Op::NextStep,
        Op::AnswerApp(1, Who::Alice),
    ],
];

fn op() -> impl Strategy<Value = Op> {
    let slot = 0u8..3;
    let who = prop_oneof![Just(Who::Alice), Just(Who::Bob)];
    prop_oneof![
        3 => slot.clone().prop_map(Op::Interact),
        5 => (slot.clone(), who.clone()).prop_map(|(s, w)| Op::SignIn(s, w)),
        3 => slot.clone().prop_map(Op::ChooseSetUp),
        6 => (slot.clone(), who.clone()).prop_map(|(s, w)| Op::AnswerApp(s, w)),
        3 => (slot.clone(), slot.clone()).prop_map(|(s, o)| Op::AnswerSetUpOf(s, o)),
        1 => slot.prop_map(Op::Cancel),
        2 => any::<bool>().prop_map(Op::TwoFactors),
        2 => (0u8..3).prop_map(Op::Enroll),
        1 => who.prop_map(Op::RemoveFactor),
        2 => Just(Op::NextStep),
    ]
}

struct Slot {
    flow: Flow,
    account: Option<Who>,
    /// The secret this transaction's set-up showed.
    set_up: Option<TotpSecret>,
}

struct Case {
    prefix: String,
    slots: HashMap<u8, Slot>,
    ids: HashMap<Who, String>,
    /// Each account's active app, as the model knows it (`None`: none).
    active: HashMap<Who, Option<TotpSecret>>,
    /// Every secret a set-up of this account showed: the only ones that may activate its app.
    shown: HashMap<Who, Vec<TotpSecret>>,
    two_factors: bool,
    enroll: &'static str,
    used_steps: HashSet<(Who, String, u64)>,
}

impl Case {
    fn login(&self, who: Who) -> String {
        format!("{}-{}@example.com", if who == Who::Alice { "alice" } else { "bob" }, self.prefix)
    }
}

async fn random_sign_in_sequences_never_skip_the_second_factor(backend: latchkey_store::testing::Backend) {
    let cases: u32 = std::env::var("LATCHKEY_MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let app = spawn_app(backend).await;
    let peer = app.spawn_peer().await;
    let handle = tokio::runtime::Handle::current();
    let counter = std::cell::Cell::new(0u32);
    for (i, seed) in SEEDS.iter().enumerate() {
        counter.set(counter.get() + 1);
        if let Err(e) = tokio::task::block_in_place(|| handle.block_on(run_case(&app, &peer, counter.get(), seed))) {
            panic!("seed sequence {i} failed: {e}");
        }
    }
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&proptest::collection::vec(op(), 5..30), |ops| {
        counter.set(counter.get() + 1);
        tokio::task::block_in_place(|| handle.block_on(run_case(&app, &peer, counter.get(), &ops))).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("sign-in model: {cases} random sequences passed on {}", backend.name());
}

async fn run_case(app: &TestApp, peer: &TestApp, n: u32, ops: &[Op]) -> Result<(), String> {
    let mut case = Case {
        prefix: format!("m{n}-{}", latchkey_domain::secret::okta_style_id("").to_lowercase()),
        slots: HashMap::new(),
        ids: HashMap::new(),
        active: HashMap::new(),
        shown: HashMap::new(),
        two_factors: false,
        enroll: "OPTIONAL",
        used_steps: HashSet::new(),
    };
    policies(app, false, "OPTIONAL").await;
    for who in [Who::Alice, Who::Bob] {
        let user = app.create_user(&case.login(who)).await;
        let id = user["id"].as_str().expect("id").to_owned();
        case.active.insert(who, Some(app.enroll_totp(&id).await));
        case.ids.insert(who, id);
    }
    for op in ops {
        step(app, peer, &mut case, op).await.map_err(|e| format!("after {op:?}: {e}"))?;
    }
    Ok(())
}

async fn step(app: &TestApp, peer: &TestApp, case: &mut Case, op: &Op) -> Result<(), String> {
    // Slots alternate between the two processes, so a transaction roams like behind a balancer.
    let server = |slot: u8| if slot.is_multiple_of(2) { app } else { peer };
    match *op {
        Op::Interact(slot) => {
            let flow = server(slot).interact(&format!("{}-{slot}", case.prefix)).await;
            case.slots.insert(slot, Slot { flow, account: None, set_up: None });
        }
        Op::SignIn(slot, who) => {
            let login = case.login(who);
            let Some(s) = case.slots.get_mut(&slot) else { return Ok(()) };
            let (status, body) =
                server(slot).step(&s.flow, "identify", json!({"identifier": login, "credentials": {"passcode": PASSWORD}})).await;
            if status == 200 {
                s.account = Some(who);
                if body.get("successWithInteractionCode").is_some() {
                    let has_app = case.active[&who].is_some();
                    if case.two_factors || (case.enroll == "REQUIRED" && !has_app) {
                        return Err(format!("the password alone signed {who:?} in (2FA {}, enroll {})", case.two_factors, case.enroll));
                    }
                    tokens_name(server(slot), &body, &case.ids[&who], &["pwd"]).await?;
                }
            }
        }
        Op::ChooseSetUp(slot) => {
            let Some(s) = case.slots.get_mut(&slot) else { return Ok(()) };
            let body = json!({"authenticator": {"id": "aut0lkgoogleotp00001", "methodType": "otp"}});
            let (status, answer) = server(slot).step(&s.flow, "credential/enroll", body).await;
            if status == 200 {
                let shared = answer["currentAuthenticator"]["value"]["contextualData"]["sharedSecret"].as_str();
                let secret = TotpSecret::from_base32(shared.ok_or("a set-up without its secret")?).map_err(|_| "not base32")?;
                let who = s.account.ok_or("a set-up before any sign-in")?;
                case.shown.entry(who).or_default().push(secret.clone());
                s.set_up = Some(secret);
            }
        }
        Op::AnswerApp(slot, whose) => {
            let Some(secret) = case.active.get(&whose).and_then(Option::clone) else { return Ok(()) };
            answer(server(slot), case, slot, &secret).await?;
        }
        Op::AnswerSetUpOf(slot, other) => {
            let Some(secret) = case.slots.get(&other).and_then(|s| s.set_up.clone()) else { return Ok(()) };
            answer(server(slot), case, slot, &secret).await?;
        }
        Op::Cancel(slot) => {
            if let Some(s) = case.slots.get_mut(&slot) {
                if server(slot).step(&s.flow, "cancel", json!({})).await.0 == 200 {
                    s.account = None;
                    s.set_up = None;
                }
            }
        }
        Op::TwoFactors(on) => {
            case.two_factors = on;
            policies(app, on, case.enroll).await;
        }
        Op::Enroll(which) => {
            case.enroll = ["REQUIRED", "OPTIONAL", "NOT_ALLOWED"][usize::from(which) % 3];
            policies(app, case.two_factors, case.enroll).await;
        }
        Op::RemoveFactor(who) => {
            let id = &case.ids[&who];
            let factors: Value = app.admin_get(&format!("/api/v1/users/{id}/factors")).await.json().await.map_err(|e| e.to_string())?;
            for factor in factors.as_array().into_iter().flatten().filter(|f| f["status"] == "ACTIVE") {
                let url = format!("{}/api/v1/users/{id}/factors/{}", app.base, factor["id"].as_str().unwrap_or_default());
                app.http.delete(url).header("Authorization", format!("SSWS {ADMIN_TOKEN}")).send().await.map_err(|e| e.to_string())?;
            }
            case.active.insert(who, None);
        }
        Op::NextStep => app.advance_clock(Duration::from_secs(30)).await,
    }
    Ok(())
}

/// Answers the slot's challenge or set-up with `secret`'s current value and checks what a code
/// may come from.
async fn answer(server: &TestApp, case: &mut Case, slot: u8, secret: &TotpSecret) -> Result<(), String> {
    let Some(s) = case.slots.get(&slot) else { return Ok(()) };
    let now = server.state.store.now().await.map_err(|e| e.to_string())?;
    let value = totp::value_at(secret, &TotpPolicy::default(), now);
    let time_step = u64::try_from(now / 30_000).unwrap_or_default();
    let (status, body) = server.step(&s.flow, "challenge/answer", json!({"credentials": {"passcode": value}})).await;
    if status != 200 || body.get("successWithInteractionCode").is_none() {
        return Ok(());
    }
    let who = s.account.ok_or("a code for a transaction no password opened")?;
    let same = |a: &TotpSecret| a == secret;
    let own_app = case.active[&who].as_ref().is_some_and(same);
    let own_set_up = case.shown.get(&who).is_some_and(|shown| shown.iter().any(same));
    if !own_app && !own_set_up {
        return Err(format!("{who:?} was signed in with a value of an app that is not theirs"));
    }
    if !case.used_steps.insert((who, secret.base32(), time_step)) {
        return Err(format!("one TOTP step of {who:?}'s app signed in twice"));
    }
    if own_set_up && !own_app {
        case.active.insert(who, Some(secret.clone()));
    }
    tokens_name(server, &body, &case.ids[&who], &["pwd", "otp", "mfa"]).await
}

/// The tokens name `user_id`, and their `amr` says what the sign-in proved.
async fn tokens_name(server: &TestApp, body: &Value, user_id: &str, amr: &[&str]) -> Result<(), String> {
    let (status, tokens) = server.exchange(&interaction_code(body)).await;
    if status != 200 {
        return Err(format!("the code did not redeem: {tokens}"));
    }
    let claims = id_token_claims(&tokens);
    if claims["sub"] != user_id {
        return Err(format!("the tokens name {} instead of {user_id}", claims["sub"]));
    }
    if claims["amr"] != serde_json::json!(amr) {
        return Err(format!("amr {} where the sign-in proved {amr:?}", claims["amr"]));
    }
    Ok(())
}

/// The app sign-in rule and the enrollment policy, as the model holds them.
async fn policies(app: &TestApp, two_factors: bool, enroll: &str) {
    assert_eq!(app.set_factor_mode(if two_factors { "2FA" } else { "1FA" }).await.0, 200);
    assert_eq!(app.set_totp_enroll(enroll).await.0, 200);
}
