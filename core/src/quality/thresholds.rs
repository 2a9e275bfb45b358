//! The named thresholds every check uses, with where each value comes from.
//!
//! Calibrated on the shared test photographs (`../shared/testdata`; `palmkit analyze
//! --json` prints every measure) and on degraded copies of them (blur, darkening, noise) in
//! `core/tests/integration/quality_calibration.rs`, which asserts that every real palm photo passes the
//! pixel checks and every degraded copy fails the one it was degraded for. The figures are in
//! `docs/frame-analysis.md`.

/// Every threshold of the frame checks, guidance and auto-capture.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Thresholds {
    /// Hand presence under this is "no hand" (the landmark model's probability).
    pub min_presence: f32,
    /// Palm length / short side under this: "move closer". A palm of 0.22 of a 1080p
    /// frame's short side is ~240 px from wrist to middle base: enough palm-line detail.
    pub min_palm_size: f32,
    /// Over this: "move farther" (the hand would soon leave the frame and lose focus).
    pub max_palm_size: f32,
    /// Palm centre farther than this from the picture centre (fraction of the short side):
    /// "centre your palm".
    pub max_offset: f32,
    /// Roll beyond ±this many degrees: "straighten your hand".
    pub max_roll: f32,
    /// Pitch or yaw beyond ±this many degrees: "hold your hand flat to the camera".
    pub max_tilt: f32,
    /// Fewer fingers extended than this: "open your hand".
    pub min_fingers_extended: u8,
    /// Fingertip gaps under this multiple of the finger-base gaps: "spread your fingers".
    /// The 132 COEP "open, fingers spread" photos measure 1.31-1.93; the 11K palm with
    /// fingers together 1.21.
    pub min_finger_spread: f32,
    /// Border (fraction of the short side) every landmark should stay inside.
    pub frame_margin: f32,
    /// Mean palm luma under this: "too dark".
    pub min_mean_luma: f32,
    /// Over this: "too bright".
    pub max_mean_luma: f32,
    /// Clipped fraction of the palm over this: "too bright" too.
    pub max_clipped_fraction: f32,
    /// Highlight fraction of the palm over this: "reduce glare".
    pub max_glare_fraction: f32,
    /// Laplacian σ on the palm grid under this: "hold still, focusing". Real colour palm
    /// photos measure 2.4-24.6 (COEP 5.4-20.0); a blur of 2 % of the palm drops them under.
    pub min_sharpness: f32,
    /// Immerkær noise σ over this: "find more light".
    pub max_noise: f32,
    /// Landmark speed over this (palm lengths per second): "hold still".
    pub max_motion: f32,
    /// Hysteresis: once a check fails it passes again only when its measure is this
    /// fraction of the limit back on the good side (e.g. 0.1: 10 % beyond).
    pub hysteresis: f32,
    /// A new instruction replaces the one shown only after this many frames in a row.
    pub stable_frames: u32,
    /// Auto-capture after this many good frames in a row...
    pub capture_frames: u32,
    /// ...spanning at least this many milliseconds.
    pub capture_millis: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_presence: 0.5,
            min_palm_size: 0.22,
            max_palm_size: 0.6,
            max_offset: 0.2,
            max_roll: 30.0,
            max_tilt: 30.0,
            min_fingers_extended: 4,
            min_finger_spread: 1.25,
            frame_margin: 0.01,
            min_mean_luma: 50.0,
            max_mean_luma: 215.0,
            max_clipped_fraction: 0.15,
            max_glare_fraction: 0.05,
            min_sharpness: 2.0,
            max_noise: 12.0,
            max_motion: 0.6,
            hysteresis: 0.1,
            stable_frames: 3,
            capture_frames: 5,
            capture_millis: 300,
        }
    }
}
