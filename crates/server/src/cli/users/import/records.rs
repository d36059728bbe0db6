//! One input record: a line of JSON in Okta's user shape, or a CSV row with the same members
//! as columns, read into what the store inserts.
//!
//! JSON lines: `{"profile": {"login", "email", "firstName", "lastName", "locale"},
//! "credentials": {"password": {"value": "…"} | {"hash": {…Okta's import shape…}}}}`. Other
//! members of an exported user (`id`, `status`, `_links`, further profile attributes) are
//! ignored. CSV: a header row naming `login`, `email`, `firstName`, `lastName`, `locale`,
//! `password`, or `hash.algorithm`, `hash.value`, `hash.salt`, `hash.saltOrder`,
//! `hash.workFactor`, `hash.digestAlgorithm`, `hash.iterationCount`, `hash.keySize`.
use latchkey_domain::user::{parse_locale, parse_profile_text};
use latchkey_domain::{EmailAddress, Login, Password, Profile};
use serde::Deserialize;

use crate::crypto::imported::OktaHash;

/// A parsed record; the password is hashed later, in parallel.
pub struct Record {
    pub profile: Profile,
    pub credential: Credential,
}

pub enum Credential {
    /// No password: the user is imported staged and activated later.
    None,
    /// A plain password: hashed with Argon2id here.
    Plain(Password),
    /// An imported hash, already in its stored form.
    Hashed(String),
}

#[derive(Deserialize)]
struct JsonUser {
    profile: JsonProfile,
    #[serde(default)]
    credentials: Option<JsonCredentials>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonProfile {
    login: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    locale: Option<String>,
}

#[derive(Deserialize)]
struct JsonCredentials {
    #[serde(default)]
    password: Option<JsonPassword>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonPassword {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    hash: Option<OktaHash>,
}

/// A CSV row: the JSON members flattened, `hash.*` for the hash.
#[derive(Deserialize)]
pub struct CsvRow {
    login: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, rename = "firstName")]
    first_name: Option<String>,
    #[serde(default, rename = "lastName")]
    last_name: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "hash.algorithm")]
    algorithm: Option<String>,
    #[serde(default, rename = "hash.value")]
    value: Option<String>,
    #[serde(default, rename = "hash.salt")]
    salt: Option<String>,
    #[serde(default, rename = "hash.saltOrder")]
    salt_order: Option<String>,
    #[serde(default, rename = "hash.workFactor")]
    work_factor: Option<u32>,
    #[serde(default, rename = "hash.digestAlgorithm")]
    digest_algorithm: Option<String>,
    #[serde(default, rename = "hash.iterationCount")]
    iteration_count: Option<u32>,
    #[serde(default, rename = "hash.keySize")]
    key_size: Option<u32>,
}

pub fn from_json_line(line: &str) -> Result<Record, String> {
    // serde's message may quote the offending value, a password among them: say where only.
    let user: JsonUser = serde_json::from_str(line)
        .map_err(|e| format!("not a user in Okta's shape (column {}: a member is missing or of the wrong type)", e.column()))?;
    let password = user.credentials.and_then(|c| c.password);
    let (value, hash) = password.map_or((None, None), |p| (p.value, p.hash));
    let p = user.profile;
    record(p.login, p.email, p.first_name, p.last_name, p.locale, value, hash)
}

pub fn from_csv_row(row: CsvRow) -> Result<Record, String> {
    let hash = match (row.algorithm, row.value) {
        (Some(algorithm), Some(value)) if !algorithm.is_empty() => Some(OktaHash {
            algorithm,
            value,
            salt: row.salt.filter(|s| !s.is_empty()),
            salt_order: row.salt_order.filter(|s| !s.is_empty()),
            work_factor: row.work_factor,
            digest_algorithm: row.digest_algorithm.filter(|s| !s.is_empty()),
            iteration_count: row.iteration_count,
            key_size: row.key_size,
        }),
        _ => None,
    };
    let empty_is_none = |v: Option<String>| v.filter(|s| !s.is_empty());
    record(
        row.login,
        empty_is_none(row.email),
        empty_is_none(row.first_name),
        empty_is_none(row.last_name),
        empty_is_none(row.locale),
        empty_is_none(row.password),
        hash,
    )
}

fn record(
    login: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    locale: Option<String>,
    password: Option<String>,
    hash: Option<OktaHash>,
) -> Result<Record, String> {
    let email = EmailAddress::parse(email.as_deref().unwrap_or(&login)).map_err(|e| format!("email: {e}"))?;
    let login = Login::parse(&login).map_err(|e| format!("login: {e}"))?;
    let text = |field: &'static str, value: Option<String>| value.map(|v| parse_profile_text(field, &v)).transpose();
    let profile = Profile {
        login,
        email,
        first_name: text("firstName", first_name)?,
        last_name: text("lastName", last_name)?,
        locale: locale.map(|l| parse_locale(&l)).transpose()?,
    };
    let credential = match (password, hash) {
        (Some(_), Some(_)) => return Err("give a password value or a hash, not both".to_owned()),
        (Some(value), None) => Credential::Plain(Password::parse(&value).map_err(|e| format!("password: {e}"))?),
        (None, Some(hash)) => Credential::Hashed(hash.to_stored()?),
        (None, None) => Credential::None,
    };
    Ok(Record { profile, credential })
}
