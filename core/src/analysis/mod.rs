//! Frame analysis: the hand tracker, the quality measures, the checks and the auto-capture
//! in one per-frame call. [`FrameAnalyzer::analyze`] is for the live camera path (tracking,
//! motion, hysteresis, debounce, auto-capture); [`FrameAnalyzer::analyze_still`] judges one
//! picture on its own (the desktop QA tools).
//!
//! The flow asks for one hand at a time: [`FrameAnalyzer::start_hand`] names it (or `None`
//! for either), the analyzer guides until the auto-capture fires, the app takes the capture
//! with [`FrameAnalyzer::take_capture`], then starts the other hand if it wants both.

mod best_frame;

use std::path::Path;

use serde::Serialize;

use crate::frame::Frame;
use crate::liveness::{self, ChallengeKind, LiveLayers, PassiveLayers, SpoofVerdict, Verdict};
use crate::protocol::{CaptureSource, Hand as HandSide};
use crate::quality::{
    AutoCapture, CaptureStep, Checks, Debounce, GuidanceCode, PixelScratch, SensorRect, Thresholds,
    frame_score, geometry, palm_rect, pixels,
};
pub use crate::quality::{Bounds, HandLandmarks, HandReport};
use crate::upload::Capture;
use crate::vision::{HandTracker, ModelError};
pub use best_frame::BestFrame;

/// Everything one frame gave.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FrameAnalysis {
    /// The hand, if one is present.
    pub hand: Option<HandReport>,
    /// The instruction to show (debounced on the live path).
    pub guidance: GuidanceCode,
    /// This frame's own first failing check (`None`: all pass), before the debounce.
    pub issue: Option<GuidanceCode>,
    /// Every check passes: the frame could be captured.
    pub capture_ready: bool,
    /// The auto-capture has fired (live path): take the capture.
    pub captured: bool,
    /// The best-frame score of a ready frame.
    pub score: Option<f32>,
    /// Whether the palm detector ran (no hand was being tracked).
    pub detector_ran: bool,
    /// The spoof layers' verdict so far (live path) or on the picture (still).
    pub spoof: SpoofVerdict,
}

/// One live frame as the session takes it: what the app is shown, and, on the frame the
/// auto-capture fired, the capture itself, so the caller holds what was captured in one
/// step instead of asking again.
pub struct LiveFrame {
    /// The analysis the app sees (its `captured` says the capture fired).
    pub analysis: FrameAnalysis,
    /// The capture taken on this frame: the best frame as a JPEG, with the spoof verdict
    /// of that moment (once; `None` on every other frame).
    pub capture: Option<Capture>,
    /// Whether the spoof verdict decides ([`LivenessPolicy::Enforce`]) or is only reported.
    pub enforced: bool,
}

/// What the spoof verdict does on the live path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LivenessPolicy {
    /// The app's setting: only a passing verdict lets the auto-capture fire; an unsure one
    /// issues the active challenge; a failing one shows `not_live` and captures nothing.
    #[default]
    Enforce,
    /// Report the verdict (and seal it with the capture) but do not let it stop the
    /// capture: for the desktop demo and tests, which feed photos as frames.
    ReportOnly,
}

/// Why a frame could not be analyzed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A model failed to run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The kept frame could not be encoded as a JPEG.
    #[error("the captured frame could not be encoded: {0}")]
    Encode(String),
}

/// The live analyzer: models, thresholds and per-hand state.
pub struct FrameAnalyzer {
    tracker: HandTracker,
    thresholds: Thresholds,
    requested: Option<HandSide>,
    checks: Checks,
    debounce: Debounce,
    auto: AutoCapture,
    previous: Option<([[f32; 3]; 21], u64)>,
    scratch: PixelScratch,
    best: BestFrame,
    live: LiveLayers,
    passive: PassiveLayers,
    policy: LivenessPolicy,
    challenges: Vec<ChallengeKind>,
    capture_verdict: Option<SpoofVerdict>,
}

impl FrameAnalyzer {
    /// Loads the models from a provisioned folder.
    pub fn load(models: &Path, thresholds: Thresholds) -> Result<Self, ModelError> {
        Ok(Self::with_tracker(
            HandTracker::load(models, thresholds.min_presence)?,
            thresholds,
        ))
    }

    /// An analyzer over the given hand models (the benchmarks compare landmark models).
    pub fn with_tracker(tracker: HandTracker, thresholds: Thresholds) -> Self {
        Self {
            tracker,
            thresholds,
            requested: None,
            checks: Checks::default(),
            debounce: Debounce::default(),
            auto: AutoCapture::default(),
            previous: None,
            scratch: PixelScratch::default(),
            best: BestFrame::default(),
            live: LiveLayers::default(),
            passive: PassiveLayers::default(),
            policy: LivenessPolicy::default(),
            challenges: ChallengeKind::DEFAULT.to_vec(),
            capture_verdict: None,
        }
    }

    /// Sets what the spoof verdict does on the live path (default: enforce).
    pub fn set_liveness_policy(&mut self, policy: LivenessPolicy) {
        self.policy = policy;
    }

    /// What the spoof verdict does on the live path.
    pub fn liveness_policy(&self) -> LivenessPolicy {
        self.policy
    }

    /// The active challenges that may be drawn (default: close-and-open only). An app may
    /// offer tilt instead to a shopper who cannot close a hand, knowing that a tilted photo
    /// can meet it (`liveness::challenge`); an empty list changes nothing.
    pub fn set_challenges(&mut self, kinds: &[ChallengeKind]) {
        if !kinds.is_empty() {
            self.challenges = kinds.to_vec();
        }
    }

    /// The thresholds in use.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Starts guiding towards a capture of `hand` (`None`: either hand), forgetting the
    /// previous hand's state and any capture not taken.
    pub fn start_hand(&mut self, hand: Option<HandSide>) {
        self.requested = hand;
        self.checks = Checks::default();
        self.debounce.reset();
        self.auto.reset();
        self.previous = None;
        self.tracker.reset();
        self.best = BestFrame::default();
        self.live.reset();
        self.capture_verdict = None;
    }

    /// One live camera frame taken at `timestamp_ms` (the camera's clock).
    pub fn analyze(
        &mut self,
        frame: &Frame<'_>,
        timestamp_ms: u64,
    ) -> Result<FrameAnalysis, AnalysisError> {
        let tracked = self.tracker.track(frame)?;
        let mut report = tracked.hand.map(|h| self.report(frame, &h));
        if let Some(r) = report.as_mut() {
            // Motion needs a previous frame of the same hand (followed, not found anew by
            // the detector, which may have found another hand) and time moving forward; a
            // clock that goes back gives no motion (the liveness layer judges such input).
            if let (Some((prev, at)), false) = (&self.previous, tracked.detector_ran) {
                if timestamp_ms > *at {
                    let dt = (timestamp_ms - at) as f32 / 1000.0;
                    r.motion = geometry::motion(prev, &r.landmarks, dt);
                }
            }
            self.previous = Some((r.landmarks.0, timestamp_ms));
        } else {
            self.previous = None;
        }
        let spoof = self.live.frame(frame, timestamp_ms, report.as_ref());
        let issue = self
            .checks
            .evaluate(&self.thresholds, self.requested, report.as_ref());
        let ready = issue.is_none();
        let (live_ok, hold) = self.liveness_gate(&spoof, ready, timestamp_ms);
        let score = report
            .as_ref()
            .filter(|_| ready)
            .map(|r| frame_score(r, &self.thresholds));
        let step = self.auto.update(
            ready && live_ok,
            score.unwrap_or(0.0),
            timestamp_ms,
            &self.thresholds,
        );
        if matches!(step, CaptureStep::Capture { .. }) {
            self.capture_verdict = Some(spoof.clone());
        }
        let keep = matches!(
            step,
            CaptureStep::Collecting { keep: true } | CaptureStep::Capture { keep: true }
        );
        if let (true, Some(r)) = (keep, report.as_ref()) {
            self.best.keep(frame, &r.landmarks);
        }
        let answer = match step {
            CaptureStep::Done | CaptureStep::Capture { .. } => GuidanceCode::Captured,
            // No hand: say so, even mid-challenge.
            _ if issue == Some(GuidanceCode::NoHand) => GuidanceCode::NoHand,
            _ => hold.or(issue).unwrap_or(GuidanceCode::HoldSteady),
        };
        let guidance = if answer == GuidanceCode::Captured {
            // The capture is news to show at once, not to debounce.
            self.debounce.reset();
            self.debounce.update(answer, 1)
        } else {
            self.debounce.update(answer, self.thresholds.stable_frames)
        };
        Ok(FrameAnalysis {
            hand: report,
            guidance,
            issue,
            capture_ready: ready,
            captured: self.auto.is_done(),
            score,
            detector_ran: tracked.detector_ran,
            spoof,
        })
    }

    /// The spoof policy on one live frame: whether the auto-capture may count it, and the
    /// instruction that replaces the quality checks' (the challenge, or `not_live`).
    fn liveness_gate(
        &mut self,
        spoof: &SpoofVerdict,
        ready: bool,
        now_ms: u64,
    ) -> (bool, Option<GuidanceCode>) {
        if self.policy == LivenessPolicy::ReportOnly || self.auto.is_done() {
            return (true, None);
        }
        match spoof.verdict {
            Verdict::Pass => (true, None),
            Verdict::Fail => (false, Some(GuidanceCode::NotLive)),
            Verdict::Challenge => {
                let running = self.live.challenge().filter(|c| !c.is_over());
                let kind = match running {
                    Some(c) => Some(c.kind()),
                    // Issued once per hand, when the hand is ready to capture and the
                    // motion layer has seen a burst without being able to tell.
                    None if ready
                        && self.live.challenge().is_none()
                        && self.live.motion_judged() =>
                    {
                        let kind = ChallengeKind::random_of(&self.challenges);
                        self.live.issue_challenge(kind, now_ms);
                        Some(kind)
                    }
                    None => None,
                };
                let code = kind.map(|k| match k {
                    ChallengeKind::CloseAndOpen => GuidanceCode::CloseAndOpenHand,
                    ChallengeKind::Tilt => GuidanceCode::TiltHand,
                });
                (false, code)
            }
        }
    }

    /// The spoof verdict at the moment the auto-capture fired (sealed with the capture).
    pub fn capture_verdict(&self) -> Option<&SpoofVerdict> {
        self.capture_verdict.as_ref()
    }

    /// One picture judged on its own: no tracking, motion, hysteresis or debounce.
    /// `capture_ready` says whether it would be captured.
    pub fn analyze_still(&mut self, frame: &Frame<'_>) -> Result<FrameAnalysis, AnalysisError> {
        let hand = self.tracker.detect(frame)?;
        let report = hand.map(|h| self.report(frame, &h));
        let rect = report
            .as_ref()
            .and_then(|r| r.palm_rect(frame))
            .unwrap_or_else(|| SensorRect::full(frame));
        let spoof = liveness::live::still(&mut self.passive, frame, rect);
        let issue = Checks::default().evaluate(&self.thresholds, self.requested, report.as_ref());
        let score = report
            .as_ref()
            .filter(|_| issue.is_none())
            .map(|r| frame_score(r, &self.thresholds));
        Ok(FrameAnalysis {
            hand: report,
            guidance: issue.unwrap_or(GuidanceCode::HoldSteady),
            issue,
            capture_ready: issue.is_none(),
            captured: false,
            score,
            detector_ran: true,
            spoof,
        })
    }

    /// [`analyze`](Self::analyze), and the capture when it fired on this frame
    /// ([`take_capture`](Self::take_capture)): the live path in one call.
    pub fn analyze_live(
        &mut self,
        frame: &Frame<'_>,
        timestamp_ms: u64,
    ) -> Result<LiveFrame, AnalysisError> {
        let analysis = self.analyze(frame, timestamp_ms)?;
        let capture = if analysis.captured {
            self.take_capture()?
        } else {
            None
        };
        Ok(LiveFrame {
            analysis,
            capture,
            enforced: self.policy == LivenessPolicy::Enforce,
        })
    }

    /// The auto-captured frame as a JPEG capture for upload (once; `None` before the
    /// capture fires or after it was taken), with the spoof verdict of that moment in its
    /// metadata. A frame that cannot be encoded is an error, not "nothing waiting".
    pub fn take_capture(&mut self) -> Result<Option<Capture>, AnalysisError> {
        if !self.auto.is_done() {
            return Ok(None);
        }
        let Some(jpeg) = self
            .best
            .take_jpeg()
            .map_err(|e| AnalysisError::Encode(e.to_string()))?
        else {
            return Ok(None);
        };
        let capture = Capture::new(jpeg, CaptureSource::Camera)
            .map_err(|e| AnalysisError::Encode(e.to_string()))?;
        Ok(Some(match self.capture_verdict.take() {
            Some(v) => capture.with_spoof(&v),
            None => capture,
        }))
    }

    /// The model's answer `h` turned into the one report the checks, the score, the spoof
    /// layers and the app all read.
    fn report(&mut self, frame: &Frame<'_>, h: &crate::vision::Hand) -> HandReport {
        let (w, h_) = frame.upright_size();
        let lm = &h.landmarks;
        let geometry = geometry::measure(lm, w, h_, self.thresholds.frame_margin);
        let pixels = palm_rect(frame, lm)
            .map(|r| pixels::measure(frame, r, &mut self.scratch))
            .unwrap_or_default();
        HandReport::new(
            *lm,
            h.right_hand,
            h.presence,
            h.palm_facing,
            geometry,
            pixels,
        )
    }
}
