//! Small helpers: where the workspace is, running commands with a visible command line.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    // `cargo run` names the manifest of the checkout it was started in at run time; the
    // compile-time value can name another checkout that shares the target directory (CI
    // clones and a working copy both use the cache's `ci-target`), whose xtask binary
    // cargo may run here when its own build is already fresh.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Where tools, models and build output are cached (`PALMKIT_CACHE`).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PALMKIT_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/palmkit")
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The packages and features of every debug build the tasks make (the demo, the tests, the
/// bindings' library), given to cargo after `build` or `test`. One feature set means one
/// build: with different selections cargo resolves different features for shared crates
/// (serde's, reqwest's, tract's build scripts) and compiles tract and the workspace twice.
/// `palmkit-uniffi-bindgen` stays out: its `cargo-metadata` features would change
/// serde_json for everything; it is built on its own (small) by `bindings`.
pub const DEV_BUILD: &[&str] = &[
    "-p",
    "palmkit-core",
    "-p",
    "palmkit-server",
    "-p",
    "palmkit-cli",
    "-p",
    "palmkit-ffi",
    "-p",
    "xtask",
    // The bindings' tests capture from photo files and feed photos as frames; the test
    // rig is the Rust tests' (named here so the demo's build is the tests' build).
    "--features",
    "palmkit-ffi/dev,palmkit-server/test-rig",
];

/// Runs `cargo VERB... DEV_BUILD` while `beside` runs on another thread (installs and
/// downloads, which barely use the CPU the build needs); fails if either failed.
pub fn dev_build_beside<T: Send + 'static>(
    verb: &[&str],
    beside: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let mut args = verb.to_vec();
    args.extend_from_slice(DEV_BUILD);
    both(|| cargo(&args), beside).map(|((), other)| other)
}

/// Runs `here` on this thread and `there` on another, at the same time; fails if either
/// failed (with both errors when both did).
pub fn both<A, B: Send + 'static>(
    here: impl FnOnce() -> Result<A, String>,
    there: impl FnOnce() -> Result<B, String> + Send + 'static,
) -> Result<(A, B), String> {
    let other = std::thread::spawn(there);
    let here = here();
    let other = other
        .join()
        .unwrap_or_else(|_| Err("the thread beside this one panicked".into()));
    match (here, other) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(first), Err(second)) => Err(format!("{first}\nand beside it: {second}")),
    }
}

/// Runs a cargo command in the workspace, inheriting output.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).args(args).current_dir(root()))
}

/// Runs a command, inheriting output; fails on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    println!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(cmd)))
    }
}

/// Runs a command with every line it writes (stdout and stderr) printed behind `prefix`,
/// so that its output stays readable beside another part's; returns its stdout's lines.
/// Fails on a non-zero exit.
pub fn run_prefixed(cmd: &mut Command, prefix: &str) -> Result<Vec<String>, String> {
    use std::io::{BufRead as _, BufReader};
    println!("{prefix}$ {}", describe(cmd));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", describe(cmd)))?;
    let errors = child.stderr.take().map(|err| {
        let prefix = prefix.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("{prefix}{line}");
            }
        })
    });
    let mut lines = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{prefix}{line}");
            lines.push(line);
        }
    }
    if let Some(errors) = errors {
        let _ = errors.join();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(lines)
    } else {
        Err(format!("`{}` failed ({status})", describe(cmd)))
    }
}

/// Runs a command and captures its output; fails on a non-zero exit, showing stderr.
pub fn capture(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", describe(cmd)))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "`{}` failed ({}):\n{}{}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Whether this process runs as root (installs need it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `cargo test`, echoing its output, and returns the number of tests that passed,
/// summed over its "test result:" lines. Fails if cargo fails or nothing ran.
pub fn run_counting_tests(cmd: &mut Command) -> Result<usize, String> {
    use std::io::{BufRead as _, BufReader};
    println!("$ {}", describe(cmd));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", describe(cmd)))?;
    let mut passed = 0;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += rest
                    .split(". ")
                    .nth(1)
                    .and_then(|p| p.split_whitespace().next())
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("`{}` failed ({status})", describe(cmd)));
    }
    if passed == 0 {
        return Err("cargo test ran no test".into());
    }
    Ok(passed)
}

/// The test photo the binding tests upload, relative to the test data folder.
pub const TEST_PHOTO: &str = "palms/palm_11k_f_p.jpg";
/// The palm photo the binding tests analyze as camera frames: a left palm, open, centred,
/// that passes every check (`palmkit analyze` says `hold_steady`, capture-ready).
pub const ANALYSIS_PHOTO: &str = "palms/palm_kbyai_ex5.jpg";

/// The shared test data (real palm photographs with provenance): `PALMKIT_TESTDATA`, or
/// `shared/testdata` beside the repository. It is never copied into the repository.
pub fn testdata_dir() -> Result<PathBuf, String> {
    let dir = std::env::var_os("PALMKIT_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/testdata"));
    if dir.join("MANIFEST.tsv").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "no test data at {}: set PALMKIT_TESTDATA to the shared testdata folder",
            dir.display()
        ))
    }
}
