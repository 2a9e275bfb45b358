//! Google's attestation certificate status list, read from a file the operator refreshes
//! (Google publishes it at <https://android.googleapis.com/attestation/status>; this
//! service never fetches it itself).
//!
//! ```json
//! {"entries": {"2c8cdddfd5e03bfc": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}
//! ```
//!
//! Keys are certificate serials in lower-case hex without leading zeros; any listed
//! serial (`REVOKED` or `SUSPENDED`) refuses a chain that holds it, at any position.

use std::collections::HashMap;

use serde::Deserialize;

/// One entry of the list.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// `REVOKED` or `SUSPENDED`.
    pub status: String,
    /// Why, e.g. `KEY_COMPROMISE`.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize)]
struct Document {
    entries: HashMap<String, Entry>,
}

/// The status list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusList {
    entries: HashMap<String, Entry>,
}

impl StatusList {
    /// Parses the JSON document; serials are normalised to the list's own spelling.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let doc: Document = serde_json::from_slice(bytes)
            .map_err(|e| format!("not an attestation status list: {e}"))?;
        let entries = doc
            .entries
            .into_iter()
            .map(|(serial, entry)| (normalise(&serial), entry))
            .collect();
        Ok(Self { entries })
    }

    /// The entry of `serial_hex` (lower-case hex without leading zeros), if listed.
    pub fn entry(&self, serial_hex: &str) -> Option<&Entry> {
        self.entries.get(&normalise(serial_hex))
    }

    /// How many serials it lists.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it lists none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn normalise(serial: &str) -> String {
    let lower = serial.trim().to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_match_without_case_or_leading_zeros() {
        let list = StatusList::from_json(
            br#"{"entries":{"00C8966FCB2FBB0D7A":{"status":"SUSPENDED","reason":"SOFTWARE_FLAW"},
                 "2c8cdddfd5e03bfc":{"status":"REVOKED"}}}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list.entry("c8966fcb2fbb0d7a").unwrap().status, "SUSPENDED");
        assert_eq!(list.entry("2c8cdddfd5e03bfc").unwrap().reason, None);
        assert!(list.entry("2c8cdddfd5e03bfd").is_none());
        assert!(StatusList::from_json(b"{\"serials\":[]}").is_err());
    }
}
