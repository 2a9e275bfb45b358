//! Pixel measures over the palm: sharpness, exposure, glare and noise, from luma only, in
//! one pass.
//!
//! The region is a sensor rectangle (the palm's bounding box; see
//! [`SensorRect::from_upright`]). It is read on a grid with step `s` = the region's short side
//! / [`GRID_SIDE`] (at least 1), so the measures do not depend on how far the palm is or on
//! the camera's resolution, and a 1080p frame costs a fraction of a millisecond. On that grid:
//! - **sharpness**: standard deviation of the 4-neighbour Laplacian `[0 1 0; 1 -4 1; 0 1 0]`
//!   (OpenCV's `Laplacian(ksize=1)`), in luma levels;
//! - **noise**: Immerkær's estimate, σ = √(π/2) · Σ|I ∗ N| / (6 (W−2)(H−2)) with
//!   N = `[1 -2 1; -2 4 -2; 1 -2 1]` (J. Immerkær, "Fast noise variance estimation", 1996);
//! - **exposure**: mean luma, the fraction at or under [`DARK_LEVEL`] and at or over
//!   [`CLIPPED_LEVEL`];
//! - **glare**: the fraction at or over [`GLARE_LEVEL`] (specular highlights on skin are
//!   near-white spots; the thresholds in `thresholds.rs` say how much is too much).
//!
//! Rows of the grid are gathered into three rolling buffers so the kernel runs on
//! contiguous bytes for every frame format (YUV rows are sliced straight from the caller's
//! buffer; packed formats compute luma per grid pixel). The buffers live in
//! [`PixelScratch`], reused from frame to frame: no allocation in steady state.

use crate::frame::Frame;

/// The grid's short side, in samples.
pub const GRID_SIDE: u32 = 256;
/// Luma at or under this counts as crushed black.
pub const DARK_LEVEL: u8 = 16;
/// Luma at or over this counts as clipped white.
pub const CLIPPED_LEVEL: u8 = 250;
/// Luma at or over this counts as a highlight (glare).
pub const GLARE_LEVEL: u8 = 240;

/// A rectangle of sensor pixels, `x0..x1` by `y0..y1`, inside the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SensorRect {
    /// First column.
    pub x0: u32,
    /// First row.
    pub y0: u32,
    /// One past the last column.
    pub x1: u32,
    /// One past the last row.
    pub y1: u32,
}

impl SensorRect {
    /// The sensor rectangle under the upright box (`left`, `top`)-(`right`, `bottom`),
    /// clipped to the frame; `None` when nothing of it lies on the frame.
    pub fn from_upright(
        frame: &Frame<'_>,
        left: f32,
        top: f32,
        right: f32,
        bottom: f32,
    ) -> Option<Self> {
        let (uw, uh) = frame.upright_size();
        let clip = |v: f32, max: u32| v.clamp(0.0, max as f32) as u32;
        let (l, r) = (clip(left, uw), clip(right, uw));
        let (t, b) = (clip(top, uh), clip(bottom, uh));
        if r <= l || b <= t {
            return None;
        }
        // Quarter turns and mirrors map axis-aligned boxes to axis-aligned boxes: the
        // corners' images bound the sensor rectangle.
        let (ax, ay) = frame.to_sensor(l, t);
        let (bx, by) = frame.to_sensor(r - 1, b - 1);
        Some(Self {
            x0: ax.min(bx),
            y0: ay.min(by),
            x1: ax.max(bx) + 1,
            y1: ay.max(by) + 1,
        })
    }

    /// The whole frame.
    pub fn full(frame: &Frame<'_>) -> Self {
        Self {
            x0: 0,
            y0: 0,
            x1: frame.width(),
            y1: frame.height(),
        }
    }

    fn width(&self) -> u32 {
        self.x1 - self.x0
    }

    fn height(&self) -> u32 {
        self.y1 - self.y0
    }
}

/// The pixel measures of one region.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PixelMeasures {
    /// Standard deviation of the Laplacian on the grid, luma levels.
    pub sharpness: f32,
    /// Immerkær noise σ on the grid, luma levels.
    pub noise: f32,
    /// Standard deviation of luma on the grid (contrast), luma levels.
    pub contrast: f32,
    /// Mean luma, 0-255.
    pub mean_luma: f32,
    /// Fraction of grid samples at or under [`DARK_LEVEL`].
    pub dark_fraction: f32,
    /// Fraction at or over [`CLIPPED_LEVEL`].
    pub clipped_fraction: f32,
    /// Fraction at or over [`GLARE_LEVEL`].
    pub glare_fraction: f32,
    /// Grid step in sensor pixels.
    pub step: u32,
}

/// Reusable row buffers for [`measure`].
#[derive(Default)]
pub struct PixelScratch {
    rows: [Vec<u8>; 3],
}

/// Sums over one interior row of the grid.
#[derive(Default)]
struct RowSums {
    lap: i64,
    lap2: u64,
    noise: u64,
}

/// Measures `rect` of `frame` (clipped to it). A region under 3x3 grid samples gives
/// all-zero measures.
pub fn measure(frame: &Frame<'_>, rect: SensorRect, scratch: &mut PixelScratch) -> PixelMeasures {
    let rect = SensorRect {
        x0: rect.x0.min(frame.width()),
        y0: rect.y0.min(frame.height()),
        x1: rect.x1.min(frame.width()),
        y1: rect.y1.min(frame.height()),
    };
    if rect.x1 <= rect.x0 || rect.y1 <= rect.y0 {
        return PixelMeasures::default();
    }
    let step = (rect.width().min(rect.height()) / GRID_SIDE).max(1);
    let gw = ((rect.width() - 1) / step + 1) as usize;
    let gh = ((rect.height() - 1) / step + 1) as usize;
    if gw < 3 || gh < 3 {
        return PixelMeasures::default();
    }
    for row in &mut scratch.rows {
        row.clear();
        row.resize(gw, 0);
    }
    let [a, b, c] = &mut scratch.rows;
    let (mut up, mut mid, mut down) = (a, b, c);
    let (mut luma_sum, mut luma_sq) = (0u64, 0u64);
    let (mut dark, mut clipped, mut glare) = (0u64, 0u64, 0u64);
    let mut sums = RowSums::default();
    let y_at = |g: usize| rect.y0 + g as u32 * step;
    gather(frame, rect, step, y_at(0), up);
    gather(frame, rect, step, y_at(1), mid);
    for row in [&up[..], &mid[..]] {
        tally(
            row,
            &mut luma_sum,
            &mut luma_sq,
            &mut dark,
            &mut clipped,
            &mut glare,
        );
    }
    for g in 2..gh {
        gather(frame, rect, step, y_at(g), down);
        tally(
            down,
            &mut luma_sum,
            &mut luma_sq,
            &mut dark,
            &mut clipped,
            &mut glare,
        );
        kernel(up, mid, down, &mut sums);
        // Roll the three rows without moving bytes.
        std::mem::swap(&mut up, &mut mid);
        std::mem::swap(&mut mid, &mut down);
    }
    let n = (gw * gh) as f64;
    let interior = ((gw - 2) * (gh - 2)) as f64;
    let lap_mean = sums.lap as f64 / interior;
    let lap_var = (sums.lap2 as f64 / interior - lap_mean * lap_mean).max(0.0);
    let noise = (std::f64::consts::FRAC_PI_2).sqrt() * sums.noise as f64 / (6.0 * interior);
    let mean = luma_sum as f64 / n;
    PixelMeasures {
        sharpness: lap_var.sqrt() as f32,
        noise: noise as f32,
        contrast: (luma_sq as f64 / n - mean * mean).max(0.0).sqrt() as f32,
        mean_luma: (luma_sum as f64 / n) as f32,
        dark_fraction: (dark as f64 / n) as f32,
        clipped_fraction: (clipped as f64 / n) as f32,
        glare_fraction: (glare as f64 / n) as f32,
        step,
    }
}

/// Grid row at sensor row `y` into `out` (already `gw` long).
fn gather(frame: &Frame<'_>, rect: SensorRect, step: u32, y: u32, out: &mut [u8]) {
    if let Some(row) = frame.luma_row(y) {
        let row = &row[rect.x0 as usize..rect.x1 as usize];
        if step == 1 {
            out.copy_from_slice(&row[..out.len()]);
        } else {
            for (o, v) in out.iter_mut().zip(row.iter().step_by(step as usize)) {
                *o = *v;
            }
        }
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            *o = frame.luma(rect.x0 + i as u32 * step, y);
        }
    }
}

fn tally(
    row: &[u8],
    sum: &mut u64,
    sq: &mut u64,
    dark: &mut u64,
    clipped: &mut u64,
    glare: &mut u64,
) {
    // Per-row u32 counters vectorize; a row is at most MAX_SIDE samples, so they cannot
    // overflow (the squares are summed in u64).
    let (mut s, mut d, mut c, mut g, mut q) = (0u32, 0u32, 0u32, 0u32, 0u64);
    for &v in row {
        s += u32::from(v);
        q += u64::from(u16::from(v) * u16::from(v));
        d += u32::from(v <= DARK_LEVEL);
        c += u32::from(v >= CLIPPED_LEVEL);
        g += u32::from(v >= GLARE_LEVEL);
    }
    *sum += u64::from(s);
    *sq += q;
    *dark += u64::from(d);
    *clipped += u64::from(c);
    *glare += u64::from(g);
}

/// Laplacian and Immerkær sums over the interior of the middle row.
fn kernel(up: &[u8], mid: &[u8], down: &[u8], sums: &mut RowSums) {
    let n = mid.len();
    let (mut lap, mut lap2, mut noise) = (0i64, 0u64, 0u64);
    // Chunks of 64 keep the i32/u32 partial sums far from overflow (|lap| <= 1020,
    // lap² <= 1_040_400, |noise| <= 4080) while letting the inner loop vectorize.
    let mut start = 1;
    while start < n - 1 {
        let end = (start + 64).min(n - 1);
        let (mut l1, mut l2, mut nz) = (0i32, 0u32, 0u32);
        for i in start..end {
            let c = i32::from(mid[i]);
            let (u, d) = (i32::from(up[i]), i32::from(down[i]));
            let (l, r) = (i32::from(mid[i - 1]), i32::from(mid[i + 1]));
            let diag = i32::from(up[i - 1])
                + i32::from(up[i + 1])
                + i32::from(down[i - 1])
                + i32::from(down[i + 1]);
            let lp = u + d + l + r - 4 * c;
            l1 += lp;
            l2 += (lp * lp) as u32;
            nz += (4 * c - 2 * (u + d + l + r) + diag).unsigned_abs();
        }
        lap += i64::from(l1);
        lap2 += u64::from(l2);
        noise += u64::from(nz);
        start = end;
    }
    sums.lap += lap;
    sums.lap2 += lap2;
    sums.noise += noise;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Orientation, PackedFormat, Rotation};

    fn gray(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> u8) -> Vec<u8> {
        let mut v = Vec::new();
        for y in 0..height {
            for x in 0..width {
                v.push(f(x, y));
            }
        }
        v
    }

    fn measure_gray(data: &[u8], w: u32, h: u32) -> PixelMeasures {
        // A Y plane followed by a neutral chroma plane: NV21.
        let mut nv21 = data.to_vec();
        nv21.resize(data.len() + (w as usize) * (h as usize).div_ceil(2), 128);
        let frame =
            Frame::nv21(&nv21, w, h, w as usize, w as usize, Orientation::default()).unwrap();
        measure(
            &frame,
            SensorRect::full(&frame),
            &mut PixelScratch::default(),
        )
    }

    #[test]
    fn a_flat_field_has_no_sharpness_and_no_noise() {
        let m = measure_gray(&gray(64, 48, |_, _| 100), 64, 48);
        assert_eq!(m.sharpness, 0.0);
        assert_eq!(m.noise, 0.0);
        assert_eq!(m.mean_luma, 100.0);
        assert_eq!(m.dark_fraction + m.clipped_fraction + m.glare_fraction, 0.0);
    }

    #[test]
    fn a_checkerboard_is_sharp_and_its_blur_is_not() {
        let sharp = measure_gray(
            &gray(64, 64, |x, y| if (x + y) % 2 == 0 { 60 } else { 180 }),
            64,
            64,
        );
        // Every interior Laplacian is ±480: standard deviation 480.
        assert!((sharp.sharpness - 480.0).abs() < 1.0, "{sharp:?}");
        let smooth = measure_gray(&gray(64, 64, |x, _| (60 + x * 2) as u8), 64, 64);
        assert!(smooth.sharpness < 1.0, "{smooth:?}");
    }

    #[test]
    fn immerkaer_recovers_the_sigma_of_added_noise() {
        // Uniform noise of ±a has σ = a/√3; the estimator is exact for Gaussian noise and
        // close for this one.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 41) as i32 - 20
        };
        let data = gray(512, 512, |_, _| (128 + next()) as u8);
        let m = measure_gray(&data, 512, 512);
        let sigma = 20.0 * (1.0f32 + 1.0 / 20.0).sqrt() / 3f32.sqrt();
        assert!(
            (m.noise - sigma).abs() / sigma < 0.1,
            "{} vs {sigma}",
            m.noise
        );
        assert_eq!(m.step, 2);
    }

    #[test]
    fn exposure_fractions_count_dark_clipped_and_highlight_samples() {
        // Left quarter black, right quarter white, the rest mid-grey.
        let m = measure_gray(
            &gray(100, 10, |x, _| match x {
                0..25 => 0,
                75.. => 255,
                _ => 128,
            }),
            100,
            10,
        );
        assert!((m.dark_fraction - 0.25).abs() < 1e-6);
        assert!((m.clipped_fraction - 0.25).abs() < 1e-6);
        assert!((m.glare_fraction - 0.25).abs() < 1e-6);
    }

    #[test]
    fn packed_and_yuv_frames_of_the_same_picture_measure_the_same() {
        let (w, h) = (40u32, 30u32);
        let luma = gray(w, h, |x, y| ((x * 7 + y * 13) % 200) as u8);
        let yuv = measure_gray(&luma, w, h);
        let rgb: Vec<u8> = luma.iter().flat_map(|&v| [v, v, v]).collect();
        let frame = Frame::packed(
            &rgb,
            w,
            h,
            PackedFormat::Rgb888,
            w as usize * 3,
            Orientation::default(),
        )
        .unwrap();
        let packed = measure(
            &frame,
            SensorRect::full(&frame),
            &mut PixelScratch::default(),
        );
        assert!(
            (packed.sharpness - yuv.sharpness).abs() < 1.5,
            "{packed:?} {yuv:?}"
        );
        assert!((packed.mean_luma - yuv.mean_luma).abs() < 1.0);
    }

    #[test]
    fn an_upright_box_maps_to_the_sensor_rectangle_under_it() {
        let data = vec![0u8; 40 * 30 * 3];
        let frame = Frame::packed(
            &data,
            40,
            30,
            PackedFormat::Rgb888,
            120,
            Orientation {
                rotation: Rotation::Deg90,
                mirrored: false,
            },
        )
        .unwrap();
        // Upright is 30x40; its top-left 10x5 box is the sensor's bottom-left 5x10 strip.
        let r = SensorRect::from_upright(&frame, 0.0, 0.0, 10.0, 5.0).unwrap();
        assert_eq!(
            r,
            SensorRect {
                x0: 0,
                y0: 20,
                x1: 5,
                y1: 30
            }
        );
        assert!(SensorRect::from_upright(&frame, -20.0, -20.0, -1.0, -1.0).is_none());
        // A box leaving the frame is clipped to it.
        let r = SensorRect::from_upright(&frame, 25.0, 35.0, 90.0, 90.0).unwrap();
        assert!(r.x1 <= 40 && r.y1 <= 30, "{r:?}");
    }
}
