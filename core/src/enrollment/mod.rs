//! Enrollment: the state machine an app drives, [`EnrollmentSession`], and the service
//! calls it makes in order, [`EnrollmentClient`].
//!
//! ```text
//! SignedOut → SignedIn → ConsentGiven → Capturing{hand} → Captured → (other hand?)
//!           → PaymentChosen → Uploading → PendingStoreMatch → Complete
//!                           ↘ Failed{reason, retryable}     (any signed-in state) → Deleted
//! PendingStoreMatch → Expired (the service's limit passed: enroll again)
//! ```
//!
//! The session owns everything a run needs (the pinned client, the login, the frame
//! analyzer, the pending card, the attestor, the captures in memory) and checks every
//! transition: a call out of order is [`crate::error::SessionFailure::OutOfOrder`] naming
//! the state, never a silent no-op. Non-biometric progress is saved through the same
//! credential store as the tokens ([`saved`]), so a restarted app resumes; images are
//! never saved.

mod client;
pub mod saved;
mod session;
mod state;

pub use client::EnrollmentClient;
pub use session::{EnrollmentSession, SessionListener, SessionOptions};
pub use state::{Failure, FailureReason, HandStatus, SessionSnapshot, SessionState, StateName};
