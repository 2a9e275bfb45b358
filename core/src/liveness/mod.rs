//! Spoof detection in layers (capture integrity, screen replay, print, 3-D motion, active
//! challenge), each with a score, a threshold and a reason, combined into a `SpoofVerdict`
//! (DESIGN.md, "Spoof detection layers"; issue 7).
//!
//! - [`integrity`] (layer 1, frame side): forward timestamps at a camera's rate, no picture
//!   twice; the platform attestation of the upload is `crate::attestation`.
//! - [`spectrum`] and [`passive`] (layers 2 and 3): moiré, refresh banding, halftone and
//!   colour measures on the palm region, per frame and on stills.
//! - [`motion`] with [`homography`] (layer 4): a flat picture's landmarks move by one
//!   homography across a burst; a hand's do not.
//! - [`challenge`] (layer 5): close-and-open (default) or tilt, verified from landmarks
//!   when the passive layers are unsure.
//! - [`verdict`] combines the layers; [`live`] runs them on the camera path. The verdict is
//!   sealed to the service with the capture (`crate::upload::sealed_verdict`).
//! - `simulate` (feature `eval`, never in the phone library): the simulated attack set
//!   `palmkit spoof-eval` reports APCER/BPCER on.

pub mod challenge;
pub mod homography;
pub mod integrity;
pub mod live;
pub mod motion;
pub mod passive;
#[cfg(feature = "eval")]
pub mod simulate;
pub mod spectrum;
pub mod verdict;

pub use challenge::ChallengeKind;
pub use live::LiveLayers;
pub use passive::PassiveLayers;
pub use verdict::{SpoofVerdict, Verdict};

use serde::Serialize;

/// What one layer concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Outcome {
    /// Looks bona fide.
    Pass,
    /// Looks like an attack.
    Fail,
    /// Cannot tell yet (too little data or motion).
    Unsure,
    /// Does not apply to this input (a still file for a layer that needs live frames).
    NotApplicable,
}

impl Outcome {
    /// Its name in reports and metadata (`not_applicable`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Unsure => "unsure",
            Outcome::NotApplicable => "not_applicable",
        }
    }
}

/// The spoof layers, in order. Their names (`motion_3d`, ...) are stable: reports, the
/// sealed verdict and `palmkit spoof-eval` use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Layer {
    /// Layer 1: live-camera frames only (timestamps, no picture twice).
    CaptureIntegrity,
    /// Layer 2: screen replay (moiré, refresh banding).
    ScreenReplay,
    /// Layer 3: print (halftone, missing skin texture).
    Print,
    /// Layer 4: 3-D motion across a burst.
    Motion3d,
    /// Layer 5: the active challenge.
    Challenge,
}

impl Layer {
    /// Every layer, in order.
    pub const ALL: [Layer; 5] = [
        Layer::CaptureIntegrity,
        Layer::ScreenReplay,
        Layer::Print,
        Layer::Motion3d,
        Layer::Challenge,
    ];

    /// Its stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Layer::CaptureIntegrity => "capture_integrity",
            Layer::ScreenReplay => "screen_replay",
            Layer::Print => "print",
            Layer::Motion3d => "motion_3d",
            Layer::Challenge => "challenge",
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Layer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One layer's score, threshold, outcome and reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LayerReport {
    /// The layer.
    pub layer: Layer,
    /// Its score (meaning per layer; documented with the layer).
    pub score: f32,
    /// The threshold the score was compared with.
    pub threshold: f32,
    /// What it concluded.
    pub outcome: Outcome,
    /// Why, in words fit for a QA report (never image data).
    pub reason: String,
}

impl LayerReport {
    /// A report.
    pub fn new(layer: Layer, score: f32, threshold: f32, outcome: Outcome, reason: String) -> Self {
        Self {
            layer,
            score,
            threshold,
            outcome,
            reason,
        }
    }
}
