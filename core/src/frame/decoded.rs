//! Decoded images for the desktop tools and tests: a JPEG or PNG file decoded to RGB8, with
//! its EXIF orientation, viewed as a [`Frame`] like a camera frame. Phones never decode
//! files: their frames come from the camera.

use std::io::Cursor;

use image::ImageDecoder as _;
use zeroize::Zeroize as _;

use super::{Frame, FrameError, Orientation, PackedFormat, Rotation};

/// Largest decode accepted: a 100 MP RGB image.
const MAX_DECODE_BYTES: u64 = 320 * 1024 * 1024;

/// A decoded image. Its pixels are wiped when it is dropped (they may show a palm).
pub struct DecodedImage {
    rgb: Vec<u8>,
    width: u32,
    height: u32,
    orientation: Orientation,
}

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not a JPEG or PNG, truncated, or corrupt.
    #[error("not a readable JPEG or PNG image: {0}")]
    Unreadable(String),
    /// The decoded image cannot be viewed as a frame (zero or absurd size).
    #[error(transparent)]
    Frame(#[from] FrameError),
}

impl DecodedImage {
    /// Decodes JPEG or PNG bytes, reading the EXIF orientation.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let unreadable = |e: image::ImageError| DecodeError::Unreadable(e.to_string());
        let mut reader = image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| DecodeError::Unreadable(e.to_string()))?;
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(MAX_DECODE_BYTES);
        reader.limits(limits);
        let mut decoder = reader.into_decoder().map_err(unreadable)?;
        let orientation = match decoder.orientation().map_err(unreadable)? {
            image::metadata::Orientation::NoTransforms => (Rotation::Deg0, false),
            image::metadata::Orientation::Rotate90 => (Rotation::Deg90, false),
            image::metadata::Orientation::Rotate180 => (Rotation::Deg180, false),
            image::metadata::Orientation::Rotate270 => (Rotation::Deg270, false),
            image::metadata::Orientation::FlipHorizontal => (Rotation::Deg0, true),
            image::metadata::Orientation::FlipVertical => (Rotation::Deg180, true),
            image::metadata::Orientation::Rotate90FlipH => (Rotation::Deg90, true),
            image::metadata::Orientation::Rotate270FlipH => (Rotation::Deg270, true),
        };
        let image = image::DynamicImage::from_decoder(decoder).map_err(unreadable)?;
        let (width, height) = (image.width(), image.height());
        super::check_size(width, height)?;
        Ok(Self {
            rgb: image.into_rgb8().into_raw(),
            width,
            height,
            orientation: Orientation {
                rotation: orientation.0,
                mirrored: orientation.1,
            },
        })
    }

    /// The image as an upright-able frame.
    pub fn frame(&self) -> Frame<'_> {
        // The buffer was made for exactly this layout; the check cannot fail, and if it
        // ever did the error would be a bug, not bad input.
        Frame::packed(
            &self.rgb,
            self.width,
            self.height,
            PackedFormat::Rgb888,
            self.width as usize * 3,
            self.orientation,
        )
        .expect("a decoded RGB8 buffer always matches its own layout")
    }
}

impl Drop for DecodedImage {
    fn drop(&mut self) {
        self.rgb.zeroize();
    }
}
