// `sqlx::migrate!` embeds `migrations/` at compile time; without this a new migration file
// would not be picked up by an incremental build (sqlx's documented advice).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
