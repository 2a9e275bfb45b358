//! The camera frame as the apps describe it ([`FrameInfo`], [`PixelFormat`]: the one
//! input with a shape of its own at the FFI) and the core's view over its bytes. What a
//! frame gave comes back as the core's own `FrameAnalysis` (guidance, hand report, spoof
//! verdict), derived for UniFFI in palmkit-core; the captured image stays in the core.
//!
//! The frame bytes come over as one copy (a `Vec<u8>`), which the core wipes after use;
//! borrowing the camera's planes as `&[u8]` arguments is the frame-path work still open.

use palmkit_core::analysis::FrameAnalyzer as CoreAnalyzer;
use palmkit_core::frame::{Frame, Layout, Orientation, PackedFormat, Rotation, YuvLayout};
use palmkit_core::quality::Thresholds;

use crate::PalmKitError;

/// How the frame's bytes are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum PixelFormat {
    /// Android NV21: Y plane, then interleaved V/U rows right after it.
    Nv21,
    /// Android YUV_420_888 with its three planes copied into one buffer at `u_offset` and
    /// `v_offset`, keeping their row and pixel strides.
    Yuv420888,
    /// iOS `kCVPixelFormatType_32BGRA`.
    Bgra8888,
    /// RGBA, 4 bytes a pixel.
    Rgba8888,
    /// RGB, 3 bytes a pixel.
    Rgb888,
}

/// Everything about a frame except its bytes.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct FrameInfo {
    /// The byte layout.
    pub format: PixelFormat,
    /// Sensor width, pixels.
    pub width: u32,
    /// Sensor height, pixels.
    pub height: u32,
    /// Bytes from one row to the next (the Y plane for YUV formats).
    pub row_stride: u32,
    /// YUV: bytes from one chroma row to the next (ignored for packed formats).
    pub uv_row_stride: u32,
    /// YUV_420_888: bytes between chroma samples in a row, 1 or 2.
    pub uv_pixel_stride: u32,
    /// YUV_420_888: where the U plane starts in the buffer.
    pub u_offset: u64,
    /// YUV_420_888: where the V plane starts in the buffer.
    pub v_offset: u64,
    /// Clockwise rotation that makes the picture upright: 0, 90, 180 or 270.
    pub rotation_degrees: u32,
    /// Mirror after rotating (front camera preview).
    pub mirrored: bool,
    /// The camera's timestamp of the frame, milliseconds (monotonic).
    pub timestamp_ms: u64,
}

/// Loads the hand models from `models_dir` (checked against its `SHA256SUMS`) with the
/// default thresholds.
pub(crate) fn load(models_dir: &str) -> Result<CoreAnalyzer, PalmKitError> {
    CoreAnalyzer::load(std::path::Path::new(models_dir), Thresholds::default()).map_err(|e| {
        PalmKitError::ModelUnavailable {
            reason: e.to_string(),
        }
    })
}

pub(crate) fn view<'a>(data: &'a [u8], f: &FrameInfo) -> Result<Frame<'a>, PalmKitError> {
    let invalid = |e: palmkit_core::frame::FrameError| PalmKitError::InvalidFrame {
        reason: e.to_string(),
    };
    let orientation = Orientation {
        rotation: Rotation::from_degrees(f.rotation_degrees).map_err(invalid)?,
        mirrored: f.mirrored,
    };
    let (row, uv_row) = (f.row_stride as usize, f.uv_row_stride as usize);
    let packed = |format| Frame::packed(data, f.width, f.height, format, row, orientation);
    let offset = |v: u64| {
        usize::try_from(v).map_err(|_| PalmKitError::InvalidFrame {
            reason: format!("plane offset {v} is beyond this device's memory"),
        })
    };
    match f.format {
        PixelFormat::Nv21 => Frame::nv21(data, f.width, f.height, row, uv_row, orientation),
        PixelFormat::Yuv420888 => {
            let layout = Layout::Yuv(YuvLayout {
                y_offset: 0,
                y_row_stride: row,
                u_offset: offset(f.u_offset)?,
                v_offset: offset(f.v_offset)?,
                uv_row_stride: uv_row,
                uv_pixel_stride: f.uv_pixel_stride as usize,
            });
            Frame::new(data, f.width, f.height, layout, orientation)
        }
        PixelFormat::Bgra8888 => packed(PackedFormat::Bgra8888),
        PixelFormat::Rgba8888 => packed(PackedFormat::Rgba8888),
        PixelFormat::Rgb888 => packed(PackedFormat::Rgb888),
    }
    .map_err(invalid)
}
