//! The HTML page of a signature evaluation: the genuine and impostor distance histograms,
//! and the palm regions (ROIs) of the worst genuine and the closest impostor pairs side by
//! side, so QA can see whether a failure is alignment, light or a wrong label. Written
//! to `DIR/ALGORITHM.html` with the ROIs as PNG files beside it (evaluation photos on the
//! desktop; never run on a phone).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use palmkit_core::signature::{Algorithm, roi};

use super::{Evaluation, Sample, frame};
use crate::error::{CliError, Result};

/// Pairs shown per side.
const SHOWN: usize = 6;

pub(crate) fn write(
    dir: &Path,
    algorithm: Algorithm,
    samples: &[Sample],
    result: &Evaluation,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(CliError::at(dir))?;
    let name = algorithm.name();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><meta charset=utf-8><title>palm signatures: {name}</title>\
         <style>body{{font:14px sans-serif;margin:2em}}td,th{{padding:4px 8px}}\
         img{{width:128px;height:128px;image-rendering:pixelated;margin:2px}}\
         .pair{{display:inline-block;margin:6px;text-align:center}}</style>\
         <h1>Palm signatures: {name}</h1>\
         <table><tr><th>images</th><td>{}</td></tr><tr><th>genuine pairs</th><td>{}</td></tr>\
         <tr><th>impostor pairs</th><td>{}</td></tr><tr><th>EER</th><td>{:.3} % at distance {:.3}</td></tr>\
         <tr><th>TAR at FAR 1e-3</th><td>{:.2} % (accepting up to {:.3}; {} false accepts allowed of {} impostor pairs)</td></tr>\
         <tr><th>TAR at FAR 1e-4</th><td>{:.2} % (accepting up to {:.3}; {} false accepts allowed of {} impostor pairs)</td></tr>\
         <tr><th>rank-1</th><td>{:.2} %</td></tr></table>",
        samples.len(),
        result.scores.genuine.len(),
        result.scores.impostor.len(),
        100.0 * result.eer,
        result.eer_threshold,
        100.0 * result.tar_1e3.tar,
        result.tar_1e3.threshold,
        result.tar_1e3.false_accepts_allowed,
        result.tar_1e3.impostor_pairs,
        100.0 * result.tar_1e4.tar,
        result.tar_1e4.threshold,
        result.tar_1e4.false_accepts_allowed,
        result.tar_1e4.impostor_pairs,
        100.0 * result.rank1,
    );
    html.push_str("<h2>Distances</h2>");
    html.push_str(&histogram(&result.scores.genuine, &result.scores.impostor));
    let same = |(_, i, j): &&(f32, usize, usize)| samples[*i].palm == samples[*j].palm;
    let mut genuine: Vec<&(f32, usize, usize)> = result.pairs.iter().filter(same).collect();
    genuine.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut impostor: Vec<&(f32, usize, usize)> =
        result.pairs.iter().filter(|p| !same(p)).collect();
    impostor.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (title, pairs, tag) in [
        (
            "Worst genuine pairs (same palm, largest distance)",
            &genuine,
            "g",
        ),
        (
            "Closest impostor pairs (different palms, smallest distance)",
            &impostor,
            "i",
        ),
    ] {
        let _ = write!(html, "<h2>{title}</h2>");
        for (n, (d, i, j)) in pairs.iter().take(SHOWN).enumerate() {
            let left = roi_png(dir, &format!("{name}-{tag}{n}-a.png"), &samples[*i], false)?;
            let right = roi_png(dir, &format!("{name}-{tag}{n}-b.png"), &samples[*j], true)?;
            let _ = write!(
                html,
                "<div class=pair><img src=\"{left}\"><img src=\"{right}\"><br>{} vs {}{} — {d:.3}</div>",
                samples[*i].name,
                samples[*j].name,
                if samples[*j].probe.is_some() {
                    " (degraded)"
                } else {
                    ""
                },
            );
        }
    }
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).map_err(CliError::at(&page))?;
    Ok(page)
}

/// Writes the ROI of a sample (its probe when `probe` and it has one) as a grey PNG;
/// returns the file name, or an empty string when there is no ROI (no hand found).
fn roi_png(dir: &Path, file: &str, sample: &Sample, probe: bool) -> Result<String> {
    let (image, landmarks, shift) = match (&sample.probe, probe) {
        (Some(p), true) => (&p.image, &p.landmarks, p.shift),
        _ => (&sample.image, &sample.landmarks, (0.0, 0.0)),
    };
    let Some(landmarks) = landmarks else {
        return Ok(String::new());
    };
    let Ok(roi) = roi::take(&frame(image), landmarks, shift) else {
        return Ok(String::new());
    };
    let side = roi::ROI_SIZE as u32;
    let grey = image::GrayImage::from_fn(side, side, |x, y| {
        let at = (y * side + x) as usize;
        let v = if roi.valid[at] {
            128.0 + 40.0 * roi.pixels[at]
        } else {
            0.0
        };
        image::Luma([v.clamp(0.0, 255.0) as u8])
    });
    let path = dir.join(file);
    grey.save(&path).map_err(CliError::at(&path))?;
    Ok(file.to_string())
}

/// An SVG histogram of the two distance sets (bins of 0.01 over 0-0.6; counts on a log
/// scale so a handful of impostors near the genuine pairs stay visible).
fn histogram(genuine: &[f32], impostor: &[f32]) -> String {
    const BINS: usize = 60;
    let count = |v: &[f32]| {
        let mut bins = [0usize; BINS];
        for &d in v {
            bins[((d * 100.0) as usize).min(BINS - 1)] += 1;
        }
        bins
    };
    let (g, i) = (count(genuine), count(impostor));
    let top = g.iter().chain(&i).copied().max().unwrap_or(1).max(1) as f32;
    let height = |n: usize| {
        if n == 0 {
            0.0
        } else {
            200.0 * (1.0 + n as f32).ln() / (1.0 + top).ln()
        }
    };
    let mut svg = String::from(
        "<svg width=640 height=240 xmlns=\"http://www.w3.org/2000/svg\" style=\"background:#fafafa\">",
    );
    for b in 0..BINS {
        let x = 10.0 + b as f32 * 10.0;
        for (n, colour, dx) in [(g[b], "#2a7", 0.0), (i[b], "#c33", 5.0)] {
            let h = height(n);
            let _ = write!(
                svg,
                "<rect x={:.1} y={:.1} width=5 height={h:.1} fill=\"{colour}\"><title>{:.2}: {n}</title></rect>",
                x + dx,
                215.0 - h,
                b as f32 / 100.0
            );
        }
        if b % 10 == 0 {
            let _ = write!(
                svg,
                "<text x={x} y=232 font-size=11>{:.1}</text>",
                b as f32 / 100.0
            );
        }
    }
    svg.push_str(
        "<text x=420 y=20 font-size=12 fill=\"#2a7\">genuine</text>\
         <text x=490 y=20 font-size=12 fill=\"#c33\">impostor</text>\
         <text x=420 y=36 font-size=11>(log counts)</text></svg>",
    );
    svg
}
