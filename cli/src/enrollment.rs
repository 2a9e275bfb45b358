//! `palmkit status ID` and `palmkit delete ID`: one of the logged-in shopper's enrollments
//! as the service knows it, and its deletion with all its biometric data.

use std::path::PathBuf;

use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::protocol::EnrollmentState;

use crate::args::DEFAULT_CONFIG;
use crate::login::account_client;

/// `palmkit status` and `palmkit delete`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The client configuration written by `palmkit serve`.
    #[arg(long, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// The enrollment id (`enr-…`, printed by `palmkit upload`).
    enrollment_id: String,
}
use crate::error::Result;

/// `palmkit status`.
pub async fn status(args: Args) -> Result<()> {
    let account = account_client(&args.config)?;
    let id = &args.enrollment_id;
    let enrollment = EnrollmentClient::new(&account).get(id).await?;
    let state = match enrollment.state {
        EnrollmentState::Draft => "draft (captures not submitted yet)",
        EnrollmentState::PendingStoreMatch => {
            "pending store match (completes at the first in-store palm scan)"
        }
        EnrollmentState::Complete => "complete (pay by palm works)",
        EnrollmentState::Expired => {
            "expired (no store match in time; its biometric data was deleted: enroll again)"
        }
    };
    let hands: Vec<String> = enrollment
        .hands
        .iter()
        .map(|h| format!("{h:?}").to_lowercase())
        .collect();
    println!("Enrollment {}: {state}", enrollment.id);
    println!("  hands:   {}", hands.join(", "));
    println!("  created: {}", enrollment.created_at);
    if let Some(at) = &enrollment.expires_at {
        println!("  expires: {at} unless matched in store");
    }
    Ok(())
}

/// `palmkit delete`.
pub async fn delete(args: Args) -> Result<()> {
    let account = account_client(&args.config)?;
    let id = &args.enrollment_id;
    EnrollmentClient::new(&account).delete(id).await?;
    println!("Deleted enrollment {id} and all its biometric data at the service.");
    Ok(())
}
