//! Generates the Kotlin and Swift bindings from the built FFI library (library mode, with
//! the in-repo `uniffi-bindgen` pinned to the same UniFFI version), into
//! `bindings/generated/{kotlin,swift}`. Never committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// What was generated, and where the host library is.
pub struct Generated {
    /// Root of the generated Kotlin sources.
    pub kotlin_dir: PathBuf,
    /// Folder with [`SWIFT_SOURCES`], [`SWIFT_HEADERS`] and `PalmKitFFI.modulemap` (one C
    /// module over both headers).
    pub swift_dir: PathBuf,
    /// Folder with the debug `libpalmkit_ffi.so` and `.a`.
    pub lib_dir: PathBuf,
}

/// The Swift sources, one per UniFFI namespace, compiled into the one `PalmKit` module.
pub const SWIFT_SOURCES: [&str; 2] = ["PalmKit.swift", "PalmKitCore.swift"];
/// Their C headers, both in the one `PalmKitFFI` module.
pub const SWIFT_HEADERS: [&str; 2] = ["PalmKitFFI.h", "PalmKitCoreFFI.h"];

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
        let bindgen = |crate_filter: Option<&str>, out: &Path| {
            let mut command = Command::new(generated.lib_dir.join("uniffi-bindgen"));
            command
                .args(["generate", "--library"])
                .arg(generated.lib_dir.join("libpalmkit_ffi.so"))
                .args(["--language", language.name(), "--no-format", "--config"])
                .arg(util::root().join("uniffi.toml"))
                .arg("--out-dir")
                .arg(out);
            if let Some(name) = crate_filter {
                command.args(["--crate", name]);
            }
            util::run(&mut command)
        };
        match language {
            // One file per namespace, each in its package's folder.
            Language::Kotlin => bindgen(None, dir)?,
            Language::Swift => swift_module(dir, bindgen)?,
        }
    }
    Ok(generated)
}

/// Both namespaces' Swift into one module: the bindgen names each source after the module
/// (`PalmKit.swift` twice), so each crate is generated alone and its files renamed, and the
/// two headers get one module map.
fn swift_module(
    dir: &Path,
    bindgen: impl Fn(Option<&str>, &Path) -> Result<(), String>,
) -> Result<(), String> {
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    for (crate_name, source) in [
        ("palmkit_ffi", SWIFT_SOURCES[0]),
        ("palmkit_core", SWIFT_SOURCES[1]),
    ] {
        let part = dir.join(crate_name);
        bindgen(Some(crate_name), &part)?;
        std::fs::rename(part.join("PalmKit.swift"), dir.join(source)).map_err(|e| io(source, e))?;
        for entry in std::fs::read_dir(&part).map_err(|e| io(crate_name, e))? {
            let path = entry.map_err(|e| io(crate_name, e))?.path();
            if path.extension().is_some_and(|x| x == "h") {
                let name = path.file_name().unwrap_or_default().to_owned();
                std::fs::rename(&path, dir.join(name)).map_err(|e| io("header", e))?;
            }
        }
        std::fs::remove_dir_all(&part).map_err(|e| io(crate_name, e))?;
    }
    let headers: String = SWIFT_HEADERS
        .iter()
        .map(|h| format!("    header \"{h}\"\n"))
        .collect();
    std::fs::write(
        dir.join("PalmKitFFI.modulemap"),
        format!(
            "module PalmKitFFI {{\n{headers}    export *\n    use \"Darwin\"\n    use \"_Builtin_stdbool\"\n    use \"_Builtin_stdint\"\n}}\n"
        ),
    )
    .map_err(|e| io("PalmKitFFI.modulemap", e))
}

/// Builds the in-repo `uniffi-bindgen` (its own cargo run: its features stay out of the
/// dev build). `cargo xtask test` calls it right after the Rust build, while the installs
/// may still be downloading; later calls find it built.
pub fn build_bindgen() -> Result<(), String> {
    util::cargo(&["build", "--quiet", "-p", "palmkit-uniffi-bindgen"])
}
