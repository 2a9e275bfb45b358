//! Decoding the pictures the service reads (sealed captures once opened, store scans)
//! under limits that hold before a pixel is allocated: a largest side per kind (what a
//! phone camera or a store scanner produces, no more), a memory budget that counts the
//! decoder's buffer and the RGB copy the palm reader needs, and a bound on the pictures
//! decoded at once ([`PictureLimits::decodes_at_once`], a semaphore in the app state).
//!
//! Why each: a PNG of 82 KB can claim 8192 x 8192 grey pixels; decoded it is 64 MB, its
//! RGB copy 192 MB more, and eight at once 2.25 GB, all for an answer of `no_palm`. The
//! side limit refuses it from its header; the budget refuses what fits the side but not
//! the memory; the bound keeps the sum of what is allowed at once small.

use std::io::Cursor;

use image::ImageDecoder as _;
use zeroize::{Zeroize as _, Zeroizing};

use super::Refused;

/// The limits pictures are decoded under.
#[derive(Clone, Debug)]
pub struct PictureLimits {
    /// Largest side of a capture (a phone photo: 12 MP is 4032 x 3024; 48 MP 8064 x 6048
    /// sensors bin to 12 MP for the apps' photos).
    pub capture_max_side: u32,
    /// Largest side of a store scan (the near-infrared scanners send at most 2 MP).
    pub scan_max_side: u32,
    /// The most memory one decode may take: the decoded pixels and their RGB copy.
    pub max_decode_bytes: u64,
    /// Pictures decoded (and read) at once over captures and scans; more wait their turn
    /// within the request timeout.
    pub decodes_at_once: usize,
}

impl Default for PictureLimits {
    fn default() -> Self {
        Self {
            capture_max_side: 6000,
            scan_max_side: 4096,
            max_decode_bytes: 128 * 1024 * 1024,
            decodes_at_once: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// What a picture is, for its side limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureKind {
    /// A shopper's capture, opened from its envelope.
    Capture,
    /// A store scanner's picture.
    Scan,
}

impl PictureLimits {
    fn max_side(&self, kind: PictureKind) -> u32 {
        match kind {
            PictureKind::Capture => self.capture_max_side,
            PictureKind::Scan => self.scan_max_side,
        }
    }
}

fn refused(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

/// Decodes a JPEG or PNG fully under `limits` for its `kind` (the caller wipes the
/// pixels, or converts them with [`into_rgb`]). With `expected`, a picture of another
/// media type is refused from its header. A picture over the side limit or the budget is
/// refused (`image_too_large`) from its header, before any pixel is allocated.
pub fn decode(
    bytes: &[u8],
    expected: Option<&str>,
    kind: PictureKind,
    limits: &PictureLimits,
) -> Result<image::DynamicImage, Refused> {
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| refused("invalid_image", e.to_string()))?;
    let media_type = match reader.format() {
        Some(image::ImageFormat::Jpeg) => "image/jpeg",
        Some(image::ImageFormat::Png) => "image/png",
        _ => return Err(refused("invalid_image", "not a JPEG or PNG image")),
    };
    if let Some(expected) = expected.filter(|e| *e != media_type) {
        return Err(refused(
            "metadata_mismatch",
            format!("the image is {media_type}, the metadata says {expected:.40}"),
        ));
    }
    // The header alone: dimensions and pixel type.
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| refused("invalid_image", format!("does not decode: {e}")))?;
    let (width, height) = decoder.dimensions();
    let max_side = limits.max_side(kind);
    if width > max_side || height > max_side {
        return Err(refused(
            "image_too_large",
            format!("the picture is {width}x{height}; at most {max_side} pixels a side are read"),
        ));
    }
    let pixels = decoder.total_bytes();
    let converted = if decoder.color_type() == image::ColorType::Rgb8 {
        0
    } else {
        u64::from(width) * u64::from(height) * 3
    };
    if pixels.saturating_add(converted) > limits.max_decode_bytes {
        return Err(refused(
            "image_too_large",
            format!(
                "the picture is {width}x{height} and would take {} MB to read; at most {} MB",
                (pixels + converted) >> 20,
                limits.max_decode_bytes >> 20
            ),
        ));
    }
    // The decoder's own allocations count against what the RGB copy leaves.
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(max_side);
    decode_limits.max_image_height = Some(max_side);
    decode_limits.max_alloc = Some(limits.max_decode_bytes - converted);
    decoder
        .set_limits(decode_limits)
        .map_err(|e| refused("image_too_large", e.to_string()))?;
    image::DynamicImage::from_decoder(decoder)
        .map_err(|e| refused("invalid_image", format!("does not decode: {e}")))
}

/// The pixels of a decoded image as RGB8 (wiped on drop); the decoder's own buffer is
/// wiped here.
pub fn into_rgb(decoded: image::DynamicImage) -> Zeroizing<Vec<u8>> {
    match decoded {
        image::DynamicImage::ImageRgb8(rgb) => Zeroizing::new(rgb.into_raw()),
        other => {
            let rgb = Zeroizing::new(other.to_rgb8().into_raw());
            other.into_bytes().zeroize();
            rgb
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A greyscale PNG of `side` x `side` pixels, all black: tiny on the wire.
    fn grey_png(side: u32) -> Vec<u8> {
        let mut png = Vec::new();
        image::GrayImage::new(side, side)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    #[test]
    fn a_picture_bomb_is_refused_from_its_header() {
        let bomb = grey_png(8192);
        // Small on the wire (82 KB with the best compression; the encoder here: ~340 KB).
        assert!(bomb.len() < 1_000_000, "{} bytes", bomb.len());
        let limits = PictureLimits::default();
        for kind in [PictureKind::Scan, PictureKind::Capture] {
            let refused = decode(&bomb, None, kind, &limits).unwrap_err();
            assert_eq!(
                refused.code, "image_too_large",
                "{kind:?}: {}",
                refused.message
            );
        }
        // The scan's side is tighter than the capture's.
        let large = grey_png(5000);
        let scan = decode(&large, None, PictureKind::Scan, &limits).unwrap_err();
        assert_eq!(scan.code, "image_too_large");
        let capture = decode(&large, None, PictureKind::Capture, &limits).unwrap();
        assert_eq!((capture.width(), capture.height()), (5000, 5000));
    }

    #[test]
    fn the_budget_counts_the_rgb_copy() {
        // 3000 x 3000 grey: 9 MB decoded, 27 MB more as RGB. A budget of 20 MB admits
        // the decoded pixels alone but not with their copy; 40 MB admits both.
        let png = grey_png(3000);
        let mut limits = PictureLimits {
            max_decode_bytes: 20 << 20,
            ..PictureLimits::default()
        };
        let refused = decode(&png, None, PictureKind::Capture, &limits).unwrap_err();
        assert_eq!(refused.code, "image_too_large", "{}", refused.message);
        limits.max_decode_bytes = 40 << 20;
        let rgb = into_rgb(decode(&png, None, PictureKind::Capture, &limits).unwrap());
        assert_eq!(rgb.len(), 3000 * 3000 * 3);
    }
}
