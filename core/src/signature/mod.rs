//! Palm signatures: what the service keeps of a palm to recognise it at a store scanner.
//! Computed by the service from the decrypted capture, never on the phone (the phone
//! library does not build this module: feature `signature`).
//!
//! From a picture and its 21 hand landmarks:
//! 1. [`roi`]: a square of the palm fixed in the hand's own frame (a similarity fit of five
//!    palm landmarks), sampled to 128 x 128 grey pixels, zero mean, unit deviation.
//! 2. [`gabor`]: six even Gabor line filters, evaluated on a 32 x 32 grid.
//! 3. A binary code per grid point, the masked bits of a [`Template`], compared with a
//!    masked, normalized Hamming distance searched over small shifts.
//!
//! The codes are of the orientation-coding family (see `docs/palm-signature.md` for the
//! literature and the measurements that chose among them):
//! - [`Algorithm::CompCode`]: the competitive code (Kong & Zhang 2004), the winning
//!   orientation per point in 3 bits whose Hamming distance is the angular distance.
//! - [`Algorithm::Bocv`]: the binary orientation co-occurrence vector (Guo et al. 2009), the
//!   sign of every orientation's answer: 6 bits per point.
//! - [`Algorithm::FragileBocv`]: BOCV with its fragile bits masked (E-BOCV, Zhang et al.
//!   2012): the weakest answers of each orientation flip with noise, so they are not
//!   compared.
//! - [`Algorithm::MultiScaleBocv`]: fragile-masked BOCV at two line widths (12 bits).

pub mod coarse;
pub mod gabor;
pub mod roi;
mod template;

pub use coarse::{
    COARSE_CUTOFF, CODE_WORDS, CoarseCode, LOCATE_CUTOFF, LOCATE_ROW, ProbeCodes, REFINE_ROW,
};
pub use roi::{Roi, RoiError};
pub use template::{COARSE_SLACK, Distance, FORMAT_VERSION, Template, TemplateError};

use crate::frame::Frame;
use gabor::{Bank, GRID, ORIENTATIONS, STEP, Scale};

/// A signature algorithm. Its id is stored in every template; changing what an algorithm
/// computes means a new id, so stored templates are rebuilt rather than compared with
/// templates of another kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Competitive code: 3 bits per point.
    CompCode,
    /// Binary orientation co-occurrence vector: 6 bits per point.
    Bocv,
    /// BOCV with fragile bits masked.
    FragileBocv,
    /// Fragile-masked BOCV at two scales: 12 bits per point.
    MultiScaleBocv,
}

/// The algorithm the service uses.
pub const CURRENT: Algorithm = Algorithm::FragileBocv;

/// Largest shift searched when comparing, in grid points each way (one grid point is 1/32
/// of the ROI side).
pub const MAX_SHIFT: i8 = 3;

/// The operating threshold: a distance at most this is a match. Set from
/// `palmkit signature-eval` on COEP (docs/palm-signature.md): the closest impostor pair
/// there is at 0.249 (degraded probes) and 0.254 (clean), most genuine pairs under 0.20.
pub const MATCH_THRESHOLD: f32 = 0.22;

/// A second candidate within this of the threshold makes a match ambiguous: the till
/// falls back rather than charge one of two shoppers.
pub const AMBIGUITY_MARGIN: f32 = 0.02;

/// Share of each orientation's weakest answers masked as fragile.
const FRAGILE_SHARE: f32 = 0.25;

const FINE: Scale = Scale {
    wavelength: 14.0,
    sigma_across: 3.5,
    sigma_along: 7.0,
};
const COARSE: Scale = Scale {
    wavelength: 24.0,
    sigma_across: 6.0,
    sigma_along: 10.0,
};

impl Algorithm {
    /// Every algorithm, for evaluation.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::CompCode,
        Algorithm::Bocv,
        Algorithm::FragileBocv,
        Algorithm::MultiScaleBocv,
    ];

    /// The id stored in templates.
    pub fn id(self) -> u8 {
        match self {
            Algorithm::CompCode => 1,
            Algorithm::Bocv => 2,
            Algorithm::FragileBocv => 3,
            Algorithm::MultiScaleBocv => 4,
        }
    }

    /// The algorithm of a stored id.
    pub fn from_id(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// Its stable name (reports, JSON, the command line).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::CompCode => "compcode",
            Algorithm::Bocv => "bocv",
            Algorithm::FragileBocv => "bocv-fragile",
            Algorithm::MultiScaleBocv => "bocv-multiscale",
        }
    }

    /// The algorithm of a name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Bit planes per template.
    pub fn planes(self) -> usize {
        match self {
            Algorithm::CompCode => 3,
            Algorithm::Bocv | Algorithm::FragileBocv => ORIENTATIONS,
            Algorithm::MultiScaleBocv => 2 * ORIENTATIONS,
        }
    }
}

/// Why no signature could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignatureError {
    /// The palm region could not be taken.
    #[error(transparent)]
    Roi(#[from] RoiError),
}

/// A signature extractor: the filter banks, built once.
pub struct Extractor {
    algorithm: Algorithm,
    banks: Vec<Bank>,
    responses: Vec<f32>,
}

impl Extractor {
    /// An extractor for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        let scales: &[Scale] = match algorithm {
            Algorithm::MultiScaleBocv => &[FINE, COARSE],
            _ => &[FINE],
        };
        Self {
            algorithm,
            banks: scales.iter().map(|&s| Bank::new(s)).collect(),
            responses: Vec::new(),
        }
    }

    /// The algorithm it makes templates of.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The template of the palm whose landmarks (upright picture pixels) are given.
    pub fn extract(
        &mut self,
        frame: &Frame<'_>,
        landmarks: &[[f32; 3]; 21],
    ) -> Result<Template, SignatureError> {
        self.extract_shifted(frame, landmarks, (0.0, 0.0))
    }

    /// As [`extract`](Self::extract) with the region moved by `shift` (fractions of its
    /// side, in the hand's frame): the evaluation's way to measure what landmark error
    /// costs.
    pub fn extract_shifted(
        &mut self,
        frame: &Frame<'_>,
        landmarks: &[[f32; 3]; 21],
        shift: (f32, f32),
    ) -> Result<Template, SignatureError> {
        let roi = roi::take(frame, landmarks, shift)?;
        Ok(self.code(&roi))
    }

    /// The template of an ROI.
    pub fn code(&mut self, roi: &Roi) -> Template {
        // Grid points whose own ROI pixel is outside the picture are masked in every plane.
        let mut inside = [0u32; GRID];
        for (gy, row) in inside.iter_mut().enumerate() {
            for gx in 0..GRID {
                let at = (gy * STEP + STEP / 2) * roi::ROI_SIZE + gx * STEP + STEP / 2;
                if roi.valid[at] {
                    *row |= 1 << gx;
                }
            }
        }
        let planes = self.algorithm.planes();
        let mut bits = vec![0u32; planes * GRID];
        let mut mask = vec![0u32; planes * GRID];
        let cells = GRID * GRID;
        match self.algorithm {
            Algorithm::CompCode => {
                self.banks[0].respond(&roi.pixels, &mut self.responses);
                // Orientation k in 3 bits such that Hamming distance = angular distance.
                const CODES: [u32; ORIENTATIONS] = [0b000, 0b001, 0b011, 0b111, 0b110, 0b100];
                for cell in 0..cells {
                    let k = (0..ORIENTATIONS)
                        .min_by(|&a, &b| {
                            self.responses[a * cells + cell]
                                .total_cmp(&self.responses[b * cells + cell])
                        })
                        .unwrap_or(0);
                    let (gy, gx) = (cell / GRID, cell % GRID);
                    for p in 0..3 {
                        if CODES[k] >> p & 1 == 1 {
                            bits[p * GRID + gy] |= 1 << gx;
                        }
                    }
                }
                for p in 0..3 {
                    mask[p * GRID..(p + 1) * GRID].copy_from_slice(&inside);
                }
            }
            Algorithm::Bocv | Algorithm::FragileBocv | Algorithm::MultiScaleBocv => {
                let fragile = self.algorithm != Algorithm::Bocv;
                for (s, bank) in self.banks.iter().enumerate() {
                    bank.respond(&roi.pixels, &mut self.responses);
                    for k in 0..ORIENTATIONS {
                        let plane = s * ORIENTATIONS + k;
                        let answers = &self.responses[k * cells..(k + 1) * cells];
                        let floor = if fragile {
                            weakest(answers, &inside, FRAGILE_SHARE)
                        } else {
                            -1.0
                        };
                        for (cell, &r) in answers.iter().enumerate() {
                            let (gy, gx) = (cell / GRID, cell % GRID);
                            if r < 0.0 {
                                bits[plane * GRID + gy] |= 1 << gx;
                            }
                            if inside[gy] >> gx & 1 == 1 && r.abs() > floor {
                                mask[plane * GRID + gy] |= 1 << gx;
                            }
                        }
                    }
                }
            }
        }
        Template::new(self.algorithm, planes, bits, mask)
    }
}

/// The magnitude below which `share` of the inside answers fall.
fn weakest(answers: &[f32], inside: &[u32; GRID], share: f32) -> f32 {
    let mut magnitudes: Vec<f32> = answers
        .iter()
        .enumerate()
        .filter(|(cell, _)| inside[cell / GRID] >> (cell % GRID) & 1 == 1)
        .map(|(_, r)| r.abs())
        .collect();
    if magnitudes.is_empty() {
        return 0.0;
    }
    let at = ((magnitudes.len() as f32 * share) as usize).min(magnitudes.len() - 1);
    *magnitudes.select_nth_unstable_by(at, f32::total_cmp).1
}
