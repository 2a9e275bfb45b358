//! Loading one ONNX model: integrity first (the folder's `SHA256SUMS`), then tract with a
//! fixed input shape, optimized once.

use std::path::Path;

use sha2::{Digest as _, Sha256};
use tract_onnx::prelude::*;

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file or its `SHA256SUMS` could not be read.
    #[error("model file {path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        detail: String,
    },
    /// The file is not the one provisioned (truncated, swapped, or not listed).
    #[error("model file {0} does not match its SHA256SUMS entry")]
    Checksum(String),
    /// tract refused the model or failed to run it.
    #[error("model {name}: {detail}")]
    Runtime {
        /// Which model.
        name: String,
        /// tract's explanation.
        detail: String,
    },
}

/// A runnable, optimized model.
pub(crate) type Runnable = Arc<TypedRunnableModel>;

/// Loads `dir/NAME.onnx` after checking it against `dir/SHA256SUMS`, with an NHWC float
/// input of `shape`.
pub(crate) fn load(dir: &Path, name: &str, shape: &[usize]) -> Result<Runnable, ModelError> {
    let file = format!("{name}.onnx");
    let path = dir.join(&file);
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e: std::io::Error| ModelError::Io {
            path: p,
            detail: e.to_string(),
        }
    };
    let sums_path = dir.join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path).map_err(io(&sums_path))?;
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let listed = sums
        .lines()
        .filter_map(|l| l.split_once("  "))
        .any(|(d, f)| f.trim() == file && d == digest);
    if !listed {
        return Err(ModelError::Checksum(file));
    }
    let runtime = |e: TractError| ModelError::Runtime {
        name: name.to_string(),
        detail: format!("{e:#}"),
    };
    tract_onnx::onnx()
        .model_for_read(&mut bytes.as_slice())
        .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(runtime)
}
