//! The 3-D motion layer with the real landmark model in the loop, on the one attack this
//! data can simulate faithfully: a palm photo held flat in front of the camera while the
//! camera moves (each frame is the photo warped by the homography a flat plane undergoes,
//! K (R + t nᵀ / d) K⁻¹). Whatever the landmark model's jitter, the layer must not call such
//! a burst a real hand; the residuals it measures are the floor any bona fide threshold has
//! to clear. Needs the provisioned models.

use crate::support;

use std::path::PathBuf;

use palmkit_core::analysis::FrameAnalyzer;
use palmkit_core::frame::DecodedImage;
use palmkit_core::liveness::Outcome;
use palmkit_core::liveness::motion::MotionLayer;
use palmkit_core::liveness::simulate::motion;
use palmkit_core::quality::Thresholds;

#[test]
fn a_flat_photo_moved_before_the_camera_is_never_taken_for_a_hand() {
    let models = std::env::var_os("PALMKIT_MODELS")
        .map(PathBuf::from)
        .expect("PALMKIT_MODELS (cargo xtask test sets it)");
    let mut analyzer = FrameAnalyzer::load(&models, Thresholds::default()).unwrap();
    let (mut table, mut outcomes) = (Vec::new(), Vec::new());
    for name in [
        "palm_kbyai_ex5.jpg",
        "palm_tommy_test1.jpg",
        "palm_hagrid_palm.png",
    ] {
        let bytes = std::fs::read(support::testdata_dir().join("palms").join(name)).unwrap();
        let image = DecodedImage::decode(&bytes).unwrap();
        let photo = image.frame();
        analyzer.start_hand(None);
        let mut layer = MotionLayer::default();
        for i in 0..10 {
            // The camera drifts sideways and up and comes a little closer.
            let image = motion::planar_frame(&photo, [0.027, 0.018, 0.036], i);
            let frame = image.frame().unwrap();
            let a = analyzer.analyze(&frame, 1000 + 33 * i as u64).unwrap();
            if let Some(hand) = a.hand {
                layer.push(&hand.landmarks);
            }
        }
        let report = layer.report();
        table.push(format!(
            "{name}: {:?}, residual {:.4} palm lengths: {}",
            report.outcome, report.score, report.reason
        ));
        outcomes.push(report.outcome);
    }
    println!("{}", table.join("\n"));
    // The layer may say "flat" or "unsure" (then the verdict asks for a challenge), never
    // "a hand".
    assert!(
        outcomes.iter().all(|o| *o != Outcome::Pass),
        "a flat photo passed as a hand:\n{}",
        table.join("\n")
    );
}
