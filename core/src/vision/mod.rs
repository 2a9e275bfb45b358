//! Hand vision on tract-onnx: the MediaPipe palm detector (letterboxed input, anchor
//! decoding, weighted non-maximum suppression) and the 21-point hand landmark model on the
//! rotated crop it gives (with handedness and palm-vs-back), and the tracker that runs the
//! detector only when no hand is followed.
//!
//! Models are loaded from a provisioned folder (`cargo xtask models`; in the apps, the
//! bundled `models/` folder) and each file is checked against the folder's `SHA256SUMS`
//! before tract sees it, so a truncated or swapped model is a typed error.

mod anchors;
pub mod detector;
pub mod landmarks;
pub mod layout;
mod model_file;
mod sampling;
pub mod tracker;
mod vector_state;

pub use detector::{PalmDetection, PalmDetector};
pub use landmarks::{Hand, HandRegion, LandmarkModel};
pub use model_file::{ModelError, Runnable, load as load_model};
pub use tracker::{DETECTOR_MODEL, HandTracker, LANDMARK_MODEL, Tracked};
pub use vector_state::eval_node;
