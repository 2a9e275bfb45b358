//! `palmkit analyze PATH...`: the frame analysis of the phones, run on image files (or
//! folders of them) one picture at a time. Prints a line per image and a summary, or with
//! `--json` exactly one JSON object per input line; `--report DIR` writes an HTML page
//! with every image annotated (box, landmarks, guidance) for QA to look at.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};
use palmkit_core::analysis::{FrameAnalysis, FrameAnalyzer, HandReport};
use palmkit_core::frame::DecodedImage;
use palmkit_core::liveness::SpoofVerdict;
use palmkit_core::quality::Thresholds;
use serde_json::json;

mod report;

/// `palmkit analyze`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object per input line instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Also write an HTML report with each image annotated (box, landmarks, guidance)
    /// to this folder.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The hand the shopper was asked for: the other one gets `use_left_hand` /
    /// `use_right_hand` (default: either hand).
    #[arg(long, value_enum)]
    hand: Option<crate::args::HandArg>,
    /// The provisioned model folder (default: PALMKIT_MODELS, else
    /// $PALMKIT_CACHE/models/onnx, else ~/.cache/palmkit/models/onnx).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Image files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Where the models are: `--models`, `PALMKIT_MODELS`, or the provisioning cache.
pub fn models_dir(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os("PALMKIT_MODELS").map(PathBuf::from))
        .unwrap_or_else(|| {
            let cache = std::env::var_os("PALMKIT_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                        .join(".cache/palmkit")
                });
            cache.join("models/onnx")
        })
}

/// Loads the analyzer, explaining how to get the models when they are missing.
pub fn load_analyzer(models: &Path) -> Result<FrameAnalyzer> {
    if !models.join("SHA256SUMS").exists() {
        return Err(CliError::Failed(format!(
            "no hand models in {}: run `cargo xtask models` once (it downloads and converts \
             them), or pass --models / set PALMKIT_MODELS",
            models.display()
        )));
    }
    Ok(FrameAnalyzer::load(models, Thresholds::default())?)
}

/// Image files under `paths` (folders searched recursively), sorted per argument; an
/// error when there are none.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(CliError::at(dir))?;
        let mut found: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        found.sort();
        for path in found {
            if path.is_dir() {
                walk(&path, out)?;
            } else if is_image(&path) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out)?;
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(CliError::Failed(format!(
                "{}: no such file or folder",
                path.display()
            )));
        }
    }
    if out.is_empty() {
        return Err(CliError::Usage(
            "no JPEG or PNG files in the paths given".into(),
        ));
    }
    Ok(out)
}

pub(crate) fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

/// One analyzed file: its analysis, or why it could not be analyzed.
pub struct Outcome {
    pub file: PathBuf,
    pub result: Result<FrameAnalysis, String>,
}

/// The `"spoof"` field: `{"verdict": "pass"|"fail"|"challenge", "layers": {name: {"outcome",
/// "score", "threshold", "reason"}}}`.
pub fn spoof_json(v: &SpoofVerdict) -> serde_json::Value {
    let layers: serde_json::Map<String, serde_json::Value> = v
        .layers
        .iter()
        .map(|l| {
            (
                l.layer.to_string(),
                json!({
                    "outcome": l.outcome,
                    "score": l.score,
                    "threshold": l.threshold,
                    "reason": l.reason,
                }),
            )
        })
        .collect();
    json!({ "verdict": v.verdict.name(), "layers": layers })
}

/// The JSON line of one outcome (the format promised in `palmkit analyze --help`).
pub fn json_line(o: &Outcome) -> serde_json::Value {
    let file = o.file.display().to_string();
    match &o.result {
        Err(error) => json!({ "file": file, "error": error }),
        Ok(a) => {
            let hand = a.hand.as_ref();
            json!({
                "file": file,
                "hand_found": hand.is_some(),
                "handedness": hand.map(|h| h.handedness),
                "palm_facing": hand.map(|h| h.palm_facing),
                "guidance": a.guidance.code(),
                "message": a.guidance.english(),
                "capture_ready": a.capture_ready,
                "box": hand.map(|h| h.bounds),
                "landmarks": hand.map(|h| h.landmarks),
                "quality": hand.map(|h| json!({
                    "presence": h.presence,
                    "right_hand": h.right_hand,
                    "score": a.score,
                    "geometry": h.geometry,
                    "pixels": h.pixels,
                })),
                "spoof": spoof_json(&a.spoof),
            })
        }
    }
}

fn human_line(o: &Outcome) -> String {
    let file = o.file.display();
    match &o.result {
        Err(e) => format!("{file}: cannot analyze: {e}"),
        Ok(a) => match &a.hand {
            None => format!(
                "{file}: no hand  -> {} ({})",
                a.guidance.code(),
                a.guidance.english()
            ),
            Some(h) => {
                let side = if h.palm_facing { "palm" } else { "back" };
                let hand = h.handedness.as_str();
                format!(
                    "{file}: {hand} {side}, {}  -> {} ({})\n    {}",
                    if a.capture_ready {
                        "ready"
                    } else {
                        "not ready"
                    },
                    a.guidance.code(),
                    a.guidance.english(),
                    measures_line(h)
                )
            }
        },
    }
}

/// The measures of a hand on one line (the human output and the HTML report).
pub fn measures_line(h: &HandReport) -> String {
    let (g, p) = (&h.geometry, &h.pixels);
    format!(
        "size {:.2}  offset {:+.2},{:+.2}  roll {:+.0}°  pitch {:+.0}°  yaw {:+.0}°  fingers {} \
         spread {:.2}  | sharp {:.1}  noise {:.1}  luma {:.0}  clipped {:.1}%  glare {:.1}%",
        g.palm_size,
        g.offset_x,
        g.offset_y,
        g.roll,
        g.pitch,
        g.yaw,
        g.fingers_extended,
        g.finger_spread,
        p.sharpness,
        p.noise,
        p.mean_luma,
        p.clipped_fraction * 100.0,
        p.glare_fraction * 100.0,
    )
}

/// Runs the verb.
pub fn run(args: Args) -> Result<()> {
    let json_out = args.json;
    let report_dir = args.report.as_deref();
    let hand = args.hand.map(Into::into);
    let files = collect(&args.paths)?;
    let models = args.models;
    let mut analyzer = load_analyzer(&models_dir(models))?;
    analyzer.start_hand(hand);
    let mut report = report_dir.map(report::Report::create).transpose()?;
    let bar = crate::progress::bar(files.len() as u64);
    let mut stdout = std::io::stdout().lock();
    let (mut found, mut ready, mut failed) = (0, 0, 0);
    let mut guidance = std::collections::BTreeMap::<&str, usize>::new();
    for file in files {
        bar.set_message(file.display().to_string());
        // A file that cannot be read or analyzed is a line of the report, not the end of
        // the run: its error is kept as the words the report shows.
        let image = std::fs::read(&file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| DecodedImage::decode(&bytes).map_err(|e| e.to_string()));
        let result = image.as_ref().map_err(Clone::clone).and_then(|img| {
            analyzer
                .analyze_still(&img.frame())
                .map_err(|e| e.to_string())
        });
        let outcome = Outcome { file, result };
        match &outcome.result {
            Ok(a) => {
                found += usize::from(a.hand.is_some());
                ready += usize::from(a.capture_ready);
                *guidance.entry(a.guidance.code()).or_default() += 1;
            }
            Err(_) => failed += 1,
        }
        if let (Some(r), Ok(img)) = (report.as_mut(), image.as_ref()) {
            r.add(&outcome, &img.frame())?;
        } else if let Some(r) = report.as_mut() {
            r.add_failed(&outcome);
        }
        let line = if json_out {
            json_line(&outcome).to_string()
        } else {
            human_line(&outcome)
        };
        bar.suspend(|| writeln!(stdout, "{line}"))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let total = guidance.values().sum::<usize>() + failed;
    if !json_out {
        let counts: Vec<String> = guidance.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "\n{total} image(s): hand found on {found}, capture-ready {ready}, unreadable {failed}\nguidance: {}",
            counts.join(", ")
        );
    }
    if let Some(r) = report {
        let index = r.finish()?;
        eprintln!("report: {}", index.display());
    }
    if failed > 0 {
        return Err(CliError::Failed(format!(
            "{failed} file(s) could not be analyzed"
        )));
    }
    Ok(())
}
