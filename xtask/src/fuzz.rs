//! `cargo xtask fuzz [SECONDS]`: the frame fuzz target (libFuzzer through cargo fuzz) for a
//! bounded time, default 60 s. Installs the nightly toolchain (minimal) and cargo-fuzz when
//! missing. Findings land in `fuzz/artifacts/` (git-ignored) and fail the task.

use std::process::Command;

use crate::util;

/// Runs the fuzz target for `seconds`.
pub fn run(seconds: u64) -> Result<(), String> {
    let have_nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_nightly {
        util::run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let have_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_fuzz {
        util::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    util::run(
        Command::new("cargo")
            .args(["+nightly", "fuzz", "run", "frame", "--"])
            .arg(format!("-max_total_time={seconds}"))
            .current_dir(util::root().join("fuzz")),
    )?;
    println!("fuzz: the frame target ran {seconds} s with no finding");
    Ok(())
}
