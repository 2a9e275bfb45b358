//! Layer 1, capture integrity (the part that needs no platform help): frames must come as
//! a live camera delivers them — timestamps that only move forward, at a plausible rate
//! (between [`MIN_INTERVAL_MS`] and [`MAX_INTERVAL_MS`] apart), and never the same picture
//! twice in a row. A real sensor's noise makes consecutive frames differ in almost every
//! pixel; a still image fed as frames (a gallery photo, a virtual camera replaying a file)
//! repeats them exactly. The signature compared is a 64-bit FNV-1a hash of a 16x16 grid of
//! luma samples: 256 reads per frame.
//!
//! Still to come for this layer (issue 7): the `Attestor` foreign trait (App Attest / Play
//! Integrity) signing a server nonce bound to the upload's hash, and the server's nonce and
//! development attestation check.

use crate::frame::Frame;

use super::{Layer, LayerReport, Outcome};

/// Frames closer than this are faster than any phone camera delivers (250 fps).
pub const MIN_INTERVAL_MS: u64 = 4;
/// A gap longer than this breaks the run (the app was paused, the camera stalled).
pub const MAX_INTERVAL_MS: u64 = 1000;
/// Grid side of the frame signature.
const GRID: u32 = 16;

/// The state of the capture-integrity check over a run of frames.
#[derive(Clone, Debug, Default)]
pub struct CaptureIntegrity {
    last: Option<(u64, u64)>,
    frames: u32,
    violation: Option<String>,
}

/// The signature of a frame: FNV-1a over a 16x16 grid of luma samples.
pub fn signature(frame: &Frame<'_>) -> u64 {
    let (w, h) = (frame.width(), frame.height());
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for gy in 0..GRID {
        for gx in 0..GRID {
            let (x, y) = ((2 * gx + 1) * w / (2 * GRID), (2 * gy + 1) * h / (2 * GRID));
            hash ^= u64::from(frame.luma(x, y));
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

impl CaptureIntegrity {
    /// Records one live frame taken at `timestamp_ms`.
    pub fn push(&mut self, frame: &Frame<'_>, timestamp_ms: u64) {
        let sig = signature(frame);
        if let Some((at, previous)) = self.last {
            let problem = if timestamp_ms <= at {
                Some(format!(
                    "the frame timestamp did not move forward ({at} ms then {timestamp_ms} ms)"
                ))
            } else if timestamp_ms - at < MIN_INTERVAL_MS {
                Some(format!(
                    "frames {} ms apart: faster than a camera delivers",
                    timestamp_ms - at
                ))
            } else if sig == previous {
                Some("the same picture arrived twice in a row: not a live camera".into())
            } else {
                None
            };
            if let Some(p) = problem {
                self.violation.get_or_insert(p);
            }
            if timestamp_ms > at && timestamp_ms - at > MAX_INTERVAL_MS {
                // A pause: start a new run, keeping any violation seen.
                self.frames = 0;
            }
        }
        self.last = Some((timestamp_ms, sig));
        self.frames += 1;
    }

    /// Forgets the run (a new capture).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The layer's judgement so far. Score: 1 for a clean run, 0 after a violation.
    pub fn report(&self) -> LayerReport {
        let layer = Layer::CaptureIntegrity;
        match (&self.violation, self.frames) {
            (Some(v), _) => LayerReport::new(layer, 0.0, 1.0, Outcome::Fail, v.clone()),
            (None, 0..=1) => LayerReport::new(
                layer,
                0.0,
                1.0,
                Outcome::Unsure,
                "not enough frames yet".into(),
            ),
            (None, n) => LayerReport::new(
                layer,
                1.0,
                1.0,
                Outcome::Pass,
                format!("{n} frames with forward timestamps and changing content"),
            ),
        }
    }

    /// The report for a still file (desktop tools): this layer needs live frames.
    pub fn not_applicable() -> LayerReport {
        LayerReport::new(
            Layer::CaptureIntegrity,
            0.0,
            1.0,
            Outcome::NotApplicable,
            "a still file: the live camera path never accepts one".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Orientation, PackedFormat};

    /// A grey 64x48 RGB frame with sensor-like noise from `seed`.
    fn noisy(seed: u64) -> Vec<u8> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..64 * 48 * 3)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (120 + s % 9) as u8
            })
            .collect()
    }

    fn frame(data: &[u8]) -> Frame<'_> {
        Frame::packed(
            data,
            64,
            48,
            PackedFormat::Rgb888,
            192,
            Orientation::default(),
        )
        .unwrap()
    }

    #[test]
    fn live_frames_pass_and_a_repeated_picture_fails() {
        let mut live = CaptureIntegrity::default();
        let frames: Vec<Vec<u8>> = (1..=6).map(noisy).collect();
        for (i, f) in frames.iter().enumerate() {
            live.push(&frame(f), 1000 + 33 * i as u64);
        }
        assert_eq!(live.report().outcome, Outcome::Pass);

        let mut replay = CaptureIntegrity::default();
        let still = noisy(7);
        for i in 0..6 {
            replay.push(&frame(&still), 1000 + 33 * i);
        }
        let r = replay.report();
        assert_eq!(r.outcome, Outcome::Fail);
        assert!(r.reason.contains("twice"), "{r:?}");
    }

    #[test]
    fn timestamps_must_move_forward_at_a_camera_rate() {
        let frames: Vec<Vec<u8>> = (1..=3).map(noisy).collect();
        for (stamps, expected) in [
            ([1000, 1033, 1020], "did not move forward"),
            ([1000, 1033, 1033], "did not move forward"),
            ([1000, 1001, 1002], "faster than a camera"),
        ] {
            let mut c = CaptureIntegrity::default();
            for (f, t) in frames.iter().zip(stamps) {
                c.push(&frame(f), t);
            }
            let r = c.report();
            assert_eq!(r.outcome, Outcome::Fail, "{stamps:?}");
            assert!(r.reason.contains(expected), "{stamps:?}: {r:?}");
        }
        assert_eq!(
            CaptureIntegrity::not_applicable().outcome,
            Outcome::NotApplicable
        );
    }
}
