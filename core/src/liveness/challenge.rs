//! Layer 5, the active challenge: when the passive layers cannot tell (typically the hand
//! has not moved enough for the 3-D motion layer), the shopper is asked to do something a
//! photo or a screen cannot — close the hand and open it again, or tilt it — and the
//! landmarks verify it, within a time limit.
//!
//! Which challenge is drawn at random by the core when it is issued (from the OS random
//! source), so a replayed video cannot know in advance which movement to show. Verified
//! from the hand geometry of every frame:
//! - **close and open**: the fingers extended drop to [`CLOSED_FINGERS`] or fewer, then
//!   come back to [`OPEN_FINGERS`] or more;
//! - **tilt**: pitch or yaw moves [`TILT_DEGREES`] away from where it was when the
//!   challenge was issued, then comes back within half of that.
//!
//! A challenge not met within [`TIMEOUT_MS`] fails. The hand leaving the picture does not
//! restart the clock.
//!
//! Only close-and-open is drawn by default ([`ChallengeKind::DEFAULT`]). A tilt can be
//! made with a photo: the landmark model reads pitch from the hand's appearance, and a
//! printed or displayed palm turned 50° about its horizontal axis moves the model's pitch
//! by 20° or more for most photos (docs/spoof-detection.md, "The tilt challenge"). Closing
//! the hand is an articulation no flat picture can show. Tilt stays available for the
//! shoppers who cannot close a hand, at that cost.

use crate::quality::HandGeometry;

use super::{Layer, LayerReport, Outcome};

/// Time allowed to meet a challenge.
pub const TIMEOUT_MS: u64 = 8_000;
/// A hand with this many fingers extended or fewer counts as closed.
pub const CLOSED_FINGERS: u8 = 1;
/// A hand with this many fingers extended or more counts as open.
pub const OPEN_FINGERS: u8 = 4;
/// Tilt, degrees of pitch or yaw, away from the start.
pub const TILT_DEGREES: f32 = 20.0;

/// The movements asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ChallengeKind {
    /// Close the hand into a fist, then open it again.
    CloseAndOpen,
    /// Tilt the hand (any direction), then hold it flat again.
    Tilt,
}

impl ChallengeKind {
    /// Every kind.
    pub const ALL: [ChallengeKind; 2] = [ChallengeKind::CloseAndOpen, ChallengeKind::Tilt];

    /// The kinds drawn unless the app chooses: close-and-open only (a tilted photo can
    /// meet the tilt challenge; see the module documentation).
    pub const DEFAULT: [ChallengeKind; 1] = [ChallengeKind::CloseAndOpen];

    /// Draws one of `kinds` at random (`CloseAndOpen` when `kinds` is empty).
    pub fn random_of(kinds: &[ChallengeKind]) -> Self {
        let mut byte = [0u8; 1];
        let pick = getrandom::fill(&mut byte).map_or(0, |()| usize::from(byte[0]));
        kinds
            .get(pick % kinds.len().max(1))
            .copied()
            .unwrap_or(Self::CloseAndOpen)
    }
}

/// Progress through a challenge.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// Waiting for the first half (closed / tilted away).
    First,
    /// Waiting for the second half (open again / back).
    Second,
    /// Met.
    Done,
    /// Not met in time.
    TimedOut,
}

/// One issued challenge and its progress.
#[derive(Clone, Debug)]
pub struct Challenge {
    kind: ChallengeKind,
    issued_ms: u64,
    step: Step,
    /// Pitch and yaw when first seen (tilt).
    start: Option<(f32, f32)>,
    /// The largest tilt away from the start seen so far.
    max_tilt: f32,
}

impl Challenge {
    /// Issues `kind` at `now_ms` (the camera clock).
    pub fn issue(kind: ChallengeKind, now_ms: u64) -> Self {
        Self {
            kind,
            issued_ms: now_ms,
            step: Step::First,
            start: None,
            max_tilt: 0.0,
        }
    }

    /// Which movement is asked for.
    pub fn kind(&self) -> ChallengeKind {
        self.kind
    }

    /// Whether it is over (met or timed out).
    pub fn is_over(&self) -> bool {
        matches!(self.step, Step::Done | Step::TimedOut)
    }

    /// One frame at `now_ms`, with the hand's geometry when a hand is in view.
    pub fn update(&mut self, now_ms: u64, hand: Option<&HandGeometry>) {
        if self.is_over() {
            return;
        }
        if let Some(g) = hand {
            match self.kind {
                ChallengeKind::CloseAndOpen => match self.step {
                    Step::First if g.fingers_extended <= CLOSED_FINGERS => self.step = Step::Second,
                    Step::Second if g.fingers_extended >= OPEN_FINGERS => self.step = Step::Done,
                    _ => {}
                },
                ChallengeKind::Tilt => {
                    let (p0, y0) = *self.start.get_or_insert((g.pitch, g.yaw));
                    let away = (g.pitch - p0).abs().max((g.yaw - y0).abs());
                    self.max_tilt = self.max_tilt.max(away);
                    match self.step {
                        Step::First if away >= TILT_DEGREES => self.step = Step::Second,
                        Step::Second if away <= TILT_DEGREES / 2.0 => self.step = Step::Done,
                        _ => {}
                    }
                }
            }
        }
        if self.step != Step::Done && now_ms.saturating_sub(self.issued_ms) > TIMEOUT_MS {
            self.step = Step::TimedOut;
        }
    }

    /// The layer's report. Score: 1 met, 0.5 half-way, 0 otherwise.
    pub fn report(&self) -> LayerReport {
        let what = match self.kind {
            ChallengeKind::CloseAndOpen => "close and open the hand",
            ChallengeKind::Tilt => "tilt the hand and bring it back",
        };
        let (score, outcome, reason) = match self.step {
            Step::Done => (1.0, Outcome::Pass, format!("challenge met: {what}")),
            Step::TimedOut => (
                0.0,
                Outcome::Fail,
                format!("challenge not met within {} s: {what}", TIMEOUT_MS / 1000),
            ),
            Step::Second => (0.5, Outcome::Unsure, format!("challenge half-way: {what}")),
            Step::First => (0.0, Outcome::Unsure, format!("challenge issued: {what}")),
        };
        LayerReport::new(Layer::Challenge, score, 1.0, outcome, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hand(fingers: u8, pitch: f32, yaw: f32) -> HandGeometry {
        HandGeometry {
            fingers_extended: fingers,
            pitch,
            yaw,
            ..HandGeometry::default()
        }
    }

    #[test]
    fn closing_then_opening_meets_the_challenge_and_opening_alone_does_not() {
        let mut c = Challenge::issue(ChallengeKind::CloseAndOpen, 1000);
        c.update(1033, Some(&hand(4, 0.0, 0.0)));
        assert_eq!(c.report().outcome, Outcome::Unsure);
        c.update(1066, Some(&hand(1, 0.0, 0.0)));
        assert_eq!(c.report().score, 0.5);
        c.update(1100, None);
        c.update(1133, Some(&hand(4, 0.0, 0.0)));
        assert_eq!(c.report().outcome, Outcome::Pass);
        assert!(c.is_over());
        // A photo: the fingers never close.
        let mut photo = Challenge::issue(ChallengeKind::CloseAndOpen, 0);
        for t in (0..=9000).step_by(33) {
            photo.update(t, Some(&hand(4, 0.0, 0.0)));
        }
        let r = photo.report();
        assert_eq!(r.outcome, Outcome::Fail);
        assert!(r.reason.contains("not met within 8 s"), "{}", r.reason);
    }

    #[test]
    fn tilting_away_and_back_meets_the_challenge() {
        let mut c = Challenge::issue(ChallengeKind::Tilt, 0);
        c.update(10, Some(&hand(4, 5.0, -3.0)));
        c.update(20, Some(&hand(4, 5.0, 14.0)));
        assert_eq!(c.report().score, 0.0, "17 degrees is not yet a tilt");
        c.update(30, Some(&hand(4, 5.0, 18.0)));
        assert_eq!(c.report().score, 0.5);
        c.update(40, Some(&hand(4, 6.0, 0.0)));
        assert_eq!(c.report().outcome, Outcome::Pass);
    }

    #[test]
    fn the_clock_runs_while_the_hand_is_away_and_a_met_challenge_stays_met() {
        let mut c = Challenge::issue(ChallengeKind::Tilt, 0);
        c.update(TIMEOUT_MS + 1, None);
        assert_eq!(c.report().outcome, Outcome::Fail);
        let mut met = Challenge::issue(ChallengeKind::CloseAndOpen, 0);
        met.update(10, Some(&hand(0, 0.0, 0.0)));
        met.update(20, Some(&hand(4, 0.0, 0.0)));
        met.update(TIMEOUT_MS * 2, None);
        assert_eq!(met.report().outcome, Outcome::Pass);
    }

    #[test]
    fn every_kind_allowed_is_drawn() {
        let kinds: std::collections::HashSet<_> = (0..64)
            .map(|_| ChallengeKind::random_of(&ChallengeKind::ALL))
            .collect();
        assert_eq!(kinds.len(), 2);
        for _ in 0..16 {
            assert_eq!(
                ChallengeKind::random_of(&[ChallengeKind::Tilt]),
                ChallengeKind::Tilt
            );
        }
        assert_eq!(ChallengeKind::random_of(&[]), ChallengeKind::CloseAndOpen);
    }
}
