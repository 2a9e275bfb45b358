//! The layers together, as the frame analysis runs them: on the live path every frame
//! feeds capture integrity, the motion burst, the single-picture layers (their scores as
//! the median of the last few frames with a hand, so one odd frame neither fails nor clears
//! a shopper) and, once issued, the active challenge; on a still file only the
//! single-picture layers apply.

use crate::frame::Frame;
use crate::quality::{HandReport, SensorRect};

use super::challenge::{Challenge, ChallengeKind};
use super::integrity::CaptureIntegrity;
use super::motion::{self, MotionLayer};
use super::passive::{PassiveLayers, print_report, screen_report};
use super::spectrum::{Peak, Periodicity};
use super::verdict::SpoofVerdict;
use super::{Layer, LayerReport, Outcome};

/// Frames whose single-picture scores are pooled.
const POOL: usize = 5;

/// The challenge's report before one is issued.
fn no_challenge() -> LayerReport {
    LayerReport::new(
        Layer::Challenge,
        0.0,
        1.0,
        Outcome::NotApplicable,
        "no challenge issued".into(),
    )
}

/// Every layer's state over a live run of frames.
#[derive(Default)]
pub struct LiveLayers {
    integrity: CaptureIntegrity,
    motion: MotionLayer,
    passive: PassiveLayers,
    recent: [Periodicity; POOL],
    recent_count: usize,
    next: usize,
    challenge: Option<Challenge>,
}

impl LiveLayers {
    /// Forgets the run (a new hand to capture).
    pub fn reset(&mut self) {
        self.integrity.reset();
        self.motion.reset();
        self.recent_count = 0;
        self.next = 0;
        self.challenge = None;
    }

    /// Issues the active challenge `kind` at `now_ms` (replacing any earlier one).
    pub fn issue_challenge(&mut self, kind: ChallengeKind, now_ms: u64) {
        self.challenge = Some(Challenge::issue(kind, now_ms));
    }

    /// The challenge issued, if any.
    pub fn challenge(&self) -> Option<&Challenge> {
        self.challenge.as_ref()
    }

    /// Whether the motion layer has had a burst long enough to judge: only then is a
    /// challenge worth issuing (the hand may yet move enough on its own).
    pub fn motion_judged(&self) -> bool {
        self.motion.len() >= motion::MIN_FRAMES
    }

    /// One live frame taken at `timestamp_ms`, with the hand when one is present. The
    /// layers follow a hand only while its palm lies inside the frame.
    pub fn frame(
        &mut self,
        frame: &Frame<'_>,
        timestamp_ms: u64,
        hand: Option<&HandReport>,
    ) -> SpoofVerdict {
        self.integrity.push(frame, timestamp_ms);
        let hand = hand.and_then(|h| Some((h, h.palm_rect(frame)?)));
        if let Some(c) = self.challenge.as_mut() {
            c.update(timestamp_ms, hand.map(|(h, _)| &h.geometry));
        }
        match hand {
            Some((h, palm)) => {
                self.motion.push(&h.landmarks);
                if let Some(p) = self.passive.measure(frame, palm) {
                    self.recent[self.next] = p;
                    self.next = (self.next + 1) % POOL;
                    self.recent_count = (self.recent_count + 1).min(POOL);
                }
            }
            None => self.motion.reset(),
        }
        let pooled = (self.recent_count > 0).then(|| self.pooled());
        SpoofVerdict::combine(vec![
            self.integrity.report(),
            screen_report(pooled.as_ref()),
            print_report(pooled.as_ref()),
            self.motion.report(),
            self.challenge
                .as_ref()
                .map_or_else(no_challenge, Challenge::report),
        ])
    }

    /// The median single-picture scores of the recent frames.
    fn pooled(&self) -> Periodicity {
        let recent = &self.recent[..self.recent_count];
        // On every live frame: sorted in a fixed array, nothing allocated.
        let median = |pick: fn(&Periodicity) -> Peak| {
            let mut peaks = [Peak::default(); POOL];
            for (slot, p) in peaks.iter_mut().zip(recent) {
                *slot = pick(p);
            }
            let peaks = &mut peaks[..recent.len()];
            peaks.sort_by(|a, b| a.strength.total_cmp(&b.strength));
            peaks[peaks.len() / 2]
        };
        Periodicity {
            luma: median(|p| p.luma),
            chroma: median(|p| p.chroma),
            windows: recent[0].windows,
        }
    }
}

/// The verdict on a still picture (desktop tools): the single-picture layers on `rect`
/// (the palm, or the whole picture when no hand was found); the live-frame layers do not
/// apply.
pub fn still(passive: &mut PassiveLayers, frame: &Frame<'_>, rect: SensorRect) -> SpoofVerdict {
    let p = passive.measure(frame, rect);
    SpoofVerdict::combine(vec![
        CaptureIntegrity::not_applicable(),
        screen_report(p.as_ref()),
        print_report(p.as_ref()),
        MotionLayer::not_applicable(),
        LayerReport::new(
            Layer::Challenge,
            0.0,
            1.0,
            Outcome::NotApplicable,
            "a still file cannot answer a challenge".into(),
        ),
    ])
}
