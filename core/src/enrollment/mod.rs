//! The enrollment state machine the app drives (signed out → signed in → capturing →
//! captured → payment chosen → uploading → pending store match → complete, or failed), and
//! the one public entry point that ties the other modules together.
//!
//! Today it holds the service calls on enrollment records, as the signed-in shopper:
//! [`EnrollmentClient`]. The state machine grows as capture and upload land.

use serde_json::json;

use crate::account::{AccountClient, Request};
use crate::error::Error;
use crate::protocol::{Enrollment, Hand};

/// Enrollment records of the signed-in shopper.
pub struct EnrollmentClient<'a> {
    account: &'a AccountClient,
}

impl<'a> EnrollmentClient<'a> {
    /// Calls on behalf of the shopper signed in to `account`.
    pub fn new(account: &'a AccountClient) -> Self {
        Self { account }
    }

    /// `POST /v1/enrollments`: starts a draft enrollment for the given hands.
    pub async fn create(&self, hands: &[Hand]) -> Result<Enrollment, Error> {
        self.account
            .authorized(&Request::with_json(
                reqwest::Method::POST,
                "v1/enrollments",
                json!({ "hands": hands }),
            ))
            .await
    }

    /// `GET /v1/enrollments/{id}`: one of the shopper's enrollments.
    pub async fn get(&self, id: &str) -> Result<Enrollment, Error> {
        // Ids are service-chosen; refuse anything that would change the path.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::Protocol(format!("{id:?} is not an enrollment id")));
        }
        self.account
            .authorized_get(&format!("v1/enrollments/{id}"))
            .await
    }
}
