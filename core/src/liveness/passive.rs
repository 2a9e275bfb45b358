//! Layers 2 and 3, screen replay and print: the single-picture layers. Both read the
//! periodicity of the palm region ([`spectrum`](super::spectrum)); each looks where its
//! attack leaves its trace.
//!
//! - **Screen replay** (`screen_replay`): a screen's sub-pixels are red, green and blue
//!   side by side, so its grid (and its moiré with the camera's Bayer mosaic) is a
//!   periodic pattern in *chroma*. Score: the strongest chroma peak.
//! - **Print** (`print`): halftone dots are a periodic pattern of ink, dark on paper, in
//!   *luma* (and in chroma for colour inks). Score: the strongest luma peak.
//!
//! Each score is `log10` of the peak over its spectral neighbourhood (0: none; a chance
//! peak of a natural picture stays under ~1). Thresholds are calibrated with `palmkit
//! spoof-eval` on the shared photos and simulated attacks (docs/spoof-detection.md).
//! Runs on every live frame with a hand: four 128x128 FFTs, no allocation.

use crate::frame::Frame;
use crate::quality::SensorRect;

use super::spectrum::{self, Peak, Periodicity, SpectrumScratch};
use super::{Layer, LayerReport, Outcome};

/// Chroma peak strength from which a screen is called.
pub const SCREEN_THRESHOLD: f32 = 1.0;
/// Luma peak strength from which a print is called.
pub const PRINT_THRESHOLD: f32 = 1.0;

/// The single-picture layers' state: the FFT plan and buffers.
#[derive(Default)]
pub struct PassiveLayers {
    scratch: Option<SpectrumScratch>,
}

impl PassiveLayers {
    /// Measures the palm region `rect` of `frame`; `None` when the frame is smaller than
    /// one analysis window.
    pub fn measure(&mut self, frame: &Frame<'_>, rect: SensorRect) -> Option<Periodicity> {
        let scratch = self.scratch.get_or_insert_with(SpectrumScratch::default);
        spectrum::measure(frame, rect, scratch)
    }
}

/// The screen-replay layer's report on `p` (`None`: the picture was too small).
pub fn screen_report(p: Option<&Periodicity>) -> LayerReport {
    peak_report(
        Layer::ScreenReplay,
        p.map(|p| p.chroma),
        SCREEN_THRESHOLD,
        "a colour pattern",
        "a screen's sub-pixel grid",
    )
}

/// The print layer's report on `p` (`None`: the picture was too small).
pub fn print_report(p: Option<&Periodicity>) -> LayerReport {
    peak_report(
        Layer::Print,
        p.map(|p| p.luma),
        PRINT_THRESHOLD,
        "a brightness pattern",
        "halftone dots or a pixel grid",
    )
}

/// A layer that fails on a spectral peak of `threshold` or more: `what` repeats, which
/// `means` an attack.
fn peak_report(
    layer: Layer,
    peak: Option<Peak>,
    threshold: f32,
    what: &str,
    means: &str,
) -> LayerReport {
    let Some(peak) = peak else {
        return too_small(layer, threshold);
    };
    if peak.strength >= threshold {
        LayerReport::new(
            layer,
            peak.strength,
            threshold,
            Outcome::Fail,
            format!(
                "{what} repeating every {:.1} px ({:.0}x its surroundings): {means}",
                peak.period,
                10f32.powf(peak.strength)
            ),
        )
    } else {
        LayerReport::new(
            layer,
            peak.strength,
            threshold,
            Outcome::Pass,
            format!("no repeating {} on the palm", what.trim_start_matches("a ")),
        )
    }
}

fn too_small(layer: Layer, threshold: f32) -> LayerReport {
    LayerReport::new(
        layer,
        0.0,
        threshold,
        Outcome::Unsure,
        format!(
            "the picture is smaller than one {0}x{0} analysis window",
            spectrum::WINDOW
        ),
    )
}
