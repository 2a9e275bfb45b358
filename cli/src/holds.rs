//! `palmkit holds list|release`: the operator's side of the duplicate-palm policy
//! (`palmkit_server::palms::holds`). An enrollment whose palm is near another account's
//! pending enrollment is held, with that one, out of the store match until someone who
//! can see both accounts decides; the shoppers see nothing different. Works on a server's
//! data directory, running or not: a running server follows the release from its change
//! feed at its next scan.

use std::path::PathBuf;

use crate::error::{CliError, Result};
use crate::store::open_db;

/// `palmkit holds`' verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List the enrollments held for review, each with its account and the enrollments
    /// its palm is near.
    List(DataDirArgs),
    /// Release a held enrollment after review: store scans match it again, and a later
    /// conflict with it holds only the newcomer. (To refuse one instead, leave it held:
    /// it expires at its deadline and its data is deleted.)
    Release(ReleaseArgs),
}

/// A server's data directory.
#[derive(clap::Args, Debug)]
pub struct DataDirArgs {
    /// The server's data directory.
    #[arg(long, default_value = "palmkit-data")]
    data_dir: PathBuf,
}

/// `palmkit holds release`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    #[command(flatten)]
    dir: DataDirArgs,
    /// The enrollment (`enr-…`, from `palmkit holds list`).
    enrollment: String,
}

/// `palmkit holds list|release`.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::List(args) => {
            let db = open_db(&args.data_dir)?;
            let held = palmkit_server::palms::holds::list(&db)?;
            if held.is_empty() {
                println!("No enrollment is held for review.");
            }
            for h in held {
                println!(
                    "{} (account {}) held since {} (Unix s); its palm is near: {}",
                    h.enrollment_id,
                    h.account_id,
                    h.held_at,
                    if h.conflicts_with.is_empty() {
                        "(an enrollment since deleted)".to_string()
                    } else {
                        h.conflicts_with.join(", ")
                    }
                );
            }
            Ok(())
        }
        Command::Release(args) => {
            let db = open_db(&args.dir.data_dir)?;
            if palmkit_server::palms::holds::release(&db, &args.enrollment)? {
                println!(
                    "{} released: store scans can match it again",
                    args.enrollment
                );
                Ok(())
            } else {
                Err(CliError::Usage(format!(
                    "{:.60} is not held (see `palmkit holds list`)",
                    args.enrollment
                )))
            }
        }
    }
}
