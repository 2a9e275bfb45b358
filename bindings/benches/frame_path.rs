//! The frame path's Rust side: the same camera frame the Kotlin bench sends through the
//! generated bindings (`cargo xtask frame-path` runs both in one go, with the same release
//! build), analyzed by the FFI's `FrameAnalyzer` called from Rust — no foreign call, one copy
//! of the bytes per call (as the binding's lift makes). Prints the median and spread.
//!
//! Environment: `PALMKIT_FRAMES` (a folder from `palmkit export-frames`), `PALMKIT_MODELS`.

use std::path::PathBuf;
use std::time::Instant;

use palmkit_ffi::{FrameAnalyzer, FrameInfo, PixelFormat};

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
    let info = FrameInfo {
        format: PixelFormat::Nv21,
        width: get("nv21.width"),
        height: get("nv21.height"),
        row_stride: get("nv21.row_stride"),
        uv_row_stride: get("nv21.uv_row_stride"),
        uv_pixel_stride: 0,
        u_offset: 0,
        v_offset: 0,
        rotation_degrees: get("nv21.rotation"),
        mirrored: false,
        timestamp_ms: 0,
    };
    let analyzer = FrameAnalyzer::new(models).expect("models");
    analyzer.start_hand(None);
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS + 5 {
        let mut frame = info.clone();
        frame.timestamp_ms = 1_000 + 33 * i as u64;
        let start = Instant::now();
        let result = analyzer
            .analyze_frame(nv21.clone(), frame)
            .expect("analysis");
        std::hint::black_box(result);
        if i >= 5 {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "frame_path (Rust, no FFI): {}x{} NV21, median {:.2} ms, p10 {:.2} ms, p90 {:.2} ms over {RUNS} frames",
        info.width,
        info.height,
        times[RUNS / 2],
        times[RUNS / 10],
        times[RUNS * 9 / 10]
    );
}
