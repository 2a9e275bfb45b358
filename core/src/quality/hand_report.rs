//! The one description of the hand in a frame, from the tracker to the capture: what the
//! app is shown ([`crate::analysis::FrameAnalysis::hand`]), what the checks and the
//! best-frame score judge, and what the live spoof layers follow. The landmark model's own
//! answer (`vision::Hand`, with the crop it came from) is turned into one of these once per
//! frame; nothing downstream copies it into a narrower type.

use serde::Serialize;

use super::geometry::{self, HandGeometry, Landmarks};
use super::pixels::{PixelMeasures, SensorRect};
use crate::frame::Frame;
use crate::protocol::Hand;

/// A box in upright pixels: left, top, width, height. (A list of four numbers in Kotlin
/// and Swift.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Bounds(pub [f32; 4]);

/// The 21 hand landmarks of one frame: x, y in upright pixels and relative depth. (A list
/// of 63 numbers, x, y, z for each landmark in order, in Kotlin and Swift.)
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct HandLandmarks(pub Landmarks);

impl std::ops::Deref for HandLandmarks {
    type Target = Landmarks;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The hand as one frame showed it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HandReport {
    /// Bounding box of the landmarks, upright pixels: left, top, width, height.
    pub bounds: Bounds,
    /// 21 landmarks, upright pixels (x, y) and relative depth.
    pub landmarks: HandLandmarks,
    /// Which hand.
    pub handedness: Hand,
    /// Probability that it is the right hand.
    pub right_hand: f32,
    /// Hand presence (landmark model).
    pub presence: f32,
    /// Palm (not back) towards the camera.
    pub palm_facing: bool,
    /// Geometry measures.
    pub geometry: HandGeometry,
    /// Pixel measures on the palm.
    pub pixels: PixelMeasures,
    /// Landmark speed, palm lengths per second (live frames after the first).
    pub motion: Option<f32>,
}

impl HandReport {
    /// A report of `landmarks` with its measures (no motion yet): the bounds and the
    /// handedness follow from the landmarks and the model's right-hand probability.
    pub fn new(
        landmarks: Landmarks,
        right_hand: f32,
        presence: f32,
        palm_facing: bool,
        geometry: HandGeometry,
        pixels: PixelMeasures,
    ) -> Self {
        let [x0, y0, x1, y1] = geometry::bounds(&landmarks);
        Self {
            bounds: Bounds([x0, y0, x1 - x0, y1 - y0]),
            landmarks: HandLandmarks(landmarks),
            handedness: if right_hand > 0.5 {
                Hand::Right
            } else {
                Hand::Left
            },
            right_hand,
            presence,
            palm_facing,
            geometry,
            pixels,
            motion: None,
        }
    }

    /// The sensor rectangle under the palm (wrist to finger bases) in `frame`: where the
    /// pixel measures and the spoof layers look (`None` when it falls outside the frame).
    pub fn palm_rect(&self, frame: &Frame<'_>) -> Option<SensorRect> {
        palm_rect(frame, &self.landmarks)
    }
}

/// The sensor rectangle under the palm of landmarks `lm` (see [`HandReport::palm_rect`]).
pub fn palm_rect(frame: &Frame<'_>, lm: &Landmarks) -> Option<SensorRect> {
    let [x0, y0, x1, y1] = geometry::palm_bounds(lm);
    SensorRect::from_upright(frame, x0, y0, x1, y1)
}
