//! The apps' attestation tokens, as they travel in an upload's metadata.
//!
//! - [`APPLE_FORMAT`] `apple-app-attest-v1`: the bytes of a JSON object
//!   `{"key_id": KEYID, "attestation": B64URL, "assertion": B64URL}` — `key_id` as
//!   `DCAppAttestService.generateKey` returns it (standard base64 of SHA-256 of the key),
//!   `attestation` on the first upload with that key only, `assertion` always, both over
//!   the upload's challenge as client data hash.
//! - [`ANDROID_FORMAT`] `android-key-attestation-v1`: the bytes of a JSON array of
//!   standard-base64 DER certificates, leaf first, of a key made for this upload with the
//!   challenge as attestation challenge.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
// One definition of the formats, shared with the apps' flows in the core.
pub use palmkit_core::attestation::platform::{
    ANDROID_FORMAT, APPLE_FORMAT, AppleToken, encode_android, encode_apple,
};

use super::certs;
use super::verdict::{Reason, Refusal};

/// The largest token accepted (real ones: Apple ~7 KB with attestation, Android ~4-13 KB).
pub const MAX_TOKEN_BYTES: usize = 48 * 1024;

/// An App Attest token, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppleStatement {
    /// The key id as sent.
    pub key_id: String,
    /// The attestation object (CBOR), if sent.
    pub attestation: Option<Vec<u8>>,
    /// The assertion (CBOR).
    pub assertion: Vec<u8>,
}

fn malformed(detail: impl Into<String>) -> Refusal {
    Refusal::new(Reason::Malformed, detail)
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, Refusal> {
    let trimmed = text.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|_| malformed(format!("{what} is not base64")))
}

fn check_size(token: &[u8]) -> Result<(), Refusal> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed(format!(
            "a token of {} bytes (at most {MAX_TOKEN_BYTES})",
            token.len()
        )));
    }
    Ok(())
}

/// Decodes an `apple-app-attest-v1` token.
pub fn decode_apple(token: &[u8]) -> Result<AppleStatement, Refusal> {
    check_size(token)?;
    let t: AppleToken = serde_json::from_slice(token)
        .map_err(|e| malformed(format!("not an App Attest token: {e}")))?;
    if t.key_id.is_empty() || t.key_id.len() > 64 {
        return Err(malformed("key_id is not a key id"));
    }
    Ok(AppleStatement {
        attestation: t
            .attestation
            .as_deref()
            .map(|a| b64(a, "attestation"))
            .transpose()?,
        assertion: b64(&t.assertion, "assertion")?,
        key_id: t.key_id,
    })
}

/// Decodes an `android-key-attestation-v1` token into DER certificates, leaf first.
pub fn decode_android(token: &[u8]) -> Result<Vec<Vec<u8>>, Refusal> {
    check_size(token)?;
    let list: Vec<String> = serde_json::from_slice(token)
        .map_err(|e| malformed(format!("not a certificate list: {e}")))?;
    if list.is_empty() || list.len() > certs::MAX_CHAIN {
        return Err(malformed(format!("{} certificates", list.len())));
    }
    list.iter()
        .map(|c| {
            STANDARD
                .decode(c.as_bytes())
                .map_err(|_| malformed("a certificate is not standard base64"))
        })
        .collect()
}
