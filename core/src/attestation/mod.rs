//! Platform attestation of an upload (spoof layer 1, the part that needs the platform): the
//! platform's attestation (App Attest on iOS, Key Attestation on Android: [`platform`]'s
//! flows over the shells' two-call devices) signs a challenge that binds a fresh server
//! nonce to the SHA-256 of exactly the bytes uploaded. The service then knows the envelope
//! came from a genuine app on a genuine device, in answer to its own nonce, and was not
//! swapped.
//!
//! The challenge (32 bytes):
//! `SHA-256("palmkit/attestation/v1" || u16 len || nonce || SHA-256(upload bytes))`.
//!
//! The reference server verifies the platform formats offline against Apple's and
//! Google's roots (`palmkit_server::attestation::verify`), and in development mode also
//! [`dev`], an HMAC-SHA256 over the challenge with a development key the server writes
//! into its data directory — the same interface and binding, for desktop QA and tests.

pub mod platform;

use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

/// Domain label of the challenge.
pub const CHALLENGE_LABEL: &[u8] = b"palmkit/attestation/v1";

/// A platform's statement over a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Attestation {
    /// The format: [`platform::APPLE_FORMAT`], [`platform::ANDROID_FORMAT`], or
    /// [`dev::FORMAT`].
    pub format: String,
    /// The token or assertion as the platform gave it.
    pub token: Vec<u8>,
}

/// Why the platform could not attest (what the shells' attestation calls throw).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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

/// The platform attestation service, implemented by the shells.
pub trait Attestor: Send + Sync {
    /// Signs the 32-byte `challenge`.
    fn attest(&self, challenge: &[u8; 32]) -> Result<Attestation, AttestationError>;

    /// The service does not know the key the last statement was made with (App Attest:
    /// its registry was reset, or the key belongs to another account): drop it, so the
    /// next [`attest`](Self::attest) makes and attests a new key. Formats without a
    /// long-lived key (Android makes one per upload, the development HMAC) do nothing.
    fn forget_key(&self) {}
}

/// The challenge binding `nonce` to the upload whose bytes hash to `upload_sha256`.
pub fn challenge(nonce: &[u8], upload_sha256: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHALLENGE_LABEL);
    // Nonces are at most 255 bytes (the server makes 32).
    h.update((nonce.len().min(u16::MAX as usize) as u16).to_be_bytes());
    h.update(nonce);
    h.update(upload_sha256);
    h.finalize().into()
}

/// The development attestation format of the reference server.
pub mod dev {
    use super::*;

    /// Its format name.
    pub const FORMAT: &str = "palmkit-dev-v1";

    /// The token over `challenge` with the development `key`: HMAC-SHA256.
    pub fn sign(key: &[u8], challenge: &[u8; 32]) -> Vec<u8> {
        // HMAC takes keys of any length: this never returns the empty (unverifiable) token.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
            return Vec::new();
        };
        mac.update(challenge);
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `token` is the development token over `challenge` (constant time).
    pub fn verify(key: &[u8], challenge: &[u8; 32], token: &[u8]) -> bool {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
            return false;
        };
        mac.update(challenge);
        mac.verify_slice(token).is_ok()
    }

    /// An [`Attestor`] signing with a development key: desktop QA and tests (the shells'
    /// fakes do the same through the FFI's `devAttestationToken`).
    pub struct DevAttestor {
        key: zeroize::Zeroizing<Vec<u8>>,
    }

    impl DevAttestor {
        /// With the server's development key.
        pub fn new(key: Vec<u8>) -> Self {
            Self {
                key: zeroize::Zeroizing::new(key),
            }
        }
    }

    impl Attestor for DevAttestor {
        fn attest(&self, challenge: &[u8; 32]) -> Result<Attestation, AttestationError> {
            Ok(Attestation {
                format: FORMAT.into(),
                token: sign(&self.key, challenge),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_binds_nonce_and_upload() {
        let a = challenge(b"nonce-1", &[1; 32]);
        assert_ne!(a, challenge(b"nonce-2", &[1; 32]));
        assert_ne!(a, challenge(b"nonce-1", &[2; 32]));
        // Length-prefixed: moving a byte between nonce and hash changes it.
        assert_ne!(challenge(b"ab", &[0; 32]), challenge(b"a", &[0; 32]));
        assert_eq!(a, challenge(b"nonce-1", &[1; 32]));
    }

    #[test]
    fn a_dev_token_verifies_only_for_its_key_and_challenge() {
        let c = challenge(b"n", &[7; 32]);
        let token = dev::sign(b"key", &c);
        assert_eq!(token.len(), 32);
        assert!(dev::verify(b"key", &c, &token));
        assert!(!dev::verify(b"other key", &c, &token));
        assert!(!dev::verify(b"key", &challenge(b"m", &[7; 32]), &token));
        assert!(!dev::verify(b"key", &c, &token[..31]));
        let attestor = dev::DevAttestor::new(b"key".to_vec());
        assert_eq!(attestor.attest(&c).unwrap().token, token);
    }
}
