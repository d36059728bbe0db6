//! Bulk import (`Store::import_users`) on SQLite and PostgreSQL: several statements per batch,
//! hashes stored as given, and a second run of the same input adds nothing.
use latchkey_domain::{EmailAddress, Login, Profile, UserId, UserStatus};
use latchkey_store::both_backends;
use latchkey_store::testing::{fresh, Backend};
use latchkey_store::{NewUser, Store, IMPORT_STATEMENT_ROWS};

both_backends!(an_import_is_idempotent_and_keeps_the_given_hashes);

const T0: i64 = 1_800_000_000_000;

fn user(n: usize) -> NewUser {
    let login = format!("import-{n}@example.com");
    NewUser {
        id: UserId::generate(),
        status: UserStatus::Active,
        profile: Profile {
            login: Login::parse(&login).expect("login"),
            email: EmailAddress::parse(&login).expect("email"),
            first_name: Some(format!("First{n}")),
            last_name: None,
            locale: None,
        },
        password_hash: Some(format!("$imported-test-hash${n}")),
    }
}

async fn an_import_is_idempotent_and_keeps_the_given_hashes(backend: Backend) {
    let db = fresh(backend).await;
    let store = Store::connect(&db.url).await.expect("connect");
    let count = 2 * IMPORT_STATEMENT_ROWS + 7;
    let first: Vec<NewUser> = (0..count).map(user).collect();
    assert_eq!(store.import_users(&first, T0).await.expect("import"), count as u64);

    // The same logins again (new ids), plus three new ones: only the new ones are added.
    let again: Vec<NewUser> = (0..count + 3).map(user).collect();
    assert_eq!(store.import_users(&again, T0 + 1).await.expect("re-import"), 3);

    let found = store.user_for_identifier("import-1000@example.com").await.expect("look-up").expect("imported");
    assert_eq!(found.user.id, first[1000].id, "the first import's row is kept");
    assert_eq!(found.password_hash.as_deref(), Some("$imported-test-hash$1000"));
    assert_eq!(found.user.password_changed_at, Some(T0));
    assert_eq!(found.user.status, UserStatus::Active);
    assert!(store.user_for_identifier(&format!("import-{}@example.com", count + 2)).await.expect("look-up").is_some());
}
