//! The frame path's Rust side: the same camera frame the Kotlin bench sends through the
//! generated bindings (`cargo xtask frame-path` runs both in one go, with the same release
//! build), analyzed by the core's `FrameAnalyzer` called from Rust — no foreign call, one
//! copy of the bytes per call (as the binding's lift makes, wiped after use like the
//! session's). Prints the median and spread.
//!
//! Environment: `PALMKIT_FRAMES` (a folder from `palmkit export-frames`), `PALMKIT_MODELS`.

use std::path::PathBuf;
use std::time::Instant;

use palmkit_core::analysis::FrameAnalyzer;
use palmkit_core::frame::{Frame, Orientation, Rotation};
use palmkit_core::quality::Thresholds;
use zeroize::Zeroizing;

const RUNS: usize = 60;

fn main() {
    let dir = PathBuf::from(std::env::var_os("PALMKIT_FRAMES").expect("PALMKIT_FRAMES"));
    let models = std::env::var("PALMKIT_MODELS").expect("PALMKIT_MODELS");
    let props = std::fs::read_to_string(dir.join("frames.properties")).expect("frames.properties");
    let get = |key: &str| -> u32 {
        props
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in frames.properties"))
    };
    let nv21 = std::fs::read(dir.join("frame.nv21")).expect("frame.nv21");
    let (width, height) = (get("nv21.width"), get("nv21.height"));
    let (row, uv_row) = (get("nv21.row_stride"), get("nv21.uv_row_stride"));
    let orientation = Orientation {
        rotation: Rotation::from_degrees(get("nv21.rotation")).expect("rotation"),
        mirrored: false,
    };
    let mut analyzer =
        FrameAnalyzer::load(std::path::Path::new(&models), Thresholds::default()).expect("models");
    analyzer.start_hand(None);
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS + 5 {
        let timestamp_ms = 1_000 + 33 * i as u64;
        let start = Instant::now();
        let bytes = Zeroizing::new(nv21.clone());
        let frame = Frame::nv21(
            &bytes,
            width,
            height,
            row as usize,
            uv_row as usize,
            orientation,
        )
        .expect("frame");
        let result = analyzer.analyze(&frame, timestamp_ms).expect("analysis");
        std::hint::black_box(result);
        if i >= 5 {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "frame_path (Rust, no FFI): {}x{} NV21, median {:.2} ms, p10 {:.2} ms, p90 {:.2} ms over {RUNS} frames",
        width,
        height,
        times[RUNS / 2],
        times[RUNS / 10],
        times[RUNS * 9 / 10]
    );
}
