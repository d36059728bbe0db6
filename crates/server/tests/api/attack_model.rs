//! The recovery protocol explored the way an attacker explores it: random sequences of IDX
//! calls by two actors against a real server, checked after every step against a small
//! reference model (issue: "test the protocol the way an attacker explores it").
//!
//! The attacker has an account and a mailbox, the victim too; an unknown identifier is the
//! third subject. Operations: interact, introspect, recover, identify (either account or the
//! unknown identifier), select Email, resend, cancel, answer with any code either mailbox has
//! seen, set a password, restart the server, and move the clock past the mail gap or a code's
//! lifetime. Both accounts have a TOTP app; the administrator switches the password rule's
//! second-factor step-up on and off, and either actor answers a step-up with either account's
//! current TOTP value. The administrator also sets either account's password, which must end
//! every recovery of that account in flight. Invariants, checked after every step:
//! - `reset-authenticator` is reached only with a code mailed to the step's own subject, for
//!   this transaction (its emailed link names this transaction's `state`);
//! - while the rule asks for a second factor, a code opens only the step-up, and the reset is
//!   reached only with the current value of the step's own account's TOTP app, each value once;
//! - no account's password changes and no token names it, except through its own code;
//! - a recovery whose code (or step-up) was verified before the account's password changed
//!   sets no password and passes no step-up after it;
//! - at most one reset per code;
//! - no code's attempt counter exceeds the per-code limit;
//! - the store's own invariants hold (`Store::invariant_violations`: one live code per account
//!   and identifier, each at its own challenge step; no deliverable decoy email).
//!
//! The model predicts nothing else (it does not need to know whether a legitimate answer is
//! throttled): it is a safety oracle. Sequences that once failed are kept in `REGRESSIONS` and
//! run first. `LATCHKEY_MODEL_CASES` sets the number of random cases (CI runs a few per
//! database; see the closing note for a longer run).
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use latchkey_domain::totp::{self, TotpPolicy, TotpSecret};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{
    email_authenticator_id, extract_code, id_token_claims, interaction_code, remediation_names, spawn_app_with, Flow, TestApp, PASSWORD,
};

both_backends!(random_recovery_sequences_never_reset_an_account_without_its_own_code);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Attacker,
    Victim,
    Unknown,
}

const SLOTS: u8 = 3;

#[derive(Debug, Clone)]
enum Op {
    Interact(u8),
    Introspect(u8),
    Recover(u8),
    Identify(u8, Who),
    SelectEmail(u8),
    Resend(u8),
    Cancel(u8),
    /// Answer in a slot with the n-th code seen in any mailbox (modulo how many were seen).
    Answer(u8, u8),
    SetPassword(u8, u8),
    /// The administrator switches the second-factor step-up of recovery on or off.
    StepUp(bool),
    /// Choose the TOTP app at a step-up's select step.
    ChooseFactor(u8),
    /// Answer a step-up with the current value of this account's TOTP app.
    AnswerFactor(u8, Who),
    /// The administrator sets this account's password (the n-th of `ADMIN_PASSWORDS`).
    AdminSetsPassword(Who, u8),
    PastMailGap,
    PastCodeLifetime,
    Restart,
}

/// The account-takeover sequence (finding 1), the step-up's own attacks (another account's TOTP
/// value, the rule switched off mid-flow), and any sequence a failing run shrank to.
const REGRESSIONS: &[&[Op]] = &[
    // A recovery at its step-up outlived an administrator's new password and reset it again.
    &[
        Op::Interact(0),
        Op::StepUp(true),
        Op::Recover(0),
        Op::Identify(0, Who::Victim),
        Op::SelectEmail(0),
        Op::Answer(0, 0),
        Op::ChooseFactor(0),
        Op::AdminSetsPassword(Who::Victim, 0),
        Op::AnswerFactor(0, Who::Victim),
        Op::SetPassword(0, 0),
    ],
    &[
        Op::Interact(0),
        Op::StepUp(true),
        Op::Recover(0),
        Op::Identify(0, Who::Victim),
        Op::SelectEmail(0),
        Op::Answer(0, 0),
        Op::ChooseFactor(0),
        Op::AnswerFactor(0, Who::Attacker),
        Op::AnswerFactor(0, Who::Victim),
        Op::SetPassword(0, 0),
    ],
    &[
        Op::Interact(0),
        Op::Recover(0),
        Op::Identify(0, Who::Victim),
        Op::SelectEmail(0),
        Op::StepUp(true),
        Op::Answer(0, 0),
        Op::StepUp(false),
        Op::SetPassword(0, 1),
        Op::ChooseFactor(0),
        Op::AnswerFactor(0, Who::Victim),
        Op::SetPassword(0, 2),
    ],
    &[
        Op::Interact(0),
        Op::Recover(0),
        Op::Identify(0, Who::Attacker),
        Op::SelectEmail(0),
        Op::Cancel(0),
        Op::Recover(0),
        Op::Identify(0, Who::Victim),
        Op::SelectEmail(0),
        Op::PastMailGap,
        Op::Interact(1),
        Op::Recover(1),
        Op::Identify(1, Who::Victim),
        Op::SelectEmail(1),
        Op::Answer(0, 0),
        Op::SetPassword(0, 1),
    ],
];

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    let who = prop_oneof![Just(Who::Attacker), Just(Who::Victim), Just(Who::Unknown)];
    prop_oneof![
        3 => slot.clone().prop_map(Op::Interact),
        1 => slot.clone().prop_map(Op::Introspect),
        4 => slot.clone().prop_map(Op::Recover),
        6 => (slot.clone(), who).prop_map(|(s, w)| Op::Identify(s, w)),
        6 => slot.clone().prop_map(Op::SelectEmail),
        2 => slot.clone().prop_map(Op::Resend),
        3 => slot.clone().prop_map(Op::Cancel),
        8 => (slot.clone(), any::<u8>()).prop_map(|(s, c)| Op::Answer(s, c)),
        4 => (slot.clone(), 0u8..3).prop_map(|(s, p)| Op::SetPassword(s, p)),
        1 => any::<bool>().prop_map(Op::StepUp),
        3 => slot.clone().prop_map(Op::ChooseFactor),
        4 => (slot, prop_oneof![Just(Who::Attacker), Just(Who::Victim)]).prop_map(|(s, w)| Op::AnswerFactor(s, w)),
        2 => Just(Op::PastMailGap),
        1 => Just(Op::PastCodeLifetime),
        1 => Just(Op::Restart),
        1 => (prop_oneof![Just(Who::Attacker), Just(Who::Victim)], 0u8..2).prop_map(|(w, p)| Op::AdminSetsPassword(w, p)),
    ]
}

const ADMIN_PASSWORDS: [&str; 2] = ["an administrator chose this passphrase", "an administrator chose another one"];

const NEW_PASSWORDS: [&str; 3] =
    ["a brand new passphrase number one", "second entirely fresh passphrase", "third passphrase nobody guessed"];

struct Slot {
    flow: Flow,
    oauth_state: String,
    /// Whom the transaction is about, as far as the client's own calls say.
    identified: Option<Who>,
    /// The account whose code opened the reset step.
    verified_for: Option<Who>,
    /// The account whose code opened the second-factor step-up.
    code_verified_for: Option<Who>,
    /// How many times the administrator had changed that account's password when its code was
    /// verified here.
    verified_after_changes: u32,
}

struct MailedCode {
    code: String,
    to: Who,
    /// The `state` of the transaction the email was sent for (from its link).
    state: String,
}

struct Case {
    prefix: String,
    slots: HashMap<u8, Slot>,
    codes: Vec<MailedCode>,
    seen_messages: usize,
    reset_codes: HashSet<(String, String)>,
    passwords: HashMap<Who, String>,
    user_ids: HashMap<Who, String>,
    serial: u32,
    secrets: HashMap<Who, TotpSecret>,
    step_up: bool,
    /// TOTP values that opened a reset, by account and time step: each at most once.
    accepted_values: HashSet<(Who, u64)>,
    /// Password changes by the administrator, per account.
    admin_changes: HashMap<Who, u32>,
}

impl Case {
    fn address(&self, who: Who) -> String {
        let name = match who {
            Who::Attacker => "attacker",
            Who::Victim => "victim",
            Who::Unknown => "nobody",
        };
        format!("{name}-{}@example.com", self.prefix)
    }

    fn who_is(&self, address: &str) -> Option<Who> {
        [Who::Attacker, Who::Victim, Who::Unknown].into_iter().find(|w| self.address(*w) == address)
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

async fn random_recovery_sequences_never_reset_an_account_without_its_own_code(backend: latchkey_store::testing::Backend) {
    let cases: u32 = std::env::var("LATCHKEY_MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let app = spawn_app_with(backend, |s| {
        // A small, explorable budget: a few mails an hour so throttles are reached, the
        // default gap, and the default per-code and account limits.
        s.recovery.mail_per_hour = 4;
    })
    .await;
    // proptest drives a synchronous closure; each case runs on this test's runtime.
    let holder = std::cell::RefCell::new(Some(app));
    let counter = std::cell::Cell::new(0u32);
    let handle = tokio::runtime::Handle::current();
    let run = |ops: &[Op]| -> Result<(), TestCaseError> {
        counter.set(counter.get() + 1);
        // A panic inside an earlier case (an unexpected status in a helper) took the server
        // with it; say so instead of failing every shrinking step on a missing value.
        let Some(app) = holder.borrow_mut().take() else {
            return Err(fail("the server was lost to a panic in an earlier case (see the first panic above)".to_owned()));
        };
        let (app, result) = tokio::task::block_in_place(|| handle.block_on(run_case(app, counter.get(), ops)));
        *holder.borrow_mut() = Some(app);
        result
    };
    for (i, sequence) in REGRESSIONS.iter().enumerate() {
        if let Err(e) = run(sequence) {
            panic!("regression sequence {i} failed: {e}");
        }
    }
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&proptest::collection::vec(op(), 5..30), |ops| run(&ops));
    if let Err(e) = result {
        panic!("{e}\nAdd the minimal sequence above to REGRESSIONS.");
    }
    eprintln!("attack model: {} regression and {cases} random sequences passed on {}", REGRESSIONS.len(), backend.name());
}

/// Runs one sequence with fresh accounts; returns the (possibly restarted) server.
async fn run_case(app: TestApp, n: u32, ops: &[Op]) -> (TestApp, Result<(), TestCaseError>) {
    let prefix = format!("c{n}-{}", latchkey_domain::secret::okta_style_id("").to_lowercase());
    let mut case = Case {
        prefix,
        slots: HashMap::new(),
        codes: Vec::new(),
        seen_messages: app.sink.messages().len(),
        reset_codes: HashSet::new(),
        passwords: HashMap::new(),
        user_ids: HashMap::new(),
        serial: 0,
        secrets: HashMap::new(),
        step_up: false,
        accepted_values: HashSet::new(),
        admin_changes: HashMap::new(),
    };
    // Cases share the server: each starts with the rule off.
    assert_eq!(app.set_recovery_step_up(json!({"required": false})).await.0, 200);
    for who in [Who::Attacker, Who::Victim] {
        let user = app.create_user(&case.address(who)).await;
        let id = user["id"].as_str().expect("id").to_owned();
        case.secrets.insert(who, app.enroll_totp(&id).await);
        case.user_ids.insert(who, id);
        case.passwords.insert(who, PASSWORD.to_owned());
    }
    let mut app = app;
    for op in ops {
        if let Op::Restart = op {
            app = app.restart().await;
            continue;
        }
        if let Err(e) = step(&app, &mut case, op).await {
            return (app, Err(fail(format!("after {op:?}: {e}"))));
        }
        if let Err(e) = check_invariants(&app, &mut case).await {
            return (app, Err(fail(format!("after {op:?}: {e}"))));
        }
    }
    let result = final_check(&app, &case).await;
    (app, result.map_err(fail))
}

async fn step(app: &TestApp, case: &mut Case, op: &Op) -> Result<(), String> {
    match *op {
        Op::Interact(slot) => {
            case.serial += 1;
            let oauth_state = format!("{}-s{}", case.prefix, case.serial);
            let flow = app.interact(&oauth_state).await;
            case.slots.insert(
                slot,
                Slot { flow, oauth_state, identified: None, verified_for: None, code_verified_for: None, verified_after_changes: 0 },
            );
        }
        Op::Introspect(slot) => {
            if let Some(s) = case.slots.get(&slot) {
                app.introspect(&s.flow.interaction_handle).await;
            }
        }
        Op::Recover(slot) => {
            if let Some(s) = case.slots.get_mut(&slot) {
                let (status, _) = app.step(&s.flow, "recover", json!({})).await;
                if status == 200 {
                    s.identified = None;
                    s.verified_for = None;
                    s.code_verified_for = None;
                }
            }
        }
        Op::Identify(slot, who) => {
            let address = case.address(who);
            if let Some(s) = case.slots.get_mut(&slot) {
                let (status, body) = app.step(&s.flow, "identify", json!({"identifier": address})).await;
                if status == 200 && remediation_names(&body) == ["select-authenticator-authenticate"] {
                    s.identified = Some(who);
                    s.verified_for = None;
                    s.code_verified_for = None;
                }
            }
        }
        Op::SelectEmail(slot) => {
            if let Some(s) = case.slots.get(&slot) {
                let (_, body) = app.introspect(&s.flow.interaction_handle).await;
                if remediation_names(&body) == ["select-authenticator-authenticate"] {
                    app.step(&s.flow, "challenge", json!({"authenticator": {"id": email_authenticator_id(&body)}})).await;
                }
            }
        }
        Op::Resend(slot) => {
            if let Some(s) = case.slots.get(&slot) {
                app.step(&s.flow, "challenge/resend", json!({})).await;
            }
        }
        Op::Cancel(slot) => {
            if let Some(s) = case.slots.get_mut(&slot) {
                let (status, _) = app.step(&s.flow, "cancel", json!({})).await;
                if status == 200 {
                    s.identified = None;
                    s.verified_for = None;
                    s.code_verified_for = None;
                }
            }
        }
        Op::Answer(slot, pick) => {
            let (code, mailed) = match case.codes.len() {
                0 => ("000000".to_owned(), None),
                len => {
                    let c = &case.codes[usize::from(pick) % len];
                    (c.code.clone(), Some((c.to, c.state.clone())))
                }
            };
            let Some(s) = case.slots.get_mut(&slot) else { return Ok(()) };
            let (status, body) = app.step(&s.flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
            let names = remediation_names(&body);
            // A code that opens the step-up is checked like one that opens the reset.
            let opened_step_up = status == 200 && names == ["select-authenticator-authenticate"] && s.code_verified_for.is_none();
            if opened_step_up || (status == 200 && names == ["reset-authenticator"] && s.verified_for.is_none()) {
                if names == ["reset-authenticator"] && case.step_up {
                    return Err("the emailed code alone opened the reset while the rule asked for a second factor".to_owned());
                }
                let Some((to, state)) = mailed else { return Err(format!("a code nobody was mailed opened the reset: {body}")) };
                if state != s.oauth_state {
                    return Err(format!("a code mailed for transaction {state} opened the reset of {}", s.oauth_state));
                }
                if Some(to) != s.identified || to == Who::Unknown {
                    return Err(format!("a code mailed to {to:?} opened the reset of a transaction about {:?}", s.identified));
                }
                if !case.reset_codes.insert((code.clone(), state)) {
                    return Err("one code opened a reset twice".to_owned());
                }
                if opened_step_up {
                    s.code_verified_for = Some(to);
                } else {
                    s.verified_for = Some(to);
                }
                s.verified_after_changes = case.admin_changes.get(&to).copied().unwrap_or(0);
            }
        }
        Op::StepUp(on) => {
            assert_eq!(app.set_recovery_step_up(json!({"required": on})).await.0, 200);
            case.step_up = on;
        }
        Op::ChooseFactor(slot) => {
            if let Some(s) = case.slots.get(&slot) {
                app.step(&s.flow, "challenge", json!({"authenticator": {"id": "aut0lkgoogleotp00001", "methodType": "otp"}})).await;
            }
        }
        Op::AnswerFactor(slot, whose) => {
            let now = app.state.store.now().await.map_err(|e| e.to_string())?;
            let value = totp::value_at(&case.secrets[&whose], &TotpPolicy::default(), now);
            let time_step = u64::try_from(now / 30_000).unwrap_or_default();
            let Some(s) = case.slots.get_mut(&slot) else { return Ok(()) };
            let (status, body) = app.step(&s.flow, "challenge/answer", json!({"credentials": {"passcode": value}})).await;
            if status == 200 && remediation_names(&body) == ["reset-authenticator"] && s.verified_for.is_none() {
                if s.code_verified_for != Some(whose) {
                    return Err(format!("{whose:?}'s TOTP value opened the reset of a step-up {:?}'s code opened", s.code_verified_for));
                }
                if !case.accepted_values.insert((whose, time_step)) {
                    return Err(format!("{whose:?}'s TOTP value of step {time_step} was accepted twice"));
                }
                if case.admin_changes.get(&whose).copied().unwrap_or(0) != s.verified_after_changes {
                    return Err(format!("a step-up verified before {whose:?}'s password was changed passed after it"));
                }
                s.verified_for = s.code_verified_for.take();
            }
        }
        Op::SetPassword(slot, which) => {
            let password = NEW_PASSWORDS[usize::from(which) % NEW_PASSWORDS.len()];
            let Some(s) = case.slots.get_mut(&slot) else { return Ok(()) };
            let (status, body) = app.step(&s.flow, "challenge/answer", json!({"credentials": {"passcode": password}})).await;
            if status == 200 && body.get("successWithInteractionCode").is_some() {
                let Some(who) = s.verified_for.take() else {
                    return Err(format!("a password was set in a transaction no code verified: {body}"));
                };
                if case.admin_changes.get(&who).copied().unwrap_or(0) != s.verified_after_changes {
                    return Err(format!("a recovery verified before {who:?}'s password was changed set a password after it"));
                }
                case.passwords.insert(who, password.to_owned());
                s.code_verified_for = None;
                // The tokens name the account whose own code was answered, and nobody else.
                let (status, tokens) = app.exchange(&interaction_code(&body)).await;
                if status != 200 {
                    return Err(format!("the interaction code did not redeem: {tokens}"));
                }
                let sub = id_token_claims(&tokens)["sub"].as_str().unwrap_or_default().to_owned();
                if Some(&sub) != case.user_ids.get(&who) {
                    return Err(format!("tokens after {who:?}'s reset name {sub}"));
                }
                s.identified = None;
            }
        }
        Op::AdminSetsPassword(who, which) => {
            let password = ADMIN_PASSWORDS[usize::from(which) % ADMIN_PASSWORDS.len()];
            let body = json!({"profile": {}, "credentials": {"password": {"value": password}}});
            let response = app.admin_post(&format!("/api/v1/users/{}", case.user_ids[&who]), body).await;
            if response.status() != 200 {
                return Err(format!("the administrator could not set a password: {}", response.status()));
            }
            case.passwords.insert(who, password.to_owned());
            *case.admin_changes.entry(who).or_default() += 1;
        }
        Op::PastMailGap => app.advance_clock(Duration::from_secs(31)).await,
        Op::PastCodeLifetime => app.advance_clock(Duration::from_secs(601)).await,
        Op::Restart => unreachable!("handled by run_case"),
    }
    Ok(())
}

/// Collects every code mailed since the last step and checks the stored counters.
async fn check_invariants(app: &TestApp, case: &mut Case) -> Result<(), String> {
    app.drain_outbox().await;
    let messages = app.sink.messages();
    for message in messages.iter().skip(case.seen_messages) {
        let Some(to) = message.rcpt_to.iter().find_map(|r| case.who_is(r)) else { continue };
        let text = message.text.as_deref().unwrap_or_default();
        let Some(link) = text.split_whitespace().find(|w| w.contains("/signin/reset-password?")) else { continue };
        let url = url::Url::parse(link).map_err(|e| format!("bad link {link}: {e}"))?;
        let state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).unwrap_or_default();
        if to == Who::Unknown {
            return Err("an email went to an identifier that names no account".to_owned());
        }
        if let Some(code) = extract_code(text) {
            case.codes.push(MailedCode { code, to, state });
        }
    }
    case.seen_messages = messages.len();
    let broken = app.store_invariant_violations().await;
    if !broken.is_empty() {
        return Err(format!("store invariants broken: {broken:?}"));
    }
    let worst = app.state.store.max_code_attempts().await.map_err(|e| e.to_string())?;
    if worst > app.state.policies.otp.max_attempts_per_code {
        return Err(format!("a code was tried {worst} times"));
    }
    Ok(())
}

/// Each account still opens with exactly the password the model expects.
async fn final_check(app: &TestApp, case: &Case) -> Result<(), String> {
    for who in [Who::Attacker, Who::Victim] {
        let expected = &case.passwords[&who];
        let (status, body) = app.sign_in(&case.address(who), expected).await;
        if status != 200 {
            return Err(format!("{who:?} cannot sign in with the password the model expects ({status}): {body}"));
        }
    }
    Ok(())
}
