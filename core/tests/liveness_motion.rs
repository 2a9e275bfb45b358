//! The 3-D motion layer with the real landmark model in the loop, on the one attack this
//! data can simulate faithfully: a palm photo held flat in front of the camera while the
//! camera moves (each frame is the photo warped by the homography a flat plane undergoes,
//! K (R + t nᵀ / d) K⁻¹). Whatever the landmark model's jitter, the layer must not call such
//! a burst a real hand; the residuals it measures are the floor any bona fide threshold has
//! to clear. Needs the provisioned models.

mod support;

use std::path::PathBuf;

use palmkit_core::analysis::FrameAnalyzer;
use palmkit_core::frame::{DecodedImage, Frame, Orientation, PackedFormat};
use palmkit_core::liveness::Outcome;
use palmkit_core::liveness::motion::MotionLayer;
use palmkit_core::quality::Thresholds;

const W: u32 = 480;
const H: u32 = 640;
const F: f64 = 600.0;

/// The photo as seen by a camera at `(tx, ty, tz)` metres from where it started, the photo
/// 0.3 m away facing it: output pixel → photo pixel through the plane's homography.
fn render(photo: &Frame<'_>, t: [f64; 3]) -> Vec<u8> {
    let (pw, ph) = photo.upright_size();
    // The photo spans the frame at the start: photo pixel per output pixel.
    let scale = (f64::from(pw) / f64::from(W)).max(f64::from(ph) / f64::from(H));
    let d = 0.3;
    let mut rgb = vec![0u8; (W * H * 3) as usize];
    for y in 0..H {
        for x in 0..W {
            // Back-project the output ray to the plane z = d in the camera's new position.
            let (rx, ry) = (
                (f64::from(x) - f64::from(W) / 2.0) / F,
                (f64::from(y) - f64::from(H) / 2.0) / F,
            );
            let z = d - t[2];
            let (px, py) = (rx * z + t[0], ry * z + t[1]);
            // Where that plane point was seen from the start: the photo pixel.
            let (u, v) = (
                px / d * F * scale + f64::from(pw) / 2.0,
                py / d * F * scale + f64::from(ph) / 2.0,
            );
            if u < 0.0 || v < 0.0 || u >= f64::from(pw) || v >= f64::from(ph) {
                continue;
            }
            let (sx, sy) = photo.to_sensor(u as u32, v as u32);
            let at = ((y * W + x) * 3) as usize;
            rgb[at..at + 3].copy_from_slice(&photo.rgb(sx, sy));
        }
    }
    rgb
}

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
            let k = f64::from(i);
            // The camera drifts sideways and up and comes a little closer.
            let rgb = render(&photo, [0.003 * k, 0.002 * k, 0.004 * k]);
            let frame = Frame::packed(
                &rgb,
                W,
                H,
                PackedFormat::Rgb888,
                W as usize * 3,
                Orientation::default(),
            )
            .unwrap();
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
