//! `cargo xtask ios`: the static libraries an iPhone app links, built on Linux.
//!
//! - `aarch64-apple-ios` (devices) with the stable toolchain's prebuilt standard library;
//! - `aarch64-apple-ios-sim` (Apple-silicon simulators) with nightly `-Z build-std`, because
//!   rustup's mirror here serves no prebuilt standard library for it.
//!
//! Only staticlibs: a cdylib or an app needs Apple's linker. ring's C and assembly need an
//! iOS SDK's headers, which do not exist on Linux; its C uses only three of them
//! (`TargetConditionals.h` to tell iOS from macOS, `assert.h` — compiled out, the build is
//! NDEBUG — and `string.h` for the mem* prototypes), so a three-file stand-in SDK written into
//! the target dir takes their place. On a Mac, `ios/scripts/build-xcframework.sh` builds the
//! same libraries against the real SDK and makes the XCFramework with `xcodebuild
//! -create-xcframework`, which cannot run here.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{tools, util};

/// (target, SDK name, simulator). The simulator's standard library is built from source
/// (nightly `-Z build-std`): rustup's mirror here has no prebuilt one.
const TARGETS: &[(&str, &str, bool)] = &[
    ("aarch64-apple-ios", "iPhoneOS", false),
    ("aarch64-apple-ios-sim", "iPhoneSimulator", true),
];

/// Builds both static libraries and prints their sizes.
pub fn build() -> Result<(), String> {
    tools::ensure_apt(&["clang", "llvm-14"])?;
    ensure_toolchains()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut built = Vec::new();
    for &(target, sdk, simulator) in TARGETS {
        let sdk_root = stand_in_sdk(sdk, simulator)?;
        let env_target = target.replace('-', "_");
        // The nightly cargo through rustup: CARGO names the stable one, which knows no `+`.
        let mut cmd = if simulator {
            let mut c = Command::new("rustup");
            c.args(["run", "nightly", "cargo"]);
            c
        } else {
            Command::new(&cargo)
        };
        cmd.current_dir(util::root())
            .env("SDKROOT", &sdk_root)
            .env(format!("CC_{env_target}"), "clang")
            .env(format!("AR_{env_target}"), "llvm-ar-14")
            .args([
                "rustc",
                "--release",
                "--quiet",
                "-p",
                "palmkit-ffi",
                "--lib",
            ])
            .args(["--crate-type", "staticlib", "--target", target]);
        if simulator {
            cmd.arg("-Zbuild-std=std,panic_abort");
        }
        println!("building libpalmkit_ffi.a for {target} (several minutes on two cores)");
        util::run(&mut cmd)?;
        built.push((
            target,
            util::target_dir()
                .join(target)
                .join("release/libpalmkit_ffi.a"),
        ));
    }
    println!(
        "\niOS static libraries (release: deps at s, ours and tract at 2/3, LTO; unstripped archives — the app's link strips them):"
    );
    for (target, lib) in &built {
        let size = std::fs::metadata(lib)
            .map_err(|e| format!("{}: {e}", lib.display()))?
            .len();
        let (exported, unresolved) = check_archive(lib)?;
        println!(
            "  {target:<24} {:>6.2} MiB  {exported} UniFFI functions, {unresolved} of ring's C symbols missing  {}",
            size as f64 / 1048576.0,
            lib.display()
        );
        if exported == 0 || unresolved > 0 {
            return Err(format!("{target}: the archive would not link into an app"));
        }
    }
    println!(
        "\nNot done here: `xcodebuild -create-xcframework` and the app's link need Xcode.\n\
         On a Mac: ios/scripts/build-xcframework.sh, then open the app project (ios/README.md)."
    );
    Ok(())
}

/// What can be checked of an archive without Apple's linker: how many UniFFI functions it
/// defines, and how many of ring's C/assembly symbols (`ring_core_*`) its Rust objects use
/// but no member defines (0, or the app's link would fail).
fn check_archive(lib: &Path) -> Result<(usize, usize), String> {
    let symbols = |flag: &str| -> Result<std::collections::BTreeSet<String>, String> {
        // Debian's llvm-nm 14 cannot read the few LLVM-bitcode members newer rustc leaves in
        // compiler_builtins and exits non-zero for them; it still lists every object member.
        let out = Command::new("llvm-nm-14")
            .arg(flag)
            .arg(lib)
            .output()
            .map_err(|e| format!("llvm-nm-14: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().last())
            .map(str::to_string)
            .collect())
    };
    let defined = symbols("--defined-only")?;
    let exported = defined
        .iter()
        .filter(|s| s.starts_with("_uniffi_palmkit_ffi_fn_"))
        .count();
    let unresolved = symbols("--undefined-only")?
        .iter()
        .filter(|s| s.starts_with("_ring_core") && !defined.contains(*s))
        .count();
    Ok((exported, unresolved))
}

/// The stable target for devices, nightly with the standard library's source for the
/// simulator.
fn ensure_toolchains() -> Result<(), String> {
    let installed = |toolchain: &str| -> Result<String, String> {
        let out = util::capture(Command::new("rustup").args([
            "target",
            "list",
            "--installed",
            "--toolchain",
            toolchain,
        ]))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    if !installed("stable")?
        .lines()
        .any(|l| l.trim() == "aarch64-apple-ios")
    {
        util::run(Command::new("rustup").args(["target", "add", "aarch64-apple-ios"]))?;
    }
    tools::ensure_nightly()?;
    util::run(Command::new("rustup").args([
        "component",
        "add",
        "rust-src",
        "--toolchain",
        "nightly",
    ]))
}

/// The three headers ring's C includes on Apple targets, for `sdk` (see the module doc).
fn stand_in_sdk(sdk: &str, simulator: bool) -> Result<PathBuf, String> {
    let root = util::target_dir().join(format!("xtask/ios-sdk/{sdk}.sdk"));
    let include = root.join("usr/include");
    std::fs::create_dir_all(&include).map_err(|e| format!("{}: {e}", include.display()))?;
    let write = |name: &str, text: String| -> Result<(), String> {
        let path: PathBuf = Path::new(&include).join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let header = "/* Written by cargo xtask ios: a stand-in for the iOS SDK header of this name,\n   \
                  enough for ring's C on Linux. A Mac build uses the real SDK. */\n#pragma once\n";
    write(
        "TargetConditionals.h",
        format!(
            "{header}#define TARGET_OS_MAC 1\n#define TARGET_OS_OSX 0\n#define TARGET_OS_IPHONE 1\n\
             #define TARGET_OS_IOS 1\n#define TARGET_OS_SIMULATOR {}\n",
            u8::from(simulator)
        ),
    )?;
    write(
        "assert.h",
        format!(
            "{header}#ifndef NDEBUG\n#error \"release builds only (NDEBUG)\"\n#endif\n#define assert(e) ((void)0)\n"
        ),
    )?;
    write(
        "string.h",
        format!(
            "{header}#include <stddef.h>\nvoid *memcpy(void *, const void *, size_t);\n\
             void *memmove(void *, const void *, size_t);\nvoid *memset(void *, int, size_t);\n\
             int memcmp(const void *, const void *, size_t);\n"
        ),
    )?;
    Ok(root)
}
