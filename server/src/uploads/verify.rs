//! What the service checks when an upload completes, before it keeps anything: the
//! envelope opens with the key it names, in the context the service itself knows (the
//! authenticated account, the upload's enrollment and hand), its metadata is well formed,
//! the plaintext is an image of the size the metadata claims, and the spoof verdict sealed
//! beside it (if any) opens in the same context. When the service has the hand models,
//! the image must show a palm of the upload's hand, big enough to read, and its palm
//! signature is made here ([`crate::palms`]).
//!
//! The plaintext and the decoded pixels exist only in memory here and are zeroized before
//! this returns; only the sealed bytes are stored.

use palmkit_core::protocol::{CaptureMetadata, CaptureSource, Hand, SpoofMetadata};
use palmkit_core::upload::envelope::{self, AeadSuite, EnvelopeError, SealContext};
use palmkit_core::upload::sealed_verdict;
use zeroize::{Zeroize as _, Zeroizing};

use palmkit_core::signature::Template;

use crate::db::DbError;
use crate::palms::PalmReader;
use crate::palms::pictures::{self, PictureKind, PictureLimits};

/// An accepted capture, ready to store.
#[derive(Debug)]
pub struct Verified {
    /// The service key it is sealed to.
    pub key_id: String,
    /// Its metadata (JSON as sealed).
    pub metadata: String,
    /// The spoof verdict it came with, opened (JSON; `None` when it had none).
    pub spoof: Option<String>,
    /// Where the client says it came from.
    pub source: CaptureSource,
    /// The opened verdict's decision (`pass`, `fail`, `challenge`), when there is one.
    pub spoof_decision: Option<String>,
    /// The palm signature (binary template), when the service reads palms.
    pub signature: Option<Template>,
}

pub use crate::palms::Refused;

fn refused(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

/// Checks a completed upload. `private_key` looks a service key up by id; `palms` reads
/// the palm and makes its signature (`None`: the server runs without hand models); the
/// image is decoded under `pictures` (the caller holds a decode slot).
pub fn verify(
    sealed: &[u8],
    account_id: &str,
    enrollment_id: &str,
    hand: Hand,
    private_key: impl FnOnce(&str) -> Result<Option<[u8; 32]>, DbError>,
    palms: Option<&PalmReader>,
    pictures: &PictureLimits,
) -> Result<Result<Verified, Refused>, DbError> {
    let parsed = match envelope::parse(sealed) {
        Ok(p) => p,
        Err(e) => return Ok(Err(refused("malformed_envelope", e.to_string()))),
    };
    let key_id = parsed.key_id.to_string();
    // Wiped when this returns, on every path.
    let Some(key) = private_key(&key_id)?.map(Zeroizing::new) else {
        return Ok(Err(refused(
            "unknown_key",
            format!("no service key has the id {key_id:.64}"),
        )));
    };
    let context = SealContext {
        account_id,
        enrollment_id,
        hand,
        key_id: &key_id,
    };
    let plaintext = match envelope::open(sealed, &context, &key) {
        Ok(p) => p,
        Err(EnvelopeError::OpenFailed) => {
            return Ok(Err(refused(
                "envelope_rejected",
                "the envelope does not open for this account, enrollment and hand \
                 (tampered, or sealed for another)",
            )));
        }
        Err(e) => return Ok(Err(refused("malformed_envelope", e.to_string()))),
    };
    let metadata_text = String::from_utf8_lossy(parsed.metadata).into_owned();
    let metadata: CaptureMetadata = match serde_json::from_slice(parsed.metadata) {
        Ok(m) => m,
        Err(e) => return Ok(Err(refused("invalid_metadata", e.to_string()))),
    };
    let signature = match check_image(&plaintext, &metadata, palms.map(|p| (p, hand)), pictures) {
        Ok(signature) => signature,
        Err(why) => return Ok(Err(why)),
    };
    let spoof = match metadata.sealed_spoof.as_deref() {
        Some(sealed) => match open_spoof(sealed, &context, &key, parsed.aead) {
            Ok(spoof) => Some(spoof),
            Err(why) => return Ok(Err(why)),
        },
        None => None,
    };
    Ok(Ok(Verified {
        key_id,
        metadata: metadata_text,
        source: metadata.source,
        spoof_decision: spoof.as_ref().map(|s| s.verdict.clone()),
        spoof: spoof.map(|s| serde_json::to_string(&s).unwrap_or_default()),
        signature,
    }))
}

/// Opens the sealed spoof verdict of an envelope's metadata: it must open in the same
/// context with the same key (it is part of what the shopper's phone sent).
fn open_spoof(
    sealed: &str,
    context: &SealContext<'_>,
    key: &[u8; 32],
    aead: AeadSuite,
) -> Result<SpoofMetadata, Refused> {
    match sealed_verdict::open(sealed, context, key, aead) {
        Ok(verdict) => Ok(verdict),
        Err(EnvelopeError::OpenFailed) => Err(refused(
            "envelope_rejected",
            "the sealed spoof verdict does not open for this account, enrollment and hand",
        )),
        Err(e) => Err(refused("invalid_metadata", e.to_string())),
    }
}

/// Decodes the image fully (a header alone proves little), compares it with the
/// metadata and, with a palm reader, reads the palm of `hand` in it; the pixels are wiped
/// afterwards.
fn check_image(
    bytes: &[u8],
    metadata: &CaptureMetadata,
    palms: Option<(&PalmReader, Hand)>,
    limits: &PictureLimits,
) -> Result<Option<Template>, Refused> {
    let decoded = pictures::decode(
        bytes,
        Some(&metadata.media_type),
        PictureKind::Capture,
        limits,
    )?;
    let (width, height) = (decoded.width(), decoded.height());
    if (width, height) != (metadata.width, metadata.height) {
        decoded.into_bytes().zeroize();
        return Err(refused(
            "metadata_mismatch",
            format!(
                "the image is {width}x{height}, the metadata says {}x{}",
                metadata.width, metadata.height
            ),
        ));
    }
    let Some((reader, hand)) = palms else {
        decoded.into_bytes().zeroize();
        return Ok(None);
    };
    let rgb = pictures::into_rgb(decoded);
    reader.read(&rgb, width, height, Some(hand)).map(Some)
}
