//! The spoof verdict enforced on the live path, with the real models: frames of an open
//! palm (with sensor-like noise, so capture integrity passes) that never move enough for
//! the 3-D motion layer get the active challenge; frames of the same person's fist, then the
//! open palm again, meet it, and only then is the palm captured, with the verdict sealed in
//! the capture's metadata. Held open past the time limit, the challenge fails and nothing
//! is captured. (The two pictures are crops of one HaGRID photo: one left hand, open and
//! closed.) Needs the provisioned models.

use crate::support;

use std::path::PathBuf;

use palmkit_core::analysis::{FrameAnalysis, FrameAnalyzer, LivenessPolicy};
use palmkit_core::frame::{DecodedImage, Frame, Orientation, PackedFormat};
use palmkit_core::liveness::simulate::{self, RgbImage, motion};
use palmkit_core::liveness::{ChallengeKind, Outcome, Verdict};
use palmkit_core::quality::{GuidanceCode, Thresholds};

const SIDE: u32 = 480;

fn analyzer() -> FrameAnalyzer {
    let dir = std::env::var_os("PALMKIT_MODELS")
        .map(PathBuf::from)
        .expect("PALMKIT_MODELS (cargo xtask test sets it)");
    let mut a = FrameAnalyzer::load(&dir, Thresholds::default()).unwrap();
    a.set_liveness_policy(LivenessPolicy::Enforce);
    a.set_challenges(&[ChallengeKind::CloseAndOpen]);
    a.start_hand(None);
    a
}

/// A test picture scaled to SIDE x SIDE RGB.
fn picture(folder: &str, name: &str) -> Vec<u8> {
    support::square_rgb(folder, name, SIDE)
}

/// Feeds `rgb` as a live frame at `t` ms, with ±1 of noise seeded by `t` (a sensor never
/// delivers the same picture twice).
fn feed(a: &mut FrameAnalyzer, rgb: &[u8], t: u64) -> FrameAnalysis {
    feed_sized(a, rgb, SIDE, SIDE, t)
}

/// [`feed`] for a `width` x `height` picture.
fn feed_sized(a: &mut FrameAnalyzer, rgb: &[u8], width: u32, height: u32, t: u64) -> FrameAnalysis {
    let noisy = support::with_sensor_noise(rgb, t);
    a.analyze(&rgb_frame(&noisy, width, height), t).unwrap()
}

/// An upright RGB frame over `rgb`.
fn rgb_frame(rgb: &[u8], width: u32, height: u32) -> Frame<'_> {
    Frame::packed(
        rgb,
        width,
        height,
        PackedFormat::Rgb888,
        width as usize * 3,
        Orientation::default(),
    )
    .unwrap()
}

#[test]
fn closing_and_opening_the_hand_meets_the_challenge_and_unlocks_the_capture() {
    let palm = picture("palms", "palm_hagrid_palm.png");
    let fist = picture("hands", "fist_hagrid_fist.png");
    let mut a = analyzer();
    let mut t = 0;
    // The open palm, held still: no capture, the challenge comes.
    let mut asked = None;
    for _ in 0..20 {
        t += 50;
        let r = feed(&mut a, &palm, t);
        assert!(!r.captured, "captured before the challenge: {:?}", r.spoof);
        assert_ne!(r.spoof.verdict, Verdict::Fail, "{:?}", r.spoof);
        if r.guidance == GuidanceCode::CloseAndOpenHand {
            asked = Some(r);
            break;
        }
    }
    let asked = asked.expect("no challenge in 20 frames of a still hand");
    assert_eq!(asked.spoof.verdict, Verdict::Challenge);
    let motion = asked.spoof.layer("motion_3d").unwrap();
    assert_eq!(motion.outcome, Outcome::Unsure, "{motion:?}");
    // The fist: half-way.
    for _ in 0..6 {
        t += 50;
        let r = feed(&mut a, &fist, t);
        assert!(!r.captured);
    }
    let half = feed(&mut a, &fist, t + 50);
    t += 50;
    assert_eq!(
        half.spoof.layer("challenge").unwrap().score,
        0.5,
        "{:?}",
        half.spoof
    );
    // Open again: met, and the capture follows.
    let mut captured = None;
    for _ in 0..30 {
        t += 50;
        let r = feed(&mut a, &palm, t);
        if r.captured {
            captured = Some(r);
            break;
        }
    }
    let captured = captured.expect("no capture after the challenge was met");
    assert_eq!(
        captured.spoof.verdict,
        Verdict::Pass,
        "{:?}",
        captured.spoof
    );
    let challenge = captured.spoof.layer("challenge").unwrap();
    assert_eq!(challenge.outcome, Outcome::Pass);
    let capture = a.take_capture().unwrap().expect("the capture is kept");
    let sealed = capture.spoof().expect("the verdict goes with it");
    assert_eq!(sealed.verdict, "pass");
    assert!(
        sealed
            .layers
            .iter()
            .any(|l| l.layer == "challenge" && l.outcome == "pass"),
        "{sealed:?}"
    );
}

#[test]
fn a_challenge_not_met_in_time_fails_and_nothing_is_captured() {
    let palm = picture("palms", "palm_hagrid_palm.png");
    let mut a = analyzer();
    let mut last = None;
    // Ten seconds of a still open palm, five frames a second.
    for i in 1..=50u64 {
        let r = feed(&mut a, &palm, i * 200);
        assert!(!r.captured, "frame {i}: {:?}", r.spoof);
        last = Some(r);
    }
    let last = last.unwrap();
    assert_eq!(last.spoof.verdict, Verdict::Fail, "{:?}", last.spoof);
    assert_eq!(last.guidance, GuidanceCode::NotLive);
    let challenge = last.spoof.layer("challenge").unwrap();
    assert!(
        challenge.reason.contains("not met within 8 s"),
        "{challenge:?}"
    );
}

/// A printed (or displayed) palm tilted forward by up to 60° and back, over and over, for
/// ten seconds: the frames of one sweep, in order (the photo's crop around the hand as a
/// plane 0.3 m from the camera, `simulate::motion::plane_frame`).
fn tilted_print_sweep() -> Vec<RgbImage> {
    let (_, bytes) = support::image_files("palms", |n| n == "palm_hagrid_palm.png").remove(0);
    let decoded = DecodedImage::decode(&bytes).unwrap();
    let frame = decoded.frame();
    let mut a = analyzer();
    let hand = a.analyze_still(&frame).unwrap().hand.expect("a hand");
    let crop = simulate::hand_crop(&frame, hand.bounds.0).unwrap();
    let crop = crop.frame().unwrap();
    [0.0, 0.0, 0.0, 20.0, 40.0, 60.0, 40.0, 20.0]
        .iter()
        .map(|&pitch| motion::plane_frame(&crop, [0.0; 3], pitch, 0.0))
        .collect()
}

/// Runs `a` on the sweep, five frames a second for ten seconds; returns every result.
fn run_sweep(a: &mut FrameAnalyzer, sweep: &[RgbImage]) -> Vec<FrameAnalysis> {
    (1..=50u64)
        .map(|i| {
            let image = &sweep[i as usize % sweep.len()];
            feed_sized(a, &image.rgb, image.width, image.height, i * 200)
        })
        .collect()
}

#[test]
fn a_tilted_print_cannot_meet_the_default_challenge_but_can_meet_the_tilt_one() {
    let sweep = tilted_print_sweep();
    // The default: close-and-open, which tilting a flat picture never shows.
    let mut a = FrameAnalyzer::load(
        &std::env::var_os("PALMKIT_MODELS")
            .map(PathBuf::from)
            .unwrap(),
        Thresholds::default(),
    )
    .unwrap();
    a.start_hand(None);
    let results = run_sweep(&mut a, &sweep);
    assert!(
        results.iter().all(|r| !r.captured),
        "a tilted print was captured"
    );
    assert!(
        results
            .iter()
            .any(|r| r.guidance == GuidanceCode::CloseAndOpenHand),
        "the default challenge was never asked"
    );
    assert!(results.iter().all(|r| r.guidance != GuidanceCode::TiltHand));
    let last = results.last().unwrap();
    assert_eq!(last.spoof.verdict, Verdict::Fail, "{:?}", last.spoof);
    let challenge = last.spoof.layer("challenge").unwrap();
    assert!(challenge.reason.contains("not met within"), "{challenge:?}");
    // Why tilt is not drawn by default: the model's pitch follows the tilted picture far
    // enough (here about 30° at 60°) for the tilt challenge to be met.
    let mut tilt = analyzer();
    tilt.set_challenges(&[ChallengeKind::Tilt]);
    let results = run_sweep(&mut tilt, &sweep);
    assert!(
        results.iter().any(|r| r
            .spoof
            .layer("challenge")
            .is_some_and(|c| c.outcome == Outcome::Pass)),
        "the tilted print did not meet the tilt challenge: the docs' warning is out of date"
    );
}

/// The live path in one call: the frame the auto-capture fires on carries the capture
/// (with its verdict), every other frame none, and it is handed out once.
#[test]
fn the_captured_frame_carries_its_capture_once() {
    let palm = picture("palms", "palm_hagrid_palm.png");
    let mut a = analyzer();
    // A still picture is no live hand: report-only, so the capture fires on it.
    a.set_liveness_policy(LivenessPolicy::ReportOnly);
    let mut fired = None;
    for i in 0..40u64 {
        let t = 1_000 + 50 * i;
        let noisy = support::with_sensor_noise(&palm, t);
        let live = a.analyze_live(&rgb_frame(&noisy, SIDE, SIDE), t).unwrap();
        assert!(!live.enforced, "report-only is not enforced");
        assert_eq!(live.capture.is_some(), live.analysis.captured, "frame {i}");
        if let Some(capture) = live.capture {
            fired = Some(capture);
            break;
        }
    }
    let capture = fired.expect("no capture in 40 frames");
    assert!(
        capture.spoof().is_some(),
        "the verdict of that moment goes with it"
    );
    assert!(a.take_capture().unwrap().is_none(), "handed out once");
}
