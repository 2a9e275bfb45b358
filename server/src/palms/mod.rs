//! Reading palms on the service side: the hand models find the palm in a decrypted
//! capture (or a store scan), check it is a palm of the expected hand big enough to read,
//! and make its signature (`palmkit_core::signature`). The phone checked all this too, but
//! the service trusts only what it sees itself.
//!
//! The models are loaded once; one tracker serves every request in turn (a mutex), which
//! is enough for the reference server: a read takes ~50 ms of one core.

pub mod holds;
pub mod index;
pub mod pictures;
pub mod signatures;
pub mod stores;

use std::path::Path;
use std::sync::Mutex;

use palmkit_core::frame::{Frame, Orientation, PackedFormat};
use palmkit_core::protocol::Hand;
use palmkit_core::signature::{self, Extractor, RoiError, SignatureError, Template};
use palmkit_core::vision::{HandTracker, ModelError};

/// Hand presence the service needs before it reads a palm.
const MIN_PRESENCE: f32 = 0.5;

/// How sure the landmark model must be of the *other* hand before a capture is refused
/// as the wrong hand (the phone already asked for the right one; only a clear mismatch
/// is refused).
const WRONG_HAND_CONFIDENCE: f32 = 0.8;

/// Loads models and reads palms.
pub struct PalmReader {
    inner: Mutex<Inner>,
}

struct Inner {
    tracker: HandTracker,
    extractor: Extractor,
}

/// Why a completed upload (or a store scan) is refused: a stable code and a sentence.
/// Here, below the upload check, because reading the palm is one of its refusals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `malformed_envelope`, `unknown_key`, `envelope_rejected`, `invalid_metadata`,
    /// `invalid_image`, `metadata_mismatch`, `attestation_invalid`, and when palms are
    /// read: `no_palm`, `back_of_hand`, `wrong_hand`, `palm_too_small`, `palm_cut_off`.
    pub code: &'static str,
    /// For the client's log.
    pub message: String,
}

/// Why a picture gave no signature (`no_palm`, `back_of_hand`, `wrong_hand`,
/// `palm_too_small`, `palm_cut_off`): the upload check's refusal, code and sentence.
pub type Unreadable = Refused;

fn unreadable(code: &'static str, message: impl Into<String>) -> Unreadable {
    Refused {
        code,
        message: message.into(),
    }
}

impl std::fmt::Debug for PalmReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PalmReader")
    }
}

impl PalmReader {
    /// Loads the hand models from a provisioned folder (checked against its SHA256SUMS).
    pub fn load(models: &Path) -> Result<Self, ModelError> {
        Ok(Self {
            inner: Mutex::new(Inner {
                tracker: HandTracker::load(models, MIN_PRESENCE)?,
                extractor: Extractor::new(signature::CURRENT),
            }),
        })
    }

    /// The signature of the palm in an upright RGB picture (`width * height * 3` bytes).
    /// `expected`: the hand it must be (captures), or `None` (store scans: either).
    pub fn read(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        expected: Option<Hand>,
    ) -> Result<Template, Unreadable> {
        let frame = Frame::packed(
            rgb,
            width,
            height,
            PackedFormat::Rgb888,
            width as usize * 3,
            Orientation::default(),
        )
        .map_err(|e| unreadable("no_palm", e.to_string()))?;
        // A panic while holding the lock leaves models that are still valid.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let hand = inner
            .tracker
            .detect(&frame)
            .map_err(|e| unreadable("no_palm", format!("the hand models failed: {e}")))?
            .ok_or_else(|| unreadable("no_palm", "no palm was found in the picture"))?;
        if !hand.palm_facing {
            return Err(unreadable(
                "back_of_hand",
                "the picture shows the back of the hand, not the palm",
            ));
        }
        let wrong = match expected {
            Some(Hand::Right) => hand.right_hand < 1.0 - WRONG_HAND_CONFIDENCE,
            Some(Hand::Left) => hand.right_hand > WRONG_HAND_CONFIDENCE,
            None => false,
        };
        if wrong {
            return Err(unreadable(
                "wrong_hand",
                "the picture shows the other hand than the one this capture is for",
            ));
        }
        match inner.extractor.extract(&frame, &hand.landmarks) {
            Ok(template) => Ok(template),
            Err(SignatureError::Roi(RoiError::TooSmall { .. })) => Err(unreadable(
                "palm_too_small",
                "the palm is too small in the picture to read its lines",
            )),
            Err(SignatureError::Roi(e)) => Err(unreadable("palm_cut_off", e.to_string())),
        }
    }
}
