//! The best frame of an auto-capture run, kept in memory only: the upright hand region
//! (the landmarks' bounding box grown by half its size on each side, clipped to the
//! picture, at most [`MAX_SIDE`] pixels a side) copied as RGB into one reused buffer that is
//! wiped when replaced or dropped, and encoded as JPEG into a buffer reserved up front (a
//! growing `Vec` would leave copies of the image in freed memory).

use zeroize::{Zeroize, Zeroizing};

use crate::frame::Frame;

/// Longest side of a kept capture, pixels.
pub const MAX_SIDE: u32 = 1280;
/// JPEG quality of the capture.
const JPEG_QUALITY: u8 = 92;

/// One kept frame (RGB, upright).
#[derive(Default)]
pub struct BestFrame {
    rgb: Zeroizing<Vec<u8>>,
    width: u32,
    height: u32,
}

impl BestFrame {
    /// Keeps the region of `frame` around `landmarks` (upright pixels), replacing what was
    /// kept before.
    pub fn keep(&mut self, frame: &Frame<'_>, landmarks: &[[f32; 3]; 21]) {
        let (uw, uh) = frame.upright_size();
        let [x0, y0, x1, y1] = crate::quality::geometry::bounds(landmarks);
        let grow = 0.5 * (x1 - x0).max(y1 - y0);
        let clip = |v: f32, max: u32| v.clamp(0.0, max as f32) as u32;
        let (x0, x1) = (clip(x0 - grow, uw), clip(x1 + grow, uw));
        let (y0, y1) = (clip(y0 - grow, uh), clip(y1 + grow, uh));
        self.rgb.zeroize();
        if x1 <= x0 || y1 <= y0 {
            self.width = 0;
            self.height = 0;
            return;
        }
        // Whole-pixel steps keep it simple; a 4K frame's hand region is sampled every
        // second or third pixel.
        let step = (x1 - x0).max(y1 - y0).div_ceil(MAX_SIDE).max(1);
        let (w, h) = ((x1 - x0).div_ceil(step), (y1 - y0).div_ceil(step));
        let len = (w * h * 3) as usize;
        if self.rgb.capacity() < len {
            // Replace rather than grow: the old buffer is already wiped.
            *self.rgb = Vec::with_capacity(len);
        }
        for oy in 0..h {
            for ox in 0..w {
                let (sx, sy) = frame.to_sensor(x0 + ox * step, y0 + oy * step);
                self.rgb.extend_from_slice(&frame.rgb(sx, sy));
            }
        }
        self.width = w;
        self.height = h;
    }

    /// Whether a frame is kept.
    pub fn is_empty(&self) -> bool {
        self.width == 0
    }

    /// The kept frame as a JPEG, then forgets it. `None` when nothing is kept; an encoder
    /// failure is an error (the frame is wiped either way).
    pub fn take_jpeg(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, image::ImageError> {
        if self.is_empty() {
            return Ok(None);
        }
        // A JPEG at quality 92 is far smaller than the raw RGB; reserving that much means
        // the encoder never reallocates.
        let mut out = Zeroizing::new(Vec::with_capacity(self.rgb.len() + 4096));
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut *out, JPEG_QUALITY);
        let result = image::ImageEncoder::write_image(
            encoder,
            &self.rgb,
            self.width,
            self.height,
            image::ExtendedColorType::Rgb8,
        );
        self.rgb.zeroize();
        self.width = 0;
        self.height = 0;
        result.map(|()| Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Orientation, PackedFormat};

    #[test]
    fn the_kept_region_surrounds_the_hand_and_encodes_as_jpeg() {
        let (w, h) = (200u32, 100u32);
        let data: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % 251) as u8, 80, 160])
            .collect();
        let frame = Frame::packed(
            &data,
            w,
            h,
            PackedFormat::Rgb888,
            600,
            Orientation::default(),
        )
        .unwrap();
        let mut lm = [[0f32; 3]; 21];
        for (i, p) in lm.iter_mut().enumerate() {
            *p = [90.0 + i as f32, 40.0 + (i % 5) as f32 * 5.0, 0.0];
        }
        let mut best = BestFrame::default();
        best.keep(&frame, &lm);
        // Landmarks span 20 x 20; grown by 10 each side: 40 x 40 from (80, 30).
        assert_eq!((best.width, best.height), (40, 40));
        assert_eq!(&best.rgb[..3], &frame.rgb(80, 30));
        let jpeg = best.take_jpeg().unwrap().unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        let decoded = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 40));
        assert!(best.is_empty() && best.take_jpeg().unwrap().is_none());
    }
}
