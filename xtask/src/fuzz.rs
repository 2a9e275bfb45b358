//! `cargo xtask fuzz [SECONDS]`: every cargo fuzz target (libFuzzer) for a bounded time
//! each, default 60 s: camera frames, capture envelopes, sealed spoof verdicts, the
//! server's opening and decoding of a completed upload, tus headers, and the protocol's
//! JSON types with the client configuration. Installs the nightly toolchain (minimal) and
//! cargo-fuzz when missing. Prints runs per target; a finding lands in
//! `fuzz/artifacts/TARGET/` (git-ignored) and fails the task.

use std::process::Command;

use crate::{tools, util};

/// The targets, in the order they run (names of `fuzz/Cargo.toml`'s binaries).
const TARGETS: [&str; 9] = [
    "frame",
    "envelope",
    "sealed_verdict",
    "server_capture",
    "tus_headers",
    "protocol_json",
    "attestation_object",
    "attestation_assertion",
    "attestation_chain",
];

/// Runs every target for `seconds`.
pub fn run(seconds: u64) -> Result<(), String> {
    tools::ensure_nightly()?;
    let have_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_fuzz {
        util::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    // Build first, so a compile error is not reported as a finding.
    util::run(
        Command::new("cargo")
            .args(["+nightly", "fuzz", "build"])
            .current_dir(util::root().join("fuzz")),
    )?;
    let mut report = Vec::new();
    for target in TARGETS {
        println!("fuzz: {target} for {seconds} s");
        let out = Command::new("cargo")
            .args(["+nightly", "fuzz", "run", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .current_dir(util::root().join("fuzz"))
            .output()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "fuzz target {target} found a failure (see fuzz/artifacts/{target}/):\n{}",
                tail.join("\n")
            ));
        }
        report.push((target, runs_of(&log)));
    }
    println!(
        "fuzz: {} targets, {seconds} s each, no finding",
        TARGETS.len()
    );
    for (target, runs) in report {
        let runs = runs.map_or("?".to_string(), |r| r.to_string());
        println!("  {target:<16} {runs:>12} runs");
    }
    Ok(())
}

/// The run count of libFuzzer's closing line, `Done N runs in S second(s)`.
fn runs_of(log: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| l.strip_prefix("Done ")?.split(' ').next()?.parse().ok())
}
