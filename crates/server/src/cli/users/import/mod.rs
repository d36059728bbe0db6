//! `latchkey users import FILE`: users from JSON lines (Okta's user shape) or CSV, with plain
//! passwords (hashed here with Argon2id, about 75 a second on two cores) or hashes in Okta's
//! import shape (stored as given and replaced by Argon2id at the user's first sign-in).
//!
//! Writes through the store in batches (`Store::import_users`), one transaction each. It is
//! idempotent (a login that exists is skipped) and resumable: after each batch the number of
//! records done is written to `FILE.progress`, and a new run starts after them (`--restart`
//! starts from the top; either way nothing is imported twice). A record that cannot be read
//! is reported with its line and skipped; the command then exits with an error.
mod records;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::stream::{self, StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use latchkey_domain::{UserId, UserStatus};
use latchkey_store::{NewUser, Store};

use self::records::{Credential, Record};
use crate::config::Settings;
use crate::crypto::password::PasswordHasher;

#[derive(clap::Args)]
pub struct Args {
    /// The input: `.csv` is CSV with a header row, anything else JSON lines.
    file: PathBuf,
    /// Records per transaction.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// Ignore FILE.progress and start from the first record.
    #[arg(long)]
    restart: bool,
}

pub async fn run(settings: Settings, args: Args) -> Result<(), String> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        crate::files::create_private_dir(&settings.server.data_dir).map_err(|e| e.to_string())?;
    }
    let store = crate::startup::connect_store(&url).await.map_err(|e| format!("database: {e}"))?;
    // At most as many hashes are asked for at once as the hasher runs: none waits in its queue.
    let hasher = crate::startup::password_hasher(&settings).map_err(|e| e.to_string())?;
    let progress_file = progress_path(&args.file);
    let done_before = if args.restart { 0 } else { read_progress(&progress_file) };
    let total = count_records(&args.file)?;
    let bar = ProgressBar::new(total);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} users, {per_sec}, ETA {eta}").map_err(|e| e.to_string())?);
    bar.set_position(done_before.min(total));
    let started = Instant::now();
    let mut outcome = Outcome::default();
    let mut batch = Vec::with_capacity(args.batch_size.max(1));
    let mut done = done_before;
    for (index, record) in read_records(&args.file)?.enumerate().skip(usize::try_from(done_before).unwrap_or(usize::MAX)) {
        match record {
            Ok(record) => batch.push(record),
            Err(reason) => {
                bar.suspend(|| eprintln!("record {}: {reason}; skipped", index + 1));
                outcome.refused += 1;
            }
        }
        done += 1;
        if batch.len() >= args.batch_size.max(1) {
            outcome.write(&store, &hasher, std::mem::take(&mut batch)).await?;
            save_progress(&progress_file, done)?;
            bar.set_position(done);
        }
    }
    outcome.write(&store, &hasher, batch).await?;
    bar.finish_and_clear();
    let _ = std::fs::remove_file(&progress_file);
    let seconds = started.elapsed().as_secs_f64();
    let handled = done - done_before;
    println!(
        "imported {} users ({} already present, {} refused) from {handled} records in {seconds:.1} s ({:.0} records/s)",
        outcome.inserted,
        outcome.present,
        outcome.refused,
        handled as f64 / seconds.max(0.001)
    );
    if outcome.refused > 0 {
        return Err(format!("{} records could not be imported (see above)", outcome.refused));
    }
    Ok(())
}

#[derive(Default)]
struct Outcome {
    inserted: u64,
    present: u64,
    refused: u64,
}

impl Outcome {
    /// Hashes the batch's plain passwords (in parallel, as many as the hasher runs at once) and
    /// writes the batch in one transaction.
    async fn write(&mut self, store: &Store, hasher: &PasswordHasher, batch: Vec<Record>) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        let users: Vec<NewUser> = stream::iter(batch)
            .map(|record| async move {
                let (status, password_hash) = match record.credential {
                    Credential::None => (UserStatus::Staged, None),
                    Credential::Hashed(hash) => (UserStatus::Active, Some(hash)),
                    Credential::Plain(password) => (UserStatus::Active, Some(hasher.hash(password).await.map_err(|e| e.to_string())?)),
                };
                Ok::<_, String>(NewUser { id: UserId::generate(), status, profile: record.profile, password_hash })
            })
            .buffered(std::thread::available_parallelism().map_or(2, |n| n.get()))
            .try_collect()
            .await?;
        let now = store.now().await.map_err(|e| e.to_string())?;
        let inserted = store.import_users(&users, now).await.map_err(|e| format!("database: {e}"))?;
        self.inserted += inserted;
        self.present += users.len() as u64 - inserted;
        Ok(())
    }
}

fn is_csv(file: &Path) -> bool {
    file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// The records of `file`, in order, each read or refused with the reason.
fn read_records(file: &Path) -> Result<Box<dyn Iterator<Item = Result<Record, String>>>, String> {
    let open = || std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()));
    if is_csv(file) {
        let reader = csv::Reader::from_reader(open()?);
        Ok(Box::new(reader.into_deserialize().map(|row| row.map_err(|e| format!("CSV: {e}")).and_then(records::from_csv_row))))
    } else {
        let lines = BufReader::new(open()?).lines().filter(|line| line.as_ref().map_or(true, |l| !l.trim().is_empty()));
        Ok(Box::new(lines.map(|line| line.map_err(|e| e.to_string()).and_then(|l| records::from_json_line(&l)))))
    }
}

/// For the progress bar's length and ETA: a quick pass that only counts.
fn count_records(file: &Path) -> Result<u64, String> {
    let reader = BufReader::new(std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?);
    let lines = reader.lines().map_while(Result::ok).filter(|l| !l.trim().is_empty()).count() as u64;
    Ok(if is_csv(file) { lines.saturating_sub(1) } else { lines })
}

fn progress_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".progress");
    PathBuf::from(name)
}

fn read_progress(path: &Path) -> u64 {
    std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn save_progress(path: &Path, done: u64) -> Result<(), String> {
    std::fs::write(path, done.to_string()).map_err(|e| format!("{}: {e}", path.display()))
}
