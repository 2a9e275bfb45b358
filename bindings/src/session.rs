//! The enrollment session across the FFI: the one object the apps drive, from login to
//! the pending store match ([`EnrollmentSession`]), the listener the apps implement for
//! state changes and upload progress ([`SessionListener`]), and the records that describe
//! the state. Every transition is the core's (`palmkit_core::enrollment`); this file only
//! converts.

use std::sync::Arc;

use palmkit_core::enrollment as core;
use palmkit_core::error::ErrorKind;
use zeroize::Zeroizing;

use crate::analysis::{ChallengeKind, FrameInfo, FrameResult, view};
use crate::store::ShellStore;
use crate::{
    Account, AddCardResult, CardDetails, ConsentInfo, Hand, HealthReport, PalmKitError,
    PaymentLinkInfo, PaymentMethodInfo, SecureStore, ServiceConfig, WalletInfo, attestation,
};

/// Where the session is. Switch over it exhaustively: each state names the screen.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum SessionState {
    /// Show the login.
    SignedOut,
    /// Show the biometric consent.
    SignedIn,
    /// Consent given: start capturing a hand (`start_hand`).
    ConsentGiven,
    /// Feed camera frames (`analyze_frame`) for `hand` (`None`: either).
    Capturing {
        /// The hand asked for.
        hand: Option<Hand>,
    },
    /// These hands are captured (in memory, in the core): the other hand, or the card.
    Captured {
        /// The hands held.
        hands: Vec<Hand>,
    },
    /// A card is linked: `upload`.
    PaymentChosen,
    /// Sealed captures are going up.
    Uploading {
        /// Sealed bytes confirmed by the service.
        confirmed: u64,
        /// Sealed bytes in all.
        total: u64,
    },
    /// Submitted: completes at the first in-store palm match (`refresh` to learn it).
    PendingStoreMatch,
    /// Matched in store: pay by palm works.
    Complete,
    /// Not matched in store in time; its biometric data is gone: offer `enroll_again`.
    Expired,
    /// A step failed: `retryable` says whether the same step may succeed again.
    Failed {
        /// Why.
        reason: FailureReason,
        /// What happened, for logs and QA (no secret, no image data).
        message: String,
        /// Trying the same step again may help (the captures are still held).
        retryable: bool,
    },
    /// The enrollment and its biometric data are deleted at the service.
    Deleted,
}

/// Why a step failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum FailureReason {
    /// No frame was good enough in time: `start_hand` again (light, distance).
    CaptureTimedOut,
    /// The spoof layers refused the capture: show a neutral message; `start_hand` again.
    SpoofSuspected,
    /// No network: `upload` again when it is back.
    Offline,
    /// The service is busy or down: `upload` again later.
    ServiceUnavailable,
    /// The connection is not to the pinned service: do not retry; warn the shopper.
    UntrustedServer,
    /// The service refused the step: retrying unchanged will not help (`enroll_again`).
    Rejected,
    /// Anything else: report it.
    Other,
}

/// One hand's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum HandStatus {
    /// Not captured (or lost with the app: capture again).
    NotCaptured,
    /// Captured, in memory only.
    Captured,
    /// Accepted by the service.
    Uploaded,
    /// Waiting for the in-store match.
    PendingMatch,
    /// Matched in store.
    Active,
    /// Expired or failed for good.
    Failed,
}

/// The state and each hand's progress.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SessionSnapshot {
    /// The state.
    pub state: SessionState,
    /// The left hand.
    pub left: HandStatus,
    /// The right hand.
    pub right: HandStatus,
    /// The enrollment at the service, once made.
    pub enrollment_id: Option<String>,
}

impl From<core::SessionSnapshot> for SessionSnapshot {
    fn from(s: core::SessionSnapshot) -> Self {
        Self {
            state: s.state.into(),
            left: s.left.into(),
            right: s.right.into(),
            enrollment_id: s.enrollment_id,
        }
    }
}

impl From<core::SessionState> for SessionState {
    fn from(s: core::SessionState) -> Self {
        use core::SessionState as S;
        match s {
            S::SignedOut => Self::SignedOut,
            S::SignedIn => Self::SignedIn,
            S::ConsentGiven => Self::ConsentGiven,
            S::Capturing { hand } => Self::Capturing {
                hand: hand.map(Into::into),
            },
            S::Captured { hands } => Self::Captured {
                hands: hands.into_iter().map(Into::into).collect(),
            },
            S::PaymentChosen => Self::PaymentChosen,
            S::Uploading { confirmed, total } => Self::Uploading { confirmed, total },
            S::PendingStoreMatch => Self::PendingStoreMatch,
            S::Complete => Self::Complete,
            S::Expired => Self::Expired,
            S::Failed(f) => Self::Failed {
                reason: match f.reason {
                    core::FailureReason::CaptureTimedOut => FailureReason::CaptureTimedOut,
                    core::FailureReason::SpoofSuspected => FailureReason::SpoofSuspected,
                    core::FailureReason::Service(kind) => match kind {
                        ErrorKind::Offline => FailureReason::Offline,
                        ErrorKind::ServiceUnavailable => FailureReason::ServiceUnavailable,
                        ErrorKind::UntrustedServer => FailureReason::UntrustedServer,
                        ErrorKind::Rejected | ErrorKind::InvalidCapture => FailureReason::Rejected,
                        _ => FailureReason::Other,
                    },
                },
                message: f.message,
                retryable: f.retryable,
            },
            S::Deleted => Self::Deleted,
        }
    }
}

impl From<core::HandStatus> for HandStatus {
    fn from(s: core::HandStatus) -> Self {
        match s {
            core::HandStatus::NotCaptured => Self::NotCaptured,
            core::HandStatus::Captured => Self::Captured,
            core::HandStatus::Uploaded => Self::Uploaded,
            core::HandStatus::PendingMatch => Self::PendingMatch,
            core::HandStatus::Active => Self::Active,
            core::HandStatus::Failed => Self::Failed,
        }
    }
}

/// Told of every state change and of upload progress, on a background thread (or the
/// camera thread, for a capture): post to the UI, do not block.
#[uniffi::export(with_foreign)]
pub trait SessionListener: Send + Sync {
    /// The session moved, or a hand's progress changed.
    fn on_state_changed(&self, snapshot: SessionSnapshot);
    /// `confirmed` of `total` sealed bytes (all hands) are confirmed by the service.
    fn on_upload_progress(&self, confirmed: u64, total: u64);
}

struct ShellListener(Arc<dyn SessionListener>);

impl core::SessionListener for ShellListener {
    fn on_state_changed(&self, snapshot: &core::SessionSnapshot) {
        self.0.on_state_changed(snapshot.clone().into());
    }

    fn on_upload_progress(&self, confirmed: u64, total: u64) {
        self.0.on_upload_progress(confirmed, total);
    }
}

/// One shopper's enrollment, from login to the store match: the object the apps drive.
/// Calls out of order fail with `PalmKitError.OutOfOrder` naming the state.
#[derive(uniffi::Object)]
pub struct EnrollmentSession {
    core: core::EnrollmentSession,
}

#[uniffi::export(async_runtime = "tokio")]
impl EnrollmentSession {
    /// A signed-out session (no I/O yet): tokens and non-biometric progress go to `store`.
    /// Call `restore` next.
    #[uniffi::constructor]
    pub fn new(
        config: ServiceConfig,
        store: Arc<dyn SecureStore>,
    ) -> Result<Arc<Self>, PalmKitError> {
        let core = core::EnrollmentSession::new(
            &config.into(),
            Arc::new(ShellStore(store)),
            core::SessionOptions::default(),
        )?;
        Ok(Arc::new(Self { core }))
    }

    /// Receives every state change and upload progress from now on (`None`: stop).
    pub fn set_listener(&self, listener: Option<Arc<dyn SessionListener>>) {
        self.core.set_listener(
            listener.map(|l| Arc::new(ShellListener(l)) as Arc<dyn core::SessionListener>),
        );
    }

    /// The platform attestor every upload is attested with (`None`: unattested, which a
    /// production service refuses). The apps use [`set_app_attest`](Self::set_app_attest)
    /// or [`set_key_attestation`](Self::set_key_attestation); this takes a whole statement
    /// (development-format fakes).
    pub fn set_attestor(&self, attestor: Option<Arc<dyn attestation::Attestor>>) {
        self.core.set_attestor(attestor.map(|a| {
            Arc::new(attestation::ShellAttestor(a)) as Arc<dyn palmkit_core::attestation::Attestor>
        }));
    }

    /// iOS: every upload attested with App Attest through `device`; the key id is kept in
    /// `store` (the keychain) and replaced when the service no longer knows it.
    pub fn set_app_attest(
        &self,
        device: Arc<dyn attestation::AppAttestDevice>,
        store: Arc<dyn crate::store::SecureStore>,
    ) {
        self.core
            .set_attestor(Some(attestation::app_attest_flow(device, store)));
    }

    /// Android: every upload attested with a fresh Key Attestation key's chain.
    pub fn set_key_attestation(&self, device: Arc<dyn attestation::KeyAttestationDevice>) {
        self.core
            .set_attestor(Some(attestation::key_attestation_flow(device)));
    }

    /// Loads the hand models from the app's bundled folder (checked against its
    /// `SHA256SUMS`) for the capture steps.
    pub fn load_models(&self, models_dir: String) -> Result<(), PalmKitError> {
        self.core.set_analyzer(crate::analysis::load(&models_dir)?);
        Ok(())
    }

    /// The active challenges that may be drawn (default `CLOSE_AND_OPEN` only; `TILT` is
    /// weaker: a tilted photo can meet it).
    pub fn set_challenges(&self, kinds: Vec<ChallengeKind>) {
        let kinds: Vec<_> = kinds.into_iter().map(Into::into).collect();
        self.core.configure_analyzer(|a| a.set_challenges(&kinds));
    }

    /// The state and each hand's progress, now.
    pub fn snapshot(&self) -> SessionSnapshot {
        self.core.snapshot().into()
    }

    /// At app start: resumes a stored login and its saved progress (captures are not
    /// saved: the session asks for them again), or stays signed out.
    pub async fn restore(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.restore().await?.into())
    }

    /// The login URL for the system browser.
    pub async fn start_login(&self) -> Result<String, PalmKitError> {
        Ok(self.core.start_login().await?.to_string())
    }

    /// Finishes the login with the redirect the browser came back with.
    pub async fn finish_login(
        &self,
        redirect_url: String,
    ) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.finish_login(&redirect_url).await?.into())
    }

    /// The signed-in shopper.
    pub async fn account(&self) -> Result<Account, PalmKitError> {
        let a = self.core.account().await?;
        Ok(Account {
            account_id: a.account_id,
            email: a.email,
            display_name: a.display_name,
        })
    }

    /// Records the biometric consent to the text of `text_version` (shown before).
    pub async fn give_consent(&self, text_version: String) -> Result<ConsentInfo, PalmKitError> {
        let r = self.core.give_consent(&text_version).await?;
        Ok(ConsentInfo {
            text_version: r.text_version,
            given_at: r.given_at,
        })
    }

    /// Starts capturing `hand` (`None`: whichever the shopper shows).
    pub fn start_hand(&self, hand: Option<Hand>) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.start_hand(hand.map(Into::into))?.into())
    }

    /// Stops capturing; earlier captures stay held.
    pub fn cancel_capture(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.cancel_capture()?.into())
    }

    /// One camera frame, on the camera thread: the guidance to show, and whether the
    /// capture fired (the image stays in the core). Never panics on a bad buffer.
    pub fn analyze_frame(
        &self,
        data: Vec<u8>,
        info: FrameInfo,
    ) -> Result<FrameResult, PalmKitError> {
        let data = Zeroizing::new(data);
        let frame = view(&data, &info)?;
        Ok(self.core.analyze_frame(&frame, info.timestamp_ms)?.into())
    }

    /// The account's cards and the linked one.
    pub async fn wallet(&self) -> Result<WalletInfo, PalmKitError> {
        let w = self.core.wallet().await?;
        Ok(WalletInfo {
            methods: w.payment_methods.into_iter().map(Into::into).collect(),
            linked_id: w.linked_payment_method_id,
        })
    }

    /// Saves a card at the payment provider (the number never reaches the service).
    pub async fn add_card(&self, card: CardDetails) -> Result<AddCardResult, PalmKitError> {
        Ok(self.core.add_card(card.into()).await?.into())
    }

    /// Finishes the card that needed the shopper's confirmation in the browser.
    pub async fn resume_add_card(&self) -> Result<PaymentMethodInfo, PalmKitError> {
        Ok(self.core.resume_add_card().await?.into())
    }

    /// Links a wallet card to the palm profile (safe to retry).
    pub async fn choose_payment(
        &self,
        payment_method_id: String,
    ) -> Result<PaymentLinkInfo, PalmKitError> {
        let link = self.core.choose_payment(&payment_method_id).await?;
        Ok(PaymentLinkInfo {
            payment_method_id: link.payment_method_id,
            linked_at: link.linked_at,
        })
    }

    /// Seals the captures, uploads them resumably (progress to the listener) and submits.
    pub async fn upload(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.upload().await?.into())
    }

    /// Cancels a running upload from any thread (it fails with `Cancelled`; the sealed
    /// captures stay held for the next `upload`). `false` when none runs.
    pub fn cancel_upload(&self) -> bool {
        self.core.cancel_upload()
    }

    /// Reads the enrollment back: complete, expired or deleted elsewhere.
    pub async fn refresh(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.refresh().await?.into())
    }

    /// Waits for the store match that completes the enrollment: reads it back after
    /// `first_ms`, then after pauses doubling up to `longest_ms` (jittered), until it is
    /// complete, expired or deleted, or `give_up_after_ms` passed (then still pending).
    /// The listener hears each change. Cancel the task/coroutine to stop waiting.
    pub async fn await_store_match(
        &self,
        first_ms: u64,
        longest_ms: u64,
        give_up_after_ms: u64,
    ) -> Result<SessionSnapshot, PalmKitError> {
        use std::time::Duration;
        Ok(self
            .core
            .await_store_match(
                Duration::from_millis(first_ms),
                Duration::from_millis(longest_ms),
                Duration::from_millis(give_up_after_ms),
            )
            .await?
            .into())
    }

    /// Deletes the enrollment and all its biometric data at the service.
    pub async fn delete(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.delete().await?.into())
    }

    /// After expiry, deletion or a failure for good: start again (consent is kept).
    pub fn enroll_again(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.enroll_again()?.into())
    }

    /// Signs out and forgets the progress on this device.
    pub async fn logout(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.logout().await?.into())
    }

    /// Checks over pinned TLS that the service is reachable and healthy.
    pub async fn health(&self) -> Result<HealthReport, PalmKitError> {
        let h = self.core.health().await?;
        Ok(HealthReport {
            status: h.status,
            version: h.version,
            current_key_id: h.current_key_id,
        })
    }
}

/// Development shortcuts: QA builds and the desktop tests only, never the phone library.
#[cfg(feature = "dev")]
#[uniffi::export]
impl EnrollmentSession {
    /// What the spoof verdict does; `REPORT_ONLY` lets photos fed as frames be captured.
    pub fn set_liveness_policy(&self, policy: crate::analysis::LivenessPolicy) {
        self.core
            .configure_analyzer(|a| a.set_liveness_policy(policy.into()));
    }

    /// Holds a palm photo (JPEG or PNG) as the capture of `hand` while capturing it.
    pub fn add_capture_file(
        &self,
        hand: Hand,
        image: Vec<u8>,
    ) -> Result<SessionSnapshot, PalmKitError> {
        let capture = palmkit_core::upload::Capture::new(
            Zeroizing::new(image),
            palmkit_core::protocol::CaptureSource::File,
        )
        .map_err(palmkit_core::Error::from)?;
        Ok(self.core.add_capture(hand.into(), capture)?.into())
    }
}
