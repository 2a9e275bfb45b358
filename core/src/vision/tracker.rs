//! Tracking between frames, as MediaPipe does it: the palm detector runs only when no hand
//! is being tracked; otherwise the landmark crop is derived from the previous frame's
//! landmarks, and the landmark model alone follows the hand. When its presence drops under
//! the threshold the hand is lost and the detector runs again, on the same frame.

use std::path::Path;

use super::detector::PalmDetector;
use super::landmarks::{Hand, HandRegion, LandmarkModel};
use super::model_file::ModelError;
use crate::frame::Frame;

/// Landmarks that outline the palm and finger bases, for the tracked crop (MediaPipe's
/// `hand_landmark_landmarks_to_roi` subset).
const ROI_POINTS: [usize; 12] = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18];
/// The tracked crop: the rotated bounding box of those points, scaled 2x, shifted a tenth
/// of its height towards the fingers, squared on the long side.
const ROI_SCALE: f32 = 2.0;
const ROI_SHIFT_Y: f32 = -0.1;

impl HandRegion {
    /// The crop for the next frame from this frame's landmarks.
    pub fn from_landmarks(lm: &[[f32; 3]; 21]) -> Self {
        let (wrist, middle) = (lm[0], lm[9]);
        let rotation = (middle[0] - wrist[0]).atan2(-(middle[1] - wrist[1]));
        let (sin, cos) = rotation.sin_cos();
        let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for &i in &ROI_POINTS {
            let (x, y) = (lm[i][0], lm[i][1]);
            // Coordinates along the crop's axes: x axis (cos, sin), y axis (-sin, cos).
            let (u, v) = (x * cos + y * sin, -x * sin + y * cos);
            umin = umin.min(u);
            umax = umax.max(u);
            vmin = vmin.min(v);
            vmax = vmax.max(v);
        }
        let (cu, cv) = (
            (umin + umax) / 2.0,
            (vmin + vmax) / 2.0 + ROI_SHIFT_Y * (vmax - vmin),
        );
        Self {
            cx: cu * cos - cv * sin,
            cy: cu * sin + cv * cos,
            side: (umax - umin).max(vmax - vmin) * ROI_SCALE,
            rotation,
        }
    }
}

/// The hand models with the tracking state.
pub struct HandTracker {
    detector: PalmDetector,
    landmarks: LandmarkModel,
    previous: Option<Hand>,
    min_presence: f32,
}

/// One frame's result.
#[derive(Clone, Debug)]
pub struct Tracked {
    /// The hand, when one is present (presence over the threshold).
    pub hand: Option<Hand>,
    /// Whether the palm detector ran on this frame (no hand was being tracked).
    pub detector_ran: bool,
}

/// The palm detector the apps run (and bundle).
pub const DETECTOR_MODEL: &str = "palm_detection_full";
/// The landmark model the apps run (and bundle): the lite one. On tract it is 1.47x faster
/// than the full one (whole analysis with tracking 71.2 vs 48.5 frames/s on one core,
/// `cargo xtask bench frame_analysis`) and 2.6x smaller; its landmarks lie 2.5 % of the
/// palm's width from the full model's (median over the shared photos, worst 3.2 %) and it
/// agrees on hand and side on every one (`tests/vision.rs`,
/// `lite_landmarks_stay_close_to_the_full_model`; issue 19).
pub const LANDMARK_MODEL: &str = "hand_landmark_lite";

impl HandTracker {
    /// Loads the apps' detector and landmark models from a provisioned folder.
    pub fn load(dir: &Path, min_presence: f32) -> Result<Self, ModelError> {
        Self::load_models(dir, DETECTOR_MODEL, LANDMARK_MODEL, min_presence)
    }

    /// Loads the named models (the benchmarks compare the full and lite ones).
    pub fn load_models(
        dir: &Path,
        detector: &str,
        landmarks: &str,
        min_presence: f32,
    ) -> Result<Self, ModelError> {
        Ok(Self {
            detector: PalmDetector::load(dir, detector)?,
            landmarks: LandmarkModel::load(dir, landmarks)?,
            previous: None,
            min_presence,
        })
    }

    /// The hand in this frame, following the previous one when there is one.
    pub fn track(&mut self, frame: &Frame<'_>) -> Result<Tracked, ModelError> {
        if let Some(previous) = self.previous.take() {
            let region = HandRegion::from_landmarks(&previous.landmarks);
            let hand = self.landmarks.run(frame, region)?;
            if hand.presence >= self.min_presence {
                self.previous = Some(hand.clone());
                return Ok(Tracked {
                    hand: Some(hand),
                    detector_ran: false,
                });
            }
        }
        let hand = self.detect(frame)?;
        self.previous.clone_from(&hand);
        Ok(Tracked {
            hand,
            detector_ran: true,
        })
    }

    /// Detector then landmarks, without tracking (a still image).
    pub fn detect(&mut self, frame: &Frame<'_>) -> Result<Option<Hand>, ModelError> {
        let Some(best) = self.detector.detect(frame)?.into_iter().next() else {
            return Ok(None);
        };
        let hand = self
            .landmarks
            .run(frame, HandRegion::from_detection(&best))?;
        Ok((hand.presence >= self.min_presence).then_some(hand))
    }

    /// Forget the tracked hand.
    pub fn reset(&mut self) {
        self.previous = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracked_crop_is_centred_on_the_palm_and_turns_with_it() {
        // A palm drawn with fingers up: bases on y = 100, wrist at (100, 200).
        let mut lm = [[0f32; 3]; 21];
        lm[0] = [100.0, 200.0, 0.0];
        for (k, &i) in ROI_POINTS.iter().enumerate().skip(1) {
            lm[i] = [60.0 + 8.0 * k as f32, 100.0 + (k % 2) as f32 * 10.0, 0.0];
        }
        lm[9] = [100.0, 100.0, 0.0];
        let r = HandRegion::from_landmarks(&lm);
        assert!(r.rotation.abs() < 1e-6, "{r:?}");
        // Box 100..200 tall, shifted 10 px up; side 2x the long side.
        assert!((r.cy - 140.0).abs() < 1e-3, "{r:?}");
        assert!((r.side - 200.0).abs() < 1e-3, "{r:?}");
        // The same hand turned a quarter clockwise about (100, 200).
        let turned = lm.map(|p| [100.0 - (p[1] - 200.0), 200.0 + (p[0] - 100.0), 0.0]);
        let t = HandRegion::from_landmarks(&turned);
        assert!(
            (t.rotation - std::f32::consts::FRAC_PI_2).abs() < 1e-5,
            "{t:?}"
        );
        assert!((t.side - r.side).abs() < 1e-2);
        let expected = (100.0 - (r.cy - 200.0), 200.0 + (r.cx - 100.0));
        assert!(
            (t.cx - expected.0).abs() < 1e-2 && (t.cy - expected.1).abs() < 1e-2,
            "{t:?}"
        );
    }
}
