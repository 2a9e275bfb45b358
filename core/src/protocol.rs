//! The JSON types of the enrollment service API, shared by the core (client side) and
//! `palmkit-server` (service side) so the two cannot drift apart.

use serde::{Deserialize, Serialize};

/// `GET /healthz`: the service is up and can reach its database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Health {
    /// `"ok"` when the service can serve requests.
    pub status: String,
    /// The service's version.
    pub version: String,
    /// Id of the HPKE key new uploads should be sealed to.
    pub current_key_id: String,
}

/// The body of every error answer of the service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code (`not_found`, `invalid_json`, `payload_too_large`, ...).
    pub error: String,
    /// A sentence for a developer or a log.
    pub message: String,
    /// One more word where the code has several causes (`attestation_invalid`: the
    /// verifier's reason, e.g. `wrong_challenge`, `insecure_device`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Which hand a capture is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Hand {
    /// The shopper's left hand.
    Left,
    /// The shopper's right hand.
    Right,
}

impl Hand {
    /// Its one string form, as the API, the upload metadata, the envelope's sealed context
    /// and the database spell it (the same as its JSON): `left` or `right`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
        }
    }
}

impl std::fmt::Display for Hand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hand spelled neither `left` nor `right`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is no hand: `left` or `right`")]
pub struct UnknownHand(pub String);

impl std::str::FromStr for Hand {
    type Err = UnknownHand;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "left" => Ok(Self::Left),
            "right" => Ok(Self::Right),
            other => Err(UnknownHand(other.to_string())),
        }
    }
}

/// `POST /v1/enrollments`: start a draft enrollment for these hands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollment {
    /// One or both hands, each at most once.
    pub hands: Vec<Hand>,
}

/// Where an enrollment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentState {
    /// Created; captures not yet submitted.
    Draft,
    /// Captures submitted; waiting for the first in-store match.
    PendingStoreMatch,
    /// Matched in store: the shopper can pay by palm.
    Complete,
    /// Not matched in store within the service's limit (30 days by default): its
    /// biometric data is gone, and the shopper may enroll again.
    Expired,
}

/// An enrollment record as the service returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// Opaque id chosen by the service.
    pub id: String,
    /// Current state.
    pub state: EnrollmentState,
    /// The hands being enrolled.
    pub hands: Vec<Hand>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// When a pending enrollment expires unless matched in store, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `POST /v1/consent`: the shopper agreed to the biometric consent text of this version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiveConsent {
    /// The version of the consent text shown (the app's, e.g. `biometric-2026-11`).
    pub text_version: String,
}

/// A biometric consent as the service recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ConsentRecord {
    /// The version of the text agreed to.
    pub text_version: String,
    /// When it was first given, RFC 3339 UTC.
    pub given_at: String,
}

/// `GET /v1/me`: the signed-in shopper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AccountInfo {
    /// The service's account id.
    pub account_id: String,
    /// Login email.
    pub email: String,
    /// Name to greet the shopper with.
    pub display_name: String,
}

/// A saved payment method: what may be shown and stored, never the number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PaymentMethod {
    /// The provider's token (`pm_…`).
    pub id: String,
    /// Card brand (`visa`, `mastercard`, `amex`, `discover`).
    pub brand: String,
    /// Last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: u32,
    /// Expiry year.
    pub exp_year: u32,
}

/// `GET /v1/payment-methods`: the account's wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Wallet {
    /// Saved methods.
    pub payment_methods: Vec<PaymentMethod>,
    /// The method the palm profile pays with, if linked.
    pub linked_payment_method_id: Option<String>,
}

/// `POST /v1/payment-methods/setup-intents`: what the app needs to save a card directly at
/// the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupIntentGrant {
    /// The provider's SetupIntent id.
    pub setup_intent_id: String,
    /// Its client secret (lets the app confirm it; not a card secret).
    pub client_secret: String,
    /// The provider's publishable key.
    pub publishable_key: String,
    /// The provider's API base URL.
    pub provider_url: String,
}

/// `POST /v1/payment-methods`: add the card saved by a succeeded SetupIntent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachPaymentMethod {
    /// The SetupIntent the app confirmed.
    pub setup_intent_id: String,
}

/// `PUT /v1/palm-profile/payment-method`: pay with this method when the palm is matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPaymentMethod {
    /// A method in the account's wallet.
    pub payment_method_id: String,
}

/// The palm profile's payment link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PaymentLink {
    /// The linked method.
    pub payment_method_id: String,
    /// When it was linked, RFC 3339 UTC.
    pub linked_at: String,
}

/// Where a capture came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    /// The live camera path of the app.
    Camera,
    /// A file given to a desktop QA tool (never accepted by the phone apps).
    File,
}

/// What the service may know about a capture without opening it: carried in the clear in
/// the envelope header and bound to the ciphertext through its hash in the AAD. Unknown
/// fields are ignored so later versions can add measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureMetadata {
    /// `image/jpeg` or `image/png`.
    pub media_type: String,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// When it was captured, Unix milliseconds.
    pub captured_at_ms: u64,
    /// Camera or file.
    pub source: CaptureSource,
    /// The spoof layers' verdict when the capture was taken (live path), for the service
    /// to weigh too: a [`SpoofMetadata`] HPKE-sealed to the service key
    /// (`upload::sealed_verdict`), base64. Absent for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_spoof: Option<String>,
}

/// The spoof verdict as sealed with a capture: the decision and every layer's report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpoofMetadata {
    /// `pass`, `fail` or `challenge`.
    pub verdict: String,
    /// Every layer, in order.
    pub layers: Vec<SpoofLayerMetadata>,
}

/// One layer's report as sent with a capture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpoofLayerMetadata {
    /// `capture_integrity`, `screen_replay`, `print`, `motion_3d`, `challenge`.
    pub layer: String,
    /// `pass`, `fail`, `unsure` or `not_applicable`.
    pub outcome: String,
    /// The layer's score.
    pub score: f32,
    /// Its threshold.
    pub threshold: f32,
    /// Why (English, no image data).
    pub reason: String,
}

/// tus `Upload-Metadata` keys of a capture upload (values base64 as tus requires).
pub mod upload_metadata {
    /// The enrollment the capture belongs to.
    pub const ENROLLMENT_ID: &str = "enrollment_id";
    /// `left` or `right`.
    pub const HAND: &str = "hand";
    /// The attestation format (`palmkit_core::attestation`), when the app attests.
    pub const ATTESTATION_FORMAT: &str = "attestation_format";
    /// The nonce (from `POST /v1/attestation/nonce`) the attestation answers.
    pub const ATTESTATION_NONCE: &str = "attestation_nonce";
    /// The attestation token, base64url without padding.
    pub const ATTESTATION: &str = "attestation";
    /// SHA-256 (hex) of the sealed envelope the attestation binds: the service verifies a
    /// platform statement when the upload is created, before any byte arrives.
    pub const UPLOAD_SHA256: &str = "upload_sha256";
}

/// `POST /v1/attestation/nonce` answer: a fresh nonce for one attested upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationNonce {
    /// The nonce (hex); the challenge takes its ASCII bytes.
    pub nonce: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

/// How the service saw a finished upload, in the `Palmkit-Upload-State` header of `HEAD`
/// and `PATCH` answers.
pub const UPLOAD_STATE_HEADER: &str = "palmkit-upload-state";
/// Why an upload was rejected (an error code), in the `Palmkit-Upload-Error` header.
pub const UPLOAD_ERROR_HEADER: &str = "palmkit-upload-error";

/// `POST /v1/enrollments/{id}/submit` (with an `Idempotency-Key`): the captures are in;
/// the enrollment waits for its first in-store match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitEnrollment {
    /// Ids of accepted uploads, one per enrolled hand.
    pub uploads: Vec<String>,
}

/// `POST /v1/store/scans` (a store device, with its own credential): what the service
/// made of a palm held over the scanner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreScan {
    /// The scan's record id (`scan-…`).
    pub scan_id: String,
    /// What happened.
    pub outcome: ScanOutcome,
    /// Why, for the outcomes that are not a match (`no_palm`, `palm_too_small`,
    /// `below_threshold`, `two_candidates`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The matched shopper, pseudonymous (`shp-…`): one per shopper and store (another
    /// store sees another), new after the shopper deletes an enrollment; no name, no
    /// account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopper_ref: Option<String>,
    /// How close the best candidate was, as a coarse band of the distance (`0.20-0.25`):
    /// for a match, an ambiguous scan, and a no-match only when it was a near miss
    /// (within the threshold plus the ambiguity margin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_band: Option<String>,
}

/// The outcome of a store scan; every one but `Matched` means "fall back at the till".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanOutcome {
    /// One pending enrollment matched above the operating threshold; it is now complete.
    Matched,
    /// No pending enrollment is close enough.
    NoMatch,
    /// Two enrollments are both near the threshold: refused rather than guessed.
    Ambiguous,
    /// The picture has no readable palm (none found, the back of the hand, too small, cut
    /// off).
    PoorCapture,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_has_one_string_form_in_text_and_json() {
        for hand in [Hand::Left, Hand::Right] {
            assert_eq!(hand.as_str().parse::<Hand>(), Ok(hand));
            assert_eq!(hand.to_string(), hand.as_str());
            let json = serde_json::to_string(&hand).unwrap();
            assert_eq!(json, format!("\"{}\"", hand.as_str()));
        }
        assert_eq!("Left".parse::<Hand>(), Err(UnknownHand("Left".into())));
        assert!("".parse::<Hand>().is_err());
    }
}
