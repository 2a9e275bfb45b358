//! Generates the Kotlin and Swift bindings from the built FFI library (library mode, with
//! the in-repo `uniffi-bindgen` pinned to the same UniFFI version), into
//! `bindings/generated/{kotlin,swift}`. Never committed.

use std::path::PathBuf;
use std::process::Command;

use crate::util;

/// What was generated, and where the host library is.
pub struct Generated {
    /// Root of the generated Kotlin sources.
    pub kotlin_dir: PathBuf,
    /// Folder with `PalmKit.swift`, `PalmKitFFI.h`, `PalmKitFFI.modulemap`.
    pub swift_dir: PathBuf,
    /// Folder with the debug `libpalmkit_ffi.so` and `.a`.
    pub lib_dir: PathBuf,
}

/// A language the bindgen writes.
#[derive(Clone, Copy)]
pub enum Language {
    Kotlin,
    Swift,
}

impl Language {
    fn name(self) -> &'static str {
        match self {
            Language::Kotlin => "kotlin",
            Language::Swift => "swift",
        }
    }
}

/// Builds the FFI library and the bindgen, then generates `languages`, each into its own
/// folder (emptied first). Only those folders are touched, so the Swift tests can generate
/// theirs while the Kotlin tests compile from the Kotlin folder (`cargo xtask test` runs the
/// two side by side).
pub fn generate(languages: &[Language]) -> Result<Generated, String> {
    // The library (and `palmkit` for the tests' server) as the Rust tests build them; the
    // bindgen apart, so its features do not leak into that build.
    let mut build = vec!["build", "--quiet"];
    build.extend_from_slice(util::DEV_BUILD);
    util::cargo(&build)?;
    build_bindgen()?;
    let lib_dir = util::target_dir().join("debug");
    let out = util::root().join("bindings/generated");
    let generated = Generated {
        kotlin_dir: out.join("kotlin"),
        swift_dir: out.join("swift"),
        lib_dir,
    };
    for &language in languages {
        let dir = match language {
            Language::Kotlin => &generated.kotlin_dir,
            Language::Swift => &generated.swift_dir,
        };
        let _ = std::fs::remove_dir_all(dir);
        util::run(
            Command::new(generated.lib_dir.join("uniffi-bindgen"))
                .args(["generate", "--library"])
                .arg(generated.lib_dir.join("libpalmkit_ffi.so"))
                .args(["--language", language.name(), "--no-format", "--config"])
                .arg(util::root().join("uniffi.toml"))
                .arg("--out-dir")
                .arg(dir),
        )?;
    }
    Ok(generated)
}

/// Builds the in-repo `uniffi-bindgen` (its own cargo run: its features stay out of the
/// dev build). `cargo xtask test` calls it right after the Rust build, while the installs
/// may still be downloading; later calls find it built.
pub fn build_bindgen() -> Result<(), String> {
    util::cargo(&["build", "--quiet", "-p", "palmkit-uniffi-bindgen"])
}
