//! `palmkit status ID` and `palmkit delete ID`: one of the logged-in shopper's enrollments
//! as the service knows it, and its deletion with all its biometric data.

use std::path::Path;

use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::protocol::EnrollmentState;

use crate::login::account_client;

/// `palmkit status`.
pub async fn status(config: &Path, id: &str) -> Result<(), String> {
    let account = account_client(config)?;
    let enrollment = EnrollmentClient::new(&account)
        .get(id)
        .await
        .map_err(|e| e.to_string())?;
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
pub async fn delete(config: &Path, id: &str) -> Result<(), String> {
    let account = account_client(config)?;
    EnrollmentClient::new(&account)
        .delete(id)
        .await
        .map_err(|e| e.to_string())?;
    println!("Deleted enrollment {id} and all its biometric data at the service.");
    Ok(())
}
