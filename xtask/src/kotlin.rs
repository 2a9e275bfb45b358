//! The generated Kotlin bindings on the JVM (JNA), with JUnit 4, against a real
//! `palmkit serve`: compiles the generated sources, the module's own sources and its tests
//! with `kotlinc`, then runs every test class found under `src/test/kotlin`. Then the same
//! for the Android app's flow model (`android/app`'s `com.palmkit.app.flow`, which imports
//! no `android.*`), counted apart. `frame_path` compares the frame path through the
//! bindings with the same frame analyzed from Rust (`cargo xtask frame-path`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{bindings, harness, tools, util};

const MODULE: &str = "android/palmkit";
/// The app's pure-JVM package: its sources and its tests.
const APP_FLOW: [&str; 2] = [
    "android/app/src/main/kotlin/com/palmkit/app/flow",
    "android/app/src/test/kotlin/com/palmkit/app/flow",
];
const JARS: &[&str] = &["jna.jar", "junit4.jar", "hamcrest-core.jar"];

/// The compiled Kotlin (bindings, module, app flow and their tests) and how to run it.
pub struct Compiled {
    /// The runtime classpath (with `out`).
    pub runtime: Vec<PathBuf>,
    /// Where the host build of the core is (for `jna.library.path`).
    pub lib_dir: PathBuf,
}

/// Generates the bindings and compiles everything the JVM tests and benches run.
pub fn compile() -> Result<Compiled, String> {
    tools::ensure_apt(&["libjna-java", "junit4"])?;
    let kotlin = tools::kotlin_home()?;
    let generated = bindings::generate(&[bindings::Language::Kotlin])?;
    let module = util::root().join(MODULE);

    let mut classpath: Vec<PathBuf> = JARS
        .iter()
        .map(|j| Path::new("/usr/share/java").join(j))
        .collect();
    classpath.push(kotlin.join("lib/kotlinx-coroutines-core-jvm.jar"));
    classpath.push(kotlin.join("lib/kotlin-test.jar"));

    let mut sources = vec![generated.kotlin_dir.clone()];
    for dir in ["src/main/kotlin", "src/test/kotlin"] {
        if module.join(dir).exists() {
            sources.push(module.join(dir));
        }
    }
    sources.extend(APP_FLOW.iter().map(|d| util::root().join(d)));
    let out = util::target_dir().join("xtask/kotlin-classes");
    let _ = std::fs::remove_dir_all(&out);
    util::run(
        Command::new(kotlin.join("bin/kotlinc"))
            .args(["-nowarn", "-jvm-target", "17", "-cp"])
            .arg(join(&classpath))
            .arg("-d")
            .arg(&out)
            .args(&sources),
    )?;
    let mut runtime = classpath;
    runtime.push(out.clone());
    runtime.push(kotlin.join("lib/kotlin-stdlib.jar"));
    Ok(Compiled {
        runtime,
        lib_dir: generated.lib_dir,
    })
}

/// Runs the Kotlin tests (bindings, then the app's flow model); returns how many ran.
pub fn test() -> Result<usize, String> {
    let compiled = compile()?;
    let module = util::root().join(MODULE);
    let classes = test_classes(&module.join("src/test/kotlin"), "")?;
    let app_classes = test_classes(&util::root().join(APP_FLOW[1]), "com.palmkit.app.flow.")?;
    if classes.is_empty() || app_classes.is_empty() {
        return Err("no Kotlin test classes found".into());
    }
    let server = harness::TestServer::start("kotlin")?;
    let runtime = &compiled.runtime;
    let junit = |classes: &[String], label: &str| -> Result<usize, String> {
        let output = Command::new("java")
            .arg(format!("-Djna.library.path={}", compiled.lib_dir.display()))
            .arg("-cp")
            .arg(join(runtime))
            .arg("org.junit.runner.JUnitCore")
            .args(classes)
            .envs(server.env())
            .output()
            .map_err(|e| format!("cannot run java: {e}"))?;
        junit_report(&output, label)
    };
    let bindings = junit(&classes, "Kotlin")?;
    let app = junit(&app_classes, "Android app flow (JVM)")?;
    drop(server);
    Ok(bindings + app)
}

fn join(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Fully qualified names of the `*Test.kt` classes under `dir` (one class per file), whose
/// package path starts below `dir` after `prefix`.
fn test_classes(dir: &Path, prefix: &str) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with("Test.kt"))
            {
                let rel = path.strip_prefix(dir).map_err(|e| e.to_string())?;
                let name = rel.with_extension("").to_string_lossy().replace('/', ".");
                found.push(format!("{prefix}{name}"));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// `cargo xtask frame-path`: one frame through the generated Kotlin bindings (JNA) and from
/// Rust, both with the same release build of the core; prints both and the ratio. The
/// Kotlin side drives an `EnrollmentSession`, which captures only once signed in and
/// consented: a test server is started for its login.
pub fn frame_path() -> Result<(), String> {
    let compiled = compile()?;
    util::cargo(&[
        "build",
        "--release",
        "--quiet",
        "-p",
        "palmkit-ffi",
        "--features",
        "dev",
        "--lib",
    ])?;
    let models = crate::models::ensure()?;
    let frames = util::target_dir().join("xtask/frame-path");
    util::capture(
        Command::new(util::target_dir().join("debug/palmkit"))
            .args(["export-frames", "--out"])
            .arg(&frames)
            .arg(util::testdata_dir()?.join(util::ANALYSIS_PHOTO)),
    )?;
    let server = harness::TestServer::start("frame-path")?;
    let jvm = util::capture(
        Command::new("java")
            .arg(format!(
                "-Djna.library.path={}",
                util::target_dir().join("release").display()
            ))
            .arg("-cp")
            .arg(join(&compiled.runtime))
            .arg("com.palmkit.app.flow.FramePathBenchKt")
            .envs(server.env())
            .env("PALMKIT_TEST_FRAMES", &frames)
            .env("PALMKIT_TEST_MODELS", &models),
    )?;
    drop(server);
    let jvm = String::from_utf8_lossy(&jvm.stdout).trim().to_string();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rust = util::capture(
        Command::new(cargo)
            .args([
                "bench",
                "--quiet",
                "-p",
                "palmkit-ffi",
                "--features",
                "dev",
                "--bench",
                "frame_path",
            ])
            .env("PALMKIT_FRAMES", &frames)
            .env("PALMKIT_MODELS", &models)
            .current_dir(util::root()),
    )?;
    let rust = String::from_utf8_lossy(&rust.stdout).trim().to_string();
    println!("{jvm}\n{rust}");
    let median = |line: &str| -> Option<f64> {
        line.split("median ")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    if let (Some(j), Some(r)) = (median(&jvm), median(&rust)) {
        println!("through the bindings / from Rust: {:.3}x", j / r);
    }
    Ok(())
}

/// Prints a JUnitCore run's output; the number of tests when all passed (JUnitCore ends with
/// "OK (N tests)" or "Tests run: N,  Failures: M"), printed as "LABEL: N tests executed, 0 failed".
pub fn junit_report(output: &std::process::Output, label: &str) -> Result<usize, String> {
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("OK ("))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok());
    match (output.status.success(), count) {
        (true, Some(n)) if n > 0 => {
            println!("{label}: {n} tests executed, 0 failed");
            Ok(n)
        }
        _ => Err(format!("{label} tests failed (see the JUnit report above)")),
    }
}
