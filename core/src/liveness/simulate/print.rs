//! A palm photo printed on paper and filmed: CMYK inks laid down as halftone dots —
//! clustered dots on rotated screens (offset and laser printers: cyan 15°, magenta 75°,
//! yellow 0°, black 45°) or a stochastic dither of fine dots (inkjet) — over paper with
//! fibre texture, lit unevenly, sometimes with a sheen off glossy paper.
//!
//! Geometry as for screens: a halftone cell of `25.4 / lpi` mm at `d` mm covers
//! `1500 * cell / d` camera pixels.

use super::camera::{Camera, film, gaussian};
use super::screen::FOCAL_PX;
use super::{LinearImage, RgbImage, Setup, ValueNoise, between};

/// How the inks are laid down.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dots {
    /// Clustered dots on rotated screens of this many lines per inch.
    Clustered {
        /// Screen ruling, lines per inch.
        lpi: f32,
    },
    /// A stochastic dither of printer dots, this many per inch.
    Stochastic {
        /// Printer resolution, dots per inch.
        dpi: f32,
    },
}

/// One print and how it is filmed.
#[derive(Clone, Debug)]
pub struct Print {
    /// The halftone.
    pub dots: Dots,
    /// Distance to the camera, mm.
    pub distance_mm: f32,
    /// Turn of the sheet against the camera, degrees.
    pub angle_deg: f32,
    /// Reflectance of bare paper.
    pub paper_white: f32,
    /// Paper fibre texture: strength (fraction) and grain size (camera pixels).
    pub fibre: (f32, f32),
    /// Uneven light: strength across the sheet and its direction (radians).
    pub light: (f32, f32),
    /// Sheen off glossy paper: peak (fraction of white; 0 for matte paper).
    pub sheen: f32,
}

/// Ink transmittance for red, green and blue light: cyan, magenta, yellow, black.
const INKS: [[f32; 3]; 4] = [
    [0.15, 0.75, 0.95],
    [0.90, 0.20, 0.60],
    [0.95, 0.90, 0.15],
    [0.08, 0.08, 0.09],
];
/// Screen angles of the four inks, degrees.
const ANGLES: [f32; 4] = [15.0, 75.0, 0.0, 45.0];

impl Print {
    /// A random print with `dots`, filmed from `distance_mm`.
    pub fn draw(rng: &mut fastrand::Rng, dots: Dots, distance_mm: (f32, f32)) -> Self {
        let distance_mm = between(rng, distance_mm);
        let angle_deg = between(rng, (-8.0, 8.0));
        let paper_white = between(rng, (0.78, 0.92));
        let fibre = (between(rng, (0.01, 0.04)), between(rng, (3.0, 10.0)));
        let light = (
            between(rng, (0.0, 0.3)),
            between(rng, (0.0, std::f32::consts::TAU)),
        );
        let sheen = if between(rng, (0.0, 1.0)) < 0.3 {
            between(rng, (0.05, 0.2))
        } else {
            0.0
        };
        Self {
            dots,
            distance_mm,
            angle_deg,
            paper_white,
            fibre,
            light,
            sheen,
        }
    }

    /// Camera pixels per halftone cell (clustered) or printer dot (stochastic).
    pub fn scale(&self) -> f32 {
        let per_inch = match self.dots {
            Dots::Clustered { lpi } => lpi,
            Dots::Stochastic { dpi } => dpi,
        };
        FOCAL_PX * (25.4 / per_inch) / self.distance_mm
    }
}

/// Films `photo` printed as `print`.
///
/// Each ink's coverage is its amount plus, for clustered dots, the dot screen's
/// fundamental (two cosines along the screen's rotated axes, a bar of width `a` having
/// the coefficient `sin(pi a) / pi`), scaled by what the camera lets through at the
/// screen's frequency. A stochastic dither of dots far finer than a pixel averages out
/// under the lens; what is left is grain: the binomial spread of the dots under one
/// pixel's footprint. Inks combine as filters over the paper (Murray-Davies per ink).
pub fn film_print(
    photo: &LinearImage,
    print: &Print,
    camera: &Camera,
    rng: &mut fastrand::Rng,
) -> (RgbImage, Setup) {
    let q = print.scale();
    let (w, h) = (photo.width as f32, photo.height as f32);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let fibre = ValueNoise::new(rng, photo.width, photo.height, print.fibre.1);
    let rotations: [(f32, f32); 4] = ANGLES.map(|a| (print.angle_deg + a).to_radians().sin_cos());
    let through = rotations.map(|(s, c)| (camera.mtf(c / q, s / q), camera.mtf(-s / q, c / q)));
    // Printer dots under one pixel's footprint (the pixel and the lens blur).
    let dots_per_pixel = (1.0 + 4.0 * std::f32::consts::PI * camera.blur_sigma.powi(2)) / (q * q);
    let (lsin, lcos) = print.light.1.sin_cos();
    let tau = std::f32::consts::TAU;
    // The grain, drawn per pixel and ink in the scene's order (it is called once per
    // pixel, row by row).
    let grain = std::cell::RefCell::new(fastrand::Rng::with_seed(rng.u64(..)));
    let scene = |x: f32, y: f32| -> [f32; 3] {
        // Ink amounts (perceptual values, as a printer driver computes them), grey
        // replaced by black where all three colours overlap.
        let rgb = photo.at(x, y).map(|v| v.max(0.0).powf(1.0 / 2.2));
        let cmy = rgb.map(|v| 1.0 - v);
        let k = cmy.iter().copied().fold(1.0, f32::min) * 0.8;
        let amounts = [cmy[0] - k, cmy[1] - k, cmy[2] - k, k];
        let (dx, dy) = (x - cx, y - cy);
        let mut light = [print.paper_white; 3];
        for (ink, amount) in amounts.into_iter().enumerate() {
            let amount = amount.clamp(0.0, 1.0);
            let coverage = match print.dots {
                Dots::Clustered { .. } => {
                    let (s, c) = rotations[ink];
                    let u = (c * dx + s * dy) / q;
                    let v = (-s * dx + c * dy) / q;
                    let m = (std::f32::consts::PI * amount).sin() / std::f32::consts::PI;
                    amount
                        + m * (through[ink].0 * (tau * u).cos() + through[ink].1 * (tau * v).cos())
                }
                Dots::Stochastic { .. } => {
                    let spread = (amount * (1.0 - amount) / dots_per_pixel.max(1.0)).sqrt();
                    amount + spread * gaussian(&mut grain.borrow_mut())
                }
            }
            .clamp(0.0, 1.0);
            light
                .iter_mut()
                .zip(INKS[ink])
                .for_each(|(l, t)| *l *= 1.0 - coverage * (1.0 - t));
        }
        let lit = (1.0 + print.fibre.0 * fibre.at(x, y))
            * (1.0 + print.light.0 * ((x / w - 0.5) * lcos + (y / h - 0.5) * lsin));
        let sheen = if print.sheen > 0.0 {
            let (ex, ey) = ((x - cx) / w, (y - cy * 0.7) / h);
            print.sheen * (-(ex * ex + ey * ey) / 0.08).exp()
        } else {
            0.0
        };
        light.map(|l| l * lit + sheen)
    };
    let image = film(photo.width, photo.height, camera, rng, scene);
    let dots = match print.dots {
        Dots::Clustered { lpi } => format!("{lpi:.0} lpi clustered-dot"),
        Dots::Stochastic { dpi } => format!("{dpi:.0} dpi stochastic"),
    };
    let setup = format!(
        "{dots} print at {:.0} mm ({:.2} camera px per dot or cell), turned {:.1} deg, paper white {:.2}, fibre {:.3}, uneven light {:.2}, sheen {:.2}",
        print.distance_mm,
        q,
        print.angle_deg,
        print.paper_white,
        print.fibre.0,
        print.light.0,
        print.sheen
    );
    (image, setup)
}
