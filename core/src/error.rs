//! The core's error type: rich enough inside to log and test precisely, with a coarse
//! [`ErrorKind`] that tells an app what to do about it (retry, fix the configuration,
//! stop because the connection is not trusted).
//!
//! Messages never carry secrets: no tokens, no card data, no image bytes. Server messages
//! are quoted only from the JSON error body of our own service, truncated.

use crate::config::ConfigError;

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
