//! Identify and answer latency as the user table grows (1 thousand, 100 thousand, 1 million
//! users). The users are inserted through the store's bulk import (`Store::import_users`) with
//! one pre-computed hash, not through the API: a million Argon2 hashes would take hours.
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use latchkey_domain::identifier::Login;
use latchkey_domain::{EmailAddress, Profile, UserId, UserStatus};
use latchkey_store::{NewUser, Store};

use serde_json::json;

use super::flows::{self, EMAIL_AUTHENTICATOR};
use super::load::quantile;

/// Users inserted per `import_users` call: one transaction each.
const IMPORT_BATCH: u64 = 10_000;

/// The login of the `i`-th bench user of the table.
pub fn login(i: u64) -> String {
    format!("scale{i:07}@example.com")
}

/// One Argon2id hash at the server's parameters, shared by every imported user.
pub fn precomputed_hash() -> String {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let params = argon2::Params::new(super::ARGON2.0, super::ARGON2.1, super::ARGON2.2, None).expect("Argon2 parameters");
    let argon2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2.hash_password(b"a shared bench passphrase", &salt).expect("hash").to_string()
}

/// Brings the table to `total` bench users (counted in `imported`), in batches.
pub async fn import_up_to(store: &Store, hash: &str, imported: &AtomicU64, total: u64) {
    let now = store.now().await.expect("the database clock");
    while imported.load(Ordering::SeqCst) < total {
        let from = imported.load(Ordering::SeqCst);
        let to = total.min(from + IMPORT_BATCH);
        let batch: Vec<NewUser> = (from..to)
            .map(|i| {
                let address = login(i);
                NewUser {
                    id: UserId::generate(),
                    status: UserStatus::Active,
                    profile: Profile {
                        login: Login::parse(&address).expect("a bench login"),
                        email: EmailAddress::parse(&address).expect("a bench address"),
                        first_name: None,
                        last_name: None,
                        locale: None,
                    },
                    password_hash: Some(hash.to_owned()),
                }
            })
            .collect();
        store.import_users(&batch, now).await.expect("the bulk import");
        imported.store(to, Ordering::SeqCst);
    }
}

/// p50 and p99 (ms) of identify-recovery and of a wrong answer, per user count.
pub struct ScalePoint {
    pub users: u64,
    pub identify_ms: (f64, f64),
    pub answer_ms: (f64, f64),
}

/// For each total in `counts` (ascending): `insert(total)` brings the table to that many users
/// named by `login(i)`, then `samples` recoveries of users spread over the table are timed at
/// identify and at a wrong answer.
pub async fn measure<F, Fut>(base: &str, counts: &[u64], samples: u64, login: impl Fn(u64) -> String, insert: F) -> Vec<ScalePoint>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let http = flows::client();
    let mut points = Vec::new();
    for &users in counts {
        insert(users).await;
        let (mut identify, mut answer) = (Vec::new(), Vec::new());
        for i in 0..samples {
            // Spread over the whole table, so the look-ups are not all in one hot page.
            let who = login(i.wrapping_mul(2_654_435_761) % users);
            let Ok(sh) = flows::state_handle(&http, base).await else { continue };
            flows::timed(&http, base, "recover", json!({"stateHandle": sh})).await;
            identify.push(flows::timed(&http, base, "identify", json!({"stateHandle": sh, "identifier": who})).await);
            flows::timed(&http, base, "challenge", json!({"stateHandle": sh, "authenticator": {"id": EMAIL_AUTHENTICATOR}})).await;
            answer.push(
                flows::timed(&http, base, "challenge/answer", json!({"stateHandle": sh, "credentials": {"passcode": "000000"}})).await,
            );
        }
        points.push(ScalePoint {
            users,
            identify_ms: (quantile(&identify, 0.5), quantile(&identify, 0.99)),
            answer_ms: (quantile(&answer, 0.5), quantile(&answer, 0.99)),
        });
    }
    points
}
