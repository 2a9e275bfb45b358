//! The session's states as an app sees them: [`SessionState`] (with what each carries),
//! [`StateName`] (for errors and logs), per-hand [`HandStatus`], and the
//! [`SessionSnapshot`] a listener receives on every change.

use crate::error::ErrorKind;
use crate::protocol::Hand;

/// Where an enrollment session is.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SessionState {
    /// Nobody is signed in: start the login.
    SignedOut,
    /// Signed in; the biometric consent is not given yet.
    SignedIn,
    /// Consent given: start capturing a hand.
    ConsentGiven,
    /// Feeding camera frames for `hand` (`None`: whichever hand is shown).
    Capturing {
        /// The hand asked for.
        hand: Option<Hand>,
    },
    /// These hands are captured (in memory only): capture the other one, or choose a card.
    Captured {
        /// The hands held, in capture order.
        hands: Vec<Hand>,
    },
    /// A card is linked to the palm profile: upload.
    PaymentChosen,
    /// Sealed captures are going up.
    Uploading {
        /// Sealed bytes the service confirmed, over all hands.
        confirmed: u64,
        /// Sealed bytes in all.
        total: u64,
    },
    /// Submitted: completes at the first in-store palm match.
    PendingStoreMatch,
    /// Matched in store: the shopper pays by palm.
    Complete,
    /// Not matched in store in time; the service deleted its biometric data: enroll again.
    Expired,
    /// A step failed; [`Failure::retryable`] says whether trying the same step again helps.
    Failed {
        /// Why, what happened, and whether to try again.
        failure: Failure,
    },
    /// The shopper deleted the enrollment and its biometric data at the service.
    Deleted,
}

impl SessionState {
    /// The state's name, without what it carries.
    pub fn name(&self) -> StateName {
        match self {
            Self::SignedOut => StateName::SignedOut,
            Self::SignedIn => StateName::SignedIn,
            Self::ConsentGiven => StateName::ConsentGiven,
            Self::Capturing { .. } => StateName::Capturing,
            Self::Captured { .. } => StateName::Captured,
            Self::PaymentChosen => StateName::PaymentChosen,
            Self::Uploading { .. } => StateName::Uploading,
            Self::PendingStoreMatch => StateName::PendingStoreMatch,
            Self::Complete => StateName::Complete,
            Self::Expired => StateName::Expired,
            Self::Failed { .. } => StateName::Failed,
            Self::Deleted => StateName::Deleted,
        }
    }
}

/// A [`SessionState`]'s name: what an out-of-order error reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateName {
    /// [`SessionState::SignedOut`].
    SignedOut,
    /// [`SessionState::SignedIn`].
    SignedIn,
    /// [`SessionState::ConsentGiven`].
    ConsentGiven,
    /// [`SessionState::Capturing`].
    Capturing,
    /// [`SessionState::Captured`].
    Captured,
    /// [`SessionState::PaymentChosen`].
    PaymentChosen,
    /// [`SessionState::Uploading`].
    Uploading,
    /// [`SessionState::PendingStoreMatch`].
    PendingStoreMatch,
    /// [`SessionState::Complete`].
    Complete,
    /// [`SessionState::Expired`].
    Expired,
    /// [`SessionState::Failed`].
    Failed,
    /// [`SessionState::Deleted`].
    Deleted,
}

impl std::fmt::Display for StateName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::SignedOut => "signed out",
            Self::SignedIn => "signed in",
            Self::ConsentGiven => "consent given",
            Self::Capturing => "capturing",
            Self::Captured => "captured",
            Self::PaymentChosen => "payment chosen",
            Self::Uploading => "uploading",
            Self::PendingStoreMatch => "pending store match",
            Self::Complete => "complete",
            Self::Expired => "expired",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        })
    }
}

/// Why the session failed: what the app shows and whether it offers to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum FailureReason {
    /// No frame was good enough for a capture in the allowed time: try again (better
    /// light, hand closer); nothing was kept.
    CaptureTimedOut,
    /// The spoof layers found an attack (or the active challenge was not met): nothing was
    /// captured. The app shows a neutral message; trying again is allowed.
    SpoofSuspected,
    /// A service call found no network: upload again when it is back.
    Offline,
    /// The service is busy or down: upload again later.
    ServiceUnavailable,
    /// The connection is not to the pinned service: do not retry; warn the shopper.
    UntrustedServer,
    /// The service refused the step (or the capture): retrying unchanged will not help.
    Rejected,
    /// Any other service failure: report it.
    Other,
}

impl FailureReason {
    /// The reason a failed service call of `kind` gives the session.
    pub fn of_service(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Offline => Self::Offline,
            ErrorKind::ServiceUnavailable => Self::ServiceUnavailable,
            ErrorKind::UntrustedServer => Self::UntrustedServer,
            ErrorKind::Rejected | ErrorKind::InvalidCapture => Self::Rejected,
            _ => Self::Other,
        }
    }

    /// A service call failed (not the capture): the upload may be tried again.
    pub fn is_service(self) -> bool {
        !matches!(self, Self::CaptureTimedOut | Self::SpoofSuspected)
    }
}

/// A failed step: why, a message fit for logs and QA (no secret, no image data), and
/// whether calling the same step again may succeed.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Failure {
    /// Why.
    pub reason: FailureReason,
    /// What happened, in English.
    pub message: String,
    /// Whether the same step may succeed when tried again (the captures are still held).
    pub retryable: bool,
}

/// One hand's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum HandStatus {
    /// Not captured (or its capture was lost with the app).
    NotCaptured,
    /// Captured, in memory only, not uploaded yet.
    Captured,
    /// Its sealed capture is accepted by the service.
    Uploaded,
    /// Submitted: waits for the in-store match.
    PendingMatch,
    /// Matched in store: pays by palm.
    Active,
    /// Its enrollment expired or the upload failed for good.
    Failed,
}

/// What a listener is told on every change.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SessionSnapshot {
    /// The state.
    pub state: SessionState,
    /// The left hand's progress.
    pub left: HandStatus,
    /// The right hand's progress.
    pub right: HandStatus,
    /// The enrollment at the service, once created.
    pub enrollment_id: Option<String>,
}

impl SessionSnapshot {
    /// The progress of `hand`.
    pub fn hand(&self, hand: Hand) -> HandStatus {
        match hand {
            Hand::Left => self.left,
            Hand::Right => self.right,
        }
    }
}
