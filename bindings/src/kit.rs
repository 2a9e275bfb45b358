//! [`PalmKit`]: the service calls one by one (login, wallet, enrollment records, uploads),
//! for QA tools and the lower-level tests. Apps drive `EnrollmentSession` instead, which
//! calls these in order and checks every step.

use std::sync::Arc;

#[cfg(feature = "dev")]
use zeroize::Zeroizing;

use crate::analysis::FrameAnalyzer;
use crate::store::ShellStore;
use crate::{
    Account, AddCardResult, Attestor, CardDetails, ConsentInfo, EnrollmentInfo, Hand, HealthReport,
    PalmKitError, PaymentLinkInfo, PaymentMethodInfo, SecureStore, ServiceConfig, WalletInfo,
    attestation,
};

/// Where a capture came from (QA builds).
#[cfg(feature = "dev")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CaptureOrigin {
    /// The live camera path.
    Camera,
    /// A file (test and QA builds only).
    File,
}

/// Receives upload progress, on a background thread; keep it quick (post to the UI).
#[uniffi::export(with_foreign)]
pub trait UploadProgressListener: Send + Sync {
    /// `confirmed` of `total` sealed bytes are confirmed by the service.
    fn on_progress(&self, confirmed: u64, total: u64);
}

struct ShellProgress(Arc<dyn UploadProgressListener>);

impl palmkit_core::upload::UploadProgress for ShellProgress {
    fn on_progress(&self, confirmed: u64, total: u64) {
        self.0.on_progress(confirmed, total);
    }
}

/// Cancels an upload from any thread: the upload stops, is terminated at the service,
/// and fails with `PalmKitError.Cancelled`.
#[derive(uniffi::Object, Default)]
pub struct UploadCancel(palmkit_core::upload::CancelToken);

#[uniffi::export]
impl UploadCancel {
    /// A handle not yet cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Cancels the upload it was given to.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// A finished capture upload.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct UploadReceipt {
    /// The upload id, for `submit_enrollment`.
    pub upload_id: String,
    /// Sealed bytes uploaded.
    pub length: u64,
    /// Bytes put on the wire (more than `length` if a chunk was re-sent).
    pub bytes_sent: u64,
    /// Interruptions survived.
    pub interruptions: u32,
}

impl From<palmkit_core::upload::UploadReport> for UploadReceipt {
    fn from(report: palmkit_core::upload::UploadReport) -> Self {
        Self {
            upload_id: report.id,
            length: report.length,
            bytes_sent: report.bytes_sent,
            interruptions: report.interruptions,
        }
    }
}

/// The app's handle on the core, made once at start-up from the service configuration
/// and the platform's secure storage.
#[derive(uniffi::Object)]
pub struct PalmKit {
    service: palmkit_core::ServiceClient,
    account: palmkit_core::account::AccountClient,
    pending_card: std::sync::Mutex<Option<palmkit_core::payment::PendingCard>>,
    attestor: std::sync::Mutex<Option<Arc<dyn palmkit_core::attestation::Attestor>>>,
}

#[uniffi::export(async_runtime = "tokio")]
impl PalmKit {
    /// Validates the configuration and prepares the pinned client (no network yet).
    #[uniffi::constructor]
    pub fn new(
        config: ServiceConfig,
        store: Arc<dyn SecureStore>,
    ) -> Result<Arc<Self>, PalmKitError> {
        let config: palmkit_core::ServiceConfig = config.into();
        let account =
            palmkit_core::account::AccountClient::new(&config, Arc::new(ShellStore(store)))?;
        // One pinned client: the health check shares the login's connections.
        let service = palmkit_core::ServiceClient::from_net(account.net().clone());
        Ok(Arc::new(Self {
            service,
            account,
            pending_card: std::sync::Mutex::new(None),
            attestor: std::sync::Mutex::new(None),
        }))
    }

    /// The platform attestor every upload is attested with from now on (`None`: uploads
    /// go unattested, which a service that requires attestation refuses with
    /// `Rejected(attestation_required)`).
    pub fn set_attestor(&self, attestor: Option<Arc<dyn Attestor>>) {
        *self.attestor.lock().unwrap_or_else(|p| p.into_inner()) = attestor.map(|a| {
            Arc::new(attestation::ShellAttestor(a)) as Arc<dyn palmkit_core::attestation::Attestor>
        });
    }

    /// Every upload attested with App Attest through `device` (the core's flow; the key
    /// id kept in `store`).
    pub fn set_app_attest(
        &self,
        device: Arc<dyn attestation::AppAttestDevice>,
        store: Arc<dyn crate::store::SecureStore>,
    ) {
        *self.attestor.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(attestation::app_attest_flow(device, store));
    }

    /// Every upload attested with a fresh Key Attestation key's chain from `device`.
    pub fn set_key_attestation(&self, device: Arc<dyn attestation::KeyAttestationDevice>) {
        *self.attestor.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(attestation::key_attestation_flow(device));
    }

    /// Starts a login: returns the URL for the system browser (ASWebAuthenticationSession,
    /// a Custom Tab). The browser comes back to the app's redirect URI.
    pub async fn start_login(&self) -> Result<String, PalmKitError> {
        Ok(self.account.start_login().await?.to_string())
    }

    /// Finishes the login with the redirect URL the browser came back with.
    pub async fn finish_login(&self, redirect_url: String) -> Result<(), PalmKitError> {
        Ok(self.account.finish_login(&redirect_url).await?)
    }

    /// The signed-in shopper; `SignInRequired` when nobody is.
    pub async fn account(&self) -> Result<Account, PalmKitError> {
        let a = self.account.account().await?;
        Ok(Account {
            account_id: a.account_id,
            email: a.email,
            display_name: a.display_name,
        })
    }

    /// The account's payment methods and the linked one.
    pub async fn payment_methods(&self) -> Result<WalletInfo, PalmKitError> {
        let wallet = palmkit_core::payment::PaymentClient::new(&self.account)
            .wallet()
            .await?;
        Ok(WalletInfo {
            methods: wallet.payment_methods.into_iter().map(Into::into).collect(),
            linked_id: wallet.linked_payment_method_id,
        })
    }

    /// Validates the card and saves it at the payment provider, then in the wallet.
    pub async fn add_card(&self, card: CardDetails) -> Result<AddCardResult, PalmKitError> {
        use palmkit_core::payment::{AddCardOutcome, PaymentClient, card};
        let outcome = PaymentClient::new(&self.account)
            .add_card(card.into(), card::current_year_month())
            .await?;
        Ok(match outcome {
            AddCardOutcome::Added(method) => AddCardResult::Added {
                method: method.into(),
            },
            AddCardOutcome::RequiresAction { url, pending } => {
                *self.pending_card.lock().unwrap_or_else(|p| p.into_inner()) = Some(pending);
                AddCardResult::RequiresAction { url }
            }
        })
    }

    /// Finishes adding the card that required the shopper's confirmation.
    pub async fn resume_add_card(&self) -> Result<PaymentMethodInfo, PalmKitError> {
        let pending = self
            .pending_card
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| PalmKitError::Rejected {
                reason: "no card is waiting for confirmation".into(),
            })?;
        let method = palmkit_core::payment::PaymentClient::new(&self.account)
            .resume_add_card(pending)
            .await?;
        Ok(method.into())
    }

    /// Links a wallet method to the palm profile (safe to retry with the same key).
    pub async fn link_payment_method(
        &self,
        payment_method_id: String,
        idempotency_key: String,
    ) -> Result<PaymentLinkInfo, PalmKitError> {
        let link = palmkit_core::payment::PaymentClient::new(&self.account)
            .link(&payment_method_id, &idempotency_key)
            .await?;
        Ok(PaymentLinkInfo {
            payment_method_id: link.payment_method_id,
            linked_at: link.linked_at,
        })
    }

    /// Starts a draft enrollment for one or both hands. With an idempotency key (from
    /// `new_idempotency_key`, kept until this succeeds) a retry returns the same draft.
    pub async fn create_enrollment(
        &self,
        hands: Vec<Hand>,
        idempotency_key: Option<String>,
    ) -> Result<EnrollmentInfo, PalmKitError> {
        let hands: Vec<_> = hands.into_iter().map(Into::into).collect();
        let enrollment = palmkit_core::enrollment::EnrollmentClient::new(&self.account)
            .create_with_key(&hands, idempotency_key.as_deref())
            .await?;
        Ok(enrollment.into())
    }

    /// Records that the shopper agreed to the biometric consent text of `text_version`
    /// (show it before the first capture). The service keeps the first time given.
    pub async fn give_consent(&self, text_version: String) -> Result<ConsentInfo, PalmKitError> {
        let record = palmkit_core::enrollment::EnrollmentClient::new(&self.account)
            .give_consent(&text_version)
            .await?;
        Ok(ConsentInfo {
            text_version: record.text_version,
            given_at: record.given_at,
        })
    }

    /// Deletes the enrollment and all its biometric data at the service (captures,
    /// verdicts, attestations, uploads). Afterwards `enrollment(id)` is `Rejected`
    /// (`not_found`).
    pub async fn delete_enrollment(&self, id: String) -> Result<(), PalmKitError> {
        Ok(
            palmkit_core::enrollment::EnrollmentClient::new(&self.account)
                .delete(&id)
                .await?,
        )
    }

    /// One of the shopper's enrollments.
    pub async fn enrollment(&self, id: String) -> Result<EnrollmentInfo, PalmKitError> {
        let enrollment = palmkit_core::enrollment::EnrollmentClient::new(&self.account)
            .get(&id)
            .await?;
        Ok(enrollment.into())
    }

    /// Seals and uploads the analyzer's auto-capture (after `FrameResult.captured`) for
    /// `hand`: the image goes from the camera frame to the envelope without crossing the
    /// FFI. `InvalidCapture` when no capture is waiting (not fired yet, or already taken).
    pub async fn upload_auto_capture(
        &self,
        enrollment_id: String,
        hand: Hand,
        analyzer: Arc<FrameAnalyzer>,
        progress: Arc<dyn UploadProgressListener>,
        cancel: Arc<UploadCancel>,
    ) -> Result<UploadReceipt, PalmKitError> {
        let capture = analyzer
            .lock()
            .take_capture()
            .map_err(|e| PalmKitError::InvalidCapture {
                reason: e.to_string(),
            })?
            .ok_or_else(|| PalmKitError::InvalidCapture {
                reason: "no auto-capture is waiting: analyze frames until `captured`".into(),
            })?;
        self.send(&enrollment_id, hand, capture, progress, &cancel)
            .await
    }

    /// Submits the enrollment with one accepted upload per hand; it then waits for the
    /// first in-store match. Safe to retry with the same idempotency key.
    pub async fn submit_enrollment(
        &self,
        enrollment_id: String,
        upload_ids: Vec<String>,
        idempotency_key: String,
    ) -> Result<EnrollmentInfo, PalmKitError> {
        let enrollment = palmkit_core::enrollment::EnrollmentClient::new(&self.account)
            .submit(&enrollment_id, &upload_ids, &idempotency_key)
            .await?;
        Ok(enrollment.into())
    }

    /// Signs out: revokes at the service and deletes the tokens from secure storage.
    pub async fn logout(&self) -> Result<(), PalmKitError> {
        Ok(self.account.logout().await?)
    }

    /// Checks over pinned TLS that the service is reachable and healthy.
    pub async fn health(&self) -> Result<HealthReport, PalmKitError> {
        let h = self.service.health().await?;
        Ok(HealthReport {
            status: h.status,
            version: h.version,
            current_key_id: h.current_key_id,
        })
    }
}

/// Development shortcuts: QA builds and the desktop tests only, never the phone library.
#[cfg(feature = "dev")]
#[uniffi::export(async_runtime = "tokio")]
impl PalmKit {
    /// Seals a palm image (JPEG or PNG) to the service key for this shopper, enrollment and
    /// hand, and uploads it resumably through interruptions. The bytes are wiped in the
    /// core when this returns (the caller's own copy is the caller's to drop).
    pub async fn upload_capture(
        &self,
        enrollment_id: String,
        hand: Hand,
        image: Vec<u8>,
        origin: CaptureOrigin,
        progress: Arc<dyn UploadProgressListener>,
        cancel: Arc<UploadCancel>,
    ) -> Result<UploadReceipt, PalmKitError> {
        let source = match origin {
            CaptureOrigin::Camera => palmkit_core::protocol::CaptureSource::Camera,
            CaptureOrigin::File => palmkit_core::protocol::CaptureSource::File,
        };
        let capture = palmkit_core::upload::Capture::new(Zeroizing::new(image), source)
            .map_err(palmkit_core::Error::from)?;
        self.send(&enrollment_id, hand, capture, progress, &cancel)
            .await
    }
}

impl PalmKit {
    /// Seals and uploads `capture`, attested when an attestor is set.
    async fn send(
        &self,
        enrollment_id: &str,
        hand: Hand,
        capture: palmkit_core::upload::Capture,
        progress: Arc<dyn UploadProgressListener>,
        cancel: &UploadCancel,
    ) -> Result<UploadReceipt, PalmKitError> {
        let attestor = self.attestor();
        let report = self
            .enrollments(attestor.as_deref())
            .upload_capture(
                enrollment_id,
                hand.into(),
                capture,
                &palmkit_core::upload::TusOptions::default(),
                &ShellProgress(progress),
                &cancel.0,
            )
            .await?;
        Ok(report.into())
    }

    fn attestor(&self) -> Option<Arc<dyn palmkit_core::attestation::Attestor>> {
        self.attestor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The enrollment calls, attested when an attestor is set.
    fn enrollments<'a>(
        &'a self,
        attestor: Option<&'a dyn palmkit_core::attestation::Attestor>,
    ) -> palmkit_core::enrollment::EnrollmentClient<'a> {
        let client = palmkit_core::enrollment::EnrollmentClient::new(&self.account);
        match attestor {
            Some(a) => client.with_attestor(a),
            None => client,
        }
    }
}
