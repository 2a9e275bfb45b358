//! The capture watch: starting and stopping a hand's capture, the live frame call (the
//! auto-capture's frame becomes the hand's held capture; no image leaves the core), the QA
//! file capture, and the clock that fails a capture that never gets ready or whose spoof
//! verdict stays `fail`.

use crate::error::Error;
#[cfg(any(feature = "vision", feature = "dev"))]
use crate::error::SessionFailure;
use crate::protocol::Hand;
use crate::upload::Capture;

#[cfg(feature = "vision")]
use super::super::state::Failure;
use super::super::state::{FailureReason, SessionSnapshot, SessionState, StateName};
#[cfg(any(feature = "vision", feature = "dev"))]
use super::lock;
use super::{CaptureClock, EnrollmentSession, Held, check_hand};

impl EnrollmentSession {
    /// Starts capturing `hand` (`None`: whichever hand the shopper shows; the capture
    /// carries the side detected). Allowed after consent, while capturing (switching
    /// hands), between hands, and after a capture failed. Capturing a hand already held replaces its capture.
    pub fn start_hand(&self, hand: Option<Hand>) -> Result<SessionSnapshot, Error> {
        self.update(|inner| {
            let allowed = match &inner.state {
                // While capturing, too: the shopper switches hands.
                SessionState::ConsentGiven
                | SessionState::Capturing { .. }
                | SessionState::Captured { .. }
                | SessionState::PaymentChosen => true,
                SessionState::Failed { failure: f } => matches!(
                    f.reason,
                    FailureReason::CaptureTimedOut | FailureReason::SpoofSuspected
                ),
                _ => false,
            };
            if !allowed {
                return Err(inner.out_of_order("start_hand"));
            }
            if let (Some(hand), Some(saved)) = (hand, &inner.saved) {
                check_hand(saved, hand)?;
            }
            inner.clock = CaptureClock::default();
            inner.state = SessionState::Capturing { hand };
            Ok(())
        })?;
        #[cfg(feature = "vision")]
        if let Some(analyzer) = lock(&self.analyzer).as_mut() {
            analyzer.start_hand(hand);
        }
        Ok(self.snapshot())
    }

    /// Stops capturing; what was captured before stays held.
    pub fn cancel_capture(&self) -> Result<SessionSnapshot, Error> {
        self.update(|inner| {
            if inner.state.name() != StateName::Capturing {
                return Err(inner.out_of_order("cancel_capture"));
            }
            inner.state = inner.resting_state();
            Ok(())
        })?;
        Ok(self.snapshot())
    }

    /// One camera frame, on the camera thread: the guidance to show and whether the
    /// auto-capture fired (the capture is then held here; no image leaves the core). A
    /// capture that never gets ready in [`SessionOptions::capture_timeout_ms`] of camera
    /// time, or a spoof verdict that stays `fail`, moves the session to `Failed`.
    #[cfg(feature = "vision")]
    pub fn analyze_frame(
        &self,
        frame: &crate::frame::Frame<'_>,
        timestamp_ms: u64,
    ) -> Result<crate::analysis::FrameAnalysis, Error> {
        let requested = match &lock(&self.inner).state {
            SessionState::Capturing { hand } => *hand,
            other => {
                return Err(SessionFailure::OutOfOrder {
                    call: "analyze_frame",
                    state: other.name(),
                }
                .into());
            }
        };
        // The analyzer's lock is released before the state changes, so a listener may
        // call back into the session.
        let crate::analysis::LiveFrame {
            analysis,
            capture,
            enforced,
        } = lock(&self.analyzer)
            .as_mut()
            .ok_or(Error::Session(SessionFailure::NoAnalyzer))?
            .analyze_live(frame, timestamp_ms)
            .map_err(|e| SessionFailure::Analysis(e.to_string()))?;
        if let Some(capture) = capture {
            let detected = analysis.hand.as_ref().map(|h| h.handedness);
            let Some(hand) = requested.or(detected) else {
                return Err(SessionFailure::Analysis(
                    "the capture fired with no hand in view".into(),
                )
                .into());
            };
            // "Either hand" may show one this enrollment cannot take: refuse it and keep
            // capturing.
            if let Err(refused) = self.can_take(hand) {
                if let Some(analyzer) = lock(&self.analyzer).as_mut() {
                    analyzer.start_hand(requested);
                }
                return Err(refused);
            }
            self.hold(hand, capture)?;
            return Ok(analysis);
        }
        self.watch_capture(&analysis, timestamp_ms, enforced);
        Ok(analysis)
    }

    /// Holds `capture` of `hand` as if the live path had taken it: for QA tools and tests
    /// that enroll from files. Not in the phone library.
    #[cfg(feature = "dev")]
    pub fn add_capture(&self, hand: Hand, capture: Capture) -> Result<SessionSnapshot, Error> {
        let inner = lock(&self.inner);
        match inner.state {
            SessionState::Capturing { hand: None } => {}
            SessionState::Capturing { hand: Some(h) } if h == hand => {}
            ref other => {
                return Err(SessionFailure::OutOfOrder {
                    call: "add_capture",
                    state: other.name(),
                }
                .into());
            }
        }
        if let Some(saved) = &inner.saved {
            check_hand(saved, hand)?;
        }
        drop(inner);
        self.hold(hand, capture)?;
        Ok(self.snapshot())
    }
}

impl EnrollmentSession {
    /// Whether the enrollment can take a capture of `hand` (not uploaded already, one of
    /// the draft's hands once the draft exists).
    #[cfg(feature = "vision")]
    fn can_take(&self, hand: Hand) -> Result<(), Error> {
        match &lock(&self.inner).saved {
            Some(saved) => check_hand(saved, hand),
            None => Ok(()),
        }
    }

    /// Takes the live path's (or a QA tool's) capture of `hand`.
    #[cfg_attr(not(any(feature = "vision", feature = "dev")), allow(dead_code))]
    fn hold(&self, hand: Hand, capture: Capture) -> Result<(), Error> {
        self.update(|inner| {
            inner.captures.retain(|(h, _)| *h != hand);
            inner.captures.push((hand, Held::Raw(capture)));
            inner.state = inner.resting_state();
            Ok(())
        })?;
        tracing::info!(?hand, "capture held in memory");
        Ok(())
    }

    /// Fails the capture when it takes too long, or when the spoof verdict stays `fail`.
    #[cfg(feature = "vision")]
    fn watch_capture(
        &self,
        analysis: &crate::analysis::FrameAnalysis,
        timestamp_ms: u64,
        enforced: bool,
    ) {
        let options = &self.options;
        // Per frame: only the clock, under a plain lock (no snapshot, no save); the
        // listener machinery runs only when the capture fails.
        let failure = {
            let mut inner = lock(&self.inner);
            if inner.state.name() != StateName::Capturing {
                return;
            }
            let first = *inner.clock.first_ms.get_or_insert(timestamp_ms);
            let failing = enforced && analysis.spoof.verdict == crate::liveness::Verdict::Fail;
            let fail_since = if failing {
                Some(*inner.clock.fail_since_ms.get_or_insert(timestamp_ms))
            } else {
                inner.clock.fail_since_ms = None;
                None
            };
            if fail_since
                .is_some_and(|since| timestamp_ms.saturating_sub(since) >= options.spoof_fail_ms)
            {
                Some(Failure {
                    reason: FailureReason::SpoofSuspected,
                    message: format!(
                        "the spoof layers failed the capture: {}",
                        analysis.spoof.reasons().join("; ")
                    ),
                    retryable: true,
                })
            } else if timestamp_ms.saturating_sub(first) >= options.capture_timeout_ms {
                Some(Failure {
                    reason: FailureReason::CaptureTimedOut,
                    message: format!(
                        "no frame was good enough in {} s; last instruction: {}",
                        options.capture_timeout_ms / 1000,
                        analysis.guidance.code()
                    ),
                    retryable: true,
                })
            } else {
                None
            }
        };
        if let Some(failure) = failure {
            tracing::info!(reason = ?failure.reason, "capture failed");
            let _ = self.update(|inner| {
                // Still capturing: another thread may have moved the session meanwhile.
                if inner.state.name() == StateName::Capturing {
                    inner.state = SessionState::Failed { failure };
                }
                Ok(())
            });
        }
    }
}
