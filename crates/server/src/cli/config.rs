//! `latchkey config docs`: the configuration reference (`docs/configuration.md`), generated from
//! the typed configuration.
use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Print every configuration key with its default, variables and meaning (Markdown).
    Docs,
}

pub fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Docs => print!("{}", crate::config_docs::markdown()),
    }
    Ok(())
}
