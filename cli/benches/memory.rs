//! Memory of the enrollment session, measured (not timed tests): prints figures.
//!
//! 1. Peak RSS of a whole `palmkit demo` (embedded server included), as a child process:
//!    its `VmHWM` sampled every 20 ms until it exits.
//! 2. 60 s (wall) of 1080p NV21 camera frames through one `EnrollmentSession` on one
//!    thread — a palm photo on a landscape sensor, rotation 90, report-only liveness so the
//!    auto-capture fires, and the hand started again after every capture, so capturing,
//!    JPEG-encoding and holding run all along — with this process's RSS sampled each second:
//!    the peak, and the largest RSS in the first and in the last 10 s (growth = leak).
//!
//! Run with `cargo xtask bench` (models and test photos provisioned), or
//! `PALMKIT_MODELS=… PALMKIT_TESTDATA=… cargo bench -p palmkit-cli --bench memory`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palmkit_core::analysis::{FrameAnalyzer, LivenessPolicy};
use palmkit_core::enrollment::{EnrollmentSession, SessionOptions, StateName};
use palmkit_core::frame::{Frame, Orientation, Rotation};
use palmkit_core::quality::Thresholds;

const PHOTO: &str = "palms/palm_kbyai_ex5.jpg";
const SECONDS: u64 = 60;

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn env_dir(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| {
        eprintln!("{name} is not set: run `cargo xtask bench`");
        std::process::exit(2)
    }))
}

fn demo_peak() -> u64 {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_palmkit"))
        .arg("demo")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("palmkit demo");
    let pid = child.id().to_string();
    let mut peak = 0;
    loop {
        if let Some(hwm) = status_kib(&pid, "VmHWM") {
            peak = peak.max(hwm);
        }
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "palmkit demo failed: {status}");
            return peak;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The palm photo as a 1920x1080 NV21 frame from a landscape sensor (upright 1080x1920).
fn sensor_frame(testdata: &std::path::Path) -> (Vec<u8>, u32, u32) {
    let photo = image::open(testdata.join(PHOTO))
        .expect("the palm photo")
        .to_rgb8();
    let upright =
        image::imageops::resize(&photo, 1080, 1920, image::imageops::FilterType::Triangle);
    // Turning the sensor picture 90° clockwise gives the upright one.
    let sensor = image::imageops::rotate270(&upright);
    let (w, h) = sensor.dimensions();
    let nv21 = palmkit_core::frame::synthetic::nv21_from_rgb(sensor.as_raw(), w, h)
        .expect("an NV21 frame");
    (nv21, w, h)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("memory: bench");
        return;
    }
    let models = env_dir("PALMKIT_MODELS");
    let testdata = env_dir("PALMKIT_TESTDATA");

    let demo = demo_peak();
    println!(
        "Whole `palmkit demo` (server in the same process): peak RSS {:.1} MiB",
        mib(demo)
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let (server, session) = runtime.block_on(async {
        let server = palmkit_server::start(palmkit_server::ServerOptions::development(
            data.path(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .await
        .unwrap();
        let store = Arc::new(palmkit_core::account::store::KeyringStore::new(
            keyring_core::mock::Store::new().unwrap(),
        ));
        let options = SessionOptions {
            capture_timeout_ms: u64::MAX,
            ..SessionOptions::default()
        };
        let session = EnrollmentSession::new(&server.client_config, store, options).unwrap();
        let url = session.start_login().await.unwrap();
        let redirect =
            palmkit_server::accounts::browser::ScriptedBrowser::new(&server.client_config)
                .unwrap()
                .login(
                    url.as_str(),
                    palmkit_server::accounts::TEST_SHOPPER_EMAIL,
                    palmkit_server::accounts::TEST_SHOPPER_PASSWORD,
                )
                .await
                .unwrap();
        session.finish_login(&redirect).await.unwrap();
        session.give_consent("bench").await.unwrap();
        (server, session)
    });
    let mut analyzer = FrameAnalyzer::load(&models, Thresholds::default()).unwrap();
    analyzer.set_liveness_policy(LivenessPolicy::ReportOnly);
    session.set_analyzer(analyzer);
    session.start_hand(None).unwrap();

    let (nv21, width, height) = sensor_frame(&testdata);
    let upright = Orientation {
        rotation: Rotation::Deg90,
        mirrored: false,
    };
    let frame = Frame::nv21(
        &nv21,
        width,
        height,
        width as usize,
        width as usize,
        upright,
    )
    .unwrap();
    let pid = std::process::id().to_string();
    let started = Instant::now();
    let mut samples: Vec<(u64, u64)> = Vec::new();
    let (mut frames, mut captures, mut next_sample) = (0u64, 0u64, 0u64);
    while started.elapsed() < Duration::from_secs(SECONDS) {
        let analysis = session.analyze_frame(&frame, frames * 33).unwrap();
        frames += 1;
        if analysis.captured {
            captures += 1;
            assert_eq!(session.state().name(), StateName::Captured);
            session.start_hand(None).unwrap();
        }
        let second = started.elapsed().as_secs();
        if second >= next_sample {
            samples.push((second, status_kib(&pid, "VmRSS").unwrap_or(0)));
            next_sample = second + 1;
        }
    }
    let peak = status_kib(&pid, "VmHWM").unwrap_or(0);
    let window = |from: u64, to: u64| {
        samples
            .iter()
            .filter(|(s, _)| *s >= from && *s < to)
            .map(|(_, kib)| *kib)
            .max()
            .unwrap_or(0)
    };
    let (first, last) = (window(0, 10), window(SECONDS - 10, SECONDS));
    println!(
        "{SECONDS} s of 1920x1080 NV21 frames through the session (one thread): {frames} frames \
         ({:.1}/s), {captures} auto-captures",
        frames as f64 / started.elapsed().as_secs_f64()
    );
    println!(
        "  RSS: peak {:.1} MiB; largest in the first 10 s {:.1} MiB, in the last 10 s {:.1} MiB \
         (growth {:+.1} MiB)",
        mib(peak),
        mib(first),
        mib(last),
        mib(last) - mib(first)
    );
    runtime.block_on(server.shutdown());
}
