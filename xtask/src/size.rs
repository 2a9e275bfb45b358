//! The release size of the FFI library the phones would ship: x86_64 Linux, and
//! aarch64 Linux as a proxy for arm64 phones (linked with Debian's cross gcc; the Android
//! NDK and Xcode linkers are not available here).

use std::process::Command;

use crate::{tools, util};

const AARCH64: &str = "aarch64-unknown-linux-gnu";

/// Builds the release libraries and prints their sizes: aarch64 only when `phone_only`
/// (CI: each fat-LTO build of tract takes minutes on two cores), else x86_64 too.
pub fn report(phone_only: bool) -> Result<(), String> {
    tools::ensure_apt(&["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"])?;
    let installed = util::capture(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == AARCH64)
    {
        util::run(Command::new("rustup").args(["target", "add", AARCH64]))?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = |target: &[&str]| {
        util::run(
            Command::new(&cargo)
                .current_dir(util::root())
                .env(
                    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                    "aarch64-linux-gnu-gcc",
                )
                .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc")
                .env("AR_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-ar")
                .args([
                    "build",
                    "--release",
                    "--quiet",
                    "-p",
                    "palmkit-ffi",
                    "--lib",
                ])
                .args(target),
        )
    };
    if !phone_only {
        build(&[])?;
    }
    build(&["--target", AARCH64])?;
    let target = util::target_dir();
    println!("\nRelease FFI library (opt-level s, LTO, 1 codegen unit, stripped):");
    let mut targets = vec![(AARCH64, target.join(AARCH64).join("release"))];
    if !phone_only {
        targets.insert(0, ("x86_64-unknown-linux-gnu", target.join("release")));
    }
    for (label, dir) in targets {
        let size = |name: &str| {
            std::fs::metadata(dir.join(name))
                .map(|m| m.len())
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))
        };
        let so = size("libpalmkit_ffi.so")?;
        let a = size("libpalmkit_ffi.a")?;
        println!(
            "  {label:<26} cdylib {:>6.2} MiB   staticlib {:>6.2} MiB",
            so as f64 / 1048576.0,
            a as f64 / 1048576.0
        );
    }
    check_lean(&target.join(AARCH64).join("release/libpalmkit_ffi.so"))
}

/// What only QA builds may have: FFI exports of the `dev` feature (their UniFFI symbol names
/// contain these), and the core's `eval`/`dev` features.
const DEV_EXPORTS: &[&str] = &[
    "dev_attestation_token",
    "add_capture_file",
    "set_liveness_policy",
    "upload_capture",
];

/// Fails when the phone library exports a development call, or when the core was built
/// with its evaluation or development features (the attack simulation, synthetic frames,
/// file captures).
fn check_lean(phone_lib: &std::path::Path) -> Result<(), String> {
    let nm = util::capture(
        Command::new("aarch64-linux-gnu-nm")
            .args(["-D", "--defined-only"])
            .arg(phone_lib),
    )?;
    let symbols = String::from_utf8_lossy(&nm.stdout).to_lowercase();
    let exported = symbols.lines().count();
    let dev: Vec<&str> = symbols
        .lines()
        .filter(|l| DEV_EXPORTS.iter().any(|d| l.contains(d)))
        .collect();
    if !dev.is_empty() {
        return Err(format!(
            "the phone library exports development calls:\n{}",
            dev.join("\n")
        ));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = util::capture(Command::new(&cargo).current_dir(util::root()).args([
        "tree",
        "-p",
        "palmkit-ffi",
        "--target",
        AARCH64,
        "-e",
        "features",
        "-i",
        "palmkit-core",
        "--prefix",
        "none",
    ]))?;
    let tree = String::from_utf8_lossy(&tree.stdout);
    let features: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.strip_prefix("palmkit-core feature \""))
        .filter_map(|l| l.split('"').next())
        .collect();
    if features
        .iter()
        .any(|f| matches!(*f, "eval" | "dev" | "signature"))
    {
        return Err(format!(
            "the phone library's core is built with {features:?}: eval, dev and signature must stay off"
        ));
    }
    println!(
        "  lean: {exported} exported symbols, none of the dev calls ({}); core features {features:?}",
        DEV_EXPORTS.join(", ")
    );
    Ok(())
}
