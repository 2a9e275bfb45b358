//! [`PalmKitError`]: the core's rich errors grouped by what the app should do about them,
//! with a reason safe to log and to show to a tester.

use palmkit_core::error::ErrorKind;

/// What went wrong, grouped by what the app should do about it. `reason` is safe to log
/// and to show to a tester; it never holds a secret.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PalmKitError {
    /// The app's service configuration is wrong: a build problem; report it.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// Which field and why.
        reason: String,
    },
    /// The server is not the pinned service. Do not retry; the network may be hostile.
    #[error("untrusted server: {reason}")]
    UntrustedServer {
        /// Why the certificate was refused.
        reason: String,
    },
    /// No network or no answer: retry when connectivity returns.
    #[error("offline: {reason}")]
    Offline {
        /// What failed.
        reason: String,
    },
    /// The service is down or overloaded: retry later.
    #[error("service unavailable: {reason}")]
    ServiceUnavailable {
        /// The service's explanation.
        reason: String,
    },
    /// The service refused the request; retrying it unchanged will not help.
    #[error("rejected: {reason}")]
    Rejected {
        /// The service's explanation.
        reason: String,
    },
    /// The service answered outside the protocol: report it.
    #[error("unexpected answer: {reason}")]
    Unexpected {
        /// What was wrong with the answer.
        reason: String,
    },
    /// Nobody is signed in (any more): show the login.
    #[error("sign-in required: {reason}")]
    SignInRequired {
        /// Why (never signed in, refresh refused, revoked).
        reason: String,
    },
    /// The shopper cancelled the login: nothing to show.
    #[error("login cancelled")]
    LoginCancelled,
    /// The login did not complete; offer to start again.
    #[error("login failed: {reason}")]
    LoginFailed {
        /// What went wrong (state mismatch, code rejected, ...).
        reason: String,
    },
    /// The platform's secure storage failed: report it.
    #[error("secure storage failed: {reason}")]
    StorageFailed {
        /// The store's explanation (never a secret).
        reason: String,
    },
    /// The card details are wrong; `reason` says which, fit to show.
    #[error("{reason}")]
    InvalidCard {
        /// What to correct.
        reason: String,
    },
    /// The card was declined or not confirmed; `reason` is fit to show.
    #[error("{reason}")]
    CardDeclined {
        /// The provider's message.
        reason: String,
    },
    /// The caller cancelled (an upload): nothing to show.
    #[error("cancelled")]
    Cancelled,
    /// The capture cannot be uploaded (not a JPEG or PNG, or none taken yet): capture
    /// again.
    #[error("invalid capture: {reason}")]
    InvalidCapture {
        /// What is wrong with it.
        reason: String,
    },
    /// The frame's bytes do not match its description (size, strides, offsets,
    /// rotation): a bug in the camera code; report it.
    #[error("invalid frame: {reason}")]
    InvalidFrame {
        /// Which part of the description is wrong.
        reason: String,
    },
    /// The hand models are missing, not the bundled ones, or failed to run: a build
    /// problem; report it.
    #[error("hand models unavailable: {reason}")]
    ModelUnavailable {
        /// Which model and why.
        reason: String,
    },
    /// The call does not fit the session's state (a bug in the app's flow): `reason`
    /// names the call and the state.
    #[error("out of order: {reason}")]
    OutOfOrder {
        /// Which call, in which state.
        reason: String,
    },
}

impl From<palmkit_core::Error> for PalmKitError {
    fn from(e: palmkit_core::Error) -> Self {
        let reason = e.to_string();
        match e.kind() {
            ErrorKind::InvalidConfig => Self::InvalidConfig { reason },
            ErrorKind::UntrustedServer => Self::UntrustedServer { reason },
            ErrorKind::Offline => Self::Offline { reason },
            ErrorKind::ServiceUnavailable => Self::ServiceUnavailable { reason },
            ErrorKind::Rejected => Self::Rejected { reason },
            ErrorKind::Protocol => Self::Unexpected { reason },
            ErrorKind::SignInRequired => Self::SignInRequired { reason },
            ErrorKind::LoginCancelled => Self::LoginCancelled,
            ErrorKind::LoginFailed => Self::LoginFailed { reason },
            ErrorKind::Storage => Self::StorageFailed { reason },
            ErrorKind::InvalidCard => Self::InvalidCard { reason },
            ErrorKind::CardDeclined => Self::CardDeclined { reason },
            ErrorKind::Cancelled => Self::Cancelled,
            ErrorKind::InvalidCapture => Self::InvalidCapture { reason },
            ErrorKind::OutOfOrder => Self::OutOfOrder { reason },
            ErrorKind::ModelUnavailable => Self::ModelUnavailable { reason },
        }
    }
}
