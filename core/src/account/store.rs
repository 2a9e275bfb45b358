//! Where the shopper's tokens live: only in a platform credential store, through the
//! keyring ecosystem — the keychain on iOS, a Keystore-backed store on Android, keyutils
//! or the Secret Service on a Linux desktop, keyring-core's mock store in unit tests.
//! Never in a file, a log or an error message.
//!
//! The core sees a [`CredentialStore`]: one secret per key. [`KeyringStore`] implements it
//! over any keyring-core store; the FFI adapts the shells' own secure storage to it.

use std::sync::Arc;

use keyring_core::{CredentialStore as KeyringBackend, Entry};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A failure of the credential store. Carries the store's explanation, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("credential store: {0}")]
pub struct StoreError(pub String);

/// Secure storage of one secret per key.
pub trait CredentialStore: Send + Sync {
    /// The secret under `key`, if any.
    fn load(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError>;
    /// Stores `secret` under `key`, replacing what was there.
    fn save(&self, key: &str, secret: &str) -> Result<(), StoreError>;
    /// Deletes `key`; deleting a missing key is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// A [`CredentialStore`] over a keyring-core store; the key is the entry's user name
/// under the service `palmkit`.
pub struct KeyringStore {
    backend: Arc<KeyringBackend>,
}

impl KeyringStore {
    /// Service name of every PalmKit entry.
    pub const SERVICE: &'static str = "palmkit";

    /// Uses `backend` (e.g. `keyring_core::mock::Store::new()?` in tests, a platform store
    /// in apps).
    pub fn new(backend: Arc<KeyringBackend>) -> Self {
        Self { backend }
    }

    fn entry(&self, key: &str) -> Result<Entry, StoreError> {
        Entry::new_in_store(&self.backend, Self::SERVICE, key)
            .map_err(|e| StoreError(e.to_string()))
    }
}

impl CredentialStore for KeyringStore {
    fn load(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        match self.entry(key)?.get_password() {
            Ok(secret) => Ok(Some(Zeroizing::new(secret))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(StoreError(e.to_string())),
        }
    }

    fn save(&self, key: &str, secret: &str) -> Result<(), StoreError> {
        self.entry(key)?
            .set_password(secret)
            .map_err(|e| StoreError(e.to_string()))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(StoreError(e.to_string())),
        }
    }
}

/// The tokens of a signed-in shopper, as stored.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredTokens {
    /// Bearer token for the service.
    pub access_token: String,
    /// Refresh token (rotated on every use).
    pub refresh_token: Option<String>,
    /// When the access token expires, Unix seconds.
    pub expires_at: i64,
    /// Granted scope.
    pub scope: Option<String>,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens never reach a log, even through a debug print.
        f.debug_struct("StoredTokens")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Drop for StoredTokens {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.access_token.zeroize();
        if let Some(r) = self.refresh_token.as_mut() {
            r.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_store_round_trip_on_the_mock_store() {
        let store = KeyringStore::new(keyring_core::mock::Store::new().unwrap());
        assert!(store.load("k").unwrap().is_none());
        store.save("k", "secret-1").unwrap();
        store.save("k", "secret-2").unwrap();
        assert_eq!(store.load("k").unwrap().unwrap().as_str(), "secret-2");
        store.delete("k").unwrap();
        store.delete("k").unwrap();
        assert!(store.load("k").unwrap().is_none());
    }

    #[test]
    fn debug_print_hides_tokens() {
        let t = StoredTokens {
            access_token: "AT-secret".into(),
            refresh_token: Some("RT-secret".into()),
            expires_at: 1,
            scope: None,
        };
        let text = format!("{t:?}");
        assert!(!text.contains("secret"), "{text}");
    }
}
