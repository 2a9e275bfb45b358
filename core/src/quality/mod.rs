//! Per-frame quality: pixel measures on the palm (sharpness, exposure, glare, noise),
//! hand geometry from the landmarks (distance, centring, roll/pitch/yaw, fingers open and
//! spread, out of frame, motion), the checks that turn them into one instruction per frame
//! (with hysteresis and a debounce), and the auto-capture that keeps the best frame.
//!
//! Nothing here runs a model: the landmarks come from [`crate::vision`], and everything in
//! this module also works on landmarks from elsewhere (tests use drawn ones). The
//! thresholds are named in [`Thresholds`].

pub mod auto_capture;
pub mod geometry;
pub mod guidance;
mod hand_report;
pub mod pixels;
mod thresholds;

pub use auto_capture::{AutoCapture, CaptureStep, frame_score};
pub use geometry::HandGeometry;
pub use guidance::{Checks, Debounce, GuidanceCode};
pub use hand_report::{Bounds, HandLandmarks, HandReport, palm_rect};
pub use pixels::{PixelMeasures, PixelScratch, SensorRect};
pub use thresholds::Thresholds;
