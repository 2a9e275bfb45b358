//! palmkit-ffi: the UniFFI facade the Swift and Kotlin shells call.
//!
//! Thin on purpose: the apps drive one object, [`EnrollmentSession`] (`session`), which
//! wraps the core's session and adapts arguments and errors; the records and enums it
//! takes and returns (`SessionSnapshot`, `FrameAnalysis`, `GuidanceCode`, `Wallet`,
//! `ServiceConfig`, ...) are the core's own, derived for UniFFI behind palmkit-core's
//! `uniffi` feature, so each concept has one name from the core to Kotlin and Swift. This
//! crate declares only what has another shape at the FFI: the camera frame's description
//! ([`FrameInfo`], `analysis`), the card as typed ([`CardInput`], wiped once handed over),
//! the errors ([`PalmKitError`], grouped by what the app should do; [`AttestationError`],
//! which the attestation callbacks throw), and the callbacks the
//! shells implement: [`SecureStore`] (`store`), [`AppAttestDevice`] or
//! [`KeyAttestationDevice`] (`attestation`; [`Attestor`] for whole statements),
//! [`SessionListener`] and [`LogSink`] (`logging`, installed once with [`init_platform`]).
//! It keeps no state beyond the session it wraps. Calls only QA builds may make (file
//! captures, report-only liveness, the development attestation) are behind the `dev`
//! feature; the phone library is built without it.
//!
//! Two UniFFI namespaces, one library: `palmkit_core` (the core's types) and
//! `palmkit_ffi` (this crate). `cargo xtask bindings` generates both; Swift compiles them
//! into the one `PalmKit` module, Kotlin into `com.palmkit.core` (this crate) and
//! `com.palmkit.core.model` (the core's types) of the one `palmkit` library.
//!
//! Async exports run on UniFFI's tokio support; the core starts no runtime of its own.

mod analysis;
mod attestation;
mod config;
mod error;
mod logging;
mod payment;
mod session;
mod store;

pub use analysis::{FrameInfo, PixelFormat};
#[cfg(feature = "dev")]
pub use attestation::dev_attestation_token;
pub use attestation::{AppAttestDevice, AttestationError, Attestor, KeyAttestationDevice};
pub use config::{core_version, parse_service_config};
pub use error::PalmKitError;
pub use logging::{LogLevel, LogSink, init_platform};
pub use payment::CardInput;
pub use session::{EnrollmentSession, SessionListener};
pub use store::{SecureStore, SecureStoreError};

uniffi::setup_scaffolding!();
