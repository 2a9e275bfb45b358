//! palmkit-ffi: the UniFFI facade the Swift and Kotlin shells call.
//!
//! Thin on purpose: it converts between FFI records and core types and maps the core's
//! rich [`palmkit_core::Error`] to the small [`PalmKitError`], whose variants say what the
//! app should do. No logic lives here; every behaviour is tested in `palmkit-core`.
//!
//! Async exports run on UniFFI's tokio support; the core starts no runtime of its own.

use std::sync::Arc;

use palmkit_core::account::store::{CredentialStore, StoreError};
use palmkit_core::error::ErrorKind;
use zeroize::Zeroizing;

mod analysis;
mod attestation;
mod session;

pub use analysis::{FrameAnalyzer, FrameInfo, FrameMeasures, FrameResult, PixelFormat};
#[cfg(feature = "dev")]
pub use attestation::dev_attestation_token;
pub use attestation::{AttestationError, AttestationToken, Attestor};
pub use session::{
    EnrollmentSession, FailureReason, HandStatus, SessionListener, SessionSnapshot, SessionState,
};

uniffi::setup_scaffolding!();

/// Where the enrollment service is and how it is pinned (see `palmkit_core::config`).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ServiceConfig {
    /// `https://` base URL of the service.
    pub base_url: String,
    /// PEM of the only CA certificates to trust, or none for the public web roots.
    pub ca_pem: Option<String>,
    /// Base64 SHA-256 SPKI pins; one presented certificate must match when not empty.
    pub spki_sha256: Vec<String>,
    /// OAuth client id of the app.
    pub client_id: String,
    /// OAuth redirect URI of the app.
    pub redirect_uri: String,
    /// Id of the service's HPKE key.
    pub service_key_id: String,
    /// The service's X25519 public key, base64url without padding.
    pub service_public_key: String,
}

impl From<ServiceConfig> for palmkit_core::ServiceConfig {
    fn from(c: ServiceConfig) -> Self {
        Self {
            base_url: c.base_url,
            trust: palmkit_core::TrustAnchors {
                ca_pem: c.ca_pem,
                spki_sha256: c.spki_sha256,
            },
            client_id: c.client_id,
            redirect_uri: c.redirect_uri,
            service_key: palmkit_core::ServiceKey {
                id: c.service_key_id,
                public_key: c.service_public_key,
            },
        }
    }
}

impl From<palmkit_core::ServiceConfig> for ServiceConfig {
    fn from(c: palmkit_core::ServiceConfig) -> Self {
        Self {
            base_url: c.base_url,
            ca_pem: c.trust.ca_pem,
            spki_sha256: c.trust.spki_sha256,
            client_id: c.client_id,
            redirect_uri: c.redirect_uri,
            service_key_id: c.service_key.id,
            service_public_key: c.service_key.public_key,
        }
    }
}

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

/// Parses the JSON configuration document (`client-config.json` of `palmkit serve`, or
/// the one shipped in the app bundle) and checks every field.
#[uniffi::export]
pub fn parse_service_config(json: String) -> Result<ServiceConfig, PalmKitError> {
    let config =
        palmkit_core::ServiceConfig::from_json(&json).map_err(palmkit_core::Error::from)?;
    config.validate().map_err(palmkit_core::Error::from)?;
    Ok(config.into())
}

/// The service's answer to a health check.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HealthReport {
    /// `"ok"`.
    pub status: String,
    /// The service's version.
    pub version: String,
    /// Id of the key new uploads are sealed to.
    pub current_key_id: String,
}

/// The error a [`SecureStore`] implementation reports.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SecureStoreError {
    /// The platform store refused or failed; `reason` must not contain the secret.
    #[error("{reason}")]
    Failed {
        /// The platform's explanation.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SecureStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}

/// The platform's secure storage, implemented by the shell: the keychain on iOS
/// (data-protection keychain, this device only), a Keystore-encrypted store on Android.
/// One secret per key. Implementations must be thread-safe.
#[uniffi::export(with_foreign)]
pub trait SecureStore: Send + Sync {
    /// The secret under `key`, or `None`.
    fn load(&self, key: String) -> Result<Option<String>, SecureStoreError>;
    /// Stores `secret` under `key`, replacing what was there.
    fn save(&self, key: String, secret: String) -> Result<(), SecureStoreError>;
    /// Deletes `key`; a missing key is not an error.
    fn delete(&self, key: String) -> Result<(), SecureStoreError>;
}

/// Adapts the shell's [`SecureStore`] to the core's credential store.
pub(crate) struct ShellStore(pub(crate) Arc<dyn SecureStore>);

impl CredentialStore for ShellStore {
    fn load(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        self.0
            .load(key.to_string())
            .map(|v| v.map(Zeroizing::new))
            .map_err(|e| StoreError(e.to_string()))
    }

    fn save(&self, key: &str, secret: &str) -> Result<(), StoreError> {
        self.0
            .save(key.to_string(), secret.to_string())
            .map_err(|e| StoreError(e.to_string()))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0
            .delete(key.to_string())
            .map_err(|e| StoreError(e.to_string()))
    }
}

/// The signed-in shopper.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Account {
    /// The service's account id.
    pub account_id: String,
    /// Login email.
    pub email: String,
    /// Name to greet the shopper with.
    pub display_name: String,
}

/// A saved payment method (never the number).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PaymentMethodInfo {
    /// The provider's token.
    pub id: String,
    /// Card brand.
    pub brand: String,
    /// Last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: u32,
    /// Expiry year.
    pub exp_year: u32,
}

impl From<palmkit_core::protocol::PaymentMethod> for PaymentMethodInfo {
    fn from(m: palmkit_core::protocol::PaymentMethod) -> Self {
        Self {
            id: m.id,
            brand: m.brand,
            last4: m.last4,
            exp_month: m.exp_month,
            exp_year: m.exp_year,
        }
    }
}

/// The account's payment methods.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct WalletInfo {
    /// Saved methods.
    pub methods: Vec<PaymentMethodInfo>,
    /// The one the palm profile pays with.
    pub linked_id: Option<String>,
}

/// Card details as the shopper typed them. They go to the payment provider only.
#[derive(uniffi::Record)]
pub struct CardDetails {
    /// Card number (spaces allowed).
    pub number: String,
    /// Expiry month, 1-12.
    pub exp_month: u32,
    /// Expiry year (2 or 4 digits).
    pub exp_year: u32,
    /// Security code.
    pub cvc: String,
    /// Name on the card.
    pub cardholder_name: String,
}

impl From<CardDetails> for palmkit_core::payment::card::CardInput {
    fn from(card: CardDetails) -> Self {
        Self {
            number: Zeroizing::new(card.number),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            cvc: Zeroizing::new(card.cvc),
            cardholder_name: card.cardholder_name,
        }
    }
}

/// What adding a card led to.
#[derive(Debug, uniffi::Enum)]
pub enum AddCardResult {
    /// Saved.
    Added {
        /// The new method.
        method: PaymentMethodInfo,
    },
    /// Open `url` in the browser for the shopper to confirm, then call `resume_add_card`.
    RequiresAction {
        /// The provider's page.
        url: String,
    },
}

impl From<palmkit_core::payment::AddCardOutcome> for AddCardResult {
    fn from(outcome: palmkit_core::payment::AddCardOutcome) -> Self {
        match outcome {
            palmkit_core::payment::AddCardOutcome::Added(method) => Self::Added {
                method: method.into(),
            },
            palmkit_core::payment::AddCardOutcome::RequiresAction { url, .. } => {
                Self::RequiresAction { url }
            }
        }
    }
}

/// The palm profile's payment link.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PaymentLinkInfo {
    /// The linked method.
    pub payment_method_id: String,
    /// When, RFC 3339.
    pub linked_at: String,
}

/// Which hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Hand {
    /// The shopper's left hand.
    Left,
    /// The shopper's right hand.
    Right,
}

impl From<Hand> for palmkit_core::protocol::Hand {
    fn from(h: Hand) -> Self {
        match h {
            Hand::Left => Self::Left,
            Hand::Right => Self::Right,
        }
    }
}

impl From<palmkit_core::protocol::Hand> for Hand {
    fn from(h: palmkit_core::protocol::Hand) -> Self {
        match h {
            palmkit_core::protocol::Hand::Left => Self::Left,
            palmkit_core::protocol::Hand::Right => Self::Right,
        }
    }
}

/// Where an enrollment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum EnrollmentStatus {
    /// Made; captures not yet submitted.
    Draft,
    /// Submitted; completes at the first in-store palm match.
    PendingStoreMatch,
    /// Matched in store: pay by palm works.
    Complete,
    /// Not matched in store in time; its biometric data is gone: enroll again.
    Expired,
}

/// A biometric consent as the service recorded it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ConsentInfo {
    /// The version of the consent text the shopper agreed to.
    pub text_version: String,
    /// When it was first given, RFC 3339 UTC.
    pub given_at: String,
}

/// An enrollment as the service knows it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentInfo {
    /// Its id.
    pub id: String,
    /// Where it is.
    pub status: EnrollmentStatus,
    /// The hands enrolled.
    pub hands: Vec<Hand>,
}

impl From<palmkit_core::protocol::Enrollment> for EnrollmentInfo {
    fn from(e: palmkit_core::protocol::Enrollment) -> Self {
        use palmkit_core::protocol::EnrollmentState as S;
        Self {
            id: e.id,
            status: match e.state {
                S::Draft => EnrollmentStatus::Draft,
                S::PendingStoreMatch => EnrollmentStatus::PendingStoreMatch,
                S::Complete => EnrollmentStatus::Complete,
                S::Expired => EnrollmentStatus::Expired,
            },
            hands: e.hands.into_iter().map(Into::into).collect(),
        }
    }
}

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

/// A new idempotency key for `link_payment_method`: keep it until the link succeeds, and
/// reuse it for retries, even across app restarts.
#[uniffi::export]
pub fn new_idempotency_key() -> Result<String, PalmKitError> {
    Ok(palmkit_core::payment::PaymentClient::new_idempotency_key()?)
}

/// The app's handle on the core, made once at start-up from the service configuration
/// and the platform's secure storage.
#[derive(uniffi::Object)]
pub struct PalmKit {
    service: palmkit_core::ServiceClient,
    account: palmkit_core::account::AccountClient,
    pending_card: std::sync::Mutex<Option<palmkit_core::payment::PendingCard>>,
    attestor: std::sync::Mutex<Option<Arc<attestation::ShellAttestor>>>,
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
        let service = palmkit_core::ServiceClient::new(&config)?;
        let account =
            palmkit_core::account::AccountClient::new(&config, Arc::new(ShellStore(store)))?;
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
        *self.attestor.lock().unwrap_or_else(|p| p.into_inner()) =
            attestor.map(|a| Arc::new(attestation::ShellAttestor(a)));
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
        let attestor = self.attestor();
        let report = self
            .enrollments(attestor.as_deref())
            .upload_capture(
                &enrollment_id,
                hand.into(),
                capture,
                &palmkit_core::upload::TusOptions::default(),
                &ShellProgress(progress),
                &cancel.0,
            )
            .await?;
        Ok(report.into())
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
        let attestor = self.attestor();
        let report = self
            .enrollments(attestor.as_deref())
            .upload_capture(
                &enrollment_id,
                hand.into(),
                palmkit_core::upload::Capture::new(Zeroizing::new(image), source)
                    .map_err(palmkit_core::Error::from)?,
                &palmkit_core::upload::TusOptions::default(),
                &ShellProgress(progress),
                &cancel.0,
            )
            .await?;
        Ok(report.into())
    }
}

/// The core's version.
#[uniffi::export]
pub fn core_version() -> String {
    palmkit_core::VERSION.to_string()
}

impl PalmKit {
    fn attestor(&self) -> Option<Arc<attestation::ShellAttestor>> {
        self.attestor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The enrollment calls, attested when an attestor is set.
    fn enrollments<'a>(
        &'a self,
        attestor: Option<&'a attestation::ShellAttestor>,
    ) -> palmkit_core::enrollment::EnrollmentClient<'a> {
        let client = palmkit_core::enrollment::EnrollmentClient::new(&self.account);
        match attestor {
            Some(a) => client.with_attestor(a),
            None => client,
        }
    }
}
