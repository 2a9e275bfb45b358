//! The palm region of interest: a square of the palm, fixed in the hand's own frame by the
//! landmarks, sampled to `ROI_SIZE` x `ROI_SIZE` grey pixels and normalized.
//!
//! The hand frame comes from a least-squares similarity fit (rotation, scale, shift; no
//! shear) of five palm landmarks (wrist and the four finger bases) to a canonical palm, so
//! one landmark's error is shared out over five instead of setting the rotation alone.
//! A mirrored hand (a left palm, or a right back) is fitted to the mirrored canonical
//! palm and sampled mirrored, so every ROI shows the palm the same way round. Pixels are
//! area-sampled (a k x k grid of bilinear taps per ROI pixel, k from the scale), so a big
//! photo is not aliased; the ROI is then set to zero mean and unit deviation, which makes
//! the codes indifferent to brightness and contrast.

use crate::frame::Frame;

/// Side of the sampled region, in pixels.
pub const ROI_SIZE: usize = 128;

/// The landmarks the fit uses (MediaPipe indices: wrist, index, middle, ring and little
/// finger bases).
const FIT_POINTS: [usize; 5] = [0, 5, 9, 13, 17];

/// Where those points sit on a right palm facing the camera, fingers up, in units of the
/// index-to-little base distance, origin midway between those two bases (y grows towards
/// the wrist). The mean shape of the MediaPipe landmarks over the COEP photos.
const CANONICAL: [(f32, f32); 5] = [
    (0.105, 1.255),
    (0.5, 0.0),
    (0.165, -0.075),
    (-0.175, -0.045),
    (-0.5, 0.0),
];

/// The square that is sampled, in the same canonical units: its centre and side.
const ROI_CENTER: (f32, f32) = (0.0, 0.62);
const ROI_SIDE: f32 = 1.0;

/// The ROI of one palm: normalized grey values (row-major), and which of them came from
/// inside the picture.
pub struct Roi {
    /// `ROI_SIZE * ROI_SIZE` values, zero mean and unit deviation over the valid ones.
    pub pixels: Vec<f32>,
    /// Whether each pixel was inside the picture.
    pub valid: Vec<bool>,
    /// Picture pixels per ROI pixel (how much the palm was scaled down).
    pub scale: f32,
}

impl Drop for Roi {
    fn drop(&mut self) {
        // The ROI is a picture of the palm: wiped like the captures it comes from.
        zeroize::Zeroize::zeroize(&mut self.pixels[..]);
    }
}

/// Why no ROI could be taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoiError {
    /// A landmark is not a finite number.
    #[error("the landmarks are not finite numbers")]
    NotFinite,
    /// The palm is too small in the picture to show its lines.
    #[error("the palm is {width:.0} pixels wide; at least {min:.0} are needed")]
    TooSmall {
        /// The index-to-little base distance, in picture pixels.
        width: f32,
        /// The least accepted.
        min: f32,
    },
    /// Too little of the region is inside the picture.
    #[error("only {percent:.0}% of the palm region is inside the picture")]
    OutOfPicture {
        /// Share of the region inside.
        percent: f32,
    },
}

/// Smallest index-to-little base distance accepted, in picture pixels: below it the ROI
/// would be upsampled more than 2x and the lines blur into each other.
pub const MIN_PALM_WIDTH: f32 = 64.0;

/// Takes the ROI of the palm whose 21 landmarks (upright picture pixels) are given.
/// `shift` moves the region by that fraction of its side (x, y in the hand frame): zero
/// for real use; the evaluation uses it to measure what landmark error costs.
pub fn take(
    frame: &Frame<'_>,
    landmarks: &[[f32; 3]; 21],
    shift: (f32, f32),
) -> Result<Roi, RoiError> {
    let fit = Fit::of(landmarks)?;
    let width = fit.scale();
    if width < MIN_PALM_WIDTH {
        return Err(RoiError::TooSmall {
            width,
            min: MIN_PALM_WIDTH,
        });
    }
    let (uw, uh) = frame.upright_size();
    let step = ROI_SIDE / ROI_SIZE as f32;
    let scale = width * step;
    // Taps per ROI pixel side: enough that each tap covers at most about a picture pixel.
    let taps = (scale.ceil() as usize).clamp(1, 6);
    let mut pixels = vec![0f32; ROI_SIZE * ROI_SIZE];
    let mut valid = vec![false; ROI_SIZE * ROI_SIZE];
    let x0 = ROI_CENTER.0 - ROI_SIDE / 2.0 + shift.0 * ROI_SIDE;
    let y0 = ROI_CENTER.1 - ROI_SIDE / 2.0 + shift.1 * ROI_SIDE;
    let mut inside = 0usize;
    for v in 0..ROI_SIZE {
        for u in 0..ROI_SIZE {
            let mut sum = 0f32;
            let mut n = 0u32;
            for ty in 0..taps {
                for tx in 0..taps {
                    let cx = x0 + (u as f32 + (tx as f32 + 0.5) / taps as f32) * step;
                    let cy = y0 + (v as f32 + (ty as f32 + 0.5) / taps as f32) * step;
                    let (x, y) = fit.to_picture(cx, cy);
                    if let Some(g) = bilinear(frame, uw, uh, x, y) {
                        sum += g;
                        n += 1;
                    }
                }
            }
            // A pixel counts when most of its taps landed in the picture.
            if n * 2 > (taps * taps) as u32 {
                pixels[v * ROI_SIZE + u] = sum / n as f32;
                valid[v * ROI_SIZE + u] = true;
                inside += 1;
            }
        }
    }
    let percent = 100.0 * inside as f32 / (ROI_SIZE * ROI_SIZE) as f32;
    if percent < 75.0 {
        return Err(RoiError::OutOfPicture { percent });
    }
    normalize(&mut pixels, &valid);
    Ok(Roi {
        pixels,
        valid,
        scale,
    })
}

/// Zero mean, unit deviation over the valid pixels; the others are set to the mean (0),
/// so a filter reaching past the picture's edge sees flat grey rather than black.
fn normalize(pixels: &mut [f32], valid: &[bool]) {
    let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
    for (p, &ok) in pixels.iter().zip(valid) {
        if ok {
            sum += f64::from(*p);
            sq += f64::from(*p) * f64::from(*p);
            n += 1.0;
        }
    }
    let mean = sum / n.max(1.0);
    let sd = (sq / n.max(1.0) - mean * mean).max(1e-6).sqrt();
    for (p, &ok) in pixels.iter_mut().zip(valid) {
        *p = if ok {
            ((f64::from(*p) - mean) / sd) as f32
        } else {
            0.0
        };
    }
}

/// Luma at upright position (`x`, `y`), bilinear; `None` outside the picture.
fn bilinear(frame: &Frame<'_>, uw: u32, uh: u32, x: f32, y: f32) -> Option<f32> {
    // Pixel centres are at +0.5.
    let (x, y) = (x - 0.5, y - 0.5);
    if !(x >= 0.0 && y >= 0.0 && x <= (uw - 1) as f32 && y <= (uh - 1) as f32) {
        return None;
    }
    let (ix, iy) = (x as u32, y as u32);
    let (fx, fy) = (x - ix as f32, y - iy as f32);
    let (ix1, iy1) = ((ix + 1).min(uw - 1), (iy + 1).min(uh - 1));
    let at = |ux: u32, uy: u32| {
        let (sx, sy) = frame.to_sensor(ux, uy);
        f32::from(frame.luma(sx, sy))
    };
    let top = at(ix, iy) * (1.0 - fx) + at(ix1, iy) * fx;
    let bottom = at(ix, iy1) * (1.0 - fx) + at(ix1, iy1) * fx;
    Some(top * (1.0 - fy) + bottom * fy)
}

/// The similarity that takes canonical palm coordinates to picture pixels:
/// `p = a * c + b` in complex numbers (`a` holds rotation and scale), with the canonical
/// x mirrored for a mirrored hand.
pub(crate) struct Fit {
    a: (f32, f32),
    b: (f32, f32),
    mirrored: bool,
}

impl Fit {
    pub(crate) fn of(landmarks: &[[f32; 3]; 21]) -> Result<Self, RoiError> {
        let points: Vec<(f32, f32)> = FIT_POINTS
            .iter()
            .map(|&i| (landmarks[i][0], landmarks[i][1]))
            .collect();
        if points.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
            return Err(RoiError::NotFinite);
        }
        // Which way round the hand is: the turn from the little-to-index base line to the
        // wrist. On the canonical (right palm) it is positive in y-down pixels.
        let (p0, p5, p17) = (points[0], points[1], points[4]);
        let mid = ((p5.0 + p17.0) / 2.0, (p5.1 + p17.1) / 2.0);
        let cross = (p5.0 - p17.0) * (p0.1 - mid.1) - (p5.1 - p17.1) * (p0.0 - mid.0);
        let mirrored = cross < 0.0;
        let canonical: Vec<(f32, f32)> = CANONICAL
            .iter()
            .map(|&(x, y)| if mirrored { (-x, y) } else { (x, y) })
            .collect();
        let n = points.len() as f32;
        let mean = |v: &[(f32, f32)]| {
            let s = v.iter().fold((0.0, 0.0), |s, p| (s.0 + p.0, s.1 + p.1));
            (s.0 / n, s.1 / n)
        };
        let (pm, cm) = (mean(&points), mean(&canonical));
        // a = sum(p~ * conj(c~)) / sum(|c~|^2)
        let (mut re, mut im, mut norm) = (0f32, 0f32, 0f32);
        for (p, c) in points.iter().zip(&canonical) {
            let (px, py) = (p.0 - pm.0, p.1 - pm.1);
            let (cx, cy) = (c.0 - cm.0, c.1 - cm.1);
            re += px * cx + py * cy;
            im += py * cx - px * cy;
            norm += cx * cx + cy * cy;
        }
        let a = (re / norm, im / norm);
        let b = (
            pm.0 - (a.0 * cm.0 - a.1 * cm.1),
            pm.1 - (a.0 * cm.1 + a.1 * cm.0),
        );
        Ok(Self { a, b, mirrored })
    }

    /// Picture pixels per canonical unit (the fitted palm width).
    pub(crate) fn scale(&self) -> f32 {
        self.a.0.hypot(self.a.1)
    }

    /// Picture position of canonical point (`x`, `y`) (x as on a right palm).
    pub(crate) fn to_picture(&self, x: f32, y: f32) -> (f32, f32) {
        let x = if self.mirrored { -x } else { x };
        (
            self.a.0 * x - self.a.1 * y + self.b.0,
            self.a.0 * y + self.a.1 * x + self.b.1,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn landmarks_at(scale: f32, angle: f32, offset: (f32, f32), mirrored: bool) -> [[f32; 3]; 21] {
        let mut lm = [[0f32; 3]; 21];
        let (s, c) = angle.sin_cos();
        for (&i, &(x, y)) in FIT_POINTS.iter().zip(&CANONICAL) {
            let x = if mirrored { -x } else { x };
            lm[i] = [
                scale * (c * x - s * y) + offset.0,
                scale * (s * x + c * y) + offset.1,
                0.0,
            ];
        }
        lm
    }

    #[test]
    fn the_fit_recovers_a_rotated_scaled_shifted_palm() {
        for mirrored in [false, true] {
            let lm = landmarks_at(200.0, 0.4, (300.0, 250.0), mirrored);
            let fit = Fit::of(&lm).unwrap();
            assert_eq!(fit.mirrored, mirrored);
            assert!((fit.scale() - 200.0).abs() < 0.01, "{}", fit.scale());
            for (&i, &(x, y)) in FIT_POINTS.iter().zip(&CANONICAL) {
                let (px, py) = fit.to_picture(x, y);
                assert!((px - lm[i][0]).abs() < 0.05 && (py - lm[i][1]).abs() < 0.05);
            }
        }
    }

    #[test]
    fn bad_landmarks_are_typed_errors() {
        let mut lm = landmarks_at(200.0, 0.0, (300.0, 250.0), false);
        lm[9][0] = f32::NAN;
        assert_eq!(Fit::of(&lm).err(), Some(RoiError::NotFinite));
        let rgb = vec![128u8; 640 * 480 * 3];
        let frame = Frame::packed(
            &rgb,
            640,
            480,
            crate::frame::PackedFormat::Rgb888,
            640 * 3,
            crate::frame::Orientation::default(),
        )
        .unwrap();
        let small = landmarks_at(30.0, 0.0, (300.0, 250.0), false);
        assert!(matches!(
            take(&frame, &small, (0.0, 0.0)),
            Err(RoiError::TooSmall { .. })
        ));
        let outside = landmarks_at(200.0, 0.0, (630.0, 470.0), false);
        assert!(matches!(
            take(&frame, &outside, (0.0, 0.0)),
            Err(RoiError::OutOfPicture { .. })
        ));
    }
}
