//! Sessions and refresh tokens with explicit clocks (security-checklist SES-4, OA-7, §3.8), on
//! SQLite and PostgreSQL. Time is an argument of every store call, so lifetimes are tested
//! here without waiting for them.
use latchkey_domain::refresh::RefreshPolicy;
use latchkey_domain::session::AuthMethods;
use latchkey_domain::session::SessionPolicy;
use latchkey_domain::{UserId, DAY, HOUR, MINUTE, SECOND};
use latchkey_store::testing::{fresh, Backend};
use latchkey_store::{Audit, EventContext, NewRefreshToken, RotateOutcome, Store};

// One test per backend runs every scenario in turn (each on its own fresh database).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_sessions_and_refresh_lifetimes() {
    scenarios(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sessions_and_refresh_lifetimes() {
    scenarios(Backend::Postgres).await;
}

async fn scenarios(backend: Backend) {
    sessions_end_after_an_idle_hour_or_a_day_whatever_the_activity(backend).await;
    refresh_families_end_at_their_absolute_lifetime(backend).await;
    twenty_parallel_refreshes_rotate_once(backend).await;
    clearing_a_users_sessions_touches_tokens_only_when_asked(backend).await;
}

const T0: i64 = 1_800_000_000_000;

async fn sessions_end_after_an_idle_hour_or_a_day_whatever_the_activity(backend: Backend) {
    let db = fresh(backend).await;
    let store = Store::connect(&db.url).await.expect("connect");
    let policy = SessionPolicy::default();
    let user = UserId::generate();
    store.create_session("idle", &user, (T0, AuthMethods::Password), policy.new_session(T0), None, T0).await.expect("create");
    assert!(store.touch_session("idle", policy.touched(T0 + 59 * MINUTE, i64::MAX), T0 + 59 * MINUTE).await.expect("touch").is_some());
    assert!(
        store.touch_session("idle", policy.touched(T0 + 2 * HOUR, i64::MAX), T0 + 2 * HOUR).await.expect("touch").is_none(),
        "61 min idle after the last use"
    );

    store.create_session("active", &user, (T0, AuthMethods::Password), policy.new_session(T0), None, T0).await.expect("create");
    let mut now = T0;
    while now < T0 + 24 * HOUR - 30 * MINUTE {
        now += 30 * MINUTE;
        assert!(store.touch_session("active", policy.touched(now, i64::MAX), now).await.expect("touch").is_some(), "active at {now}");
    }
    let late = T0 + 24 * HOUR + SECOND;
    assert!(store.touch_session("active", policy.touched(late, i64::MAX), late).await.expect("touch").is_none(), "24 h + 1 s");
}

fn new_token<'a>(digest: &'a str, user: &'a UserId, policy: &RefreshPolicy) -> NewRefreshToken<'a> {
    let (idle_expires_at, family_expires_at) = policy.new_family(T0);
    NewRefreshToken {
        token_digest: digest,
        auth_server: "default",
        client_id: "c",
        user_id: user,
        scopes: "openid offline_access",
        auth_time: T0,
        idle_expires_at,
        family_expires_at,
        // The account has no row here: its credential version is 0.
        credential_at: Some(0),
        methods: AuthMethods::Password,
    }
}

async fn refresh_families_end_at_their_absolute_lifetime(backend: Backend) {
    let db = fresh(backend).await;
    let store = Store::connect(&db.url).await.expect("connect");
    let policy = RefreshPolicy::default();
    let user = UserId::generate();
    store.insert_refresh_token(&new_token("rt-0", &user, &policy), T0).await.expect("insert");
    // Used every few days (inside the 7-day idle limit) up to the eve of the 30-day limit.
    let mut current = "rt-0".to_owned();
    for (step, day) in [6, 12, 18, 24, 29].into_iter().enumerate() {
        let now = T0 + day * DAY;
        let next = format!("rt-{}", step + 1);
        let outcome =
            store.rotate_refresh_token(&current, ("c", "default"), &next, &policy, &EventContext::system(), now).await.expect("rotate");
        assert!(matches!(outcome, RotateOutcome::Rotated(_)), "day {day}");
        current = next;
    }
    let outcome = store
        .rotate_refresh_token(&current, ("c", "default"), "rt-late", &policy, &EventContext::system(), T0 + 31 * DAY)
        .await
        .expect("rotate");
    assert!(matches!(outcome, RotateOutcome::Refused), "+31 d");
}

async fn twenty_parallel_refreshes_rotate_once(backend: Backend) {
    let db = fresh(backend).await;
    let store = Store::connect(&db.url).await.expect("connect");
    let policy = RefreshPolicy::default();
    let user = UserId::generate();
    store.insert_refresh_token(&new_token("race", &user, &policy), T0).await.expect("insert");
    let attempts = (0..20).map(|i| {
        let store = store.clone();
        async move {
            store
                .rotate_refresh_token("race", ("c", "default"), &format!("race-{i}"), &policy, &EventContext::system(), T0 + MINUTE)
                .await
                .expect("rotate")
        }
    });
    let outcomes = futures::future::join_all(attempts).await;
    let rotated = outcomes.iter().filter(|o| matches!(o, RotateOutcome::Rotated(_))).count();
    assert_eq!(rotated, 1, "exactly one successor");
    // The racing presentations count as reuse: the family (with its one successor) is revoked.
    let successors = (0..20).map(|i| format!("race-{i}"));
    for digest in successors {
        if let Some(record) = store.refresh_token(&digest).await.expect("read") {
            assert!(record.revoked_at.is_some(), "the successor of a reused token is revoked");
        }
    }
}

async fn clearing_a_users_sessions_touches_tokens_only_when_asked(backend: Backend) {
    let db = fresh(backend).await;
    let store = Store::connect(&db.url).await.expect("connect");
    let sessions = SessionPolicy::default();
    let refresh = RefreshPolicy::default();
    let (user, bystander) = (UserId::generate(), UserId::generate());
    for (digest, who) in [("s-1", &user), ("s-2", &user), ("s-other", &bystander)] {
        store.create_session(digest, who, (T0, AuthMethods::Password), sessions.new_session(T0), None, T0).await.expect("create");
    }
    store.insert_refresh_token(&new_token("rt-user", &user, &refresh), T0).await.expect("insert");
    store.insert_refresh_token(&new_token("rt-other", &bystander, &refresh), T0).await.expect("insert");

    assert_eq!(
        store.clear_user_sessions(&user, false, &Audit::admin(&EventContext::system()), T0 + MINUTE).await.expect("clear"),
        2,
        "both live sessions end"
    );
    let now = T0 + 2 * MINUTE;
    assert!(store.live_sessions_of(&user, now).await.expect("sessions").is_empty());
    assert_eq!(store.live_sessions_of(&bystander, now).await.expect("sessions").len(), 1, "other users keep theirs");
    assert!(store.refresh_token("rt-user").await.expect("read").and_then(|t| t.revoked_at).is_none(), "tokens kept");
    assert_eq!(store.token_cutoff(&user).await.expect("cutoff"), None);

    assert_eq!(
        store.clear_user_sessions(&user, true, &Audit::admin(&EventContext::system()), now).await.expect("clear"),
        0,
        "nothing left to end"
    );
    assert_eq!(store.refresh_token("rt-user").await.expect("read").and_then(|t| t.revoked_at), Some(now));
    assert!(store.refresh_token("rt-other").await.expect("read").and_then(|t| t.revoked_at).is_none());
    assert_eq!(store.token_cutoff(&user).await.expect("cutoff"), Some(now));
    assert_eq!(store.token_cutoff(&bystander).await.expect("cutoff"), None);
    // A later revocation moves the cutoff forward.
    store.clear_user_sessions(&user, true, &Audit::admin(&EventContext::system()), now + HOUR).await.expect("clear");
    let cutoff = now + HOUR;
    assert_eq!(store.token_cutoff(&user).await.expect("cutoff"), Some(cutoff));

    // A successor stored by a refresh that raced the revocation (stored before the cutoff, but
    // not among the rows the revocation saw) is refused all the same; one stored after it works.
    store.insert_refresh_token(&new_token("rt-raced", &user, &refresh), cutoff - SECOND).await.expect("insert");
    let outcome = store
        .rotate_refresh_token("rt-raced", ("c", "default"), "rt-raced-next", &refresh, &EventContext::system(), cutoff + MINUTE)
        .await
        .expect("rotate");
    assert!(matches!(outcome, RotateOutcome::Refused), "{outcome:?}");
    store.insert_refresh_token(&new_token("rt-after", &user, &refresh), cutoff + SECOND).await.expect("insert");
    let outcome = store
        .rotate_refresh_token("rt-after", ("c", "default"), "rt-after-next", &refresh, &EventContext::system(), cutoff + MINUTE)
        .await
        .expect("rotate");
    assert!(matches!(outcome, RotateOutcome::Rotated(_)), "{outcome:?}");
}
