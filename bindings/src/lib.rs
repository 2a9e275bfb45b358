//! palmkit-ffi: the UniFFI facade the Swift and Kotlin shells call.
//!
//! Thin on purpose: it converts between FFI records and core types and maps the core's
//! rich [`palmkit_core::Error`] to the small [`PalmKitError`], whose variants say what the
//! app should do. No logic lives here; every behaviour is tested in `palmkit-core`.
//!
//! The apps drive one object, [`EnrollmentSession`] (`session`), and feed it camera
//! frames described by [`FrameInfo`] (`analysis`); they implement [`SecureStore`]
//! (`store`), [`AppAttestDevice`] or [`KeyAttestationDevice`] (`attestation`; [`Attestor`]
//! for whole statements), [`SessionListener`] and [`LogSink`]
//! (`logging`, installed once with [`init_platform`]). [`PalmKit`] (`kit`) offers the
//! service calls one by one for QA tools and lower-level tests. Calls that only QA builds
//! may make (file captures, report-only liveness, the development attestation) are behind
//! the `dev` feature; the phone library is built without it.
//!
//! Async exports run on UniFFI's tokio support; the core starts no runtime of its own.

mod analysis;
mod attestation;
mod config;
mod error;
mod kit;
mod logging;
mod payment;
mod records;
mod session;
mod store;

pub use analysis::{
    FrameAnalyzer, FrameInfo, FrameMeasures, FrameResult, Guidance, PixelFormat, SpoofLayerKind,
};
#[cfg(feature = "dev")]
pub use attestation::dev_attestation_token;
pub use attestation::{
    AppAttestDevice, AttestationError, AttestationToken, AttestedKey, Attestor,
    KeyAttestationDevice,
};
pub use config::{HealthReport, ServiceConfig, core_version, parse_service_config};
pub use error::PalmKitError;
#[cfg(feature = "dev")]
pub use kit::CaptureOrigin;
pub use kit::{PalmKit, UploadCancel, UploadProgressListener, UploadReceipt};
pub use logging::{LogLevel, LogSink, init_platform};
pub use payment::{
    AddCardResult, CardDetails, PaymentLinkInfo, PaymentMethodInfo, WalletInfo, new_idempotency_key,
};
pub use records::{Account, ConsentInfo, EnrollmentInfo, EnrollmentStatus, Hand};
pub use session::{
    EnrollmentSession, FailureReason, HandStatus, SessionListener, SessionSnapshot, SessionState,
};
pub use store::{SecureStore, SecureStoreError};

uniffi::setup_scaffolding!();
