//! The quality thresholds against the shared test photographs: every real colour palm
//! photo passes the pixel checks (light, glare, focus, noise), and copies of them degraded
//! on purpose fail the check they were degraded for — a box blur of 3 % of the palm length
//! (at least 3 px: it wipes out palm creases; checked on palms of 150 px and more), a
//! quarter of the light, uniform noise of ±40, and 3x overexposure. The COEP set (240 photos of right
//! palms) is found, called right and palm-facing. Needs the provisioned models.

use crate::support;

use std::path::PathBuf;

use palmkit_core::analysis::{FrameAnalyzer, HandReport};
use palmkit_core::frame::{DecodedImage, Frame, Orientation, PackedFormat};
use palmkit_core::protocol::Hand;
use palmkit_core::quality::{
    Checks, GuidanceCode, PixelMeasures, PixelScratch, SensorRect, Thresholds, geometry, pixels,
};

fn analyzer() -> FrameAnalyzer {
    let dir = std::env::var_os("PALMKIT_MODELS")
        .map(PathBuf::from)
        .expect("PALMKIT_MODELS (cargo xtask test sets it)");
    FrameAnalyzer::load(&dir, Thresholds::default()).unwrap()
}

fn photos(folder: &str) -> Vec<(String, Vec<u8>)> {
    support::image_files(folder, |name| !name.contains("gray"))
}

/// The upright RGB picture of a decoded image.
fn upright(image: &DecodedImage) -> (Vec<u8>, u32, u32) {
    let frame = image.frame();
    let (w, h) = frame.upright_size();
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = frame.to_sensor(x, y);
            rgb.extend_from_slice(&frame.rgb(sx, sy));
        }
    }
    (rgb, w, h)
}

/// The pixel measures of `rgb` over the palm of `hand`.
fn measure(rgb: &[u8], w: u32, h: u32, hand: &HandReport) -> PixelMeasures {
    let frame = Frame::packed(
        rgb,
        w,
        h,
        PackedFormat::Rgb888,
        w as usize * 3,
        Orientation::default(),
    )
    .unwrap();
    let [x0, y0, x1, y1] = geometry::palm_bounds(&hand.landmarks);
    let rect = SensorRect::from_upright(&frame, x0, y0, x1, y1).unwrap();
    pixels::measure(&frame, rect, &mut PixelScratch::default())
}

/// The first failing check, looking at the pixel measures only (geometry made perfect).
fn pixel_verdict(p: PixelMeasures) -> Option<GuidanceCode> {
    let geometry = geometry::HandGeometry {
        palm_size: 0.4,
        fingers_extended: 4,
        finger_spread: 1.6,
        ..Default::default()
    };
    let lm = [[0.0; 3]; 21];
    let seen = HandReport::new(lm, 1.0, 1.0, true, geometry, p);
    Checks::default().evaluate(&Thresholds::default(), None, Some(&seen))
}

/// A box blur of `radius` pixels, horizontal then vertical, with running sums (edges
/// repeat).
fn blur(rgb: &[u8], w: u32, h: u32, radius: usize) -> Vec<u8> {
    let (w, h) = (w as usize, h as usize);
    let width = 2 * radius + 1;
    // One pass along lines of `len` samples `step` apart, starting at each of `starts`.
    let pass = |src: &[u8], len: usize, step: usize, starts: Vec<usize>| {
        let mut out = vec![0u8; src.len()];
        for start in starts {
            for c in 0..3 {
                let at = |i: isize| start + (i.clamp(0, len as isize - 1) as usize) * step + c;
                let mut sum: u32 = (-(radius as isize)..=radius as isize)
                    .map(|i| u32::from(src[at(i)]))
                    .sum();
                for i in 0..len as isize {
                    out[at(i)] = (sum / width as u32) as u8;
                    sum += u32::from(src[at(i + radius as isize + 1)]);
                    sum -= u32::from(src[at(i - radius as isize)]);
                }
            }
        }
        out
    };
    let rows = pass(rgb, w, 3, (0..h).map(|y| y * w * 3).collect());
    pass(&rows, h, w * 3, (0..w).map(|x| x * 3).collect())
}

/// Palms shorter than this (pixels) are left out of the blur check: the focus threshold is
/// calibrated for the palm sizes the distance check lets through on a phone (at least
/// 0.22 of a 720p frame's short side, 158 px).
const MIN_PALM_FOR_FOCUS: f32 = 150.0;

#[test]
fn real_palms_pass_the_pixel_checks_and_degraded_copies_fail_the_right_one() {
    let mut analyzer = analyzer();
    let (mut table, mut failures) = (Vec::new(), Vec::new());
    let mut noise_state = 0x9e37_79b9_7f4a_7c15u64;
    for (name, bytes) in photos("palms") {
        let image = DecodedImage::decode(&bytes).unwrap();
        let analysis = analyzer.analyze_still(&image.frame()).unwrap();
        let hand = analysis.hand.unwrap_or_else(|| panic!("no hand on {name}"));
        let (rgb, w, h) = upright(&image);
        let original = measure(&rgb, w, h, &hand);

        let palm = hand.geometry.palm_size * w.min(h) as f32;
        let radius = ((0.03 * palm) as usize).max(3);
        let blurred = measure(&blur(&rgb, w, h, radius), w, h, &hand);
        let dark: Vec<u8> = rgb.iter().map(|&v| v / 4).collect();
        let dark = measure(&dark, w, h, &hand);
        let bright: Vec<u8> = rgb
            .iter()
            .map(|&v| (u32::from(v) * 3).min(255) as u8)
            .collect();
        let bright = measure(&bright, w, h, &hand);
        let noisy: Vec<u8> = rgb
            .iter()
            .map(|&v| {
                noise_state ^= noise_state << 13;
                noise_state ^= noise_state >> 7;
                noise_state ^= noise_state << 17;
                // Uniform ±40: σ ≈ 23 luma levels.
                (i32::from(v) + (noise_state % 81) as i32 - 40).clamp(0, 255) as u8
            })
            .collect();
        let noisy = measure(&noisy, w, h, &hand);
        table.push(format!(
            "{name}: palm {palm:.0} px, sharp {:.1} -> blurred (r {radius}) {:.1}; luma {:.0} -> {:.0} / {:.0}; noise {:.1} -> {:.1}",
            original.sharpness, blurred.sharpness, original.mean_luma, dark.mean_luma, bright.mean_luma, original.noise, noisy.noise
        ));
        for (what, measures, expected) in [
            ("original", original, None),
            ("blurred", blurred, Some(GuidanceCode::Focusing)),
            ("darkened", dark, Some(GuidanceCode::TooDark)),
            ("overexposed", bright, Some(GuidanceCode::TooBright)),
            ("noisy", noisy, Some(GuidanceCode::MoreLight)),
        ] {
            if what == "blurred" && palm < MIN_PALM_FOR_FOCUS {
                continue;
            }
            let got = pixel_verdict(measures);
            if got != expected {
                failures.push(format!(
                    "{name} {what}: {got:?}, expected {expected:?}: {measures:?}"
                ));
            }
        }
    }
    println!("{}", table.join("\n"));
    assert!(table.len() >= 15, "{} palm photos", table.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_coep_right_palms_are_found_right_and_palm_facing() {
    let mut analyzer = analyzer();
    let coep = photos("palms/coep");
    assert_eq!(coep.len(), 240);
    let (mut found, mut right, mut facing, mut pixels_ok) = (0, 0, 0, 0);
    for (name, bytes) in &coep {
        let image = DecodedImage::decode(bytes).unwrap();
        let a = analyzer.analyze_still(&image.frame()).unwrap();
        let Some(h) = a.hand else {
            println!("{name}: no hand");
            continue;
        };
        found += 1;
        right += usize::from(h.handedness == Hand::Right);
        facing += usize::from(h.palm_facing);
        pixels_ok += usize::from(pixel_verdict(h.pixels).is_none());
    }
    println!(
        "COEP: found {found}/240, right {right}, palm facing {facing}, pixel checks pass {pixels_ok}"
    );
    assert_eq!((found, right, facing, pixels_ok), (240, 240, 240, 240));
}
