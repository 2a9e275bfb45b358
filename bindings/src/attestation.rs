//! Platform attestation across the FFI: the [`Attestor`] the shells implement (App Attest
//! on iOS, Play Integrity on Android) and hand to `PalmKit.setAttestor`; every upload then
//! carries its statement over a fresh service nonce bound to the sealed envelope's hash.
//! `dev_attestation_token` (feature `dev`, never in the phone library) is the development
//! format the reference server verifies, for desktop QA and the shells' test fakes.

use std::sync::Arc;

use palmkit_core::attestation as core;

/// A platform attestation statement.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AttestationToken {
    /// `apple-app-attest`, `google-play-integrity`, or `palmkit-dev-v1`.
    pub format: String,
    /// The token or assertion as the platform gave it.
    pub token: Vec<u8>,
}

/// Why the platform could not attest.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum AttestationError {
    /// The device or app cannot attest (no Secure Enclave, no Play services, ...).
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

/// The platform's attestation service, implemented by the shell.
#[uniffi::export(with_foreign)]
pub trait Attestor: Send + Sync {
    /// Signs the 32-byte `challenge` (App Attest: `generateAssertion` over it as client
    /// data hash; Play Integrity: a standard request with it as `requestHash`).
    fn attest(&self, challenge: Vec<u8>) -> Result<AttestationToken, AttestationError>;
}

/// The shell's attestor as the core's.
pub(crate) struct ShellAttestor(pub(crate) Arc<dyn Attestor>);

impl core::Attestor for ShellAttestor {
    fn attest(&self, challenge: &[u8; 32]) -> Result<core::Attestation, core::AttestationError> {
        match self.0.attest(challenge.to_vec()) {
            Ok(t) => Ok(core::Attestation {
                format: t.format,
                token: t.token,
            }),
            Err(AttestationError::Unavailable { reason }) => {
                Err(core::AttestationError::Unavailable(reason))
            }
            Err(AttestationError::Failed { reason }) => Err(core::AttestationError::Failed(reason)),
        }
    }
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
