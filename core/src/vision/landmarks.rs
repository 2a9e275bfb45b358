//! The MediaPipe hand landmark model: a 224x224 crop around the detected palm, rotated so
//! the fingers point up (wrist → middle-finger base), shifted half a box towards the
//! fingers, squared on the long side and scaled 2.6x; one tract run; 21 landmarks mapped
//! back to upright image pixels, hand presence, and handedness.
//!
//! Palm side or back: the winding of (wrist, index base, pinky base) tells which side of a
//! left or right hand faces the camera; with handedness it gives "palm facing". A mirrored
//! frame (front camera) shows a left hand as a right one: handedness is flipped back.

use std::path::Path;

use super::detector::PalmDetection;
use super::model_file::{self, ModelError, Session};
use super::sampling::sample;
use crate::frame::Frame;

const INPUT: usize = 224;
const SCALE: f32 = 2.6;
const SHIFT_Y: f32 = -0.5;

/// Where the crop lies in the upright image: centre, side and rotation (radians).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HandRegion {
    /// Centre x, upright pixels.
    pub cx: f32,
    /// Centre y.
    pub cy: f32,
    /// Side of the square.
    pub side: f32,
    /// Rotation: 0 when the fingers point up.
    pub rotation: f32,
}

impl HandRegion {
    /// The landmark crop for a palm detection, as MediaPipe derives it.
    pub fn from_detection(d: &PalmDetection) -> Self {
        let (wrist, middle) = (d.keypoints[0], d.keypoints[2]);
        let rotation = (middle.0 - wrist.0).atan2(-(middle.1 - wrist.1));
        let (sin, cos) = rotation.sin_cos();
        let shift = SHIFT_Y * d.height;
        Self {
            cx: d.cx - shift * sin,
            cy: d.cy + shift * cos,
            side: d.width.max(d.height) * SCALE,
            rotation,
        }
    }

    /// The upright image point at crop-normalized (`u`, `v`) in [0, 1].
    #[inline]
    pub fn to_image(&self, u: f32, v: f32) -> (f32, f32) {
        let (lx, ly) = ((u - 0.5) * self.side, (v - 0.5) * self.side);
        let (sin, cos) = self.rotation.sin_cos();
        (self.cx + lx * cos - ly * sin, self.cy + lx * sin + ly * cos)
    }
}

/// The landmark model's answer for one hand, in upright image pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Hand {
    /// 21 landmarks (MediaPipe order: 0 wrist, 1-4 thumb, 5-8 index, 9-12 middle, 13-16
    /// ring, 17-20 pinky), x and y in upright pixels, z relative depth in the same pixels
    /// (wrist ~0, negative towards the camera).
    pub landmarks: [[f32; 3]; 21],
    /// Hand presence, 0-1.
    pub presence: f32,
    /// Probability that it is a right hand (already corrected for mirroring).
    pub right_hand: f32,
    /// Whether the palm (not the back) faces the camera.
    pub palm_facing: bool,
    /// The crop it was found in.
    pub region: HandRegion,
}

/// The loaded landmark model.
pub struct LandmarkModel {
    session: Session,
}

fn runtime(detail: impl Into<String>) -> ModelError {
    ModelError::Runtime {
        name: "hand landmarks".into(),
        detail: detail.into(),
    }
}

impl LandmarkModel {
    /// Loads `hand_landmark_full` (or `_lite`) from a provisioned model folder.
    pub fn load(dir: &Path, name: &str) -> Result<Self, ModelError> {
        let shape = [1, INPUT, INPUT, 3];
        let plan = model_file::load(dir, name, &shape)?;
        Ok(Self {
            session: Session::new(&plan, &shape, "hand landmarks")?,
        })
    }

    /// The hand in `region` of `frame`.
    pub fn run(&mut self, frame: &Frame<'_>, region: HandRegion) -> Result<Hand, ModelError> {
        let (landmarks, presence, seen_right) = self.session.run(
            |input| crop(frame, &region, input),
            |outputs| {
                // Outputs in the model's order: landmarks [63], presence [1], handedness
                // [1], world landmarks [63].
                let [points, presence, handedness, ..] = outputs else {
                    return Err(runtime("expected four outputs"));
                };
                if points.len() != 63 || presence.len() != 1 || handedness.len() != 1 {
                    return Err(runtime("unexpected output sizes"));
                }
                let mut landmarks = [[0f32; 3]; 21];
                // The model's depth is in pixels of its 224-px crop, like its x and y: scale
                // it as they are scaled to the picture, so angles from depth are true.
                let depth_scale = region.side / INPUT as f32;
                for (i, l) in landmarks.iter_mut().enumerate() {
                    let (x, y) = region.to_image(
                        points[3 * i] / INPUT as f32,
                        points[3 * i + 1] / INPUT as f32,
                    );
                    *l = [x, y, points[3 * i + 2] * depth_scale];
                }
                Ok((landmarks, presence[0], handedness[0]))
            },
        )?;
        // The winding of wrist → index base → pinky base in the picture as the model saw it.
        let (w, i, p) = (landmarks[0], landmarks[5], landmarks[17]);
        let winding = (i[0] - w[0]) * (p[1] - w[1]) - (i[1] - w[1]) * (p[0] - w[0]);
        let palm_facing = (seen_right > 0.5) == (winding < 0.0);
        let right_hand = if frame.orientation().mirrored {
            1.0 - seen_right
        } else {
            seen_right
        };
        Ok(Hand {
            landmarks,
            presence,
            right_hand,
            palm_facing,
            region,
        })
    }
}

/// The 224x224x3 crop (NHWC, RGB in [0, 1]), 2x2 supersampled, into `input`.
fn crop(frame: &Frame<'_>, region: &HandRegion, input: &mut [f32]) {
    // `to_image` as one affine map, its sine and cosine taken once rather than per sample.
    let (sin, cos) = region.rotation.sin_cos();
    let k = region.side / INPUT as f32;
    let (cx, cy, half) = (region.cx, region.cy, INPUT as f32 / 2.0);
    let map = |x: f32, y: f32| {
        let (lx, ly) = ((x - half) * k, (y - half) * k);
        (cx + lx * cos - ly * sin, cy + lx * sin + ly * cos)
    };
    sample(frame, INPUT, &[0.25, 0.75], map, input);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(wrist: (f32, f32), middle: (f32, f32)) -> PalmDetection {
        let mut keypoints = [(0.0, 0.0); 7];
        keypoints[0] = wrist;
        keypoints[2] = middle;
        PalmDetection {
            score: 1.0,
            cx: 100.0,
            cy: 100.0,
            width: 40.0,
            height: 40.0,
            keypoints,
        }
    }

    #[test]
    fn fingers_up_means_no_rotation_and_a_shift_towards_the_fingers() {
        let r = HandRegion::from_detection(&detection((100.0, 120.0), (100.0, 80.0)));
        assert!(r.rotation.abs() < 1e-6);
        assert!(
            (r.cx - 100.0).abs() < 1e-4 && (r.cy - 80.0).abs() < 1e-4,
            "{r:?}"
        );
        assert!((r.side - 104.0).abs() < 1e-4);
        // The crop's top edge centre lies above the centre, towards the fingers.
        let (x, y) = r.to_image(0.5, 0.0);
        assert!((x - 100.0).abs() < 1e-3 && (y - 28.0).abs() < 1e-3);
    }

    #[test]
    fn the_crop_samples_where_to_image_points() {
        // A frame whose left half is black and right half white, and a region turned a
        // quarter: the crop's top rows see the right (white) side.
        let (w, h) = (200u32, 200u32);
        let data: Vec<u8> = (0..w * h)
            .flat_map(|i| if i % w >= 100 { [255u8; 3] } else { [0u8; 3] })
            .collect();
        let frame = Frame::packed(
            &data,
            w,
            h,
            crate::frame::PackedFormat::Rgb888,
            600,
            crate::frame::Orientation::default(),
        )
        .unwrap();
        let region = HandRegion {
            cx: 100.0,
            cy: 100.0,
            side: 100.0,
            rotation: std::f32::consts::FRAC_PI_2,
        };
        let mut input = vec![0f32; INPUT * INPUT * 3];
        crop(&frame, &region, &mut input);
        let at = |x: usize, y: usize| input[(y * INPUT + x) * 3];
        // Crop "up" is image +x: the top rows are white, the bottom rows black.
        assert_eq!(at(INPUT / 2, 10), 1.0);
        assert_eq!(at(INPUT / 2, INPUT - 10), 0.0);
        let (x, _) = region.to_image(0.5, 10.5 / INPUT as f32);
        assert!(x > 100.0);
    }

    #[test]
    fn fingers_right_rotates_a_quarter_turn() {
        let r = HandRegion::from_detection(&detection((80.0, 100.0), (120.0, 100.0)));
        assert!((r.rotation - std::f32::consts::FRAC_PI_2).abs() < 1e-5);
        // Crop "up" now points to +x in the image.
        let (x, y) = r.to_image(0.5, 0.0);
        assert!(
            x > r.cx + 50.0 && (y - r.cy).abs() < 1e-3,
            "({x}, {y}) {r:?}"
        );
    }
}
