//! Periodic patterns in the frequency domain, the cue that screens and prints leave and
//! skin does not.
//!
//! A screen is a grid of coloured sub-pixels and a print a grid of halftone dots. Filmed by
//! a camera whose own pixel grid is at a different pitch and angle, they leave a periodic
//! pattern (the grid itself, or its moiré with the sensor) that shows as a sharp peak in the
//! power spectrum. Skin, palm lines and backgrounds have smooth spectra that fall off with
//! frequency. So the measure is: the strongest spectral peak over its own neighbourhood.
//!
//! How: up to four 128x128 windows on the palm (Welch averaging: four periodograms average
//! to a smoother background, so chance peaks of one window stand out less), each plane
//! minus its mean and under a Hann window, a 2-D FFT (rustfft; two real planes per complex
//! transform), the power of luma and of chroma (Cb + Cr) summed over the windows. A
//! candidate is a local maximum at a period of 2 to 16 px; its score is `log10` of its mean
//! power over its 3x3 bins divided by the mean power of the ring of bins three steps away. The lattice of multiples of 1/16 cycle per
//! pixel is left out: JPEG's 8x8 blocks (16x16 for subsampled chroma) put peaks exactly there
//! in every JPEG-born photo.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::frame::Frame;
use crate::quality::SensorRect;

/// Side of one analysis window, pixels.
pub const WINDOW: usize = 128;
/// Most windows averaged.
const MAX_WINDOWS: usize = 4;
/// Shortest period considered, pixels (Nyquist).
const MIN_PERIOD: f32 = 2.0;
/// Longest period considered, pixels: longer ones are hand structure, not a grid.
const MAX_PERIOD: f32 = 16.0;
/// The JPEG block lattice: multiples of `WINDOW / 16` bins are not candidates.
const JPEG_LATTICE: usize = WINDOW / 16;

/// The strongest periodic peak of one plane.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Peak {
    /// `log10` of the peak's power over its neighbourhood's (0: no peak at all).
    pub strength: f32,
    /// Its period, pixels.
    pub period: f32,
}

/// Periodicity of luma and chroma on a region.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Periodicity {
    /// The strongest luma peak.
    pub luma: Peak,
    /// The strongest chroma peak.
    pub chroma: Peak,
    /// Windows averaged.
    pub windows: u32,
}

/// Reused buffers and the FFT plan: nothing is allocated per frame once made.
pub struct SpectrumScratch {
    fft: Arc<dyn Fft<f32>>,
    hann: Vec<f32>,
    /// Luma (two windows at once) and chroma (Cb + i Cr).
    planes: [Vec<Complex<f32>>; 2],
    fft_scratch: Vec<Complex<f32>>,
    power: [Vec<f32>; 2],
    candidates: Vec<(usize, usize, f32)>,
}

impl Default for SpectrumScratch {
    fn default() -> Self {
        let fft = FftPlanner::<f32>::new().plan_fft_forward(WINDOW);
        let hann = (0..WINDOW)
            .map(|i| {
                let t = (i as f32 + 0.5) / WINDOW as f32;
                0.5 - 0.5 * (std::f32::consts::TAU * t).cos()
            })
            .collect();
        let zero = vec![Complex::new(0.0, 0.0); WINDOW * WINDOW];
        let fft_scratch = vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        Self {
            fft,
            hann,
            planes: [zero.clone(), zero],
            fft_scratch,
            power: [vec![0.0; WINDOW * WINDOW], vec![0.0; WINDOW * WINDOW]],
            candidates: candidates(),
        }
    }
}

/// The bins worth testing: half-plane (real input is symmetric), periods 2-16 px, off the
/// JPEG lattice, far enough from the edge for the ring.
fn candidates() -> Vec<(usize, usize, f32)> {
    let n = WINDOW as i32;
    let mut out = Vec::new();
    for v in 0..=n / 2 {
        for u in 0..n {
            let fu = if u < n / 2 { u } else { u - n };
            let radius = ((fu * fu + v * v) as f32).sqrt();
            let period = WINDOW as f32 / radius.max(1e-6);
            if !(MIN_PERIOD..=MAX_PERIOD).contains(&period) {
                continue;
            }
            let near = |f: i32| {
                let m = f.rem_euclid(JPEG_LATTICE as i32);
                m <= 1 || m >= JPEG_LATTICE as i32 - 1
            };
            if near(fu) && near(v) {
                continue;
            }
            out.push((u as usize, v as usize, period));
        }
    }
    out
}

/// Places up to four windows on `rect`, inside the frame; empty when the frame is smaller
/// than one window.
fn windows(frame: &Frame<'_>, rect: SensorRect) -> impl Iterator<Item = (u32, u32)> {
    let n = WINDOW as u32;
    let (fw, fh) = (frame.width(), frame.height());
    let fits = fw >= n && fh >= n;
    let spots = |lo: u32, hi: u32| -> [Option<u32>; 2] {
        let len = hi - lo;
        if len >= 2 * n {
            [Some(lo + len / 4), Some(lo + 3 * len / 4)]
        } else {
            [Some(lo + len / 2), None]
        }
    };
    let xs = spots(rect.x0, rect.x1);
    let ys = spots(rect.y0, rect.y1);
    let clamp = move |c: u32, max: u32| c.saturating_sub(n / 2).min(max - n);
    ys.into_iter()
        .flatten()
        .flat_map(move |cy| xs.into_iter().flatten().map(move |cx| (cx, cy)))
        .filter(move |_| fits)
        .map(move |(cx, cy)| (clamp(cx, fw), clamp(cy, fh)))
        .take(MAX_WINDOWS)
}

/// Measures the periodicity of the region `rect` of `frame`; `None` when the frame is
/// smaller than one window.
///
/// Two real planes share one complex FFT (one as the real part, the other as the
/// imaginary): for `Z = FFT(a + i b)`, `|A(k)|² + |B(k)|² = (|Z(k)|² + |Z(-k)|²) / 2`, and
/// only those sums are needed — chroma is Cb + Cr, luma is summed over windows. Six FFTs
/// for four windows instead of twelve.
pub fn measure(
    frame: &Frame<'_>,
    rect: SensorRect,
    scratch: &mut SpectrumScratch,
) -> Option<Periodicity> {
    let SpectrumScratch {
        fft,
        hann,
        planes: [luma, chroma_plane],
        fft_scratch,
        power: [luma_power, chroma_power],
        candidates,
    } = scratch;
    luma_power.fill(0.0);
    chroma_power.fill(0.0);
    let window = |i: usize| hann[i / WINDOW] * hann[i % WINDOW];
    let mut count = 0;
    for (x0, y0) in windows(frame, rect) {
        // Luma of an even window goes into the real part of the luma plane, of an odd one
        // into its imaginary part; the pair is transformed once both are in.
        let luma_imag = count % 2 == 1;
        count += 1;
        let mut means = [0.0f64; 3];
        for row in 0..WINDOW {
            for col in 0..WINDOW {
                let (x, yy) = (x0 + col as u32, y0 + row as u32);
                let (b, r) = frame.chroma(x, yy);
                let l = f32::from(frame.luma(x, yy));
                let i = row * WINDOW + col;
                if luma_imag {
                    luma[i].im = l;
                } else {
                    luma[i] = Complex::new(l, 0.0);
                }
                chroma_plane[i] = Complex::new(b, r);
                means[0] += f64::from(l);
                means[1] += f64::from(b);
                means[2] += f64::from(r);
            }
        }
        let [luma_mean, cb_mean, cr_mean] = means.map(|m| (m / (WINDOW * WINDOW) as f64) as f32);
        for (i, c) in chroma_plane.iter_mut().enumerate() {
            let w = window(i);
            *c = Complex::new((c.re - cb_mean) * w, (c.im - cr_mean) * w);
        }
        for (i, c) in luma.iter_mut().enumerate() {
            let w = window(i);
            if luma_imag {
                c.im = (c.im - luma_mean) * w;
            } else {
                c.re = (c.re - luma_mean) * w;
            }
        }
        add_pair_power(chroma_plane, chroma_power, fft.as_ref(), fft_scratch);
        if luma_imag {
            add_pair_power(luma, luma_power, fft.as_ref(), fft_scratch);
        }
    }
    if count == 0 {
        return None;
    }
    if count % 2 == 1 {
        // The last window's luma has no partner: its imaginary part is zero.
        add_pair_power(luma, luma_power, fft.as_ref(), fft_scratch);
    }
    Some(Periodicity {
        luma: strongest_peak(luma_power, candidates),
        chroma: strongest_peak(chroma_power, candidates),
        windows: count,
    })
}

/// Transforms `plane` (two real planes as real and imaginary parts) and adds the sum of
/// the two planes' power spectra to `power`: `(|Z(k)|² + |Z(-k)|²) / 2`.
fn add_pair_power(
    plane: &mut [Complex<f32>],
    power: &mut [f32],
    fft: &dyn Fft<f32>,
    scratch: &mut [Complex<f32>],
) {
    fft_2d(plane, fft, scratch);
    let n = WINDOW;
    for r in 0..n {
        let mirror_r = (n - r) % n;
        for c in 0..n {
            let mirror = mirror_r * n + (n - c) % n;
            power[r * n + c] += 0.5 * (plane[r * n + c].norm_sqr() + plane[mirror].norm_sqr());
        }
    }
}

/// A 2-D FFT in place: every row, a transpose, every row again (the result transposed,
/// which the peak search does not mind: it is symmetric in its two axes).
fn fft_2d(plane: &mut [Complex<f32>], fft: &dyn Fft<f32>, scratch: &mut [Complex<f32>]) {
    fft.process_with_scratch(plane, scratch);
    for r in 0..WINDOW {
        for c in r + 1..WINDOW {
            plane.swap(r * WINDOW + c, c * WINDOW + r);
        }
    }
    fft.process_with_scratch(plane, scratch);
}

/// The strongest local maximum among `candidates`, over the ring around it.
fn strongest_peak(power: &[f32], candidates: &[(usize, usize, f32)]) -> Peak {
    let n = WINDOW as i32;
    let at = |u: i32, v: i32| power[(v.rem_euclid(n) * n + u.rem_euclid(n)) as usize];
    let mut best = Peak::default();
    for &(u, v, period) in candidates {
        let (u, v) = (u as i32, v as i32);
        let centre = at(u, v);
        let mut core = 0.0;
        let mut local_max = true;
        for dv in -1..=1 {
            for du in -1..=1 {
                let p = at(u + du, v + dv);
                local_max &= p <= centre;
                core += p;
            }
        }
        if !local_max {
            continue;
        }
        let mut ring = 0.0;
        for d in -3..=3 {
            ring += at(u + d, v - 3) + at(u + d, v + 3);
        }
        for d in -2..=2 {
            ring += at(u - 3, v + d) + at(u + 3, v + d);
        }
        let ratio = (core / 9.0) / (ring / 24.0).max(1e-12);
        let strength = ratio.max(1.0).log10();
        if strength > best.strength {
            best = Peak { strength, period };
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Orientation, PackedFormat};

    fn measure_rgb(rgb: &[u8], w: u32, h: u32) -> Periodicity {
        let frame = Frame::packed(
            rgb,
            w,
            h,
            PackedFormat::Rgb888,
            w as usize * 3,
            Orientation::default(),
        )
        .unwrap();
        let mut scratch = SpectrumScratch::default();
        measure(&frame, SensorRect::full(&frame), &mut scratch).unwrap()
    }

    /// A smooth random texture: value noise, no period.
    fn smooth(w: u32, h: u32, seed: u64) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let grid: Vec<f32> = (0..64 * 64).map(|_| rng.f32()).collect();
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let (gx, gy) = (x as f32 / 9.3, y as f32 / 9.3);
                let (ix, iy) = (gx as usize % 63, gy as usize % 63);
                let (fx, fy) = (gx.fract(), gy.fract());
                let v = grid[iy * 64 + ix] * (1.0 - fx) * (1.0 - fy)
                    + grid[iy * 64 + ix + 1] * fx * (1.0 - fy)
                    + grid[(iy + 1) * 64 + ix] * (1.0 - fx) * fy
                    + grid[(iy + 1) * 64 + ix + 1] * fx * fy;
                let l = 60.0 + 120.0 * v + rng.f32() * 4.0;
                out.extend([l as u8, (l * 0.8) as u8, (l * 0.7) as u8]);
            }
        }
        out
    }

    #[test]
    fn a_grating_is_a_peak_at_its_period_and_texture_is_not() {
        let (w, h) = (300, 300);
        let plain = measure_rgb(&smooth(w, h, 1), w, h);
        assert_eq!(plain.windows, 4);
        assert!(plain.luma.strength < 1.0, "{plain:?}");
        assert!(plain.chroma.strength < 1.0, "{plain:?}");
        // The same texture with a faint (±6 levels) luma grating of period 3.7 px at 20°.
        let mut grating = smooth(w, h, 1);
        let (s, c) = 20f32.to_radians().sin_cos();
        for y in 0..h {
            for x in 0..w {
                let t = (x as f32 * c + y as f32 * s) / 3.7;
                let d = 6.0 * (std::f32::consts::TAU * t).cos();
                let i = (y * w + x) as usize * 3;
                for k in 0..3 {
                    grating[i + k] = (f32::from(grating[i + k]) + d).clamp(0.0, 255.0) as u8;
                }
            }
        }
        let p = measure_rgb(&grating, w, h);
        assert!(p.luma.strength > 1.5, "{p:?}");
        assert!((p.luma.period - 3.7).abs() < 0.2, "{p:?}");
        // Equal change in R, G and B is no chroma.
        assert!(p.chroma.strength < 1.0, "{p:?}");
    }

    #[test]
    fn a_coloured_stripe_pattern_is_a_chroma_peak() {
        let (w, h) = (256, 256);
        let mut rgb = smooth(w, h, 2);
        for y in 0..h {
            for x in 0..w {
                // Red, green, blue columns 2.5 px apart (a screen's sub-pixels, aliased).
                let k = ((x as f32 / 2.5) as u32 % 3) as usize;
                let i = (y * w + x) as usize * 3;
                rgb[i + k] = rgb[i + k].saturating_add(20);
            }
        }
        let p = measure_rgb(&rgb, w, h);
        assert!(p.chroma.strength > 1.5, "{p:?}");
    }

    #[test]
    fn a_jpeg_block_grid_is_ignored() {
        let (w, h) = (256, 256);
        let mut rgb = smooth(w, h, 3);
        for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
            let (x, y) = (i as u32 % w, i as u32 / w);
            if x % 8 == 0 || y % 8 == 0 {
                px.iter_mut().for_each(|c| *c = c.saturating_add(6));
            }
        }
        let p = measure_rgb(&rgb, w, h);
        assert!(p.luma.strength < 1.0, "{p:?}");
    }

    /// The power spectra by the book: every plane of every window transformed alone.
    fn power_one_plane_at_a_time(frame: &Frame<'_>) -> [Vec<f32>; 2] {
        let fft = FftPlanner::<f32>::new().plan_fft_forward(WINDOW);
        let mut fft_scratch = vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        let hann = SpectrumScratch::default().hann;
        let mut power = [vec![0.0f32; WINDOW * WINDOW], vec![0.0f32; WINDOW * WINDOW]];
        for (x0, y0) in windows(frame, SensorRect::full(frame)) {
            for k in 0..3 {
                let mut plane: Vec<Complex<f32>> = (0..WINDOW * WINDOW)
                    .map(|i| {
                        let (x, y) = (x0 + (i % WINDOW) as u32, y0 + (i / WINDOW) as u32);
                        let (b, r) = frame.chroma(x, y);
                        Complex::new([f32::from(frame.luma(x, y)), b, r][k], 0.0)
                    })
                    .collect();
                let mean = (plane.iter().map(|c| f64::from(c.re)).sum::<f64>() / plane.len() as f64)
                    as f32;
                for (i, c) in plane.iter_mut().enumerate() {
                    c.re = (c.re - mean) * hann[i / WINDOW] * hann[i % WINDOW];
                }
                fft_2d(&mut plane, fft.as_ref(), &mut fft_scratch);
                for (p, c) in power[usize::from(k > 0)].iter_mut().zip(&plane) {
                    *p += c.norm_sqr();
                }
            }
        }
        power
    }

    #[test]
    fn two_planes_in_one_transform_give_the_power_of_each_alone() {
        // Four windows (two luma pairs) and one (a luma plane without a partner).
        for side in [300u32, 200] {
            let mut rgb = smooth(side, side, 5);
            let mut rng = fastrand::Rng::with_seed(9);
            rgb.iter_mut()
                .for_each(|v| *v = v.saturating_add(rng.u8(0..40)));
            let frame = Frame::packed(
                &rgb,
                side,
                side,
                PackedFormat::Rgb888,
                side as usize * 3,
                Orientation::default(),
            )
            .unwrap();
            let mut scratch = SpectrumScratch::default();
            measure(&frame, SensorRect::full(&frame), &mut scratch).unwrap();
            let expected = power_one_plane_at_a_time(&frame);
            for (got, want) in scratch.power.iter().zip(&expected) {
                let scale = want.iter().cloned().fold(0.0f32, f32::max);
                for (g, w) in got.iter().zip(want) {
                    assert!((g - w).abs() <= 1e-4 * scale, "{side}: {g} vs {w}");
                }
            }
        }
    }

    #[test]
    fn a_frame_smaller_than_a_window_gives_none() {
        let rgb = vec![0u8; 100 * 100 * 3];
        let frame = Frame::packed(
            &rgb,
            100,
            100,
            PackedFormat::Rgb888,
            300,
            Orientation::default(),
        )
        .unwrap();
        let mut scratch = SpectrumScratch::default();
        assert!(measure(&frame, SensorRect::full(&frame), &mut scratch).is_none());
    }
}
