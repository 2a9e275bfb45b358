//! `cargo xtask`: PalmKit's build and test tasks, in Rust rather than a pile of shell.
//!
//! - `demo`: builds and runs `palmkit demo`.
//! - `test`: every test: Rust, then the generated Kotlin on the JVM (with the Android app's
//!   flow model), then the generated Swift on Linux (with the iOS app's flow model), then
//!   the Android app (`android`); installs the tools those need on first use (see `tools`).
//! - `setup`: only the tool installs.
//! - `bindings`: generates Kotlin and Swift into `bindings/generated/` (git-ignored).
//! - `test-rust`, `test-kotlin`, `test-swift`: one part of `test`.
//! - `android`: the Android app built, tested (Robolectric), packaged, signed and linted.
//! - `ios`: the iOS static libraries (device and simulator) and their sizes.
//! - `size`: release size of the FFI library for x86_64 and aarch64 Linux.
//! - `bench`: the benchmarks (sealing vs the bare AEAD; loopback upload vs curl; frame
//!   analysis vs OpenCV and onnxruntime, frames per second, allocations per frame; the
//!   store match's 1:N search over 10^4..10^6 templates vs the exhaustive search).
//! - `load`: the reference server under wrk (per-route latency, cut connections).
//! - `models`: provisions the hand models (ONNX) into the cache.
//! - `fuzz [SECONDS]`: runs every fuzz target for a bounded time each (default 60 s).
//!
//! Tools are cached outside the clone, in `$PALMKIT_CACHE` (default `~/.cache/palmkit`).

mod android;
mod bindings;
mod fuzz;
mod harness;
mod ios;
mod kotlin;
mod models;
mod size;
mod swift;
mod tools;
mod util;

use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  demo         build and run `palmkit demo` (a whole enrollment against an embedded server)
  test         every test: Rust, Kotlin (JVM), Swift (Linux), the Android app (Robolectric,
               APK, lint)
  setup        install the tools the tests need (apt packages, Kotlin compiler, Swift chroot)
  bindings     generate Kotlin and Swift bindings into bindings/generated/
  test-rust    cargo test for the whole workspace
  test-kotlin  generated Kotlin bindings against a real `palmkit serve`
  test-swift   generated Swift bindings against a real `palmkit serve`
  android      the Android app: Robolectric tests, screenshots, a signed APK, lint
  frame-path   one frame through the Kotlin bindings vs from Rust (same release build)
  ios          iOS static libraries for aarch64-apple-ios and -ios-sim, with sizes
               (the XCFramework step needs a Mac: ios/scripts/build-xcframework.sh)
  size         release size of the FFI library, x86_64 and aarch64 Linux
               (--phone: aarch64 only, as CI runs it)
  load         load test of the reference server with wrk, then the attack phases (127.0.0.1, ~3 min)
  bench [NAME] benchmarks: sealing vs the bare AEAD, 5 MB loopback upload vs curl,
               frame analysis vs OpenCV / onnxruntime, fps, allocations per frame
               (NAME: only seal, upload_loopback, frame_analysis, signature, memory or
               store_match, which takes --json)
  models       provision the hand models (pinned MediaPipe wheel -> ONNX) into the cache
  fuzz [SECS]  run every fuzz target (cargo fuzz, nightly) for SECS seconds each (60)

environment:
  PALMKIT_CACHE     where tools are cached (default ~/.cache/palmkit)
  PALMKIT_TESTDATA  the shared test photos (default ../shared/testdata beside the repo)";

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let started = Instant::now();
    let result = match task.as_str() {
        "demo" => demo(),
        "test" => test_all(),
        "setup" => tools::setup_all(),
        "bindings" => {
            bindings::generate(&[bindings::Language::Kotlin, bindings::Language::Swift]).map(|_| ())
        }
        "test-rust" => tools::ensure_apt(&["keyutils", "strace"])
            .and_then(|_| test_rust())
            .map(|_| ()),
        "test-kotlin" => kotlin::test().map(|_| ()),
        "test-swift" => swift::test().map(|_| ()),
        "ios" => ios::build(),
        "android" => android::build().map(|_| ()),
        "frame-path" => kotlin::frame_path(),
        "size" => size::report(std::env::args().skip(2).any(|a| a == "--phone")),
        "bench" => bench(std::env::args().nth(2).as_deref()),
        "load" => load(),
        "models" => models::ensure().map(|dir| println!("models: {}", dir.display())),
        "fuzz" => {
            let seconds = std::env::args()
                .nth(2)
                .map(|s| {
                    s.parse()
                        .map_err(|_| format!("{s:?} is not a number of seconds"))
                })
                .transpose();
            seconds.and_then(|s| fuzz::run(s.unwrap_or(60)))
        }
        "" | "help" | "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown task {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "\nxtask {task} failed after {:.0} s: {e}",
                started.elapsed().as_secs_f64()
            );
            ExitCode::FAILURE
        }
    }
}

/// `palmkit demo`, with the shared test photo when it is there (the demo says when not).
/// Built with the tests' packages and features ([`util::DEV_BUILD`]), so a later `cargo
/// xtask test` reuses this build rather than compiling tract and the workspace again.
fn demo() -> Result<(), String> {
    // The models are provisioned (downloads, a Python converter) beside the build.
    let models = util::dev_build_beside(&["build", "--quiet"], models::ensure)?;
    let mut cmd = std::process::Command::new(util::target_dir().join("debug/palmkit"));
    cmd.arg("demo")
        .env("PALMKIT_MODELS", models)
        .current_dir(util::root());
    match util::testdata_dir() {
        Ok(dir) => {
            cmd.env("PALMKIT_TESTDATA", dir);
        }
        Err(e) => println!("note: {e}"),
    }
    util::run(&mut cmd)
}

/// The benchmarks, in release (the phone profile): criterion for sealing, a bench binary
/// for the loopback upload against curl and for the frame analysis against OpenCV and
/// onnxruntime. Ratios come from the same run.
/// `only` names one of them (`seal`, `upload_loopback`, `frame_analysis`, `signature`,
/// `memory`) to run it alone.
fn bench(only: Option<&str>) -> Result<(), String> {
    const NAMES: &[&str] = &[
        "seal",
        "upload_loopback",
        "frame_analysis",
        "signature",
        "memory",
        "store_match",
    ];
    if let Some(name) = only.filter(|n| !NAMES.contains(n)) {
        return Err(format!(
            "no benchmark {name:?}; there are {}",
            NAMES.join(", ")
        ));
    }
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if only == Some("store_match") {
        return store_match(&cargo);
    }
    let peers = tools::bench_peers_dir()?;
    let models = models::ensure()?;
    for (bench, extra) in [
        ("seal", &["--", "--noplot"][..]),
        ("upload_loopback", &[][..]),
        (
            "frame_analysis",
            &["--features", "eval,inference-threads"][..],
        ),
        ("signature", &["--features", "signature"][..]),
    ] {
        if !wanted(bench) {
            continue;
        }
        let mut cmd = std::process::Command::new(&cargo);
        cmd.args(["bench", "-p", "palmkit-core", "--bench", bench])
            .args(extra)
            .env("PALMKIT_BENCH_PEERS", &peers)
            .env("PALMKIT_MODELS", &models)
            .env("PALMKIT_TESTDATA", util::testdata_dir()?)
            .current_dir(util::root());
        util::run(&mut cmd)?;
    }
    if wanted("memory") {
        // Peak RSS of a whole demo, and RSS over 60 s of 1080p frames through the session.
        let mut cmd = std::process::Command::new(&cargo);
        cmd.args(["bench", "-p", "palmkit-cli", "--bench", "memory"])
            .env("PALMKIT_MODELS", &models)
            .env("PALMKIT_TESTDATA", util::testdata_dir()?)
            .current_dir(util::root());
        util::run(&mut cmd)?;
    }
    if only.is_none() {
        store_match(&cargo)?;
    }
    Ok(())
}

/// The store match's benchmark (`server/benches/store_match.rs`): the COEP templates
/// from `palmkit signature-eval --templates-out` (clean, and probes degraded `mixed`),
/// then the bench over galleries built from them. `--json` (after the name) is passed on.
fn store_match(cargo: &str) -> Result<(), String> {
    let models = models::ensure()?;
    let testdata = util::testdata_dir()?;
    util::cargo(&["build", "--release", "-p", "palmkit-cli"])?;
    let palmkit = util::target_dir().join("release/palmkit");
    let out = util::target_dir().join("store-match");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let coep = testdata.join("palms/coep");
    let mut files = Vec::new();
    for (name, degrade) in [("clean.jsonl", None), ("mixed.jsonl", Some("mixed"))] {
        let file = out.join(name);
        let mut cmd = std::process::Command::new(&palmkit);
        cmd.arg("signature-eval")
            .arg(&coep)
            .arg("--templates-out")
            .arg(&file)
            .arg("--models")
            .arg(&models)
            .stdout(std::process::Stdio::null());
        if let Some(d) = degrade {
            cmd.args(["--degrade", d]);
        }
        eprintln!(
            "templates: {} ({})",
            file.display(),
            degrade.unwrap_or("clean")
        );
        util::run(&mut cmd)?;
        files.push(file.display().to_string());
    }
    let mut cmd = std::process::Command::new(cargo);
    cmd.args([
        "bench",
        "-p",
        "palmkit-server",
        "--bench",
        "store_match",
        "--",
    ])
    .args(std::env::args().skip(3))
    .env("PALMKIT_STORE_MATCH_TEMPLATES", files.join(","))
    .env("PALMKIT_MODELS", &models)
    .env("PALMKIT_TESTDATA", &testdata)
    .current_dir(util::root());
    util::run(&mut cmd)
}

/// The load test: the reference server under wrk (Debian's package, installed when
/// missing) on 127.0.0.1, in release; prints per-route latency, errors, `/healthz` meanwhile
/// and a saturation sweep (`server/benches/load.rs`).
fn load() -> Result<(), String> {
    tools::ensure_apt(&["wrk"])?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(&cargo);
    cmd.args(["bench", "-p", "palmkit-server", "--bench", "load"])
        // The picture-bomb phase posts to the scan route, which reads palms.
        .env("PALMKIT_MODELS", models::ensure()?)
        .current_dir(util::root());
    util::run(&mut cmd)
}

/// `cargo test` for the workspace; returns how many tests passed.
fn test_rust() -> Result<usize, String> {
    // strace: the test that the client writes no file while enrolling.
    tools::ensure_apt(&["keyutils", "strace"])?;
    let peers = tools::peers_dir()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // A fresh kernel session keyring for the tests that store tokens in the real OS store
    // (keyutils): isolated from the caller's keyring and writable even where the login
    // session's keyring is not.
    let mut cmd = std::process::Command::new("keyctl");
    cmd.args(["session", "palmkit-tests"])
        .arg(cargo)
        .arg("test")
        .args(util::DEV_BUILD)
        .env("PALMKIT_PEERS_DIR", peers)
        .env("PALMKIT_TESTDATA", util::testdata_dir()?)
        .env("PALMKIT_MODELS", models::ensure()?)
        .current_dir(util::root());
    let passed = util::run_counting_tests(&mut cmd)?;
    println!("Rust: {passed} tests passed");
    Ok(passed)
}

/// Every test, in order of cost; stops at the first failing part. Each part prints its
/// time when it ends, so a run that fails still says where its minutes went.
fn test_all() -> Result<(), String> {
    let mut timings = Vec::new();
    // The installs (downloads, unpacking: apt, npm, PyPI, the Swift chroot, Maven Central,
    // the models) run beside the Rust build (two cores of compiling): on a fresh machine
    // each takes minutes, and neither needs the other.
    timed(&mut timings, "set-up + Rust build", || {
        let start = Instant::now();
        let build = || {
            let mut args = vec!["test", "--no-run", "--quiet"];
            args.extend_from_slice(util::DEV_BUILD);
            util::cargo(&args)?;
            // The Kotlin and Swift parts need the bindgen; built now, while the installs
            // may still be downloading, it is off their path (91 s on a cold machine).
            bindings::build_bindgen()?;
            println!(
                "::: Rust build done after {:.1} s (the installs may still be running)",
                start.elapsed().as_secs_f64()
            );
            Ok(())
        };
        util::both(build, install_for_tests)?;
        Ok((0, "tools installed beside the build".to_string()))
    })?;
    let rust = timed(&mut timings, "Rust tests", || {
        test_rust().map(|n| (n, format!("{n} tests")))
    })?;
    // The Kotlin part keeps about 1.5 cores busy, the Swift part about 1 (`/usr/bin/time`
    // on each: 73 s of CPU in 49 s, 43 s in 41 s), so they run side by side; each writes
    // only its own bindings folder. The Swift part runs as `xtask test-swift`, its lines
    // marked, so the two outputs stay apart.
    let ((kotlin, kotlin_time), (swift, swift_time)) = util::both(
        || {
            run_timed("Kotlin tests", || {
                kotlin::test().map(|n| (n, format!("{n} tests")))
            })
        },
        || {
            run_timed("Swift tests", || {
                swift_beside().map(|n| (n, format!("{n} tests, beside the Kotlin tests")))
            })
        },
    )?;
    timings.extend([kotlin_time, swift_time]);
    let android = timed(&mut timings, "Android app", || {
        android::build().map(|n| (n, format!("{n} Robolectric tests, APK, lint")))
    })?;

    println!("\nAll tests passed:");
    for (name, took, detail) in timings {
        println!("  {name:<19} {took:>6.1} s  {detail}");
    }
    // Every part above stops at its first failure, so reaching here means none failed.
    println!(
        "xtask: {} passed, 0 failed",
        rust + kotlin + swift + android
    );
    Ok(())
}

/// Every install the tests need. Maven Central (Robolectric, android-all, r8, lint: the
/// largest download, up to 7 min on a cold machine here) runs on its own thread beside the others
/// (npm, PyPI, the models, Kotlin, the Swift chroot); the Debian packages go first, in one
/// `apt-get`, as apt cannot run twice at once.
fn install_for_tests() -> Result<(), String> {
    tools::ensure_apt(&[tools::APT_PACKAGES, android::APT_PACKAGES].concat())?;
    util::both(tools::setup_all, android::install_tools).map(|_| ())
}

/// A part's name, time in seconds and what it did, for `test_all`'s summary.
type Timing = (&'static str, f64, String);

/// Runs one part of `test_all`, prints how long it took (also when it failed) and records
/// the time for the summary.
fn timed(
    timings: &mut Vec<Timing>,
    name: &'static str,
    part: impl FnOnce() -> Result<(usize, String), String>,
) -> Result<usize, String> {
    let (count, timing) = run_timed(name, part)?;
    timings.push(timing);
    Ok(count)
}

/// Runs one part, prints how long it took (also when it failed); returns its count and
/// its timing.
fn run_timed(
    name: &'static str,
    part: impl FnOnce() -> Result<(usize, String), String>,
) -> Result<(usize, Timing), String> {
    let start = Instant::now();
    let result = part();
    let took = start.elapsed().as_secs_f64();
    match result {
        Ok((count, detail)) => {
            println!("::: {name}: {took:.1} s ({detail})");
            Ok((count, (name, took, detail)))
        }
        Err(e) => {
            println!("::: {name}: failed after {took:.1} s");
            Err(e)
        }
    }
}

/// The Swift part as a child process (`xtask test-swift`), its lines marked `swift | `;
/// returns how many tests ran, read off its "…: N tests executed, 0 failed" lines.
fn swift_beside() -> Result<usize, String> {
    let exe = std::env::current_exe().map_err(|e| format!("where is xtask: {e}"))?;
    let lines = util::run_prefixed(
        std::process::Command::new(exe)
            .arg("test-swift")
            .current_dir(util::root()),
        "swift | ",
    )?;
    let executed: usize = lines
        .iter()
        .filter_map(|line| line.strip_suffix(" tests executed, 0 failed"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<usize>().ok())
        .sum();
    if executed == 0 {
        return Err("the Swift part reported no test".into());
    }
    Ok(executed)
}
