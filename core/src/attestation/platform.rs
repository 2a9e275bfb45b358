//! The platforms' attestation flows, shared by both apps and tested on Linux: the token
//! formats the service verifies and the state around them, over a two-call platform
//! interface the shells implement with the platform API and nothing else.
//!
//! - [`AppAttestFlow`] (iOS): on first use the device makes and attests a key
//!   ([`AppAttestDevice::attest_new_key`], `DCAppAttestService.generateKey` +
//!   `attestKey`); its id is kept in the platform's secure store; every upload then gets
//!   an assertion ([`AppAttestDevice::generate_assertion`]). When the service answers
//!   `attestation_key_unknown` the upload path calls [`Attestor::forget_key`]: the id is
//!   dropped and the next upload attests a new key.
//! - [`KeyAttestationFlow`] (Android): a fresh AndroidKeyStore key per upload with the
//!   challenge as attestation challenge; its certificate chain is the statement
//!   ([`KeyAttestationDevice::attested_chain`]).
//!
//! Token formats (the service's `attestation::verify::token` reads them):
//! - [`APPLE_FORMAT`]: JSON `{"key_id", "attestation"` (first upload with the key only)`,
//!   "assertion"}`, the two objects base64url without padding.
//! - [`ANDROID_FORMAT`]: JSON array of standard-base64 DER certificates, leaf first.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use super::{Attestation, AttestationError, Attestor};
use crate::account::store::CredentialStore;

/// The App Attest token format.
pub const APPLE_FORMAT: &str = "apple-app-attest-v1";
/// The Android Key Attestation token format.
pub const ANDROID_FORMAT: &str = "android-key-attestation-v1";
/// Where [`AppAttestFlow`] keeps its key id in the secure store.
pub const APP_ATTEST_KEY_ID: &str = "app-attest.key-id";

/// An App Attest token as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppleToken {
    /// The key id as `generateKey` returned it (standard base64 of SHA-256 of the key).
    pub key_id: String,
    /// The attestation object, base64url (first upload with this key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// The assertion, base64url.
    pub assertion: String,
}

/// The `apple-app-attest-v1` token bytes.
pub fn encode_apple(key_id: &str, attestation: Option<&[u8]>, assertion: &[u8]) -> Vec<u8> {
    let token = AppleToken {
        key_id: key_id.into(),
        attestation: attestation.map(|a| URL_SAFE_NO_PAD.encode(a)),
        assertion: URL_SAFE_NO_PAD.encode(assertion),
    };
    // A struct of strings always serializes.
    serde_json::to_vec(&token).unwrap_or_default()
}

/// The `android-key-attestation-v1` token bytes.
pub fn encode_android(chain: &[Vec<u8>]) -> Vec<u8> {
    let list: Vec<String> = chain.iter().map(|c| STANDARD.encode(c)).collect();
    serde_json::to_vec(&list).unwrap_or_default()
}

/// A new App Attest key, attested.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AttestedKey {
    /// Its id.
    pub key_id: String,
    /// The attestation object (CBOR) over the client data hash it was asked for.
    pub attestation: Vec<u8>,
}

/// App Attest as the iOS shell implements it (DeviceCheck only).
pub trait AppAttestDevice: Send + Sync {
    /// Makes a new key and attests it over `client_data_hash`.
    fn attest_new_key(&self, client_data_hash: &[u8; 32]) -> Result<AttestedKey, AttestationError>;
    /// An assertion with `key_id` over `client_data_hash`.
    fn generate_assertion(
        &self,
        key_id: &str,
        client_data_hash: &[u8; 32],
    ) -> Result<Vec<u8>, AttestationError>;
}

/// The App Attest flow: key on first use, assertions after, a new key when the service
/// forgot the old one.
pub struct AppAttestFlow {
    device: Arc<dyn AppAttestDevice>,
    store: Arc<dyn CredentialStore>,
    /// One statement at a time: two uploads must not attest two keys.
    busy: Mutex<()>,
}

impl AppAttestFlow {
    /// Over the shell's `device`, keeping the key id in `store`.
    pub fn new(device: Arc<dyn AppAttestDevice>, store: Arc<dyn CredentialStore>) -> Self {
        Self {
            device,
            store,
            busy: Mutex::new(()),
        }
    }

    /// The key id in use, if any.
    pub fn key_id(&self) -> Result<Option<String>, AttestationError> {
        self.store
            .load(APP_ATTEST_KEY_ID)
            .map(|k| k.map(|k| k.to_string()))
            .map_err(|e| AttestationError::Failed {
                reason: e.to_string(),
            })
    }
}

impl Attestor for AppAttestFlow {
    fn attest(&self, challenge: &[u8; 32]) -> Result<Attestation, AttestationError> {
        let _one = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let (key_id, attestation) = match self.key_id()? {
            Some(key_id) => (key_id, None),
            None => {
                let key = self.device.attest_new_key(challenge)?;
                self.store
                    .save(APP_ATTEST_KEY_ID, &key.key_id)
                    .map_err(|e| AttestationError::Failed {
                        reason: e.to_string(),
                    })?;
                (key.key_id, Some(key.attestation))
            }
        };
        let assertion = self.device.generate_assertion(&key_id, challenge)?;
        Ok(Attestation {
            format: APPLE_FORMAT.into(),
            token: encode_apple(&key_id, attestation.as_deref(), &assertion),
        })
    }

    fn forget_key(&self) {
        let _one = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.store.delete(APP_ATTEST_KEY_ID) {
            tracing::warn!(error = %e, "cannot drop the App Attest key id");
        }
    }
}

/// Key Attestation as the Android shell implements it (AndroidKeyStore only).
pub trait KeyAttestationDevice: Send + Sync {
    /// Makes a fresh key with `challenge` as attestation challenge and returns its
    /// certificate chain (DER, leaf first); the key itself may be deleted.
    fn attested_chain(&self, challenge: &[u8; 32]) -> Result<Vec<Vec<u8>>, AttestationError>;
}

/// The Key Attestation flow: one fresh key's chain per upload.
pub struct KeyAttestationFlow(pub Arc<dyn KeyAttestationDevice>);

impl Attestor for KeyAttestationFlow {
    fn attest(&self, challenge: &[u8; 32]) -> Result<Attestation, AttestationError> {
        let chain = self.0.attested_chain(challenge)?;
        if chain.len() < 2 {
            return Err(AttestationError::Unavailable {
                reason: format!(
                    "the keystore returned {} certificate(s), not an attestation chain",
                    chain.len()
                ),
            });
        }
        Ok(Attestation {
            format: ANDROID_FORMAT.into(),
            token: encode_android(&chain),
        })
    }
}
