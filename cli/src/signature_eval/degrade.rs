//! The degradations a probe can be put through: what a second camera, a second day and a
//! different hand pose do to a palm picture, one at a time or mixed.

use crate::error::{CliError, Result};
use image::{ImageEncoder as _, RgbImage};

/// One way to degrade a probe.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Degradation {
    /// Rotation up to ±15°, scale 0.7-1.0, brightness and contrast ±25 %, blur, JPEG
    /// 50-70, each drawn per image.
    Mixed,
    /// Re-encoded as JPEG at this quality.
    Jpeg(u8),
    /// Rotated by this many degrees (sign drawn per image).
    Rotate(f32),
    /// Scaled by this factor.
    Scale(f32),
    /// The palm region moved by this share of its side after the landmarks (direction
    /// drawn per image): what landmark error costs.
    Shift(f32),
    /// Only one colour channel (0 red, 1 green, 2 blue), as grey.
    Channel(usize),
}

impl Degradation {
    /// Reads `mixed`, `jpeg50`, `rotate10`, `scale0.8`, `shift0.08`, `red`, `green`, `blue`.
    pub fn parse(text: &str) -> Result<Self> {
        let number = |prefix: &str| -> Option<f32> { text.strip_prefix(prefix)?.parse().ok() };
        let parsed = match text {
            "mixed" => Some(Self::Mixed),
            "red" => Some(Self::Channel(0)),
            "green" => Some(Self::Channel(1)),
            "blue" => Some(Self::Channel(2)),
            _ => number("jpeg")
                .filter(|q| (1.0..=100.0).contains(q))
                .map(|q| Self::Jpeg(q as u8))
                .or_else(|| {
                    number("rotate")
                        .filter(|a| a.abs() <= 90.0)
                        .map(Self::Rotate)
                })
                .or_else(|| {
                    number("scale")
                        .filter(|s| (0.1..=2.0).contains(s))
                        .map(Self::Scale)
                })
                .or_else(|| {
                    number("shift")
                        .filter(|s| (0.0..=0.5).contains(s))
                        .map(Self::Shift)
                }),
        };
        parsed.ok_or_else(|| {
            CliError::Usage(format!(
                "unknown degradation {text:?}: use mixed, jpeg<quality>, rotate<degrees>, \
                 scale<factor>, shift<share of the side>, red, green or blue"
            ))
        })
    }

    /// Its name in reports.
    pub fn label(self) -> String {
        match self {
            Self::Mixed => "mixed (rot ±15°, scale 0.7-1, light ±25%, blur, JPEG 50-70)".into(),
            Self::Jpeg(q) => format!("JPEG quality {q}"),
            Self::Rotate(a) => format!("rotated {a}°"),
            Self::Scale(s) => format!("scaled {s}x"),
            Self::Shift(s) => format!("region shifted {:.0}% of its side", s * 100.0),
            Self::Channel(c) => format!("{} channel only", ["red", "green", "blue"][c]),
        }
    }

    /// The region shift (fractions of the side) this degradation asks of the extraction.
    pub fn region_shift(self, rng: &mut fastrand::Rng) -> (f32, f32) {
        match self {
            Self::Shift(s) => {
                let angle = rng.f32() * std::f32::consts::TAU;
                (s * angle.cos(), s * angle.sin())
            }
            _ => (0.0, 0.0),
        }
    }

    /// The degraded picture.
    pub fn apply(self, image: &RgbImage, rng: &mut fastrand::Rng) -> RgbImage {
        let sign = |rng: &mut fastrand::Rng| if rng.bool() { 1.0 } else { -1.0 };
        match self {
            Self::Mixed => {
                let angle = (rng.f32() * 2.0 - 1.0) * 15.0;
                let scale = 0.7 + rng.f32() * 0.3;
                let brightness = (rng.f32() * 2.0 - 1.0) * 0.25;
                let contrast = (rng.f32() * 2.0 - 1.0) * 0.25;
                let blur = 0.5 + rng.f32();
                let quality = 50 + rng.u8(0..=20);
                let mut out = rotate(image, angle);
                out = resize(&out, scale);
                light(&mut out, brightness, contrast);
                out = image::imageops::blur(&out, blur);
                jpeg(&out, quality)
            }
            Self::Jpeg(q) => jpeg(image, q),
            Self::Rotate(a) => rotate(image, a * sign(rng)),
            Self::Scale(s) => resize(image, s),
            Self::Shift(_) => image.clone(),
            Self::Channel(c) => {
                let mut out = image.clone();
                for p in out.pixels_mut() {
                    p.0 = [p.0[c]; 3];
                }
                out
            }
        }
    }
}

fn resize(image: &RgbImage, scale: f32) -> RgbImage {
    let w = ((image.width() as f32 * scale).round() as u32).max(1);
    let h = ((image.height() as f32 * scale).round() as u32).max(1);
    image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle)
}

/// Brightness as a gain on every value, contrast around the mean grey.
fn light(image: &mut RgbImage, brightness: f32, contrast: f32) {
    let n = (image.width() * image.height() * 3) as f32;
    let mean = image.as_raw().iter().map(|&v| f32::from(v)).sum::<f32>() / n;
    for v in image.iter_mut() {
        let x = (f32::from(*v) - mean) * (1.0 + contrast) + mean;
        *v = (x * (1.0 + brightness)).round().clamp(0.0, 255.0) as u8;
    }
}

/// Rotation about the centre on the same canvas (corners filled black), bilinear.
fn rotate(image: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        // Inverse rotation: where this output pixel comes from.
        let sx = c * dx + s * dy + cx - 0.5;
        let sy = -s * dx + c * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
            return image::Rgb([0, 0, 0]);
        }
        let (ix, iy) = (sx as u32, sy as u32);
        let (fx, fy) = (sx - ix as f32, sy - iy as f32);
        let mut out = [0u8; 3];
        for (ch, o) in out.iter_mut().enumerate() {
            let at = |x: u32, y: u32| f32::from(image.get_pixel(x, y).0[ch]);
            let top = at(ix, iy) * (1.0 - fx) + at(ix + 1, iy) * fx;
            let bottom = at(ix, iy + 1) * (1.0 - fx) + at(ix + 1, iy + 1) * fx;
            *o = (top * (1.0 - fy) + bottom * fy).round() as u8;
        }
        image::Rgb(out)
    })
}

fn jpeg(image: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        );
    match encoded
        .ok()
        .and_then(|()| image::load_from_memory(&bytes).ok())
    {
        Some(decoded) => decoded.into_rgb8(),
        // An in-memory encode of a valid image does not fail; if it ever did, the probe
        // is left as it was rather than dropped.
        None => image.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_nonsense_is_refused() {
        assert_eq!(
            Degradation::parse("jpeg50").ok(),
            Some(Degradation::Jpeg(50))
        );
        assert_eq!(
            Degradation::parse("rotate10").ok(),
            Some(Degradation::Rotate(10.0))
        );
        assert_eq!(
            Degradation::parse("scale0.8").ok(),
            Some(Degradation::Scale(0.8))
        );
        assert_eq!(
            Degradation::parse("shift0.08").ok(),
            Some(Degradation::Shift(0.08))
        );
        assert_eq!(
            Degradation::parse("green").ok(),
            Some(Degradation::Channel(1))
        );
        assert!(Degradation::parse("jpeg500").is_err());
        assert!(Degradation::parse("sepia").is_err());
    }

    #[test]
    fn a_quarter_turn_moves_a_pixel_where_it_should() {
        let mut image = RgbImage::new(41, 41);
        image.put_pixel(30, 20, image::Rgb([255, 255, 255]));
        let turned = rotate(&image, 90.0);
        // Clockwise in y-down pixels: (30, 20) -> (20, 30).
        assert!(
            turned.get_pixel(20, 30).0[0] > 200,
            "{:?}",
            turned.get_pixel(20, 30)
        );
    }
}
