//! PalmKit core: the shared library behind the iOS and Android enrollment apps and the
//! desktop QA tools.
//!
//! Everything that is not UI or camera hardware lives here, so every platform behaves the
//! same. It starts no async runtime of its own: network calls are `async` and run on the
//! caller's tokio runtime. With the `uniffi` feature (turned on by `palmkit-ffi` only) the
//! types the apps see derive UniFFI's traits and cross to Kotlin and Swift as they are, in
//! the core's own UniFFI namespace; the objects and calls the apps drive are `palmkit-ffi`'s.
//!
//! Start with [`enrollment::EnrollmentSession`]: the one entry point an app drives, from
//! login to the pending store match, checking every step. It is built from
//! [`config::ServiceConfig`] (where the service is and how it is pinned) and uses
//! [`account::AccountClient`] (login and tokens), [`payment::PaymentClient`] (cards and the
//! palm-profile link), [`enrollment::EnrollmentClient`] (the enrollment records) and
//! [`service::ServiceClient`] (health). Errors are described in [`error`].
//!
//! Features: `vision` (the hand models; on in the phone library), `dev` (captures from
//! files into the session: QA tools and tests), `eval` (the attack simulation and
//! synthetic frames: `palmkit spoof-eval`, tests, benchmarks) and `signature` (palm
//! signatures: the service and `palmkit signature-eval`), `uniffi` (UniFFI's traits on the
//! types the apps see: `palmkit-ffi` only). The phone library has none of `dev`, `eval`,
//! `signature`.
//!
//! Frame analysis: [`frame`] (camera buffer views), [`vision`] (hand models, tracking),
//! [`quality`] (measures, checks, guidance, auto-capture) and `analysis` (the per-frame
//! call; with the `vision` feature). Spoof detection in layers: [`liveness`] (with the
//! platform's part in [`attestation`]). Sealed uploads: [`upload`], [`enrollment`].

pub mod account;
#[cfg(feature = "vision")]
pub mod analysis;
pub mod attestation;
pub mod config;
pub mod enrollment;
pub mod error;
#[cfg(feature = "uniffi")]
mod ffi;
pub mod frame;
pub mod liveness;
pub mod net;
pub mod payment;
pub mod protocol;
pub mod quality;
pub mod service;
#[cfg(feature = "signature")]
pub mod signature;
pub mod upload;
#[cfg(feature = "vision")]
pub mod vision;

pub use config::{ServiceConfig, ServiceKey, TrustAnchors};
pub use error::{Error, ErrorKind};
pub use service::ServiceClient;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

/// The version of this core, sent to the service in the `User-Agent`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
