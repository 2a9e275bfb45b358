//! The platform's secure storage as the shells implement it ([`SecureStore`]: keychain,
//! Keystore), adapted to the core's credential store for tokens and saved progress.

use std::sync::Arc;

use palmkit_core::account::store::{CredentialStore, StoreError};
use zeroize::Zeroizing;

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
