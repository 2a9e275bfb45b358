//! Auto-capture: when every check passes for [`Thresholds::capture_frames`] frames in a
//! row spanning [`Thresholds::capture_millis`], the capture fires; of the frames in that
//! run, the one with the best [`frame_score`] is the one kept.
//!
//! The score, each term in [0, 1]:
//! `0.5·sharp + 0.2·centred + 0.2·still + 0.1·exposed`, where
//! sharp = min(1, sharpness / (3 · min_sharpness)), centred = 1 − min(1, offset / max_offset),
//! still = 1 − min(1, motion / max_motion) (1 for a still image), exposed =
//! 1 − |mean luma − 128| / 128. Sharpness weighs most: the service matches palm lines.

use super::hand_report::HandReport;
use super::thresholds::Thresholds;

/// The best-frame score of a hand that passed every check.
pub fn frame_score(h: &HandReport, t: &Thresholds) -> f32 {
    let unit = |v: f32| v.clamp(0.0, 1.0);
    let sharp = unit(h.pixels.sharpness / (3.0 * t.min_sharpness));
    let offset = h.geometry.offset_x.hypot(h.geometry.offset_y);
    let centred = 1.0 - unit(offset / t.max_offset);
    let still = 1.0 - unit(h.motion.unwrap_or(0.0) / t.max_motion);
    let exposed = 1.0 - unit((h.pixels.mean_luma - 128.0).abs() / 128.0);
    0.5 * sharp + 0.2 * centred + 0.2 * still + 0.1 * exposed
}

/// What to do with this frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CaptureStep {
    /// Not every check passes: nothing to keep.
    NotReady,
    /// In a good run; `keep` when this frame is the best of the run so far.
    Collecting {
        /// Keep (copy) this frame as the best so far.
        keep: bool,
    },
    /// The run is long enough: capture now (after keeping this frame if `keep`).
    Capture {
        /// This frame is the best of the run.
        keep: bool,
    },
    /// Captured earlier; waiting for the app to take it or to ask for the next hand.
    Done,
}

/// The auto-capture state for one hand.
#[derive(Clone, Debug, Default)]
pub struct AutoCapture {
    run: u32,
    run_start_ms: u64,
    best: f32,
    done: bool,
}

impl AutoCapture {
    /// One frame: `ready` when every check passed, with its score and timestamp.
    pub fn update(&mut self, ready: bool, score: f32, millis: u64, t: &Thresholds) -> CaptureStep {
        if self.done {
            return CaptureStep::Done;
        }
        if !ready {
            self.run = 0;
            return CaptureStep::NotReady;
        }
        if self.run == 0 {
            self.run_start_ms = millis;
            self.best = f32::NEG_INFINITY;
        }
        self.run += 1;
        let keep = score > self.best;
        if keep {
            self.best = score;
        }
        let long_enough = self.run >= t.capture_frames.max(1)
            && millis.saturating_sub(self.run_start_ms) >= t.capture_millis;
        if long_enough {
            self.done = true;
            CaptureStep::Capture { keep }
        } else {
            CaptureStep::Collecting { keep }
        }
    }

    /// Start over (the next hand, or a capture the app refused).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Whether the capture has fired.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_good_frames_captures_keeping_the_best() {
        let t = Thresholds::default();
        let mut a = AutoCapture::default();
        let scores = [0.5, 0.9, 0.7, 0.8, 0.6, 0.6, 0.95];
        let mut steps = Vec::new();
        for (i, s) in scores.iter().enumerate() {
            steps.push(a.update(true, *s, 50 * i as u64, &t));
        }
        assert_eq!(steps[0], CaptureStep::Collecting { keep: true });
        assert_eq!(steps[1], CaptureStep::Collecting { keep: true });
        assert_eq!(steps[2], CaptureStep::Collecting { keep: false });
        // Five frames but only 200 ms: still collecting; the seventh (300 ms) captures.
        assert_eq!(steps[4], CaptureStep::Collecting { keep: false });
        assert_eq!(steps[5], CaptureStep::Collecting { keep: false });
        assert_eq!(steps[6], CaptureStep::Capture { keep: true });
        assert_eq!(a.update(true, 1.0, 700, &t), CaptureStep::Done);
    }

    #[test]
    fn a_bad_frame_breaks_the_run() {
        let t = Thresholds::default();
        let mut a = AutoCapture::default();
        for i in 0..4 {
            a.update(true, 0.5, 100 * i, &t);
        }
        assert_eq!(a.update(false, 0.0, 400, &t), CaptureStep::NotReady);
        for i in 5..9 {
            assert!(matches!(
                a.update(true, 0.5, 100 * i, &t),
                CaptureStep::Collecting { .. }
            ));
        }
        assert!(matches!(
            a.update(true, 0.5, 900, &t),
            CaptureStep::Capture { .. }
        ));
    }
}
