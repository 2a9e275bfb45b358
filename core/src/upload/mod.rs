//! Palm captures leave the phone only here: sealed with HPKE (RFC 9180) to the service key
//! pinned in the configuration ([`envelope`]), then sent with a resumable tus 1.0 upload
//! ([`tus`]) over the pinned client in [`crate::net`], retrying through bad connections
//! ([`retry`]) with progress and cancellation ([`progress`]).
//!
//! The spoof verdict goes with the capture sealed to the same key ([`sealed_verdict`]).
//!
//! [`crate::enrollment::EnrollmentClient::upload_capture`] ties these together for the
//! signed-in shopper.

pub mod capture;
pub mod envelope;
pub mod progress;
pub mod retry;
pub mod sealed_verdict;
pub mod tus;

pub use capture::Capture;
pub use envelope::AeadSuite;
pub use progress::{CancelToken, NoProgress, UploadProgress};
pub use retry::RetryPolicy;
pub use tus::{TusAuth, TusClient, TusOptions, UploadReport};
