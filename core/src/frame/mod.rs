//! Camera frame views: NV21 and YUV_420_888 with row and pixel strides (Android), BGRA8888
//! (iOS), NV12 in two planes (iOS), RGBA8 / RGB8 (decoded images on the desktop), with the
//! rotation and mirroring that turn the sensor's picture upright. A [`Frame`] borrows the
//! caller's planes ([`Planes`]: at the FFI, the camera's own buffers): nothing is copied. Every layout is checked once, when the view is made, so that no later pixel
//! read can leave the buffer: an inconsistent buffer (length, strides, offsets, zero or
//! absurd sizes) is a typed [`FrameError`], never a panic.
//!
//! Coordinates: *sensor* coordinates address the buffer as it lies; *upright* coordinates
//! address the picture as the shopper sees it (after rotation, then mirroring).

pub mod decoded;
mod layout;
mod orientation;
#[cfg(feature = "eval")]
pub mod synthetic;

pub use decoded::{DecodeError, DecodedImage};
pub use layout::{Layout, PackedFormat, Planes, YuvLayout};
pub use orientation::{Orientation, Rotation};

/// Largest side accepted (a 16K sensor); anything larger is a corrupt description.
pub const MAX_SIDE: u32 = 16_384;
/// Largest pixel count accepted (100 MP).
pub const MAX_PIXELS: u64 = 100_000_000;

/// Why bytes cannot be viewed as the frame they are said to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Width or height is zero.
    #[error("the frame is {width}x{height}: both sides must be at least 1")]
    ZeroSize {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
    },
    /// Width, height or pixel count beyond any camera.
    #[error(
        "the frame is {width}x{height}: larger than {MAX_SIDE} per side or {MAX_PIXELS} pixels"
    )]
    TooLarge {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
    },
    /// A row stride shorter than a row.
    #[error("the {plane} row stride {stride} is shorter than a row of {min} bytes")]
    StrideTooSmall {
        /// Which plane.
        plane: &'static str,
        /// The stride given.
        stride: usize,
        /// The least it could be.
        min: usize,
    },
    /// A chroma pixel stride that is neither 1 (planar) nor 2 (semi-planar).
    #[error("the chroma pixel stride is {0}; YUV_420_888 uses 1 or 2")]
    BadPixelStride(usize),
    /// A plane runs past the end of its bytes.
    #[error("the {plane} plane needs bytes up to {needed} but its buffer has {len}")]
    BufferTooSmall {
        /// Which plane.
        plane: &'static str,
        /// One past the last byte the plane needs.
        needed: usize,
        /// The buffer's length.
        len: usize,
    },
    /// A rotation that is not a multiple of 90 degrees.
    #[error("rotation {0} is not 0, 90, 180 or 270 degrees")]
    BadRotation(u32),
}

/// A camera frame: borrowed planes, their layout, and the orientation that makes them
/// upright.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    planes: Planes<'a>,
    width: u32,
    height: u32,
    layout: Layout,
    orientation: Orientation,
}

fn check_size(width: u32, height: u32) -> Result<(), FrameError> {
    if width == 0 || height == 0 {
        return Err(FrameError::ZeroSize { width, height });
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(FrameError::TooLarge { width, height });
    }
    Ok(())
}

impl<'a> Frame<'a> {
    /// A view of `data` as a `width` x `height` frame in `layout` (every plane in this one
    /// buffer, at the layout's offsets), checked.
    pub fn new(
        data: &'a [u8],
        width: u32,
        height: u32,
        layout: Layout,
        orientation: Orientation,
    ) -> Result<Self, FrameError> {
        Self::with_planes(Planes::one(data), width, height, layout, orientation)
    }

    /// A view of `planes` as a `width` x `height` frame in `layout` (its offsets into each
    /// plane's own bytes), checked.
    pub fn with_planes(
        planes: Planes<'a>,
        width: u32,
        height: u32,
        layout: Layout,
        orientation: Orientation,
    ) -> Result<Self, FrameError> {
        check_size(width, height)?;
        layout.check(&planes, width as usize, height as usize)?;
        Ok(Self {
            planes,
            width,
            height,
            layout,
            orientation,
        })
    }

    /// NV21 (Android's default preview format): a Y plane of `y_row_stride`-byte rows,
    /// then interleaved V/U rows of `uv_row_stride` bytes, right after the Y plane.
    pub fn nv21(
        data: &'a [u8],
        width: u32,
        height: u32,
        y_row_stride: usize,
        uv_row_stride: usize,
        orientation: Orientation,
    ) -> Result<Self, FrameError> {
        let v_offset = y_row_stride
            .checked_mul(height as usize)
            .ok_or(FrameError::TooLarge { width, height })?;
        let layout = Layout::Yuv(YuvLayout {
            y_offset: 0,
            y_row_stride,
            u_offset: v_offset + 1,
            v_offset,
            uv_row_stride,
            uv_pixel_stride: 2,
        });
        Self::new(data, width, height, layout, orientation)
    }

    /// Android's YUV_420_888 as an `ImageReader` delivers it: three planes, each its own
    /// buffer (U and V may overlap: with pixel stride 2 they are the same memory one byte
    /// apart), the chroma planes sharing a row and a pixel stride; the last row of a plane
    /// may stop at its last sample.
    pub fn yuv420(
        planes: Planes<'a>,
        width: u32,
        height: u32,
        y_row_stride: usize,
        uv_row_stride: usize,
        uv_pixel_stride: usize,
        orientation: Orientation,
    ) -> Result<Self, FrameError> {
        let layout = Layout::Yuv(YuvLayout {
            y_offset: 0,
            y_row_stride,
            u_offset: 0,
            v_offset: 0,
            uv_row_stride,
            uv_pixel_stride,
        });
        Self::with_planes(planes, width, height, layout, orientation)
    }

    /// NV12 in two planes (iOS `kCVPixelFormatType_420YpCbCr8BiPlanarFullRange`): `y`, and
    /// `uv` with U and V interleaved, U first.
    pub fn nv12(
        y: &'a [u8],
        uv: &'a [u8],
        width: u32,
        height: u32,
        y_row_stride: usize,
        uv_row_stride: usize,
        orientation: Orientation,
    ) -> Result<Self, FrameError> {
        let planes = Planes {
            y,
            u: uv,
            // V is the byte after each U: the same bytes, one on.
            v: uv.get(1..).unwrap_or_default(),
        };
        Self::yuv420(
            planes,
            width,
            height,
            y_row_stride,
            uv_row_stride,
            2,
            orientation,
        )
    }

    /// The planes' first bytes (null for an empty plane), for checks that a frame is the
    /// caller's memory and not a copy of it.
    pub fn plane_addresses(&self) -> [usize; 3] {
        let at = |p: &[u8]| if p.is_empty() { 0 } else { p.as_ptr() as usize };
        [at(self.planes.y), at(self.planes.u), at(self.planes.v)]
    }

    /// A packed format (BGRA8888 on iOS, RGBA / RGB on the desktop) with `row_stride`-byte
    /// rows.
    pub fn packed(
        data: &'a [u8],
        width: u32,
        height: u32,
        format: PackedFormat,
        row_stride: usize,
        orientation: Orientation,
    ) -> Result<Self, FrameError> {
        Self::new(
            data,
            width,
            height,
            Layout::Packed { format, row_stride },
            orientation,
        )
    }

    /// Sensor width.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Sensor height.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The orientation.
    pub fn orientation(&self) -> Orientation {
        self.orientation
    }

    /// Size of the upright picture: sides swapped by a quarter turn.
    pub fn upright_size(&self) -> (u32, u32) {
        self.orientation.upright_size(self.width, self.height)
    }

    /// The sensor position of upright pixel (`ux`, `uy`). Callers keep `ux`, `uy` inside
    /// [`upright_size`](Self::upright_size).
    #[inline]
    pub fn to_sensor(&self, ux: u32, uy: u32) -> (u32, u32) {
        self.orientation.to_sensor(ux, uy, self.width, self.height)
    }

    /// Luma (0-255) of sensor pixel (`x`, `y`); 0 outside the frame.
    #[inline]
    pub fn luma(&self, x: u32, y: u32) -> u8 {
        if x >= self.width || y >= self.height {
            return 0;
        }
        self.layout.luma(&self.planes, x as usize, y as usize)
    }

    /// RGB of sensor pixel (`x`, `y`) (YUV: BT.601 full range, as Android and iOS cameras
    /// deliver it); black outside the frame.
    #[inline]
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        if x >= self.width || y >= self.height {
            return [0, 0, 0];
        }
        self.layout.rgb(&self.planes, x as usize, y as usize)
    }

    /// Chroma (Cb, Cr) of sensor pixel (`x`, `y`), centred on 0 (BT.601 full range; read
    /// straight from the chroma planes of YUV frames); 0 outside the frame.
    #[inline]
    pub fn chroma(&self, x: u32, y: u32) -> (f32, f32) {
        if x >= self.width || y >= self.height {
            return (0.0, 0.0);
        }
        self.layout.chroma(&self.planes, x as usize, y as usize)
    }

    /// One sensor row of luma bytes, when the layout stores luma directly (YUV); `None`
    /// for packed formats or a row outside the frame.
    pub fn luma_row(&self, y: u32) -> Option<&'a [u8]> {
        if y >= self.height {
            return None;
        }
        self.layout
            .luma_row(&self.planes, y as usize, self.width as usize)
    }
}

#[cfg(test)]
mod tests;
