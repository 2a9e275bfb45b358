//! The core's error type: rich enough inside to log and test precisely, with a coarse
//! [`ErrorKind`] that tells an app what to do about it (retry, fix the configuration,
//! stop because the connection is not trusted).
//!
//! Messages never carry secrets: no tokens, no card data, no image bytes. Server messages
//! are quoted only from the JSON error body of our own service, truncated.

use crate::account::store::StoreError;
use crate::config::ConfigError;
use crate::payment::card::CardError;

/// Everything that can go wrong in a core call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The app's service configuration is unusable (a build or deployment mistake).
    #[error("invalid service configuration: {0}")]
    Config(#[from] ConfigError),
    /// TLS failed because the server is not the pinned service. Never retry blindly: the
    /// network may be intercepted.
    #[error("the server is not the pinned PalmKit service: {0}")]
    Untrusted(#[from] TrustFailure),
    /// The service could not be reached, or the connection broke.
    #[error("could not reach the service ({kind}): {detail}")]
    Network {
        /// What kind of failure.
        kind: NetworkFailure,
        /// Technical detail for logs (no URL query, no secret).
        detail: String,
    },
    /// The service answered with an error.
    #[error("the service refused the request (HTTP {status}, {code}): {message}")]
    Service {
        /// HTTP status.
        status: u16,
        /// The service's stable error code (`not_found`, `invalid_request`, ...).
        code: String,
        /// The service's explanation.
        message: String,
    },
    /// The service answered something that is not the protocol (wrong JSON, too large, ...).
    #[error("unexpected answer from the service: {0}")]
    Protocol(String),
    /// No shopper is signed in.
    #[error("not signed in")]
    NotSignedIn,
    /// The login ended (refresh refused, revoked elsewhere); the tokens were deleted.
    #[error("signed out: {0}")]
    SignedOut(String),
    /// A login did not complete; nothing was stored.
    #[error("login failed: {0}")]
    Login(#[from] LoginFailure),
    /// The platform credential store failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// The card details are not valid (checked before anything is sent).
    #[error(transparent)]
    Card(#[from] CardError),
    /// The payment provider did not save the card.
    #[error(transparent)]
    Payment(#[from] PaymentFailure),
    /// A capture upload did not complete.
    #[error(transparent)]
    Upload(#[from] UploadFailure),
    /// The enrollment session refused a call.
    #[error(transparent)]
    Session(#[from] SessionFailure),
}

/// Why the enrollment session refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionFailure {
    /// The call does not fit the session's state (a bug in the app's flow).
    #[error("{call} is not allowed while the session is {state}")]
    OutOfOrder {
        /// The session call.
        call: &'static str,
        /// The state it was in.
        state: crate::enrollment::StateName,
    },
    /// That hand's capture is already accepted by the service for this enrollment.
    #[error("the {0:?} hand is already uploaded for this enrollment")]
    HandAlreadyUploaded(crate::protocol::Hand),
    /// The enrollment at the service was made for other hands.
    #[error("the enrollment was made for {enrolled:?}; the {hand:?} hand cannot join it")]
    HandNotInEnrollment {
        /// The hand asked for.
        hand: crate::protocol::Hand,
        /// The hands of the enrollment.
        enrolled: Vec<crate::protocol::Hand>,
    },
    /// `resume_add_card` with no card waiting for the shopper's confirmation.
    #[error("no card is waiting for confirmation")]
    NoPendingCard,
    /// Frames came in but no hand models are attached to the session.
    #[error("no hand models are attached to the session")]
    NoAnalyzer,
    /// A hand model failed, or the captured frame could not be encoded.
    #[error("frame analysis failed: {0}")]
    Analysis(String),
}

/// Why a capture upload did not complete. Messages never carry image bytes.
#[derive(Debug, thiserror::Error)]
pub enum UploadFailure {
    /// The caller cancelled; the unfinished upload was terminated at the service.
    #[error("the upload was cancelled")]
    Cancelled,
    /// The bytes given are not a JPEG or PNG image (checked before anything is sent).
    #[error("not a capture that can be uploaded: {0}")]
    InvalidCapture(String),
    /// The image could not be sealed.
    #[error("sealing the capture failed: {0}")]
    Seal(#[from] crate::upload::envelope::EnvelopeError),
    /// The service received the whole upload and refused it (it does not open for this
    /// account and enrollment, names an unknown key, is not an image, ...).
    #[error("the service refused the capture ({code}): {message}")]
    Rejected {
        /// The service's code (`envelope_rejected`, `unknown_key`, `invalid_image`, ...).
        code: String,
        /// Its explanation.
        message: String,
    },
    /// The platform could not attest the upload (the device or app cannot, or the
    /// platform service failed); nothing was sent.
    #[error("the platform could not attest the upload: {0}")]
    Attestation(String),
    /// The upload is larger than the service takes.
    #[error("the capture is {size} bytes sealed; the service takes at most {max}")]
    TooLarge {
        /// Sealed size.
        size: u64,
        /// The service's maximum.
        max: u64,
    },
    /// The endpoint does not speak tus 1.0 with the creation extension.
    #[error("the upload endpoint does not speak tus 1.0 with creation: {0}")]
    NotResumable(String),
    /// Retries ran out; `last` is the last failure (which says whether to try again later).
    #[error("the upload gave up after {attempts} attempts without progress: {last}")]
    RetriesExhausted {
        /// Attempts made since the last progress.
        attempts: u32,
        /// The last failure.
        last: Box<Error>,
    },
}

/// Why the provider did not save a card. Messages are fit to show; none holds card data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentFailure {
    /// The card was declined (or its details refused) by the provider.
    #[error("{message}")]
    Declined {
        /// The provider's code (`card_declined`, `incorrect_number`, ...).
        code: String,
        /// The provider's message.
        message: String,
    },
    /// The shopper did not complete the provider's confirmation page.
    #[error("the card was not confirmed; try again or use another card")]
    ActionNotCompleted,
    /// The provider refused the request itself (a configuration problem).
    #[error("the payment provider refused the request: {0}")]
    ProviderRefused(String),
}

/// Why a login did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginFailure {
    /// `finish_login` without a `start_login` (or twice for one).
    #[error("no login is in progress; start again")]
    NoLoginInProgress,
    /// The redirect has no `state`.
    #[error("the answer carries no state")]
    MissingState,
    /// The redirect's `state` is not the one this login sent: not an answer to it.
    #[error("the answer is not for this login (state mismatch)")]
    StateMismatch,
    /// The redirect comes from another issuer than the one asked (mix-up, RFC 9207).
    #[error("the answer comes from another authorization server (iss mismatch)")]
    IssuerMismatch,
    /// The shopper cancelled (`access_denied`).
    #[error("the login was cancelled")]
    Cancelled,
    /// The authorization server refused the request.
    #[error("the authorization server refused: {code} {description}")]
    Refused {
        /// RFC 6749 error code.
        code: String,
        /// Its description.
        description: String,
    },
    /// The code could not be exchanged (used before, expired, PKCE mismatch).
    #[error("the login code was not accepted: {code} {description}")]
    CodeRejected {
        /// RFC 6749 error code (`invalid_grant`, ...).
        code: String,
        /// Its description.
        description: String,
    },
    /// The redirect is malformed or not for this app.
    #[error("unexpected redirect: {0}")]
    UnexpectedRedirect(String),
}

/// Why the TLS peer was not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustFailure {
    /// The chain does not lead to the pinned CA (or a public root when no CA is pinned).
    #[error("its certificate is not issued by the pinned CA")]
    UnknownIssuer,
    /// The chain is valid but no certificate in it has a pinned public key.
    #[error("no certificate it presented has a pinned public key (SPKI)")]
    PinMismatch,
    /// The certificate is not for the host the app connected to.
    #[error("its certificate is not valid for this host name")]
    WrongHost,
    /// The certificate is expired or not yet valid (check the device clock).
    #[error("its certificate is expired or not yet valid")]
    Expired,
    /// Any other TLS failure.
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}

/// How the network failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkFailure {
    /// Connection refused, host unreachable, DNS failure.
    Connect,
    /// No answer in time.
    Timeout,
    /// The connection broke during the exchange.
    Interrupted,
}

impl std::fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "connection failed",
            Self::Timeout => "timed out",
            Self::Interrupted => "connection interrupted",
        })
    }
}

/// What an app should do about an [`Error`]: the coarse view the FFI exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The app's configuration is wrong: nothing the shopper can do; report it.
    InvalidConfig,
    /// The connection is not to the real service: do not retry; warn the shopper.
    UntrustedServer,
    /// Offline or timed out: retry when the network is back.
    Offline,
    /// The service is down or overloaded (5xx, 429): retry later.
    ServiceUnavailable,
    /// The service refused the request (4xx): retrying the same request will not help.
    Rejected,
    /// The service spoke something else than the protocol: report it.
    Protocol,
    /// Nobody is signed in (any more): show the login.
    SignInRequired,
    /// The shopper cancelled the login: nothing to report.
    LoginCancelled,
    /// The login did not complete: offer to start again.
    LoginFailed,
    /// The platform credential store failed: report it.
    Storage,
    /// The card details are wrong: let the shopper correct them.
    InvalidCard,
    /// The card was declined or not confirmed: try another card.
    CardDeclined,
    /// The caller cancelled: nothing to report.
    Cancelled,
    /// The capture cannot be uploaded as it is (not an image): capture again.
    InvalidCapture,
    /// The call does not fit the enrollment session's state: a bug in the app's flow.
    OutOfOrder,
    /// The hand models are missing or failed: a build problem; report it.
    ModelUnavailable,
}

impl Error {
    /// The coarse kind that decides what the app does.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::InvalidConfig,
            Self::Untrusted(_) => ErrorKind::UntrustedServer,
            Self::Network { .. } => ErrorKind::Offline,
            Self::Service { status, .. } if *status >= 500 || *status == 429 || *status == 408 => {
                ErrorKind::ServiceUnavailable
            }
            Self::Service { .. } => ErrorKind::Rejected,
            Self::Protocol(_) => ErrorKind::Protocol,
            Self::NotSignedIn | Self::SignedOut(_) => ErrorKind::SignInRequired,
            Self::Login(LoginFailure::Cancelled) => ErrorKind::LoginCancelled,
            Self::Login(_) => ErrorKind::LoginFailed,
            Self::Storage(_) => ErrorKind::Storage,
            Self::Card(_) => ErrorKind::InvalidCard,
            Self::Payment(PaymentFailure::ProviderRefused(_)) => ErrorKind::Rejected,
            Self::Payment(_) => ErrorKind::CardDeclined,
            Self::Upload(failure) => match failure {
                UploadFailure::Cancelled => ErrorKind::Cancelled,
                UploadFailure::InvalidCapture(_) => ErrorKind::InvalidCapture,
                UploadFailure::Seal(_) => ErrorKind::InvalidConfig,
                UploadFailure::Rejected { .. } | UploadFailure::TooLarge { .. } => {
                    ErrorKind::Rejected
                }
                UploadFailure::NotResumable(_) => ErrorKind::Protocol,
                // The device cannot vouch for the app: nothing the shopper can retry.
                UploadFailure::Attestation(_) => ErrorKind::Rejected,
                UploadFailure::RetriesExhausted { last, .. } => last.kind(),
            },
            Self::Session(SessionFailure::NoAnalyzer | SessionFailure::Analysis(_)) => {
                ErrorKind::ModelUnavailable
            }
            Self::Session(_) => ErrorKind::OutOfOrder,
        }
    }

    /// Whether the same call may succeed later without any change.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Offline | ErrorKind::ServiceUnavailable
        )
    }
}
