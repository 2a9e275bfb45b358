//! The hand models: provisioned by `models/provision.py` (pinned wheel, sha256 of every
//! input, tf2onnx conversion, recorded output hashes, NOTICE) into
//! `$PALMKIT_CACHE/models/onnx`, outside the clone. The tests find them through
//! `PALMKIT_MODELS`.

use std::path::PathBuf;
use std::process::Command;

use crate::util;

/// The models the apps bundle: the ones the core runs (`palmkit_core::vision::DETECTOR_MODEL`
/// and `LANDMARK_MODEL`), with the folder's checksums and notice. `cargo xtask size` holds
/// them to a budget; the bindings' tests get exactly these.
pub const SHIPPED: &[&str] = &[
    "palm_detection_full.onnx",
    "hand_landmark_lite.onnx",
    "SHA256SUMS",
    "NOTICE",
];

/// The folder holding the four ONNX models, provisioning what is missing (with progress).
/// Checked once per xtask run: the Rust, Kotlin and Swift stages all ask.
pub fn ensure() -> Result<PathBuf, String> {
    static READY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(dir) = READY.get() {
        return Ok(dir.clone());
    }
    let cache = util::cache_dir().join("models");
    util::run(
        Command::new("python3")
            .arg(util::root().join("models/provision.py"))
            .arg("--cache")
            .arg(&cache),
    )?;
    Ok(READY.get_or_init(|| cache.join("onnx")).clone())
}
