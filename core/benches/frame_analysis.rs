//! Frame analysis figures, one core, release (phone) profile, all in one run:
//! 1. the non-ML quality measures (pixel measures on the palm + landmark geometry) on a
//!    1920x1080 NV21 frame, against the same measures with OpenCV (opencv-python-headless,
//!    one thread) on the same frame, region and grid — goal: at most half OpenCV's time and
//!    under 2 ms;
//! 2. each hand model, tract vs onnxruntime (PyPI, one thread) on the same ONNX file —
//!    goal: 1.5x or better;
//!    2b. where tract's time goes, per op; 2c. those kernels alone, one-node models, tract
//!    vs onnxruntime (`frame_analysis/one_node.rs`);
//! 3. steady-state frames per second of the whole analysis with tracking over a sequence
//!    of moving frames;
//! 4. heap allocations per frame in steady state (a counting global allocator).
//!
//! `cargo xtask bench` runs it with the peers installed; by hand:
//! `PALMKIT_MODELS=... PALMKIT_TESTDATA=... PALMKIT_BENCH_PEERS=... cargo bench -p
//! palmkit-core --bench frame_analysis`. Without PALMKIT_BENCH_PEERS the comparisons are
//! skipped (and say so).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use palmkit_core::analysis::FrameAnalyzer;
use palmkit_core::frame::synthetic::nv21_from_rgb;
use palmkit_core::frame::{Frame, Orientation, Rotation};
use palmkit_core::liveness::{PassiveLayers, passive, spectrum};
use palmkit_core::quality::{PixelScratch, SensorRect, Thresholds, geometry, pixels};
use palmkit_core::vision::{
    DETECTOR_MODEL, HandRegion, HandTracker, LANDMARK_MODEL, LandmarkModel, Runnable, eval_node,
    load_model,
};
use tract_onnx::prelude::*;

#[path = "frame_analysis/one_node.rs"]
mod one_node;

/// Counts every allocation (and reallocation) made through the global allocator.
struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PHOTO: &str = "palms/palm_kbyai_ex5.jpg";
const SENSOR: (u32, u32) = (1920, 1080);
const SEQUENCE: usize = 30;

fn env_dir(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(default))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 1920x1080 NV21 sensor frames (rotation 90 makes them upright portrait) of the palm
/// photo, each shifted a little further along a small circle: a hand held fairly still.
fn frames() -> Vec<Vec<u8>> {
    let photo = image::open(env_dir("PALMKIT_TESTDATA", "../../shared/testdata").join(PHOTO))
        .expect("the palm photo (set PALMKIT_TESTDATA)")
        .to_rgb8();
    let (uw, uh) = (SENSOR.1, SENSOR.0);
    let upright = image::imageops::resize(&photo, uw, uh, image::imageops::FilterType::Triangle);
    (0..SEQUENCE)
        .map(|i| {
            let a = i as f32 / SEQUENCE as f32 * std::f32::consts::TAU;
            let (dx, dy) = ((6.0 * a.cos()) as i64, (6.0 * a.sin()) as i64);
            let mut shifted = image::RgbImage::new(uw, uh);
            for (x, y, p) in shifted.enumerate_pixels_mut() {
                let sx = (i64::from(x) - dx).clamp(0, i64::from(uw) - 1) as u32;
                let sy = (i64::from(y) - dy).clamp(0, i64::from(uh) - 1) as u32;
                *p = *upright.get_pixel(sx, sy);
            }
            // The sensor holds the upright picture turned a quarter counter-clockwise.
            let sensor = image::imageops::rotate270(&shifted);
            nv21_from_rgb(sensor.as_raw(), SENSOR.0, SENSOR.1).expect("even sides")
        })
        .collect()
}

fn view(bytes: &[u8]) -> Frame<'_> {
    let turned = Orientation {
        rotation: Rotation::Deg90,
        mirrored: false,
    };
    let w = SENSOR.0 as usize;
    Frame::nv21(bytes, SENSOR.0, SENSOR.1, w, w, turned).expect("a valid NV21 frame")
}

fn peer(
    peers: &Option<PathBuf>,
    venv: &str,
    script: &str,
    args: &[String],
) -> Option<serde_json::Value> {
    let python = peers.as_ref()?.join(venv).join("bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("benches/peers")
        .join(script);
    let out = Command::new(python).arg(script).args(args).output().ok()?;
    if !out.status.success() {
        eprintln!("{venv}: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let models = env_dir("PALMKIT_MODELS", "../../.cache/palmkit/models/onnx");
    let peers = std::env::var_os("PALMKIT_BENCH_PEERS").map(PathBuf::from);
    println!(
        "frame_analysis: building {SEQUENCE} frames of {}x{} NV21 from {PHOTO}",
        SENSOR.0, SENSOR.1
    );
    let frames = frames();
    let mut analyzer =
        FrameAnalyzer::load(&models, Thresholds::default()).expect("models (set PALMKIT_MODELS)");
    let first = analyzer.analyze_still(&view(&frames[0])).expect("analysis");
    let hand = first
        .hand
        .expect("the palm is found on the benchmark frame");
    println!(
        "  frame 0: {} hand, guidance {}",
        if hand.palm_facing { "palm" } else { "back" },
        first.guidance.code()
    );

    // 1. Quality measures.
    let frame = view(&frames[0]);
    let [x0, y0, x1, y1] = geometry::palm_bounds(&hand.landmarks);
    let rect = SensorRect::from_upright(&frame, x0, y0, x1, y1).expect("palm on the frame");
    let (uw, uh) = frame.upright_size();
    let mut scratch = PixelScratch::default();
    let mut ours = pixels::measure(&frame, rect, &mut scratch);
    let mut times = Vec::with_capacity(500);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..500 {
        let start = Instant::now();
        ours = pixels::measure(&frame, rect, &mut scratch);
        let g = geometry::measure(&hand.landmarks, uw, uh, 0.01);
        std::hint::black_box(g);
        times.push(start.elapsed());
    }
    let quality_allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let quality = median(times);
    let mut full_scratch = PixelScratch::default();
    let full_rect = SensorRect::full(&frame);
    let mut full_times = Vec::with_capacity(200);
    for _ in 0..200 {
        let start = Instant::now();
        std::hint::black_box(pixels::measure(&frame, full_rect, &mut full_scratch));
        full_times.push(start.elapsed());
    }
    println!(
        "\n1. Quality measures (palm region {}x{} px, grid step {}):",
        rect.x1 - rect.x0,
        rect.y1 - rect.y0,
        ours.step
    );
    println!(
        "  core:   {:.3} ms median of 500 (whole 1920x1080 frame: {:.3} ms), {} allocations in 500 runs",
        ms(quality),
        ms(median(full_times)),
        quality_allocs
    );
    let nv21 = std::env::temp_dir().join(format!("palmkit-bench-{}.nv21", std::process::id()));
    std::fs::write(&nv21, &frames[0]).expect("temp file");
    let args: Vec<String> = [
        nv21.display().to_string(),
        SENSOR.0.to_string(),
        SENSOR.1.to_string(),
        rect.x0.to_string(),
        rect.y0.to_string(),
        rect.x1.to_string(),
        rect.y1.to_string(),
        ours.step.to_string(),
        "500".into(),
    ]
    .into();
    match peer(&peers, "opencv", "quality_opencv.py", &args) {
        Some(cv) => {
            let cv_ms = cv["ms"].as_f64().unwrap_or(f64::NAN);
            println!(
                "  OpenCV {}: {:.3} ms median of 500 (Python calls included)",
                cv["opencv"].as_str().unwrap_or("?"),
                cv_ms
            );
            println!(
                "  ratio core/OpenCV: {:.2}x (goal <= 0.5x and < 2 ms)",
                ms(quality) / cv_ms
            );
            for key in [
                "sharpness",
                "noise",
                "mean_luma",
                "dark_fraction",
                "clipped_fraction",
                "glare_fraction",
            ] {
                let theirs = cv[key].as_f64().unwrap_or(f64::NAN);
                let mine = serde_json::to_value(ours).unwrap()[key].as_f64().unwrap();
                println!("    {key:<17} core {mine:>10.4}  OpenCV {theirs:>10.4}");
            }
        }
        None => println!("  OpenCV: skipped (set PALMKIT_BENCH_PEERS; `cargo xtask bench` does)"),
    }
    let _ = std::fs::remove_file(&nv21);

    // 1b. The passive spoof layers (screen replay, print) on the same palm region.
    let mut passive = PassiveLayers::default();
    let mut periodicity = passive.measure(&frame, rect);
    let mut times = Vec::with_capacity(200);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..200 {
        let start = Instant::now();
        periodicity = passive.measure(&frame, rect);
        times.push(start.elapsed());
    }
    let passive_allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let p = periodicity.expect("the palm region holds a window");
    println!(
        "\n1b. Passive spoof layers (screen replay + print: {} windows of {}x{} px, luma and chroma spectra):",
        p.windows,
        spectrum::WINDOW,
        spectrum::WINDOW
    );
    println!(
        "  core:   {:.3} ms median of 200 (goal < 3 ms), {} allocations in 200 runs; scores: chroma {:.2}, luma {:.2} (threshold {:.2} / {:.2})",
        ms(median(times)),
        passive_allocs,
        p.chroma.strength,
        p.luma.strength,
        passive::SCREEN_THRESHOLD,
        passive::PRINT_THRESHOLD
    );

    // 2. Models, tract vs onnxruntime.
    println!("\n2. Hand models, one thread, 30 runs each (input already prepared):");
    let specs = [
        ("palm_detection_full", 192usize),
        ("hand_landmark_full", 224usize),
        ("hand_landmark_lite", 224usize),
    ];
    let ort = peer(
        &peers,
        "onnxruntime",
        "models_onnxruntime.py",
        &[models.display().to_string(), "30".into()]
            .into_iter()
            .chain(specs.iter().map(|(n, s)| format!("{n}:{s}")))
            .collect::<Vec<_>>(),
    );
    for (name, side) in specs {
        let model = load_model(&models, name, &[1, side, side, 3]).expect("model");
        let input: Tensor =
            tract_ndarray::Array4::<f32>::from_shape_fn((1, side, side, 3), |(_, y, x, c)| {
                ((x * 7 + y * 3 + c) % 255) as f32 / 255.0
            })
            .into();
        for _ in 0..5 {
            model.run(tvec!(input.clone().into())).expect("run");
        }
        // One run state, two runners: tract's own (`plan::eval`), then node by node with
        // the x86_64 vector state cleared after each (`vision::eval_node`, what the core
        // runs); the difference is the AVX-to-SSE penalty (`core/src/vision/vector_state.rs`).
        let mut state = TypedSimpleState::new(&model).expect("state");
        let mut plain = Vec::with_capacity(30);
        for _ in 0..30 {
            let t = input.clone();
            let start = Instant::now();
            std::hint::black_box(state.run(tvec!(t.into())).expect("run"));
            plain.push(start.elapsed());
        }
        let times = node_by_node(&mut state, &input, 0, 30);
        let (plain, cleared) = (ms(median(plain)), ms(median(times.clone())));
        println!(
            "  {name}: tract's own runner {plain:.2} ms, with the vector state cleared per node {cleared:.2} ms ({:.2}x)",
            plain / cleared
        );
        // The same model with the layout ONNX import gives (every layer channel-first), run
        // the same way: the difference is `vision::layout`'s channel-last depthwise.
        let imported = as_imported(&models, name, side);
        let mut imported_state = TypedSimpleState::new(&imported).expect("state");
        let imported = ms(median(node_by_node(&mut imported_state, &input, 5, 30)));
        println!(
            "  {name}: layout as imported {imported:.2} ms, depthwise channel-last (what the core loads) {cleared:.2} ms ({:.2}x)",
            imported / cleared
        );
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        model.run(tvec!(input.clone().into())).expect("run");
        let model_allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
        println!(
            "  {name}: {model_allocs} heap allocations in one tract run (input copy included)"
        );
        let best = ms(*times.iter().min().expect("runs"));
        let tract = ms(median(times));
        // This VM's speed drifts between runs of a few seconds; the fastest run of each is
        // the steadier comparison, the median is printed beside it.
        match ort
            .as_ref()
            .map(|o| (o[name]["median"].as_f64(), o[name]["min"].as_f64()))
        {
            Some((Some(o_med), Some(o_min))) => println!(
                "  {name:<20} tract {tract:6.2} ms (fastest {best:6.2})   onnxruntime {o_med:6.2} ms \
                 (fastest {o_min:6.2})   ratio {:.2}x median, {:.2}x fastest (goal <= 1.5x)",
                tract / o_med,
                best / o_min
            ),
            _ => println!(
                "  {name:<20} tract {tract:6.2} ms (fastest {best:6.2})   onnxruntime: skipped"
            ),
        }
    }
    if let Some(o) = &ort {
        println!(
            "  (onnxruntime {})",
            o["onnxruntime"].as_str().unwrap_or("?")
        );
    }
    // 2b. Where tract's time goes: each node timed over 20 runs, summed by op.
    println!("\n2b. tract per op (20 runs, one thread; the report for tract's maintainers):");
    for (name, side) in specs {
        profile(&models, name, side);
    }
    one_node_kernels(&peers);
    // The landmark step as the analyzer runs it: crop sampling + model + decoding.
    for name in ["hand_landmark_full", "hand_landmark_lite"] {
        let mut landmarks = LandmarkModel::load(&models, name).expect("model");
        let region = HandRegion::from_landmarks(&hand.landmarks);
        let mut times = Vec::with_capacity(30);
        for _ in 0..30 {
            let start = Instant::now();
            std::hint::black_box(landmarks.run(&frame, region).expect("run"));
            times.push(start.elapsed());
        }
        println!(
            "  landmark step on the 1080p frame with {name} (crop sampling + model + decoding): {:.2} ms",
            ms(median(times))
        );
    }

    // 3 and 4. The whole analysis with tracking over the moving sequence: before (the full
    // landmark model, as shipped until issue 19) and after (the lite one the apps now run).
    drop(analyzer);
    println!(
        "\n3. Whole analysis with tracking, {} frames of 1920x1080 NV21 (hand moving 6 px on a circle):",
        3 * SEQUENCE
    );
    let mut allocations_per_frame = Vec::new();
    for (label, landmarks) in [
        ("before (hand_landmark_full)", "hand_landmark_full"),
        ("after  (hand_landmark_lite)", LANDMARK_MODEL),
    ] {
        let mut analyzer = analyzer_with(&models, landmarks);
        let (fps, per_frame, with_hand, detector_runs, allocations) = whole(&mut analyzer, &frames);
        let n = 3 * SEQUENCE;
        println!(
            "  {label}: {fps:.1} frames/s ({per_frame:.1} ms/frame median), hand on {with_hand}/{n}, detector ran on {detector_runs}/{n}, {allocations:.1} heap allocations/frame"
        );
        allocations_per_frame.push((label, allocations));
    }
    two_threads(&models, &frames);
    println!(
        "\n4. Heap allocations per frame in steady state: {} (quality measures alone: {})",
        allocations_per_frame
            .iter()
            .map(|(l, a)| format!("{a:.1} {}", l.split_whitespace().next().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", "),
        quality_allocs / 500
    );
}

/// 2c. The kernels of 2b alone: each one-node model run by tract and by onnxruntime from
/// the same file.
fn one_node_kernels(peers: &Option<PathBuf>) {
    println!("\n2c. Those kernels alone: one-node models, one thread, 50 runs each:");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let kernels = one_node::kernels();
    let mut specs = Vec::new();
    for k in &kernels {
        k.write(dir.path()).expect("model written");
        let dims: Vec<String> = k.input.iter().map(|d| d.to_string()).collect();
        specs.push(format!("{}:{}", k.file_stem(), dims.join("x")));
    }
    one_node::write_sums(dir.path(), &kernels).expect("SHA256SUMS written");
    let ort = peer(
        peers,
        "onnxruntime",
        "models_onnxruntime.py",
        &[dir.path().display().to_string(), "50".into()]
            .into_iter()
            .chain(specs)
            .collect::<Vec<_>>(),
    );
    for k in &kernels {
        let (tract, best, ops) = match one_node::time_tract(dir.path(), k, 50) {
            Ok(t) => t,
            Err(e) => {
                println!("  {:<30} tract failed: {e:#}", k.name);
                continue;
            }
        };
        let rate = |t: f64| {
            if k.macs == 0 {
                String::new()
            } else {
                format!(" {:4.1} GMAC/s", k.macs as f64 / t / 1e6)
            }
        };
        let onnxruntime = match ort.as_ref().map(|o| {
            let r = &o[k.file_stem().as_str()];
            (r["median"].as_f64(), r["min"].as_f64())
        }) {
            Some((Some(o_med), Some(o_min))) => format!(
                "onnxruntime {o_med:6.3} ms{}   ratio {:5.2}x (fastest {:5.2}x)",
                rate(o_med),
                tract / o_med,
                best / o_min
            ),
            _ => "onnxruntime: skipped".into(),
        };
        println!(
            "  {:<30} tract {tract:6.3} ms{}   {onnxruntime}   tract ran: {ops}",
            k.name,
            rate(tract)
        );
    }
}

/// The analyzer with the apps' detector and the named landmark model.
/// The times of `runs` runs of `state` node by node (`eval_node`, as the core runs), after
/// `warm_up` untimed ones.
fn node_by_node(
    state: &mut TypedSimpleState,
    input: &Tensor,
    warm_up: usize,
    runs: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(runs);
    for round in 0..warm_up + runs {
        let t = input.clone();
        let start = Instant::now();
        std::hint::black_box(
            state
                .run_plan_with_eval(tvec!(t.into()), eval_node)
                .expect("run"),
        );
        if round >= warm_up {
            times.push(start.elapsed());
        }
    }
    times
}

/// `name` as ONNX import lays it out (no `vision::layout`), optimized and runnable: the
/// "before" of section 2's layout row. Read straight from the provisioned folder.
fn as_imported(models: &std::path::Path, name: &str, side: usize) -> Runnable {
    tract_onnx::onnx()
        .model_for_path(models.join(format!("{name}.onnx")))
        .and_then(|m| m.with_input_fact(0, f32::fact([1, side, side, 3]).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .expect("model as imported")
}

fn analyzer_with(models: &std::path::Path, landmarks: &str) -> FrameAnalyzer {
    let tracker = HandTracker::load_models(
        models,
        DETECTOR_MODEL,
        landmarks,
        Thresholds::default().min_presence,
    )
    .expect("models");
    FrameAnalyzer::with_tracker(tracker, Thresholds::default())
}

/// Frames per second, median ms per frame, frames with a hand, detector runs and heap
/// allocations per frame of the whole analysis over three rounds of the sequence, after
/// five frames of warm-up.
fn whole(analyzer: &mut FrameAnalyzer, frames: &[Vec<u8>]) -> (f64, f64, usize, usize, f64) {
    analyzer.start_hand(None);
    for (i, f) in frames.iter().enumerate().take(5) {
        analyzer.analyze(&view(f), i as u64 * 33).expect("analysis");
    }
    let (mut detector_runs, mut with_hand) = (0, 0);
    let rounds = 3;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut per_frame = Vec::with_capacity(rounds * SEQUENCE);
    for r in 0..rounds {
        for (i, f) in frames.iter().enumerate() {
            let t = Instant::now();
            let a = analyzer
                .analyze(&view(f), ((r * SEQUENCE + i + 5) * 33) as u64)
                .expect("analysis");
            per_frame.push(t.elapsed());
            detector_runs += usize::from(a.detector_ran);
            with_hand += usize::from(a.hand.is_some());
        }
    }
    let elapsed = start.elapsed();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let n = rounds * SEQUENCE;
    (
        n as f64 / elapsed.as_secs_f64(),
        ms(median(per_frame)),
        with_hand,
        detector_runs,
        allocations as f64 / n as f64,
    )
}

/// Times every node of one model over 20 runs and prints the ops that take the time, and
/// the five slowest nodes with their output shapes.
fn profile(models: &std::path::Path, name: &str, side: usize) {
    let model = load_model(models, name, &[1, side, side, 3]).expect("model");
    let input: Tensor = Tensor::zero::<f32>(&[1, side, side, 3]).expect("input");
    let mut state = TypedSimpleState::new(&model).expect("state");
    let mut by_node: std::collections::HashMap<usize, Duration> = Default::default();
    for round in 0..25 {
        state
            .run_plan_with_eval(
                tvec!(input.clone().into()),
                |ctx, op_state, node, inputs| {
                    let start = Instant::now();
                    let out = eval_node(ctx, op_state, node, inputs);
                    // The first five runs warm up.
                    if round >= 5 {
                        *by_node.entry(node.id).or_default() += start.elapsed();
                    }
                    out
                },
            )
            .expect("run");
    }
    let graph = model.model();
    let total: Duration = by_node.values().sum();
    let mut by_op: std::collections::HashMap<String, (Duration, usize)> = Default::default();
    for (&id, &t) in &by_node {
        let e = by_op
            .entry(graph.node(id).op().name().to_string())
            .or_default();
        e.0 += t;
        e.1 += 1;
    }
    let mut ops: Vec<_> = by_op.into_iter().collect();
    ops.sort_by_key(|(_, (t, _))| std::cmp::Reverse(*t));
    let per_run = |t: Duration| ms(t) / 20.0;
    println!(
        "  {name}: {:.2} ms per run in {} nodes",
        per_run(total),
        by_node.len()
    );
    for (op, (t, n)) in ops.iter().take(6) {
        println!(
            "    {op:<22} {:6.2} ms  {:4.1} %  ({n} nodes)",
            per_run(*t),
            100.0 * t.as_secs_f64() / total.as_secs_f64()
        );
    }
    let mut nodes: Vec<_> = by_node.into_iter().collect();
    nodes.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    for (id, t) in nodes.iter().take(5) {
        let node = graph.node(*id);
        let inputs: Vec<String> = node
            .inputs
            .iter()
            .filter_map(|i| graph.outlet_fact(*i).ok())
            .map(|f| format!("{:?}", f.shape))
            .collect();
        println!(
            "    slowest: {:6.2} ms  {} ({}) {} -> {:?}",
            per_run(*t),
            node.name,
            node.op().name(),
            inputs.join(", "),
            node.outputs[0].fact.shape
        );
    }
}

/// The lite analysis again with tract's matrix products on two threads (the phones have 4-8
/// cores); only in a build with the core's `inference-threads` feature.
#[cfg(feature = "inference-threads")]
fn two_threads(models: &std::path::Path, frames: &[Vec<u8>]) {
    use tract_onnx::tract_core::tract_linalg::multithread::{Executor, multithread_tract_scope};
    let mut analyzer = analyzer_with(models, LANDMARK_MODEL);
    let pool = Executor::multithread(2);
    let (fps, per_frame, _, _, allocations) =
        multithread_tract_scope(pool, || whole(&mut analyzer, frames));
    println!(
        "  after, 2 threads for tract's matrix products: {fps:.1} frames/s ({per_frame:.1} ms/frame median), {allocations:.1} heap allocations/frame"
    );
}

#[cfg(not(feature = "inference-threads"))]
fn two_threads(_: &std::path::Path, _: &[Vec<u8>]) {
    println!(
        "  2 threads: skipped (build with the core's `inference-threads`; `cargo xtask bench` does)"
    );
}
