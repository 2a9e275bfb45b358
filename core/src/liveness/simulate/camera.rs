//! The camera that films a simulated attack: the scene's light (a screen or a print) as
//! the lens and each pixel's area deliver it, sampled through an RGGB Bayer mosaic with read
//! and shot noise, demosaiced bilinearly and gamma-encoded to 8-bit RGB — the steps a phone
//! camera takes, in the order it takes them. The bona fide photos went through such a
//! camera once; an attack goes through a second one.
//!
//! The lens and pixel area are applied analytically, not by supersampling: a scene is the
//! photo's content (smooth; blurred here as the lens would) times a periodic structure (the
//! screen's sub-pixels, the halftone dots) given by its fundamental frequencies, each
//! attenuated by the lens and pixel-area transfer function [`Camera::mtf`]. Sampling such a
//! scene at pixel centres then aliases exactly as a sensor does — that is the moiré —
//! without the false moiré that point-sampling sharp-edged sub-pixels would add. Harmonics
//! above the fundamental are left out: the lens takes them down to under 2 % of it for
//! every pitch simulated.

use zeroize::Zeroizing;

use super::RgbImage;

/// The filming camera's settings.
#[derive(Clone, Debug)]
pub struct Camera {
    /// Lens blur, Gaussian sigma in pixels (phone lenses: MTF50 near 0.25-0.3 cycles/px,
    /// sigma 0.5-0.8).
    pub blur_sigma: f32,
    /// Read noise, linear units (1.0 = full scale).
    pub read_noise: f32,
    /// Shot-noise factor: sigma = factor * sqrt(signal).
    pub shot_noise: f32,
    /// Exposure bias: auto-exposure brings the picture's mean light to 0.2 (about mid-grey
    /// in sRGB) times this.
    pub gain: f32,
}

impl Camera {
    /// How much of a periodic structure of frequency (`fx`, `fy`) cycles per pixel the lens
    /// (Gaussian) and the pixel's square area (a box) let through.
    pub fn mtf(&self, fx: f32, fy: f32) -> f32 {
        let lens =
            (-2.0 * std::f32::consts::PI.powi(2) * self.blur_sigma.powi(2) * (fx * fx + fy * fy))
                .exp();
        lens * sinc(fx) * sinc(fy)
    }
}

/// sin(pi x) / (pi x).
pub fn sinc(x: f32) -> f32 {
    if x.abs() < 1e-6 {
        1.0
    } else {
        let a = std::f32::consts::PI * x;
        a.sin() / a
    }
}

/// sRGB byte to linear light.
pub fn to_linear(v: u8) -> f32 {
    (f32::from(v) / 255.0).powf(2.2)
}

fn to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0).powf(1.0 / 2.2) * 255.0).round() as u8
}

/// Films `scene` (linear RGB light at a point in pixel coordinates) as a `width` x
/// `height` picture.
pub fn film(
    width: u32,
    height: u32,
    camera: &Camera,
    rng: &mut fastrand::Rng,
    scene: impl Fn(f32, f32) -> [f32; 3],
) -> RgbImage {
    let (w, h) = (width as usize, height as usize);
    // 1. The scene's light at every pixel centre (already through lens and pixel area),
    // then auto-exposure: a bright photo on a screen is not filmed clipped.
    let mut light = vec![0.0f32; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let p = scene(x as f32 + 0.5, y as f32 + 0.5);
            let i = (y * w + x) * 3;
            light[i..i + 3].copy_from_slice(&p);
        }
    }
    let mean = light.iter().map(|&v| f64::from(v)).sum::<f64>() / light.len().max(1) as f64;
    let exposure = camera.gain * 0.2 / (mean as f32).max(1e-3);
    light.iter_mut().for_each(|v| *v *= exposure);
    // 2. The Bayer mosaic: one colour per pixel, with noise.
    let mut mosaic = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let v = light[(y * w + x) * 3 + bayer(x, y)];
            let sigma = (camera.read_noise.powi(2) + camera.shot_noise.powi(2) * v.max(0.0)).sqrt();
            mosaic[y * w + x] = v + sigma * gaussian(rng);
        }
    }
    // 3. Bilinear demosaic and encoding.
    let mut rgb = Zeroizing::new(vec![0u8; w * h * 3]);
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0.0f32; 3];
            let mut n = [0u32; 3];
            for dy in -1i32..=1 {
                for dx in -1i32..=1 {
                    let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                    if xx < 0 || yy < 0 || xx >= w as i32 || yy >= h as i32 {
                        continue;
                    }
                    let (xx, yy) = (xx as usize, yy as usize);
                    let c = bayer(xx, yy);
                    // Own colour from the pixel itself only; the others from neighbours.
                    if c == bayer(x, y) && (dx, dy) != (0, 0) {
                        continue;
                    }
                    sum[c] += mosaic[yy * w + xx];
                    n[c] += 1;
                }
            }
            let i = (y * w + x) * 3;
            for c in 0..3 {
                rgb[i + c] = to_byte(sum[c] / n[c].max(1) as f32);
            }
        }
    }
    RgbImage { rgb, width, height }
}

/// The colour an RGGB mosaic records at (`x`, `y`): 0 red, 1 green, 2 blue.
fn bayer(x: usize, y: usize) -> usize {
    match (x % 2, y % 2) {
        (0, 0) => 0,
        (1, 1) => 2,
        _ => 1,
    }
}

/// A standard normal sample (Box-Muller).
pub fn gaussian(rng: &mut fastrand::Rng) -> f32 {
    let u = rng.f32().max(1e-7);
    let v = rng.f32();
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

/// Separable Gaussian blur of an interleaved RGB float image, edges clamped.
pub fn blur(img: &mut [f32], w: usize, h: usize, sigma: f32) {
    if sigma <= 0.0 {
        return;
    }
    let radius = (3.0 * sigma).ceil() as i32;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= total);
    let mut tmp = vec![0.0f32; img.len()];
    convolve(img, &mut tmp, w, h, &kernel, true);
    convolve(&tmp, img, w, h, &kernel, false);
}

/// One 1-D pass of [`blur`], along rows (`horizontal`) or columns.
fn convolve(src: &[f32], dst: &mut [f32], w: usize, h: usize, kernel: &[f32], horizontal: bool) {
    let radius = (kernel.len() / 2) as i32;
    let (len, other) = if horizontal { (w, h) } else { (h, w) };
    let index = |o: usize, i: usize| if horizontal { o * w + i } else { i * w + o } * 3;
    for o in 0..other {
        for i in 0..len {
            let mut acc = [0.0f32; 3];
            for (k, weight) in kernel.iter().enumerate() {
                let j = (i as i32 + k as i32 - radius).clamp(0, len as i32 - 1) as usize;
                let at = index(o, j);
                for c in 0..3 {
                    acc[c] += weight * src[at + c];
                }
            }
            dst[index(o, i)..index(o, i) + 3].copy_from_slice(&acc);
        }
    }
}
