//! A palm photo shown on a screen and filmed: the screen's pixel grid with its coloured
//! sub-pixels (RGB stripes, or the diamond layout of OLED phones: green in every pixel, red
//! and blue in alternate ones), the photo resampled to that grid, the screen's own tone
//! curve, white point and black level, refresh banding, and a reflection on the glass.
//!
//! Geometry: a 1080p phone camera has a focal length of about 1500 px, so a screen pixel of
//! pitch `p` mm at `d` mm from it covers `k = 1500 p / d` camera pixels. The screen may be
//! turned by a few degrees against the camera.

use std::f32::consts::PI;

use super::camera::{Camera, film, sinc};
use super::{LinearImage, RgbImage, Setup, between};

/// Focal length of a 1080p phone camera, pixels.
pub const FOCAL_PX: f32 = 1500.0;

/// Sub-pixel layouts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    /// Red, green, blue vertical stripes in every pixel (LCDs).
    Stripe,
    /// Green in every pixel, red and blue in alternate ones (OLED "diamond" layouts).
    Diamond,
}

/// One screen and how it is filmed.
#[derive(Clone, Debug)]
pub struct Screen {
    /// Pixels per inch.
    pub ppi: f32,
    /// Distance to the camera, mm.
    pub distance_mm: f32,
    /// Sub-pixel layout.
    pub layout: Layout,
    /// Turn against the camera, degrees.
    pub angle_deg: f32,
    /// Screen tone: displayed = value ^ gamma.
    pub gamma: f32,
    /// White point: red and blue gains (green 1).
    pub white: [f32; 2],
    /// Light of a black pixel (backlight leak), fraction of white.
    pub black: f32,
    /// Refresh banding: amplitude (fraction) and period in camera pixels.
    pub banding: (f32, f32),
    /// A reflection on the glass: centre (fraction of the picture), radius (fraction of the
    /// short side), peak (fraction of white); peak 0 for none.
    pub glare: ([f32; 2], f32, f32),
}

impl Screen {
    /// A random screen of `ppi_range` at `distance_range`.
    pub fn draw(
        rng: &mut fastrand::Rng,
        ppi: (f32, f32),
        distance_mm: (f32, f32),
        diamond_share: f32,
    ) -> Self {
        let ppi = between(rng, ppi);
        let distance_mm = between(rng, distance_mm);
        let angle_deg = between(rng, (-8.0, 8.0));
        let gamma = between(rng, (0.9, 1.15));
        let white = [between(rng, (0.88, 1.0)), between(rng, (1.0, 1.12))];
        let black = between(rng, (0.005, 0.04));
        let banding = if between(rng, (0.0, 1.0)) < 0.5 {
            (between(rng, (0.01, 0.04)), between(rng, (40.0, 200.0)))
        } else {
            (0.0, 1.0)
        };
        let glare = if between(rng, (0.0, 1.0)) < 0.6 {
            (
                [between(rng, (0.1, 0.9)), between(rng, (0.1, 0.9))],
                between(rng, (0.15, 0.4)),
                between(rng, (0.1, 0.5)),
            )
        } else {
            ([0.5, 0.5], 0.1, 0.0)
        };
        let layout = if rng.f32() < diamond_share {
            Layout::Diamond
        } else {
            Layout::Stripe
        };
        Self {
            ppi,
            distance_mm,
            layout,
            angle_deg,
            gamma,
            white,
            black,
            banding,
            glare,
        }
    }

    /// Camera pixels per screen pixel.
    pub fn scale(&self) -> f32 {
        FOCAL_PX * (25.4 / self.ppi) / self.distance_mm
    }
}

/// Films `photo` shown on `screen`.
///
/// Each sub-pixel colour is the photo's value times a periodic structure: stripes across
/// the pixel (period one screen pixel, a phase per colour), the black matrix between rows,
/// and for the diamond layout red and blue on alternate pixels (a checkerboard). Each
/// structure enters by its fundamental, scaled by its Fourier coefficient (a bar of width
/// `w` of the period: `sinc(w)`) and by what the camera lets through at its frequency.
pub fn film_screen(
    photo: &LinearImage,
    screen: &Screen,
    camera: &Camera,
    rng: &mut fastrand::Rng,
) -> (RgbImage, Setup) {
    let k = screen.scale();
    let (w, h) = (photo.width as f32, photo.height as f32);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (sin, cos) = screen.angle_deg.to_radians().sin_cos();
    let short = w.min(h);
    let ([gx, gy], gr, gpeak) = screen.glare;
    // The screen's axes in camera frequencies: one cycle per screen pixel along u and v.
    let along_u = camera.mtf(cos / k, sin / k);
    let along_v = camera.mtf(-sin / k, cos / k);
    // The diamond checkerboard: half a cycle per pixel along both axes.
    let checker = camera.mtf((cos - sin) / (2.0 * k), (sin + cos) / (2.0 * k));
    let tau = std::f32::consts::TAU;
    // (phase across the pixel, width of the sub-pixel) per colour.
    let columns: [(f32, f32); 3] = match screen.layout {
        Layout::Stripe => [
            (1.0 / 6.0, 0.8 / 3.0),
            (0.5, 0.8 / 3.0),
            (5.0 / 6.0, 0.8 / 3.0),
        ],
        Layout::Diamond => [(0.275, 0.45), (0.75, 0.4), (0.275, 0.45)],
    };
    let rows = 2.0 * sinc(0.88) * along_v;
    let scene = |x: f32, y: f32| -> [f32; 3] {
        let (dx, dy) = (x - cx, y - cy);
        let u = (cos * dx + sin * dy) / k;
        let v = (-sin * dx + cos * dy) / k;
        let value = photo.at(x, y);
        let row = 1.0 + rows * (tau * (v - 0.5)).cos();
        let band = 1.0 + screen.banding.0 * (tau * y / screen.banding.1).sin();
        let glare = if gpeak > 0.0 {
            let (ddx, ddy) = ((x / w - gx) * w / short, (y / h - gy) * h / short);
            gpeak * (-(ddx * ddx + ddy * ddy) / (2.0 * gr * gr)).exp()
        } else {
            0.0
        };
        std::array::from_fn(|c| {
            let gain = match c {
                0 => screen.white[0],
                2 => screen.white[1],
                _ => 1.0,
            };
            let shown =
                screen.black + (1.0 - screen.black) * value[c].max(0.0).powf(screen.gamma) * gain;
            let (phase, width) = columns[c];
            let column = 1.0 + 2.0 * sinc(width) * along_u * (tau * (u - phase)).cos();
            // Red on even (u + v) pixels, blue on odd ones: a checkerboard of sign +-1.
            let alternate = match (screen.layout, c) {
                (Layout::Diamond, 0) => {
                    1.0 + 1.62 * checker * (PI * (u - 0.5)).cos() * (PI * (v - 0.5)).cos()
                }
                (Layout::Diamond, 2) => {
                    1.0 - 1.62 * checker * (PI * (u - 0.5)).cos() * (PI * (v - 0.5)).cos()
                }
                _ => 1.0,
            };
            (shown * column * row * alternate).max(0.0) * band + glare
        })
    };
    let image = film(photo.width, photo.height, camera, rng, scene);
    let setup = format!(
        "{:.0} ppi {} screen at {:.0} mm ({:.2} camera px per screen pixel), turned {:.1} deg, gamma {:.2}, black {:.3}, banding {:.3}, glare {:.2}",
        screen.ppi,
        match screen.layout {
            Layout::Stripe => "RGB-stripe",
            Layout::Diamond => "diamond",
        },
        screen.distance_mm,
        k,
        screen.angle_deg,
        screen.gamma,
        screen.black,
        screen.banding.0,
        gpeak
    );
    (image, setup)
}
