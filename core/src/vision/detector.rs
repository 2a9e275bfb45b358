//! The MediaPipe palm detector: the upright frame letterboxed into 192x192 (zero padding,
//! 3x3 supersampling per input pixel), one tract run, boxes and 7 keypoints decoded against the anchors, sigmoid
//! scores over 0.5 kept, and MediaPipe's weighted non-maximum suppression at IoU 0.3.
//! Results are in upright image pixels.

use std::path::Path;

use super::anchors::{Anchor, palm_anchors};
use super::model_file::{self, ModelError, Session};
use super::sampling::sample;
use crate::frame::Frame;

const INPUT: usize = 192;
const SCORE_THRESHOLD: f32 = 0.5;
const NMS_IOU: f32 = 0.3;

/// A detected palm, in upright image pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct PalmDetection {
    /// Detector confidence, 0-1.
    pub score: f32,
    /// Box centre x.
    pub cx: f32,
    /// Box centre y.
    pub cy: f32,
    /// Box width.
    pub width: f32,
    /// Box height.
    pub height: f32,
    /// 7 keypoints: wrist, index, middle, ring and pinky finger bases, thumb base, thumb
    /// joint (MediaPipe's order); 0 = wrist, 2 = middle-finger base.
    pub keypoints: [(f32, f32); 7],
}

/// The loaded detector.
pub struct PalmDetector {
    session: Session,
    anchors: Vec<Anchor>,
}

/// Where the upright image sits in the square input.
#[derive(Clone, Copy, Debug)]
struct Letterbox {
    scale: f32,
    pad_x: f32,
    pad_y: f32,
}

impl PalmDetector {
    /// Loads `palm_detection_full` (or `_lite`) from a provisioned model folder.
    pub fn load(dir: &Path, name: &str) -> Result<Self, ModelError> {
        let shape = [1, INPUT, INPUT, 3];
        let plan = model_file::load(dir, name, &shape)?;
        Ok(Self {
            session: Session::new(&plan, &shape, "palm detector")?,
            anchors: palm_anchors(),
        })
    }

    /// The palms in `frame`, best first.
    pub fn detect(&mut self, frame: &Frame<'_>) -> Result<Vec<PalmDetection>, ModelError> {
        let letterbox = Letterbox::of(frame);
        let anchors = &self.anchors;
        let candidates = self.session.run(
            |input| letterbox.fill(frame, input),
            |outputs| {
                let (boxes, scores) = match outputs {
                    // [1, 2016, 18] boxes and [1, 2016, 1] scores, in either order.
                    [a, b, ..] if a.len() > b.len() => (*a, *b),
                    [a, b, ..] => (*b, *a),
                    _ => return Err(runtime("expected two outputs".into())),
                };
                if boxes.len() != anchors.len() * 18 || scores.len() != anchors.len() {
                    return Err(runtime(format!(
                        "unexpected output sizes {} and {}",
                        boxes.len(),
                        scores.len()
                    )));
                }
                Ok(decode(boxes, scores, anchors))
            },
        )?;
        Ok(weighted_nms(candidates)
            .into_iter()
            .map(|d| letterbox.to_image(d))
            .collect())
    }
}

fn runtime(detail: String) -> ModelError {
    ModelError::Runtime {
        name: "palm detector".into(),
        detail,
    }
}

impl Letterbox {
    /// Where `frame`'s upright picture sits in the square input.
    fn of(frame: &Frame<'_>) -> Self {
        let (uw, uh) = frame.upright_size();
        let scale = INPUT as f32 / uw.max(uh) as f32;
        Self {
            scale,
            pad_x: (INPUT as f32 - uw as f32 * scale) / 2.0,
            pad_y: (INPUT as f32 - uh as f32 * scale) / 2.0,
        }
    }

    /// The 192x192x3 input (NHWC, RGB in [0, 1]), 3x3 supersampled.
    fn fill(self, frame: &Frame<'_>, input: &mut [f32]) {
        let subs = [1.0 / 6.0, 0.5, 5.0 / 6.0];
        sample(
            frame,
            INPUT,
            &subs,
            |x, y| ((x - self.pad_x) / self.scale, (y - self.pad_y) / self.scale),
            input,
        );
    }

    /// From input-normalized coordinates to upright image pixels.
    fn to_image(self, d: PalmDetection) -> PalmDetection {
        let x = |v: f32| (v * INPUT as f32 - self.pad_x) / self.scale;
        let y = |v: f32| (v * INPUT as f32 - self.pad_y) / self.scale;
        let mut keypoints = d.keypoints;
        for k in &mut keypoints {
            *k = (x(k.0), y(k.1));
        }
        PalmDetection {
            score: d.score,
            cx: x(d.cx),
            cy: y(d.cy),
            width: d.width * INPUT as f32 / self.scale,
            height: d.height * INPUT as f32 / self.scale,
            keypoints,
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x.clamp(-100.0, 100.0)).exp())
}

/// Candidates over the score threshold, in input-normalized coordinates.
fn decode(boxes: &[f32], scores: &[f32], anchors: &[Anchor]) -> Vec<PalmDetection> {
    let s = INPUT as f32;
    let mut out = Vec::new();
    for (i, anchor) in anchors.iter().enumerate() {
        let score = sigmoid(scores[i]);
        if score < SCORE_THRESHOLD {
            continue;
        }
        let r = &boxes[i * 18..i * 18 + 18];
        let mut keypoints = [(0f32, 0f32); 7];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = (r[4 + 2 * k] / s + anchor.x, r[5 + 2 * k] / s + anchor.y);
        }
        out.push(PalmDetection {
            score,
            cx: r[0] / s + anchor.x,
            cy: r[1] / s + anchor.y,
            width: r[2] / s,
            height: r[3] / s,
            keypoints,
        });
    }
    out
}

fn iou(a: &PalmDetection, b: &PalmDetection) -> f32 {
    let (ax0, ay0, ax1, ay1) = (
        a.cx - a.width / 2.0,
        a.cy - a.height / 2.0,
        a.cx + a.width / 2.0,
        a.cy + a.height / 2.0,
    );
    let (bx0, by0, bx1, by1) = (
        b.cx - b.width / 2.0,
        b.cy - b.height / 2.0,
        b.cx + b.width / 2.0,
        b.cy + b.height / 2.0,
    );
    let w = (ax1.min(bx1) - ax0.max(bx0)).max(0.0);
    let h = (ay1.min(by1) - ay0.max(by0)).max(0.0);
    let inter = w * h;
    let union = a.width * a.height + b.width * b.height - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// MediaPipe's weighted NMS: the best candidate and every candidate overlapping it by more
/// than the IoU threshold merge into one detection, averaged by score, with the best score.
fn weighted_nms(mut candidates: Vec<PalmDetection>) -> Vec<PalmDetection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = candidates.first().cloned() {
        let (cluster, rest): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|c| iou(&best, c) > NMS_IOU);
        candidates = rest;
        let total: f32 = cluster.iter().map(|c| c.score).sum();
        let avg = |f: &dyn Fn(&PalmDetection) -> f32| {
            cluster.iter().map(|c| f(c) * c.score).sum::<f32>() / total
        };
        let mut keypoints = [(0f32, 0f32); 7];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = (avg(&|c| c.keypoints[k].0), avg(&|c| c.keypoints[k].1));
        }
        out.push(PalmDetection {
            score: best.score,
            cx: avg(&|c| c.cx),
            cy: avg(&|c| c.cy),
            width: avg(&|c| c.width),
            height: avg(&|c| c.height),
            keypoints,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, cx: f32) -> PalmDetection {
        PalmDetection {
            score,
            cx,
            cy: 0.5,
            width: 0.2,
            height: 0.2,
            keypoints: [(cx, 0.5); 7],
        }
    }

    #[test]
    fn overlapping_candidates_merge_weighted_and_apart_ones_stay() {
        let out = weighted_nms(vec![det(0.6, 0.52), det(0.9, 0.5), det(0.8, 0.1)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        let expected = (0.9 * 0.5 + 0.6 * 0.52) / 1.5;
        assert!((out[0].cx - expected).abs() < 1e-6);
        assert!((out[1].cx - 0.1).abs() < 1e-6);
    }

    #[test]
    fn the_letterbox_maps_back_to_image_pixels() {
        // A 400x200 image: scale 0.48, padded 48 above and below.
        let lb = Letterbox {
            scale: 0.48,
            pad_x: 0.0,
            pad_y: 48.0,
        };
        let d = lb.to_image(det(1.0, 0.5));
        assert!((d.cx - 200.0).abs() < 1e-3);
        assert!((d.cy - 100.0).abs() < 1e-3);
        assert!((d.width - 80.0).abs() < 1e-3);
    }
}
