//! Hand vision on tract-onnx: the MediaPipe palm detector today (letterboxed input,
//! anchor decoding, weighted non-maximum suppression); the 21-point landmark model and
//! tracking between frames come next (issue 3).
//!
//! Models are loaded from a provisioned folder (`cargo xtask models`; in the apps, the
//! bundled `models/` folder) and each file is checked against the folder's `SHA256SUMS`
//! before tract sees it, so a truncated or swapped model is a typed error.

mod anchors;
pub mod detector;
mod model_file;

pub use detector::{PalmDetection, PalmDetector};
pub use model_file::ModelError;
