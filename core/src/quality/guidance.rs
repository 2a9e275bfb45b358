//! One instruction per frame: the checks in priority order (the first failing one is what
//! the shopper is told), each with hysteresis on its measure, and a debounce so the text on
//! screen does not flicker between two instructions.
//!
//! Priority, most basic first: a hand at all, the palm side, the requested hand, light
//! (nothing else can be judged in the dark), inside the frame, distance, centring, open
//! hand, spread fingers, roll, tilt, glare, motion, focus, noise. When every check passes
//! the instruction is "hold steady" until the auto-capture fires, then "captured".
//!
//! Every code has a localizable message key `guidance.<code>`; English strings are in
//! `core/locales/en.json`.

use serde::Serialize;

use super::hand_report::HandReport;
use super::thresholds::Thresholds;
use crate::protocol::Hand;

/// What the shopper is told, as a stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GuidanceCode {
    /// No hand in view.
    NoHand,
    /// The back of the hand faces the camera.
    ShowPalm,
    /// The right hand is shown, the left was asked for.
    UseLeftHand,
    /// The left hand is shown, the right was asked for.
    UseRightHand,
    /// The palm is too dark.
    TooDark,
    /// The palm is too bright or clipped.
    TooBright,
    /// Part of the hand is out of the picture.
    MoveIntoFrame,
    /// The palm is too small in the picture.
    MoveCloser,
    /// The palm is too large in the picture.
    MoveFarther,
    /// The palm is off centre.
    CenterPalm,
    /// Fingers are curled.
    OpenHand,
    /// Fingers are together.
    SpreadFingers,
    /// The hand is turned in the picture (roll).
    StraightenHand,
    /// The hand is tilted towards or away from the camera (pitch, yaw).
    HoldFlat,
    /// Specular highlights on the palm.
    ReduceGlare,
    /// The hand moves.
    HoldStill,
    /// The palm is not sharp (focus or motion blur).
    Focusing,
    /// The picture is noisy (too little light for the sensor).
    MoreLight,
    /// Everything is right: capturing.
    HoldSteady,
    /// The capture is taken.
    Captured,
    /// Active challenge (spoof detection): close the hand, then open it.
    CloseAndOpenHand,
    /// Active challenge: tilt the hand, then hold it flat again.
    TiltHand,
    /// The spoof layers found no live hand: no capture.
    NotLive,
}

impl GuidanceCode {
    /// Every code, in priority order.
    pub const ALL: [GuidanceCode; 23] = [
        Self::NoHand,
        Self::ShowPalm,
        Self::UseLeftHand,
        Self::UseRightHand,
        Self::TooDark,
        Self::TooBright,
        Self::MoveIntoFrame,
        Self::MoveCloser,
        Self::MoveFarther,
        Self::CenterPalm,
        Self::OpenHand,
        Self::SpreadFingers,
        Self::StraightenHand,
        Self::HoldFlat,
        Self::ReduceGlare,
        Self::HoldStill,
        Self::Focusing,
        Self::MoreLight,
        Self::HoldSteady,
        Self::Captured,
        Self::CloseAndOpenHand,
        Self::TiltHand,
        Self::NotLive,
    ];

    /// The stable code, e.g. `move_closer`.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoHand => "no_hand",
            Self::ShowPalm => "show_palm",
            Self::UseLeftHand => "use_left_hand",
            Self::UseRightHand => "use_right_hand",
            Self::TooDark => "too_dark",
            Self::TooBright => "too_bright",
            Self::MoveIntoFrame => "move_into_frame",
            Self::MoveCloser => "move_closer",
            Self::MoveFarther => "move_farther",
            Self::CenterPalm => "center_palm",
            Self::OpenHand => "open_hand",
            Self::SpreadFingers => "spread_fingers",
            Self::StraightenHand => "straighten_hand",
            Self::HoldFlat => "hold_flat",
            Self::ReduceGlare => "reduce_glare",
            Self::HoldStill => "hold_still",
            Self::Focusing => "focusing",
            Self::MoreLight => "more_light",
            Self::HoldSteady => "hold_steady",
            Self::Captured => "captured",
            Self::CloseAndOpenHand => "close_and_open_hand",
            Self::TiltHand => "tilt_hand",
            Self::NotLive => "not_live",
        }
    }

    /// The localizable message key, `guidance.<code>`.
    pub fn message_key(self) -> String {
        format!("guidance.{}", self.code())
    }

    /// The English message.
    pub fn english(self) -> &'static str {
        english(self.code())
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The English strings (`core/locales/en.json`), by code.
fn english(code: &str) -> &'static str {
    static STRINGS: std::sync::OnceLock<std::collections::BTreeMap<String, String>> =
        std::sync::OnceLock::new();
    STRINGS
        .get_or_init(|| {
            serde_json::from_str(include_str!("../../locales/en.json")).unwrap_or_default()
        })
        .get(&format!("guidance.{code}"))
        .map_or("", String::as_str)
}

/// The checks with their hysteresis state: a failing check stays failing until its
/// measure is back past the limit by the hysteresis band.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    failing: u32,
}

impl Checks {
    /// The first failing check for `seen` (None: all pass), asking for `requested`.
    pub fn evaluate(
        &mut self,
        t: &Thresholds,
        requested: Option<Hand>,
        seen: Option<&HandReport>,
    ) -> Option<GuidanceCode> {
        let before = self.failing;
        let mut now = 0u32;
        let Some(h) = seen.filter(|h| h.presence >= t.min_presence) else {
            self.failing = GuidanceCode::NoHand.bit();
            return Some(GuidanceCode::NoHand);
        };
        let (g, p) = (&h.geometry, &h.pixels);
        let band = t.hysteresis;
        let mut check = |code: GuidanceCode, fails: bool| {
            if fails {
                now |= code.bit();
            }
        };
        let was = |code: GuidanceCode| before & code.bit() != 0;
        // Fails over the limit; once failing, until the value is under limit * (1 - band).
        let above = |code: GuidanceCode, value: f32, limit: f32| {
            let limit = if was(code) {
                limit * (1.0 - band)
            } else {
                limit
            };
            value > limit
        };
        let below = |code: GuidanceCode, value: f32, limit: f32| {
            let limit = if was(code) {
                limit * (1.0 + band)
            } else {
                limit
            };
            value < limit
        };
        use GuidanceCode as C;
        check(C::ShowPalm, !h.palm_facing);
        check(
            C::UseLeftHand,
            requested == Some(Hand::Left) && h.handedness == Hand::Right,
        );
        check(
            C::UseRightHand,
            requested == Some(Hand::Right) && h.handedness == Hand::Left,
        );
        check(C::TooDark, below(C::TooDark, p.mean_luma, t.min_mean_luma));
        check(
            C::TooBright,
            above(C::TooBright, p.mean_luma, t.max_mean_luma)
                || above(C::TooBright, p.clipped_fraction, t.max_clipped_fraction),
        );
        // The frame margin is the band here: out_of_frame counts from inside the margin.
        check(C::MoveIntoFrame, g.out_of_frame > 0.0);
        check(
            C::MoveCloser,
            below(C::MoveCloser, g.palm_size, t.min_palm_size),
        );
        check(
            C::MoveFarther,
            above(C::MoveFarther, g.palm_size, t.max_palm_size),
        );
        check(
            C::CenterPalm,
            above(C::CenterPalm, g.offset_x.hypot(g.offset_y), t.max_offset),
        );
        check(C::OpenHand, g.fingers_extended < t.min_fingers_extended);
        check(
            C::SpreadFingers,
            below(C::SpreadFingers, g.finger_spread, t.min_finger_spread),
        );
        check(
            C::StraightenHand,
            above(C::StraightenHand, g.roll.abs(), t.max_roll),
        );
        check(
            C::HoldFlat,
            above(C::HoldFlat, g.pitch.abs().max(g.yaw.abs()), t.max_tilt),
        );
        check(
            C::ReduceGlare,
            above(C::ReduceGlare, p.glare_fraction, t.max_glare_fraction),
        );
        check(
            C::HoldStill,
            h.motion
                .is_some_and(|m| above(C::HoldStill, m, t.max_motion)),
        );
        check(
            C::Focusing,
            below(C::Focusing, p.sharpness, t.min_sharpness),
        );
        check(C::MoreLight, above(C::MoreLight, p.noise, t.max_noise));
        self.failing = now;
        GuidanceCode::ALL.into_iter().find(|c| now & c.bit() != 0)
    }
}

/// The debounce: the instruction shown changes only when another has been the answer for
/// `stable_frames` frames in a row. The first instruction shows at once.
#[derive(Clone, Debug, Default)]
pub struct Debounce {
    shown: Option<GuidanceCode>,
    candidate: Option<GuidanceCode>,
    run: u32,
}

impl Debounce {
    /// The instruction to show, given this frame's answer.
    pub fn update(&mut self, answer: GuidanceCode, stable_frames: u32) -> GuidanceCode {
        let Some(shown) = self.shown else {
            self.shown = Some(answer);
            return answer;
        };
        if answer == shown {
            self.candidate = None;
            self.run = 0;
            return shown;
        }
        if self.candidate == Some(answer) {
            self.run += 1;
        } else {
            self.candidate = Some(answer);
            self.run = 1;
        }
        if self.run >= stable_frames.max(1) {
            self.shown = Some(answer);
            self.candidate = None;
            self.run = 0;
            return answer;
        }
        shown
    }

    /// Forget what was shown (a new hand is asked for).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::{PixelMeasures, geometry};

    fn good() -> HandReport {
        let lm = geometry::tests::open_palm(540.0, 960.0, 400.0);
        let pixels = PixelMeasures {
            sharpness: 10.0,
            noise: 2.0,
            contrast: 30.0,
            mean_luma: 130.0,
            dark_fraction: 0.0,
            clipped_fraction: 0.0,
            glare_fraction: 0.0,
            step: 1,
        };
        let geometry = geometry::measure(&lm, 1080, 1920, 0.01);
        HandReport {
            motion: Some(0.1),
            ..HandReport::new(lm, 0.99, 0.99, true, geometry, pixels)
        }
    }

    #[test]
    fn a_good_palm_passes_and_each_fault_is_named_by_priority() {
        let t = Thresholds::default();
        let mut checks = Checks::default();
        assert_eq!(checks.evaluate(&t, Some(Hand::Right), Some(&good())), None);
        assert_eq!(checks.evaluate(&t, None, None), Some(GuidanceCode::NoHand));
        let mut h = good();
        h.pixels.mean_luma = 20.0;
        h.geometry.palm_size = 0.1;
        // Light comes before distance.
        let mut checks = Checks::default();
        assert_eq!(
            checks.evaluate(&t, None, Some(&h)),
            Some(GuidanceCode::TooDark)
        );
        assert_eq!(
            checks.evaluate(&t, Some(Hand::Left), Some(&h)),
            Some(GuidanceCode::UseLeftHand)
        );
        h.palm_facing = false;
        assert_eq!(
            checks.evaluate(&t, None, Some(&h)),
            Some(GuidanceCode::ShowPalm)
        );
        let mut h = good();
        h.motion = Some(3.0);
        assert_eq!(
            checks.evaluate(&t, None, Some(&h)),
            Some(GuidanceCode::HoldStill)
        );
        h.pixels.sharpness = 1.0;
        h.motion = None;
        assert_eq!(
            checks.evaluate(&t, None, Some(&h)),
            Some(GuidanceCode::Focusing)
        );
    }

    #[test]
    fn a_failing_check_needs_the_band_to_pass_again() {
        let t = Thresholds::default();
        let mut checks = Checks::default();
        let mut h = good();
        h.geometry.palm_size = t.min_palm_size * 0.98;
        assert_eq!(
            checks.evaluate(&t, None, Some(&h)),
            Some(GuidanceCode::MoveCloser)
        );
        // Just over the limit is not enough once failing...
        h.geometry.palm_size = t.min_palm_size * 1.05;
        assert_eq!(
            checks.evaluate(&t, None, Some(&h)),
            Some(GuidanceCode::MoveCloser)
        );
        // ...past the band is.
        h.geometry.palm_size = t.min_palm_size * 1.12;
        assert_eq!(checks.evaluate(&t, None, Some(&h)), None);
        // And from passing, just over the limit passes.
        h.geometry.palm_size = t.min_palm_size * 1.05;
        assert_eq!(checks.evaluate(&t, None, Some(&h)), None);
    }

    #[test]
    fn the_debounce_holds_an_instruction_against_one_frame_blips() {
        let mut d = Debounce::default();
        use GuidanceCode as C;
        assert_eq!(d.update(C::MoveCloser, 3), C::MoveCloser);
        assert_eq!(d.update(C::CenterPalm, 3), C::MoveCloser);
        assert_eq!(d.update(C::MoveCloser, 3), C::MoveCloser);
        assert_eq!(d.update(C::CenterPalm, 3), C::MoveCloser);
        assert_eq!(d.update(C::CenterPalm, 3), C::MoveCloser);
        assert_eq!(d.update(C::CenterPalm, 3), C::CenterPalm);
    }

    #[test]
    fn every_code_has_an_english_message_and_no_message_is_orphaned() {
        let strings: std::collections::BTreeMap<String, String> =
            serde_json::from_str(include_str!("../../locales/en.json")).unwrap();
        for c in GuidanceCode::ALL {
            assert!(!c.english().is_empty(), "{} has no English text", c.code());
            assert!(strings.contains_key(&c.message_key()));
            assert_eq!(serde_json::to_value(c).unwrap(), c.code());
        }
        let guidance = strings
            .keys()
            .filter(|k| k.starts_with("guidance."))
            .count();
        assert_eq!(guidance, GuidanceCode::ALL.len());
    }
}
