//! The enrollment session across the FFI: the one object the apps drive, from login to
//! the pending store match ([`EnrollmentSession`]), and the listener the apps implement for
//! state changes and upload progress ([`SessionListener`]). The records that describe the
//! state (`SessionSnapshot`, `SessionState`, `HandStatus`, `Failure`, ...) are the core's
//! own, derived for UniFFI in palmkit-core. Every transition is the core's
//! (`palmkit_core::enrollment`); this file only adapts arguments and errors.

use std::sync::Arc;

use palmkit_core::ServiceConfig;
use palmkit_core::analysis::FrameAnalysis;
use palmkit_core::enrollment::{self as core, SessionSnapshot};
use palmkit_core::liveness::ChallengeKind;
use palmkit_core::payment::AddCardOutcome;
use palmkit_core::protocol::{
    AccountInfo, ConsentRecord, Hand, Health, PaymentLink, PaymentMethod, Wallet,
};
use zeroize::Zeroizing;

use crate::analysis::{FrameInfo, view};
use crate::store::ShellStore;
use crate::{CardInput, PalmKitError, SecureStore, attestation};

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
        self.0.on_state_changed(snapshot.clone());
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
            &config,
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
        self.core.configure_analyzer(|a| a.set_challenges(&kinds));
    }

    /// The state and each hand's progress, now.
    pub fn snapshot(&self) -> SessionSnapshot {
        self.core.snapshot()
    }

    /// At app start: resumes a stored login and its saved progress (captures are not
    /// saved: the session asks for them again), or stays signed out.
    pub async fn restore(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.restore().await?)
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
        Ok(self.core.finish_login(&redirect_url).await?)
    }

    /// The signed-in shopper.
    pub async fn account(&self) -> Result<AccountInfo, PalmKitError> {
        Ok(self.core.account().await?)
    }

    /// Records the biometric consent to the text of `text_version` (shown before).
    pub async fn give_consent(&self, text_version: String) -> Result<ConsentRecord, PalmKitError> {
        Ok(self.core.give_consent(&text_version).await?)
    }

    /// Starts capturing `hand` (`None`: whichever the shopper shows).
    pub fn start_hand(&self, hand: Option<Hand>) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.start_hand(hand)?)
    }

    /// Stops capturing; earlier captures stay held.
    pub fn cancel_capture(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.cancel_capture()?)
    }

    /// One camera frame, on the camera thread: the guidance to show, and whether the
    /// capture fired (the image stays in the core). Never panics on a bad buffer.
    pub fn analyze_frame(
        &self,
        data: Vec<u8>,
        info: FrameInfo,
    ) -> Result<FrameAnalysis, PalmKitError> {
        let data = Zeroizing::new(data);
        let frame = view(&data, &info)?;
        Ok(self.core.analyze_frame(&frame, info.timestamp_ms)?)
    }

    /// The account's cards and the linked one.
    pub async fn wallet(&self) -> Result<Wallet, PalmKitError> {
        Ok(self.core.wallet().await?)
    }

    /// Saves a card at the payment provider (the number never reaches the service).
    pub async fn add_card(&self, card: CardInput) -> Result<AddCardOutcome, PalmKitError> {
        Ok(self.core.add_card(card.into()).await?)
    }

    /// Finishes the card that needed the shopper's confirmation in the browser.
    pub async fn resume_add_card(&self) -> Result<PaymentMethod, PalmKitError> {
        Ok(self.core.resume_add_card().await?)
    }

    /// Links a wallet card to the palm profile (safe to retry).
    pub async fn choose_payment(
        &self,
        payment_method_id: String,
    ) -> Result<PaymentLink, PalmKitError> {
        Ok(self.core.choose_payment(&payment_method_id).await?)
    }

    /// Seals the captures, uploads them resumably (progress to the listener) and submits.
    pub async fn upload(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.upload().await?)
    }

    /// Cancels a running upload from any thread (it fails with `Cancelled`; the sealed
    /// captures stay held for the next `upload`). `false` when none runs.
    pub fn cancel_upload(&self) -> bool {
        self.core.cancel_upload()
    }

    /// Reads the enrollment back: complete, expired or deleted elsewhere.
    pub async fn refresh(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.refresh().await?)
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
            .await?)
    }

    /// Deletes the enrollment and all its biometric data at the service.
    pub async fn delete(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.delete().await?)
    }

    /// After expiry, deletion or a failure for good: start again (consent is kept).
    pub fn enroll_again(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.enroll_again()?)
    }

    /// Signs out and forgets the progress on this device.
    pub async fn logout(&self) -> Result<SessionSnapshot, PalmKitError> {
        Ok(self.core.logout().await?)
    }

    /// Checks over pinned TLS that the service is reachable and healthy.
    pub async fn health(&self) -> Result<Health, PalmKitError> {
        Ok(self.core.health().await?)
    }
}

/// Development shortcuts: QA builds and the desktop tests only, never the phone library.
#[cfg(feature = "dev")]
#[uniffi::export]
impl EnrollmentSession {
    /// What the spoof verdict does; `REPORT_ONLY` lets photos fed as frames be captured.
    pub fn set_liveness_policy(&self, policy: palmkit_core::analysis::LivenessPolicy) {
        self.core
            .configure_analyzer(|a| a.set_liveness_policy(policy));
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
        Ok(self.core.add_capture(hand, capture)?)
    }
}
