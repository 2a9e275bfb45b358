//! The session's non-biometric progress, saved through the credential store that holds the
//! tokens (the platform keychain / Keystore), so a restarted app resumes where it was: the
//! consent version, the enrollment id, the hands and their accepted upload ids, the chosen
//! card and the idempotency keys of the calls that must not happen twice. Never an image,
//! never a verdict, never a token.

use serde::{Deserialize, Serialize};

use crate::account::store::CredentialStore;
use crate::error::Error;
use crate::protocol::Hand;

/// Version of the saved layout; a save from another version is dropped, not misread.
const VERSION: u32 = 1;

/// Non-biometric progress of one shopper's enrollment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedProgress {
    /// Layout version.
    pub version: u32,
    /// The shopper it belongs to (another login on the device starts afresh).
    pub account_id: String,
    /// The consent text version given.
    pub consent_version: Option<String>,
    /// Key of the draft's creation (kept until it succeeds: a retry gets the same draft).
    pub create_key: Option<String>,
    /// The draft at the service.
    pub enrollment_id: Option<String>,
    /// The hands the draft was made for.
    pub hands: Vec<Hand>,
    /// Accepted uploads: (hand, upload id).
    pub uploads: Vec<(Hand, String)>,
    /// The card linked to the palm profile.
    pub payment_method_id: Option<String>,
    /// Key of the card link.
    pub link_key: Option<String>,
    /// Key of the submission.
    pub submit_key: Option<String>,
    /// Submitted: waiting for the store match (or later).
    pub submitted: bool,
}

impl SavedProgress {
    /// Fresh progress for `account_id`.
    pub fn new(account_id: &str) -> Self {
        Self {
            version: VERSION,
            account_id: account_id.to_string(),
            ..Self::default()
        }
    }

    /// The accepted upload of `hand`.
    pub fn upload_of(&self, hand: Hand) -> Option<&str> {
        self.uploads
            .iter()
            .find(|(h, _)| *h == hand)
            .map(|(_, id)| id.as_str())
    }

    /// Forgets the enrollment (deleted, expired, complete): the consent stays.
    pub fn start_over(&mut self) {
        *self = Self {
            consent_version: self.consent_version.take(),
            ..Self::new(&self.account_id)
        };
    }

    /// Loads the progress saved under `key`; a save in another layout, or unreadable, is
    /// dropped (logged), since the worst outcome is capturing again.
    pub fn load(store: &dyn CredentialStore, key: &str) -> Result<Option<Self>, Error> {
        let Some(text) = store.load(key)? else {
            return Ok(None);
        };
        match serde_json::from_str::<Self>(&text) {
            Ok(saved) if saved.version == VERSION => Ok(Some(saved)),
            Ok(saved) => {
                tracing::warn!(
                    version = saved.version,
                    "dropping saved progress of another version"
                );
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "dropping unreadable saved progress");
                Ok(None)
            }
        }
    }

    /// Saves the progress under `key`.
    pub fn save(&self, store: &dyn CredentialStore, key: &str) -> Result<(), Error> {
        let text = serde_json::to_string(self).map_err(|e| Error::Protocol(e.to_string()))?;
        store.save(key, &text)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::store::StoreError;
    use std::sync::Mutex;
    use zeroize::Zeroizing;

    /// A fake platform store in memory.
    #[derive(Default)]
    struct FakeStore(Mutex<Vec<(String, String)>>);

    impl CredentialStore for FakeStore {
        fn load(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
            let items = self.0.lock().unwrap();
            Ok(items
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| Zeroizing::new(v.clone())))
        }
        fn save(&self, key: &str, secret: &str) -> Result<(), StoreError> {
            let mut items = self.0.lock().unwrap();
            items.retain(|(k, _)| k != key);
            items.push((key.into(), secret.into()));
            Ok(())
        }
        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.0.lock().unwrap().retain(|(k, _)| k != key);
            Ok(())
        }
    }

    #[test]
    fn round_trips_and_drops_other_layouts() {
        let store = FakeStore::default();
        let mut saved = SavedProgress::new("acct-1");
        saved.enrollment_id = Some("enr-1".into());
        saved.uploads.push((Hand::Left, "up-1".into()));
        saved.save(&store, "k").unwrap();
        let back = SavedProgress::load(&store, "k").unwrap().unwrap();
        assert_eq!(back, saved);
        assert_eq!(back.upload_of(Hand::Left), Some("up-1"));
        assert_eq!(back.upload_of(Hand::Right), None);

        store
            .save("k", r#"{"version":99,"account_id":"a"}"#)
            .unwrap();
        assert_eq!(SavedProgress::load(&store, "k").unwrap(), None);
        store.save("k", "not json").unwrap();
        assert_eq!(SavedProgress::load(&store, "k").unwrap(), None);
    }

    #[test]
    fn starting_over_keeps_only_the_consent() {
        let mut saved = SavedProgress::new("acct-1");
        saved.consent_version = Some("2026-11".into());
        saved.enrollment_id = Some("enr-1".into());
        saved.submitted = true;
        saved.start_over();
        let mut expected = SavedProgress::new("acct-1");
        expected.consent_version = Some("2026-11".into());
        assert_eq!(saved, expected);
    }
}
