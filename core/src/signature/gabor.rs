//! The oriented line filters: even (cosine) Gabor filters at six orientations, evaluated
//! only at the code grid's points (the code is sampled every `STEP` ROI pixels, so
//! filtering the whole ROI would be 16x wasted work).
//!
//! A palm line is a dark valley: along the direction across it, an even Gabor tuned to its
//! width answers strongly negative; the filters are made zero-mean so flat skin of any
//! brightness answers zero.

use super::roi::ROI_SIZE;

/// Code grid side (points per row and column): one `u32` per row of a bit plane.
pub const GRID: usize = 32;
/// ROI pixels between grid points.
pub const STEP: usize = ROI_SIZE / GRID;
/// Orientations per scale, evenly spread over 180 degrees.
pub const ORIENTATIONS: usize = 6;

/// One scale of the bank: the filters' wavelength and envelope, in ROI pixels.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Wavelength of the cosine across the line.
    pub wavelength: f32,
    /// Envelope deviation across the line.
    pub sigma_across: f32,
    /// Envelope deviation along the line (longer: lines are long).
    pub sigma_along: f32,
}

/// A bank of `ORIENTATIONS` filters at one scale.
pub struct Bank {
    radius: usize,
    /// Per orientation, `(2r+1)^2` weights.
    kernels: Vec<Vec<f32>>,
}

impl Bank {
    /// Builds the filters of one scale.
    pub fn new(scale: Scale) -> Self {
        let radius = (2.5 * scale.sigma_across.max(scale.sigma_along)).ceil() as usize;
        let side = 2 * radius + 1;
        let kernels = (0..ORIENTATIONS)
            .map(|k| {
                let theta = k as f32 * std::f32::consts::PI / ORIENTATIONS as f32;
                let (s, c) = theta.sin_cos();
                let mut weights = Vec::with_capacity(side * side);
                let mut envelope = Vec::with_capacity(side * side);
                for y in 0..side {
                    for x in 0..side {
                        let (dx, dy) = (x as f32 - radius as f32, y as f32 - radius as f32);
                        let across = dx * c + dy * s;
                        let along = -dx * s + dy * c;
                        let e = (-(across * across) / (2.0 * scale.sigma_across.powi(2))
                            - (along * along) / (2.0 * scale.sigma_along.powi(2)))
                        .exp();
                        envelope.push(e);
                        weights.push(
                            e * (2.0 * std::f32::consts::PI * across / scale.wavelength).cos(),
                        );
                    }
                }
                // Zero mean: take away the envelope's share of the sum.
                let dc = weights.iter().sum::<f32>() / envelope.iter().sum::<f32>();
                for (w, e) in weights.iter_mut().zip(&envelope) {
                    *w -= dc * e;
                }
                // Unit L1 norm, so scales can be compared.
                let l1: f32 = weights.iter().map(|w| w.abs()).sum();
                weights.iter_mut().for_each(|w| *w /= l1);
                weights
            })
            .collect();
        Self { radius, kernels }
    }

    /// The responses of every orientation at every grid point:
    /// `out[k * GRID * GRID + gy * GRID + gx]`. ROI pixels outside the ROI count as 0 (its
    /// mean).
    pub fn respond(&self, roi: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.resize(ORIENTATIONS * GRID * GRID, 0.0);
        let r = self.radius as isize;
        let side = 2 * self.radius + 1;
        let n = ROI_SIZE as isize;
        for gy in 0..GRID {
            for gx in 0..GRID {
                let cx = (gx * STEP + STEP / 2) as isize;
                let cy = (gy * STEP + STEP / 2) as isize;
                // The kernel rows and columns that fall inside the ROI.
                let (x_lo, x_hi) = ((r - cx).max(0), (n - cx + r).min(side as isize));
                let (y_lo, y_hi) = ((r - cy).max(0), (n - cy + r).min(side as isize));
                for (k, kernel) in self.kernels.iter().enumerate() {
                    let mut sum = 0f32;
                    for ky in y_lo..y_hi {
                        // First ROI pixel of this kernel row's inside part.
                        let start = ((cy + ky - r) * n + cx - r + x_lo) as usize;
                        let len = (x_hi - x_lo) as usize;
                        let krow = ky as usize * side + x_lo as usize;
                        sum += roi[start..start + len]
                            .iter()
                            .zip(&kernel[krow..krow + len])
                            .map(|(p, w)| p * w)
                            .sum::<f32>();
                    }
                    out[k * GRID * GRID + gy * GRID + gx] = sum;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dark_line_answers_most_negatively_across_its_own_direction() {
        // A dark vertical line through the ROI: the filter whose cosine runs along x
        // (orientation 0, across a vertical line) answers most negatively.
        let mut roi = vec![0f32; ROI_SIZE * ROI_SIZE];
        for y in 0..ROI_SIZE {
            for x in 62..66 {
                roi[y * ROI_SIZE + x] = -1.0;
            }
        }
        let bank = Bank::new(Scale {
            wavelength: 12.0,
            sigma_across: 3.0,
            sigma_along: 6.0,
        });
        let mut out = Vec::new();
        bank.respond(&roi, &mut out);
        // Grid point 15 sits at ROI x = 62, on the line.
        let at = GRID / 2 * GRID + 15;
        let responses: Vec<f32> = (0..ORIENTATIONS)
            .map(|k| out[k * GRID * GRID + at])
            .collect();
        let best = (0..ORIENTATIONS)
            .min_by(|&a, &b| responses[a].total_cmp(&responses[b]))
            .unwrap();
        assert_eq!(best, 0, "{responses:?}");
        assert!(responses[0] < 0.0);
        // Flat grey answers nothing at all.
        bank.respond(&vec![0.0; ROI_SIZE * ROI_SIZE], &mut out);
        assert!(out.iter().all(|v| v.abs() < 1e-6));
    }
}
