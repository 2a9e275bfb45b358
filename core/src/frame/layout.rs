//! How a frame's bytes are laid out, checked once against its planes so that every later
//! read is in bounds. Reads still go through `get` (a bug here returns black, it does not
//! panic across the FFI).

use super::FrameError;

/// A packed pixel format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackedFormat {
    /// B, G, R, A bytes (iOS `kCVPixelFormatType_32BGRA`).
    Bgra8888,
    /// R, G, B, A bytes.
    Rgba8888,
    /// R, G, B bytes.
    Rgb888,
}

impl PackedFormat {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Bgra8888 | Self::Rgba8888 => 4,
            Self::Rgb888 => 3,
        }
    }

    /// Offsets of R, G, B within a pixel.
    fn rgb_offsets(self) -> [usize; 3] {
        match self {
            Self::Bgra8888 => [2, 1, 0],
            Self::Rgba8888 | Self::Rgb888 => [0, 1, 2],
        }
    }
}

/// A YUV 4:2:0 frame: Android's YUV_420_888 (three planes with row and pixel strides, the
/// U and V buffers overlapping when the pixel stride is 2), NV21 (V/U interleaved right
/// after Y in one buffer: pixel stride 2, U one byte after V), NV12 (iOS: Y, then U/V
/// interleaved, U first) and I420 (pixel stride 1). Offsets are into each plane's own bytes
/// ([`Planes`]); a one-buffer frame gives every plane the whole buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YuvLayout {
    /// Where the Y plane starts in its bytes.
    pub y_offset: usize,
    /// Bytes from one Y row to the next.
    pub y_row_stride: usize,
    /// Where the U (Cb) plane starts in its bytes.
    pub u_offset: usize,
    /// Where the V (Cr) plane starts in its bytes.
    pub v_offset: usize,
    /// Bytes from one chroma row to the next.
    pub uv_row_stride: usize,
    /// Bytes from one chroma sample to the next in a row: 1 (planar) or 2 (interleaved).
    pub uv_pixel_stride: usize,
}

/// The bytes of a frame's planes, borrowed from the caller (the camera's own buffers at the
/// FFI): Y, U and V for YUV layouts, the pixels in `y` for packed ones (`u`, `v` unused).
#[derive(Clone, Copy, Debug)]
pub struct Planes<'a> {
    /// The Y plane, or the packed pixels.
    pub y: &'a [u8],
    /// The U (Cb) plane.
    pub u: &'a [u8],
    /// The V (Cr) plane.
    pub v: &'a [u8],
}

impl<'a> Planes<'a> {
    /// Every plane in one buffer (at the layout's offsets).
    pub fn one(data: &'a [u8]) -> Self {
        Self {
            y: data,
            u: data,
            v: data,
        }
    }
}

/// A frame layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// YUV 4:2:0.
    Yuv(YuvLayout),
    /// One plane of packed pixels.
    Packed {
        /// The pixel format.
        format: PackedFormat,
        /// Bytes from one row to the next.
        row_stride: usize,
    },
}

/// One past the last byte a plane of `rows` rows of `row_bytes` bytes at `stride` needs.
fn plane_end(offset: usize, stride: usize, rows: usize, row_bytes: usize) -> Option<usize> {
    offset
        .checked_add(stride.checked_mul(rows - 1)?)?
        .checked_add(row_bytes)
}

fn fits(plane: &'static str, end: Option<usize>, len: usize) -> Result<(), FrameError> {
    match end {
        Some(needed) if needed <= len => Ok(()),
        Some(needed) => Err(FrameError::BufferTooSmall { plane, needed, len }),
        None => Err(FrameError::BufferTooSmall {
            plane,
            needed: usize::MAX,
            len,
        }),
    }
}

impl Layout {
    /// Checks that a `width` x `height` frame in this layout lies inside its planes.
    pub(super) fn check(
        &self,
        planes: &Planes<'_>,
        width: usize,
        height: usize,
    ) -> Result<(), FrameError> {
        match *self {
            Self::Packed { format, row_stride } => {
                let row = width * format.bytes_per_pixel();
                if row_stride < row {
                    return Err(FrameError::StrideTooSmall {
                        plane: "pixel",
                        stride: row_stride,
                        min: row,
                    });
                }
                fits(
                    "pixel",
                    plane_end(0, row_stride, height, row),
                    planes.y.len(),
                )
            }
            Self::Yuv(y) => {
                if y.y_row_stride < width {
                    return Err(FrameError::StrideTooSmall {
                        plane: "Y",
                        stride: y.y_row_stride,
                        min: width,
                    });
                }
                if !(1..=2).contains(&y.uv_pixel_stride) {
                    return Err(FrameError::BadPixelStride(y.uv_pixel_stride));
                }
                let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
                // A chroma row: samples `uv_pixel_stride` apart, the last one 1 byte wide.
                let chroma_row = (cw - 1) * y.uv_pixel_stride + 1;
                if y.uv_row_stride < chroma_row {
                    return Err(FrameError::StrideTooSmall {
                        plane: "chroma",
                        stride: y.uv_row_stride,
                        min: chroma_row,
                    });
                }
                fits(
                    "Y",
                    plane_end(y.y_offset, y.y_row_stride, height, width),
                    planes.y.len(),
                )?;
                fits(
                    "U",
                    plane_end(y.u_offset, y.uv_row_stride, ch, chroma_row),
                    planes.u.len(),
                )?;
                fits(
                    "V",
                    plane_end(y.v_offset, y.uv_row_stride, ch, chroma_row),
                    planes.v.len(),
                )
            }
        }
    }

    #[inline]
    pub(super) fn luma(&self, planes: &Planes<'_>, x: usize, y: usize) -> u8 {
        match *self {
            Self::Yuv(l) => {
                let at = l.y_offset + y * l.y_row_stride + x;
                // Checked layouts never read outside; debug builds (tests, fuzzing) say so
                // loudly if that ever breaks, release builds read black.
                debug_assert!(at < planes.y.len(), "luma read outside a checked frame");
                planes.y.get(at).copied().unwrap_or(0)
            }
            Self::Packed { .. } => {
                let [r, g, b] = self.rgb(planes, x, y);
                // BT.601 weights in 8-bit fixed point.
                ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b)) >> 8) as u8
            }
        }
    }

    #[inline]
    pub(super) fn rgb(&self, planes: &Planes<'_>, x: usize, y: usize) -> [u8; 3] {
        match *self {
            Self::Packed { format, row_stride } => {
                let data = planes.y;
                let at = y * row_stride + x * format.bytes_per_pixel();
                debug_assert!(
                    at + format.bytes_per_pixel() <= data.len(),
                    "pixel read outside a checked frame"
                );
                let [r, g, b] = format.rgb_offsets();
                let byte = |o: usize| data.get(at + o).copied().unwrap_or(0);
                [byte(r), byte(g), byte(b)]
            }
            Self::Yuv(l) => {
                let luma = self.luma(planes, x, y);
                let c = (y / 2) * l.uv_row_stride + (x / 2) * l.uv_pixel_stride;
                debug_assert!(
                    l.u_offset + c < planes.u.len() && l.v_offset + c < planes.v.len(),
                    "chroma read outside a checked frame"
                );
                let u = planes.u.get(l.u_offset + c).copied().unwrap_or(128);
                let v = planes.v.get(l.v_offset + c).copied().unwrap_or(128);
                yuv_to_rgb(luma, u, v)
            }
        }
    }

    /// Chroma (Cb, Cr), centred on 0: straight from the U and V planes of a YUV layout
    /// (no round trip through clamped RGB), BT.601 full range from RGB otherwise.
    #[inline]
    pub(super) fn chroma(&self, planes: &Planes<'_>, x: usize, y: usize) -> (f32, f32) {
        match *self {
            Self::Yuv(l) => {
                let c = (y / 2) * l.uv_row_stride + (x / 2) * l.uv_pixel_stride;
                let u = planes.u.get(l.u_offset + c).copied().unwrap_or(128);
                let v = planes.v.get(l.v_offset + c).copied().unwrap_or(128);
                (f32::from(u) - 128.0, f32::from(v) - 128.0)
            }
            Self::Packed { .. } => {
                let [r, g, b] = self.rgb(planes, x, y).map(f32::from);
                (
                    -0.168_736 * r - 0.331_264 * g + 0.5 * b,
                    0.5 * r - 0.418_688 * g - 0.081_312 * b,
                )
            }
        }
    }

    pub(super) fn luma_row<'a>(
        &self,
        planes: &Planes<'a>,
        y: usize,
        width: usize,
    ) -> Option<&'a [u8]> {
        match *self {
            Self::Yuv(l) => {
                let start = l.y_offset + y * l.y_row_stride;
                planes.y.get(start..start + width)
            }
            Self::Packed { .. } => None,
        }
    }
}

/// BT.601 full-range YUV to RGB in 16-bit fixed point.
#[inline]
fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let y = i32::from(y) << 16;
    let (u, v) = (i32::from(u) - 128, i32::from(v) - 128);
    let clamp = |x: i32| ((x + (1 << 15)) >> 16).clamp(0, 255) as u8;
    [
        clamp(y + 91_881 * v),
        clamp(y - 22_554 * u - 46_802 * v),
        clamp(y + 116_130 * u),
    ]
}
