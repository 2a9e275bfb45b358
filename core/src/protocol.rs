//! The JSON types of the enrollment service API, shared by the core (client side) and
//! `palmkit-server` (service side) so the two cannot drift apart.

use serde::{Deserialize, Serialize};

/// `GET /healthz`: the service is up and can reach its database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"` when the service can serve requests.
    pub status: String,
    /// The service's version.
    pub version: String,
    /// Id of the HPKE key new uploads should be sealed to.
    pub current_key_id: String,
}

/// The body of every error answer of the service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code (`not_found`, `invalid_json`, `payload_too_large`, ...).
    pub error: String,
    /// A sentence for a developer or a log.
    pub message: String,
}

/// Which hand a capture is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hand {
    /// The shopper's left hand.
    Left,
    /// The shopper's right hand.
    Right,
}

/// `POST /v1/enrollments`: start a draft enrollment for these hands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollment {
    /// One or both hands, each at most once.
    pub hands: Vec<Hand>,
}

/// Where an enrollment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentState {
    /// Created; captures not yet submitted.
    Draft,
    /// Captures submitted; waiting for the first in-store match.
    PendingStoreMatch,
    /// Matched in store: the shopper can pay by palm.
    Complete,
}

/// An enrollment record as the service returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// Opaque id chosen by the service.
    pub id: String,
    /// Current state.
    pub state: EnrollmentState,
    /// The hands being enrolled.
    pub hands: Vec<Hand>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
}

/// `GET /v1/me`: the signed-in shopper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The service's account id.
    pub account_id: String,
    /// Login email.
    pub email: String,
    /// Name to greet the shopper with.
    pub display_name: String,
}
