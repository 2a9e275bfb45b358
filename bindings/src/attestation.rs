//! Platform attestation across the FFI. The apps implement the platform's two calls and
//! nothing else: [`AppAttestDevice`] (iOS, DeviceCheck) and [`KeyAttestationDevice`]
//! (Android, AndroidKeyStore), handed to `EnrollmentSession.setAppAttest` /
//! `setKeyAttestation`; the tokens, the App Attest key id and the re-attest after
//! `attestation_key_unknown` are the core's (`palmkit_core::attestation::platform`,
//! tested on Linux against the service's verifier). Every upload then carries its
//! statement over a fresh service nonce bound to the sealed envelope's hash. The
//! lower-level [`Attestor`] takes a whole statement (development-format fakes, QA).
//! `dev_attestation_token` (feature `dev`, never in the phone library) is the development
//! format the reference server verifies, for desktop QA and the shells' test fakes.

use std::sync::Arc;

use palmkit_core::attestation as core;
use palmkit_core::attestation::Attestation;
use palmkit_core::attestation::platform::AttestedKey;

/// Why the platform could not attest: what the shells' attestation calls throw. The FFI's
/// own error (the core's `AttestationError` has the same variants): UniFFI 0.32's Kotlin
/// cannot lower an error of another namespace's package from a callback (the two packages'
/// `RustBuffer`s differ), so the callbacks throw this one and it is mapped.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum AttestationError {
    /// The device or app cannot attest (no Secure Enclave, no attestation keystore, ...).
    #[error("attestation unavailable: {reason}")]
    Unavailable {
        /// The platform's explanation.
        reason: String,
    },
    /// The platform service refused or failed.
    #[error("attestation failed: {reason}")]
    Failed {
        /// The platform's explanation.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for AttestationError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}

impl From<AttestationError> for core::AttestationError {
    fn from(e: AttestationError) -> Self {
        match e {
            AttestationError::Unavailable { reason } => Self::Unavailable { reason },
            AttestationError::Failed { reason } => Self::Failed { reason },
        }
    }
}

/// The platform's attestation service, implemented by the shell.
#[uniffi::export(with_foreign)]
pub trait Attestor: Send + Sync {
    /// Signs the 32-byte `challenge` with a whole statement of its format.
    fn attest(&self, challenge: Vec<u8>) -> Result<Attestation, AttestationError>;
}

/// The shell's attestor as the core's.
pub(crate) struct ShellAttestor(pub(crate) Arc<dyn Attestor>);

impl core::Attestor for ShellAttestor {
    fn attest(&self, challenge: &[u8; 32]) -> Result<Attestation, core::AttestationError> {
        Ok(self.0.attest(challenge.to_vec())?)
    }
}

/// App Attest as the iOS shell implements it: `DCAppAttestService`'s calls, nothing more.
#[uniffi::export(with_foreign)]
pub trait AppAttestDevice: Send + Sync {
    /// `generateKey`, then `attestKey(keyId, clientDataHash:)` over the 32-byte
    /// `client_data_hash`.
    fn attest_new_key(&self, client_data_hash: Vec<u8>) -> Result<AttestedKey, AttestationError>;
    /// `generateAssertion(keyId, clientDataHash:)`.
    fn generate_assertion(
        &self,
        key_id: String,
        client_data_hash: Vec<u8>,
    ) -> Result<Vec<u8>, AttestationError>;
}

/// Key Attestation as the Android shell implements it: one AndroidKeyStore call.
#[uniffi::export(with_foreign)]
pub trait KeyAttestationDevice: Send + Sync {
    /// Makes a fresh key with the 32-byte `challenge` as attestation challenge and
    /// returns its certificate chain (DER, leaf first); the key may then be deleted.
    fn attested_chain(&self, challenge: Vec<u8>) -> Result<Vec<Vec<u8>>, AttestationError>;
}

/// The shell's App Attest calls as the core's device.
pub(crate) struct ShellAppAttest(pub(crate) Arc<dyn AppAttestDevice>);

impl core::platform::AppAttestDevice for ShellAppAttest {
    fn attest_new_key(
        &self,
        client_data_hash: &[u8; 32],
    ) -> Result<AttestedKey, core::AttestationError> {
        Ok(self.0.attest_new_key(client_data_hash.to_vec())?)
    }

    fn generate_assertion(
        &self,
        key_id: &str,
        client_data_hash: &[u8; 32],
    ) -> Result<Vec<u8>, core::AttestationError> {
        Ok(self
            .0
            .generate_assertion(key_id.to_string(), client_data_hash.to_vec())?)
    }
}

/// The shell's keystore call as the core's device.
pub(crate) struct ShellKeyAttestation(pub(crate) Arc<dyn KeyAttestationDevice>);

impl core::platform::KeyAttestationDevice for ShellKeyAttestation {
    fn attested_chain(&self, challenge: &[u8; 32]) -> Result<Vec<Vec<u8>>, core::AttestationError> {
        Ok(self.0.attested_chain(challenge.to_vec())?)
    }
}

/// The core's App Attest flow over the shell's device, its key id in the shell's store.
pub(crate) fn app_attest_flow(
    device: Arc<dyn AppAttestDevice>,
    store: Arc<dyn crate::store::SecureStore>,
) -> Arc<dyn core::Attestor> {
    Arc::new(core::platform::AppAttestFlow::new(
        Arc::new(ShellAppAttest(device)),
        Arc::new(crate::store::ShellStore(store)),
    ))
}

/// The core's Key Attestation flow over the shell's device.
pub(crate) fn key_attestation_flow(
    device: Arc<dyn KeyAttestationDevice>,
) -> Arc<dyn core::Attestor> {
    Arc::new(core::platform::KeyAttestationFlow(Arc::new(
        ShellKeyAttestation(device),
    )))
}

/// The development attestation token (`palmkit-dev-v1`) over `challenge` with the reference
/// server's development `key` (its data directory's `dev-attestation.key`, base64url-decoded).
/// For desktop QA and test fakes only: production apps attest with the platform.
#[cfg(feature = "dev")]
#[uniffi::export]
pub fn dev_attestation_token(
    key: Vec<u8>,
    challenge: Vec<u8>,
) -> Result<Vec<u8>, crate::PalmKitError> {
    let challenge: [u8; 32] =
        challenge
            .try_into()
            .map_err(|c: Vec<u8>| crate::PalmKitError::InvalidConfig {
                reason: format!("an attestation challenge is 32 bytes, not {}", c.len()),
            })?;
    Ok(core::dev::sign(&key, &challenge))
}
