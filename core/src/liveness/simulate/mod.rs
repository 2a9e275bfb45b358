//! Simulated presentation attacks, for evaluating the spoof layers: no public palm spoof
//! set exists, so attacks are made from real palm photos by a documented, seeded, physical
//! simulation — the photo shown on a screen or printed on paper, then filmed by a phone
//! camera ([`camera`]); and, for the 3-D motion layer, a photo moved as a flat plane
//! against the model's 3-D landmarks moved and projected ([`motion`]). The same seed gives the same image, so a result can be reproduced;
//! the images are made in memory and never written by the tools (`palmkit spoof-eval`).
//!
//! Evaluation only: the live path never calls this.
//!
//! What a simulation can and cannot show: it tests whether the layers see the physical
//! effects modelled here (pixel grids, moiré with the sensor, halftone dots, tone and
//! gamut). It cannot show how real screens, printers, papers and cameras differ from the
//! model, nor attacks it does not model (a high-quality print on photo paper, a replay
//! through a virtual camera, a 3-D mask). See `docs/spoof-detection.md`.

pub mod camera;
pub mod motion;
pub mod print;
pub mod screen;

use zeroize::Zeroizing;

use crate::frame::Frame;

use camera::{Camera, to_linear};
use print::{Dots, Print};
use screen::Screen;

/// An 8-bit RGB picture (wiped when dropped: it shows a palm).
pub struct RgbImage {
    /// R, G, B bytes, rows without padding.
    pub rgb: Zeroizing<Vec<u8>>,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl RgbImage {
    /// The picture as an upright frame (`Err` only if the fields were set inconsistently).
    pub fn frame(&self) -> Result<Frame<'_>, crate::frame::FrameError> {
        Frame::packed(
            &self.rgb,
            self.width,
            self.height,
            crate::frame::PackedFormat::Rgb888,
            self.width as usize * 3,
            crate::frame::Orientation::default(),
        )
    }

    /// The picture as NV21 bytes, the way an Android camera delivers it (`None` for odd
    /// sides).
    pub fn nv21(&self) -> Option<Zeroizing<Vec<u8>>> {
        crate::frame::synthetic::nv21_from_rgb(&self.rgb, self.width, self.height)
            .map(Zeroizing::new)
    }
}

/// What a simulation did, in words (for the report).
pub type Setup = String;

/// A picture as linear light, sampled between pixels.
pub struct LinearImage {
    data: Zeroizing<Vec<f32>>,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl LinearImage {
    /// The linear light of an sRGB picture.
    pub fn from_rgb(image: &RgbImage) -> Self {
        let lut: Vec<f32> = (0..=255u8).map(to_linear).collect();
        Self {
            data: Zeroizing::new(image.rgb.iter().map(|&v| lut[usize::from(v)]).collect()),
            width: image.width,
            height: image.height,
        }
    }

    /// The picture as a camera's lens and pixel area would blur it (`sigma`: the lens's
    /// Gaussian, pixels; the pixel's box adds a variance of 1/12).
    pub fn blur(&mut self, sigma: f32) {
        let total = (sigma * sigma + 1.0 / 12.0).sqrt();
        camera::blur(
            &mut self.data,
            self.width as usize,
            self.height as usize,
            total,
        );
    }

    /// Bilinear sample at (`x`, `y`) (pixel centres at half-integers), edges clamped.
    pub fn at(&self, x: f32, y: f32) -> [f32; 3] {
        let (w, h) = (self.width as i64, self.height as i64);
        let (fx, fy) = (x - 0.5, y - 0.5);
        let (x0, y0) = (fx.floor(), fy.floor());
        let (tx, ty) = (fx - x0, fy - y0);
        let px = |xx: i64, yy: i64| {
            let i = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)) as usize * 3;
            [self.data[i], self.data[i + 1], self.data[i + 2]]
        };
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (a, b, c, d) = (
            px(x0, y0),
            px(x0 + 1, y0),
            px(x0, y0 + 1),
            px(x0 + 1, y0 + 1),
        );
        std::array::from_fn(|k| {
            (a[k] * (1.0 - tx) + b[k] * tx) * (1.0 - ty) + (c[k] * (1.0 - tx) + d[k] * tx) * ty
        })
    }
}

/// Smooth random texture in [-1, 1] with grains of a given size (paper fibre).
pub struct ValueNoise {
    grid: Vec<f32>,
    columns: usize,
    rows: usize,
    grain: f32,
}

impl ValueNoise {
    /// Noise over `width` x `height` pixels with grains of `grain` pixels.
    pub fn new(rng: &mut fastrand::Rng, width: u32, height: u32, grain: f32) -> Self {
        let columns = (width as f32 / grain) as usize + 2;
        let rows = (height as f32 / grain) as usize + 2;
        Self {
            grid: (0..columns * rows).map(|_| rng.f32() * 2.0 - 1.0).collect(),
            columns,
            rows,
            grain,
        }
    }

    /// The noise at (`x`, `y`).
    pub fn at(&self, x: f32, y: f32) -> f32 {
        let (gx, gy) = ((x / self.grain).max(0.0), (y / self.grain).max(0.0));
        let (ix, iy) = (
            (gx as usize).min(self.columns - 2),
            (gy as usize).min(self.rows - 2),
        );
        let (tx, ty) = (gx - ix as f32, gy - iy as f32);
        let g = |c: usize, r: usize| self.grid[r * self.columns + c];
        (g(ix, iy) * (1.0 - tx) + g(ix + 1, iy) * tx) * (1.0 - ty)
            + (g(ix, iy + 1) * (1.0 - tx) + g(ix + 1, iy + 1) * tx) * ty
    }
}

/// The presentation the evaluation starts from: the upright pixels of `frame` inside the
/// hand box `bounds` (left, top, width, height) grown by a quarter per side — what a camera
/// framing the hand would see — with even sides (NV21 needs them). `None` when under 16 px.
pub fn hand_crop(frame: &Frame<'_>, bounds: [f32; 4]) -> Option<RgbImage> {
    let (uw, uh) = frame.upright_size();
    let [x, y, w, h] = bounds;
    let grow = |lo: f32, len: f32, max: u32| {
        let a = (lo - len / 4.0).max(0.0) as u32;
        let b = ((lo + len * 1.25).max(0.0) as u32).min(max);
        (a, b.saturating_sub(a) & !1)
    };
    let (x0, cw) = grow(x, w, uw);
    let (y0, ch) = grow(y, h, uh);
    if cw < 16 || ch < 16 {
        return None;
    }
    let mut rgb = Zeroizing::new(Vec::with_capacity(cw as usize * ch as usize * 3));
    for yy in y0..y0 + ch {
        for xx in x0..x0 + cw {
            let (sx, sy) = frame.to_sensor(xx, yy);
            rgb.extend_from_slice(&frame.rgb(sx, sy));
        }
    }
    Some(RgbImage {
        rgb,
        width: cw,
        height: ch,
    })
}

/// Bands of grid pitch (camera pixels per screen pixel, halftone cell or printer dot)
/// that `palmkit spoof-eval` reports APCER in: under 1 px the simulated lens smooths a grid
/// away before the sensor samples it; from about 1.4 px it comes through strongly.
pub const PITCH_BANDS: [(f32, f32); 3] = [(0.0, 1.0), (1.0, 1.4), (1.4, f32::INFINITY)];

/// A uniform draw from `lo..hi`.
pub(crate) fn between(rng: &mut fastrand::Rng, (lo, hi): (f32, f32)) -> f32 {
    lo + (hi - lo) * rng.f32()
}

/// The simulated attack species (ISO/IEC 30107-3: one kind of presentation attack
/// instrument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Species {
    /// A phone screen: 400-500 ppi, diamond (70 %) or stripe sub-pixels, 50-120 mm away.
    ScreenPhone,
    /// A laptop or tablet screen: 200-260 ppi, RGB stripes, 120-300 mm away.
    ScreenLaptop,
    /// A desktop monitor: 90-140 ppi, RGB stripes, 200-450 mm away.
    ScreenMonitor,
    /// An offset print (magazine, photo book): 133-175 lpi clustered dots, 100-250 mm away.
    PrintOffset,
    /// A laser print: 85-120 lpi clustered dots, 120-300 mm away.
    PrintLaser,
    /// An inkjet print: 600-1200 dpi stochastic dither, 100-250 mm away.
    PrintInkjet,
}

impl Species {
    /// Every species.
    pub const ALL: [Species; 6] = [
        Species::ScreenPhone,
        Species::ScreenLaptop,
        Species::ScreenMonitor,
        Species::PrintOffset,
        Species::PrintLaser,
        Species::PrintInkjet,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Species::ScreenPhone => "screen_phone",
            Species::ScreenLaptop => "screen_laptop",
            Species::ScreenMonitor => "screen_monitor",
            Species::PrintOffset => "print_offset",
            Species::PrintLaser => "print_laser",
            Species::PrintInkjet => "print_inkjet",
        }
    }
}

/// One simulated attack: the filmed picture and what was simulated.
pub struct Attack {
    /// The picture the phone camera took.
    pub image: RgbImage,
    /// The screen or print and its setting, in words.
    pub setup: Setup,
    /// Camera pixels per screen pixel, halftone cell or printer dot: under about 1.2 the
    /// lens smooths the grid away before the sensor samples it (docs/spoof-detection.md).
    pub pitch_px: f32,
}

/// Films `photo` presented as `species`, with parameters drawn from `seed`.
pub fn simulate(species: Species, photo: &RgbImage, seed: u64) -> Attack {
    let mut rng = fastrand::Rng::with_seed(seed ^ (species as u64 + 1).wrapping_mul(0x9e37_79b9));
    let mut linear = LinearImage::from_rgb(photo);
    let camera = Camera {
        blur_sigma: between(&mut rng, (0.3, 0.6)),
        read_noise: between(&mut rng, (0.002, 0.006)),
        shot_noise: between(&mut rng, (0.005, 0.015)),
        gain: between(&mut rng, (0.8, 1.25)),
    };
    linear.blur(camera.blur_sigma);
    let screen = |rng: &mut fastrand::Rng, ppi, distance, diamond| {
        let s = Screen::draw(rng, ppi, distance, diamond);
        let (image, setup) = screen::film_screen(&linear, &s, &camera, rng);
        (image, setup, s.scale())
    };
    let (image, setup, pitch_px) = match species {
        Species::ScreenPhone => screen(&mut rng, (400.0, 500.0), (50.0, 120.0), 0.7),
        Species::ScreenLaptop => screen(&mut rng, (200.0, 260.0), (120.0, 300.0), 0.0),
        Species::ScreenMonitor => screen(&mut rng, (90.0, 140.0), (200.0, 450.0), 0.0),
        Species::PrintOffset | Species::PrintLaser | Species::PrintInkjet => {
            let (dots, distance) = match species {
                Species::PrintOffset => (
                    Dots::Clustered {
                        lpi: between(&mut rng, (133.0, 175.0)),
                    },
                    (100.0, 250.0),
                ),
                Species::PrintLaser => (
                    Dots::Clustered {
                        lpi: between(&mut rng, (85.0, 120.0)),
                    },
                    (120.0, 300.0),
                ),
                _ => (
                    Dots::Stochastic {
                        dpi: between(&mut rng, (600.0, 1200.0)),
                    },
                    (100.0, 250.0),
                ),
            };
            let p = Print::draw(&mut rng, dots, distance);
            let (image, setup) = print::film_print(&linear, &p, &camera, &mut rng);
            (image, setup, p.scale())
        }
    };
    Attack {
        image,
        setup: format!("{}: {setup}", species.name()),
        pitch_px,
    }
}

#[cfg(test)]
mod tests {
    use super::camera::Camera;
    use super::print::{Dots, Print, film_print};
    use super::screen::{Layout, Screen, film_screen};
    use super::*;
    use crate::liveness::spectrum::{self, SpectrumScratch};
    use crate::quality::SensorRect;

    /// A flat skin-coloured picture with a gentle gradient.
    fn skin(side: u32) -> RgbImage {
        let mut rgb = Vec::new();
        for y in 0..side {
            for _ in 0..side {
                let t = y as f32 / side as f32;
                rgb.extend([(190.0 + 20.0 * t) as u8, (140.0 + 15.0 * t) as u8, 120]);
            }
        }
        RgbImage {
            rgb: Zeroizing::new(rgb),
            width: side,
            height: side,
        }
    }

    fn camera() -> Camera {
        Camera {
            blur_sigma: 0.45,
            read_noise: 0.003,
            shot_noise: 0.01,
            gain: 1.0,
        }
    }

    fn periodicity(image: &RgbImage) -> spectrum::Periodicity {
        let frame = image.frame().unwrap();
        spectrum::measure(
            &frame,
            SensorRect::full(&frame),
            &mut SpectrumScratch::default(),
        )
        .unwrap()
    }

    fn screen(distance_mm: f32) -> Screen {
        Screen {
            ppi: 110.0,
            distance_mm,
            layout: Layout::Stripe,
            angle_deg: 3.0,
            gamma: 1.0,
            white: [1.0, 1.0],
            black: 0.01,
            banding: (0.0, 1.0),
            glare: ([0.5, 0.5], 0.1, 0.0),
        }
    }

    #[test]
    fn a_coarse_screen_grid_leaves_a_chroma_peak_at_its_pitch_and_a_fine_one_none() {
        let photo = {
            let mut l = LinearImage::from_rgb(&skin(256));
            l.blur(0.45);
            l
        };
        let mut rng = fastrand::Rng::with_seed(1);
        // 110 ppi at 600 mm: 1500 * 0.231 / 600 = 0.58 px per screen pixel, at 250 mm 1.39.
        let coarse = screen(250.0);
        assert!((coarse.scale() - 1.386).abs() < 0.01);
        let (image, setup) = film_screen(&photo, &coarse, &camera(), &mut rng);
        assert!(setup.contains("110 ppi"), "{setup}");
        let p = periodicity(&image);
        assert!(p.chroma.strength > 1.5, "{p:?}");
        // The stripes' period is one screen pixel; the camera's sampling folds it
        // (1 / 1.386 = 0.72 cycles per pixel aliases to 0.28: a period of 3.6 px).
        assert!((p.chroma.period - 3.6).abs() < 0.4, "{p:?}");
        let (image, _) = film_screen(&photo, &screen(600.0), &camera(), &mut rng);
        let p = periodicity(&image);
        assert!(p.chroma.strength < 0.8, "{p:?}");
    }

    #[test]
    fn a_coarse_halftone_leaves_a_luma_peak_and_a_fine_dither_none() {
        let photo = {
            let mut l = LinearImage::from_rgb(&skin(256));
            l.blur(0.45);
            l
        };
        let mut rng = fastrand::Rng::with_seed(2);
        let mut print = Print::draw(&mut rng, Dots::Clustered { lpi: 85.0 }, (150.0, 150.0));
        // 85 lpi at 150 mm: 1500 * 0.299 / 150 = 2.99 px per cell.
        assert!((print.scale() - 2.99).abs() < 0.01);
        print.angle_deg = 0.0;
        let (image, _) = film_print(&photo, &print, &camera(), &mut rng);
        let p = periodicity(&image);
        assert!(p.luma.strength > 1.5, "{p:?}");
        // The black screen at 45 degrees: 2.99 px per cell along its axes.
        assert!((p.luma.period - 2.99).abs() < 0.3, "{p:?}");
        print.dots = Dots::Stochastic { dpi: 1200.0 };
        let (image, _) = film_print(&photo, &print, &camera(), &mut rng);
        let p = periodicity(&image);
        assert!(p.luma.strength < 0.8 && p.chroma.strength < 0.8, "{p:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_attack() {
        let photo = skin(64);
        for species in Species::ALL {
            let a = simulate(species, &photo, 42);
            let b = simulate(species, &photo, 42);
            assert_eq!(*a.image.rgb, *b.image.rgb, "{}", species.name());
            assert_eq!(a.setup, b.setup);
            let c = simulate(species, &photo, 43);
            assert_ne!(a.setup, c.setup, "{}", species.name());
        }
    }
}
