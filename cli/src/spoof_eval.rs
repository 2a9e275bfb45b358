//! `palmkit spoof-eval PATH...`: the spoof layers on bona fide palm photos and on attacks
//! simulated from them (`palmkit_core::liveness::simulate`), with APCER per attack species
//! and BPCER (ISO/IEC 30107-3) at the thresholds the core uses, and the 3-D motion layer on
//! planar against 3-D bursts over a range of camera moves, and the active challenges against
//! a flat picture tilted forward and back.
//!
//! Every photo with a hand is cropped around the hand (the box grown by a quarter on each
//! side: the part of the picture the camera would frame), and that crop — as an NV21 frame,
//! the way a phone delivers it — is the bona fide presentation. Each species films the same
//! crop; the attack's seed comes from `--seed` and the file name, so a run is reproducible.
//! The simulated pictures stay in memory unless `--images DIR` asks for them (QA looking
//! at what was simulated). Photos without a hand are listed, not scored: the capture would
//! never start on them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use palmkit_core::analysis::FrameAnalyzer;
use palmkit_core::frame::{DecodedImage, Frame, Orientation};
use palmkit_core::liveness::challenge::Challenge;
use palmkit_core::liveness::motion::MotionLayer;
use palmkit_core::liveness::simulate::{self, RgbImage, Species, motion};
use palmkit_core::liveness::{ChallengeKind, LayerReport, Outcome, SpoofVerdict, Verdict};
use palmkit_core::quality::geometry::Landmarks;
use serde_json::json;

use crate::analyze::{collect, load_analyzer, models_dir};
use crate::error::{CliError, Result};

/// What one presentation gave.
struct Sample {
    file: String,
    /// `None` for bona fide.
    species: Option<Species>,
    setup: String,
    /// Camera pixels per screen pixel / halftone cell / printer dot (attacks only).
    pitch_px: Option<f32>,
    /// `None`: no hand found (the capture would not start).
    spoof: Option<SpoofVerdict>,
}

impl Sample {
    fn verdict(&self) -> Option<Verdict> {
        self.spoof.as_ref().map(|s| s.verdict)
    }

    fn score(&self, layer: &str) -> Option<f32> {
        self.spoof.as_ref()?.layer(layer).map(|l| l.score)
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "file": self.file,
            "species": self.species.map_or("bona_fide", Species::name),
            "setup": self.setup,
            "pitch_px": self.pitch_px,
            "hand_found": self.spoof.is_some(),
            "spoof": self.spoof.as_ref().map(crate::analyze::spoof_json),
        })
    }
}

/// The still analysis of `image` delivered as an NV21 camera frame.
fn judge(analyzer: &mut FrameAnalyzer, image: &RgbImage) -> Result<Option<SpoofVerdict>> {
    Ok(judge_with_landmarks(analyzer, image)?.map(|(v, _)| v))
}

/// [`judge`], with the hand's landmarks.
fn judge_with_landmarks(
    analyzer: &mut FrameAnalyzer,
    image: &RgbImage,
) -> Result<Option<(SpoofVerdict, Landmarks)>> {
    let nv21 = image
        .nv21()
        .ok_or("the crop has odd sides")
        .map_err(CliError::failed)?;
    let w = image.width as usize;
    let frame = Frame::nv21(
        &nv21,
        image.width,
        image.height,
        w,
        w,
        Orientation::default(),
    )
    .map_err(CliError::failed)?;
    let analysis = analyzer.analyze_still(&frame).map_err(CliError::failed)?;
    Ok(analysis.hand.map(|h| (analysis.spoof, h.landmarks.0)))
}

/// One motion burst's outcome.
struct MotionSample {
    file: String,
    /// `planar_motion` (attack) or `hand_motion_3d` (bona fide).
    kind: &'static str,
    travel: &'static str,
    report: LayerReport,
}

/// The motion layer on a planar burst of `photo` (the landmark model on every frame) and
/// on a 3-D burst of its landmarks, for the camera move `index` of `motion::MOVES`.
fn motion_pair(
    analyzer: &mut FrameAnalyzer,
    photo: &RgbImage,
    landmarks: &[[f32; 3]; 21],
    index: usize,
    file: &str,
) -> Result<[MotionSample; 2]> {
    let (travel_name, travel) = motion::MOVES[index % motion::MOVES.len()];
    let source = photo.frame().map_err(CliError::failed)?;
    analyzer.start_hand(None);
    let mut planar = MotionLayer::default();
    for i in 0..motion::FRAMES {
        let image = motion::planar_frame(&source, travel, i);
        let frame = image.frame().map_err(CliError::failed)?;
        let a = analyzer
            .analyze(&frame, 1000 + 33 * i as u64)
            .map_err(CliError::failed)?;
        if let Some(h) = a.hand {
            planar.push(&h.landmarks);
        }
    }
    let mut hand = MotionLayer::default();
    for l in motion::hand_burst(landmarks, photo.width, photo.height, travel) {
        hand.push(&l);
    }
    Ok([
        MotionSample {
            file: file.into(),
            kind: "planar_motion",
            travel: travel_name,
            report: planar.report(),
        },
        MotionSample {
            file: file.into(),
            kind: "hand_motion_3d",
            travel: travel_name,
            report: hand.report(),
        },
    ])
}

/// The active challenges against one photo tilted as a flat plane (a print or a screen
/// turned forward and back, then backward and back).
struct TiltSample {
    file: String,
    /// The model's pitch change at 60° forward and backward, degrees (`None`: hand lost).
    response: [Option<f32>; 2],
    /// Whether the tilt challenge was met by the sweep.
    tilt_met: bool,
    /// Whether close-and-open was met by the sweep.
    close_met: bool,
}

/// Pitch of the plane, degrees, frame by frame: forward to 60° and back, then backward.
const TILT_SWEEP: [f64; 13] = [
    0.0, 20.0, 40.0, 60.0, 40.0, 20.0, 0.0, -20.0, -40.0, -60.0, -40.0, -20.0, 0.0,
];

/// Both challenges, issued at the sweep's start, on the still analysis of every frame of
/// `photo` tilted through [`TILT_SWEEP`] (5 frames a second: 2.6 s, inside the time limit).
fn tilt_sweep(analyzer: &mut FrameAnalyzer, photo: &RgbImage, file: &str) -> Result<TiltSample> {
    let source = photo.frame().map_err(CliError::failed)?;
    let mut tilt = Challenge::issue(ChallengeKind::Tilt, 0);
    let mut close = Challenge::issue(ChallengeKind::CloseAndOpen, 0);
    let (mut start, mut response) = (None, [None; 2]);
    for (i, &pitch) in TILT_SWEEP.iter().enumerate() {
        let image = motion::plane_frame(&source, [0.0; 3], pitch, 0.0);
        let frame = image.frame().map_err(CliError::failed)?;
        let hand = analyzer
            .analyze_still(&frame)
            .map_err(CliError::failed)?
            .hand;
        let geometry = hand.as_ref().map(|h| &h.geometry);
        let now = 200 * i as u64;
        tilt.update(now, geometry);
        close.update(now, geometry);
        if let Some(g) = geometry {
            let p0 = *start.get_or_insert(g.pitch);
            if pitch.abs() == 60.0 {
                response[usize::from(pitch < 0.0)] = Some(g.pitch - p0);
            }
        }
    }
    Ok(TiltSample {
        file: file.into(),
        response,
        tilt_met: tilt.report().outcome == Outcome::Pass,
        close_met: close.report().outcome == Outcome::Pass,
    })
}

/// The challenge table: how often tilting a flat picture meets each challenge.
fn tilt_table(tilts: &[TiltSample]) -> String {
    let met = |f: fn(&TiltSample) -> bool| tilts.iter().filter(|t| f(t)).count();
    let mut out = format!(
        "\nActive challenge against a flat picture tilted 60° forward and back, then backward \
         ({} photos, 13 frames in 2.6 s):\n",
        tilts.len()
    );
    let _ = writeln!(
        out,
        "tilt met:           {:>4} of {} (drawn only when the app asks for it)",
        met(|t| t.tilt_met),
        tilts.len()
    );
    let _ = writeln!(
        out,
        "close-and-open met: {:>4} of {} (the default challenge)",
        met(|t| t.close_met),
        tilts.len()
    );
    for (side, name) in [(0, "forward"), (1, "backward")] {
        let mut change: Vec<f32> = tilts.iter().filter_map(|t| t.response[side]).collect();
        let _ = writeln!(
            out,
            "model pitch change at 60° {name}, degrees, min/median/max: {} (hand lost in {})",
            range(&mut change, 1),
            tilts.len() - change.len()
        );
    }
    out
}

/// The live-path table: per species, the attacks the single-picture layers let through
/// *and* whose photo met close-and-open in the tilt sweep — what gets past the default
/// challenge when a print or a screen shows a still picture (it is moved and tilted, it
/// cannot close a hand). A screen replaying a video of the hand doing the challenge is
/// not simulated: against it only the single-picture APCER counts.
fn live_table(samples: &[Sample], tilts: &[TiltSample], species: &[Species]) -> String {
    let answered: std::collections::HashSet<&str> = tilts
        .iter()
        .filter(|t| t.close_met)
        .map(|t| t.file.as_str())
        .collect();
    let swept: std::collections::HashSet<&str> = tilts.iter().map(|t| t.file.as_str()).collect();
    let mut out = String::from(
        "\nLive path, close-and-open enforced (still presentations: passed the single-picture \
         layers and met the challenge in the tilt sweep):\n",
    );
    for s in species {
        let mine: Vec<&Sample> = samples
            .iter()
            .filter(|x| x.species == Some(*s) && swept.contains(x.file.as_str()))
            .collect();
        let through = mine
            .iter()
            .filter(|x| x.verdict() == Some(Verdict::Pass) && answered.contains(x.file.as_str()))
            .count();
        let _ = writeln!(
            out,
            "{:<16} APCER {:>8} ({through} of {})",
            s.name(),
            percent(through, mine.len()),
            mine.len()
        );
    }
    out
}

/// FNV-1a of a file name: the per-photo part of the seed.
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `image` as PNG (the hidden `--images` option).
fn save_png(image: &RgbImage, path: &Path) -> Result<()> {
    image::save_buffer(
        path,
        &image.rgb,
        image.width,
        image.height,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(CliError::at(path))
}

/// The species named (all when none is).
fn parse_species(names: &[String]) -> Result<Vec<Species>> {
    if names.is_empty() {
        return Ok(Species::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Species::ALL
                .into_iter()
                .find(|s| s.name() == n)
                .ok_or_else(|| CliError::Failed(format!("unknown species {n:?}")))
        })
        .collect()
}

/// Runs the verb.
/// `palmkit spoof-eval`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also write index.html and samples.jsonl (every presentation, its verdict, layer
    /// scores and simulated setup) to this folder.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Only these species (default: all): screen_phone, screen_laptop, screen_monitor,
    /// print_offset, print_laser, print_inkjet.
    #[arg(long, value_delimiter = ',')]
    species: Vec<String>,
    /// Write every simulated attack as PNG to this folder (to look at them; never on a
    /// phone, never in the repository).
    #[arg(long, hide = true)]
    images: Option<PathBuf>,
    /// Skip the 3-D motion bursts (planar photo vs projected 3-D landmarks; one camera
    /// move per photo, in turn) and the tilted-picture sweep of the active challenges.
    #[arg(long)]
    no_motion: bool,
    /// The provisioned model folder (as for `analyze`).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Palm photos or folders of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Runs the evaluation and prints (and writes) its report.
pub fn run(args: Args) -> Result<()> {
    let species = parse_species(&args.species)?;
    let species = species.as_slice();
    let (report_dir, seed, images) = (args.report.as_deref(), args.seed, args.images.as_deref());
    let with_motion = !args.no_motion;
    let models = args.models;
    let files = collect(&args.paths)?;
    let mut analyzer = load_analyzer(&models_dir(models))?;
    if let Some(dir) = images {
        std::fs::create_dir_all(dir).map_err(CliError::at(dir))?;
    }
    let bar = crate::progress::bar(files.len() as u64);
    let mut samples = Vec::new();
    let mut motions = Vec::new();
    let mut motion_index = 0;
    let mut tilts = Vec::new();
    let mut unreadable = 0;
    for file in &files {
        bar.set_message(file.display().to_string());
        let name = file.display().to_string();
        let decoded = std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|b| DecodedImage::decode(&b).map_err(|e| e.to_string()));
        let decoded = match decoded {
            Ok(d) => d,
            Err(e) => {
                bar.suspend(|| eprintln!("{name}: cannot read: {e}"));
                unreadable += 1;
                bar.inc(1);
                continue;
            }
        };
        let frame = decoded.frame();
        let found = analyzer
            .analyze_still(&frame)
            .map_err(CliError::failed)?
            .hand
            .and_then(|h| simulate::hand_crop(&frame, h.bounds.0));
        let Some(photo) = found else {
            samples.push(Sample {
                file: name,
                species: None,
                setup: "no hand in the photo".into(),
                pitch_px: None,
                spoof: None,
            });
            bar.inc(1);
            continue;
        };
        let bona_fide = judge_with_landmarks(&mut analyzer, &photo)?;
        if let (Some((_, landmarks)), true) = (&bona_fide, with_motion) {
            motions.extend(motion_pair(
                &mut analyzer,
                &photo,
                landmarks,
                motion_index,
                &name,
            )?);
            motion_index += 1;
            tilts.push(tilt_sweep(&mut analyzer, &photo, &name)?);
        }
        samples.push(Sample {
            file: name.clone(),
            species: None,
            setup: format!("{}x{} crop around the hand", photo.width, photo.height),
            pitch_px: None,
            spoof: bona_fide.map(|(v, _)| v),
        });
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("photo");
        for &s in species {
            let attack = simulate::simulate(s, &photo, seed ^ name_seed(&name));
            if let Some(dir) = images {
                save_png(&attack.image, &dir.join(format!("{stem}-{}.png", s.name())))?;
            }
            samples.push(Sample {
                file: name.clone(),
                species: Some(s),
                setup: attack.setup,
                pitch_px: Some(attack.pitch_px),
                spoof: judge(&mut analyzer, &attack.image)?,
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut table = table(&samples, species);
    if with_motion {
        table.push_str(&motion_table(&motions));
        table.push_str(&tilt_table(&tilts));
        table.push_str(&live_table(&samples, &tilts, species));
    }
    print!("{table}");
    if let Some(dir) = report_dir {
        write_report(dir, &table, &samples, &motions, &tilts, seed)?;
        eprintln!("report: {}", dir.join("index.html").display());
    }
    if unreadable > 0 {
        return Err(CliError::Failed(format!(
            "{unreadable} file(s) could not be read"
        )));
    }
    Ok(())
}

/// Counts of one species (or the bona fide photos).
#[derive(Default)]
struct Tally {
    presented: usize,
    no_hand: usize,
    pass: usize,
    challenge: usize,
    fail: usize,
    screen: Vec<f32>,
    print: Vec<f32>,
    /// (presented, passed) per band of `simulate::PITCH_BANDS`.
    bands: [(usize, usize); 3],
}

fn percent(n: usize, of: usize) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.1} %", 100.0 * n as f64 / of as f64)
    }
}

/// "min / median / max" of `v` with `decimals` places.
fn range(v: &mut [f32], decimals: usize) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_by(f32::total_cmp);
    let (min, median, max) = (v[0], v[v.len() / 2], v[v.len() - 1]);
    format!("{min:.decimals$} / {median:.decimals$} / {max:.decimals$}")
}

/// The summary table: BPCER on the bona fide photos, APCER per species.
fn table(samples: &[Sample], species: &[Species]) -> String {
    let mut tallies: BTreeMap<Option<Species>, Tally> = BTreeMap::new();
    for s in samples {
        let t = tallies.entry(s.species).or_default();
        t.presented += 1;
        match s.verdict() {
            None => t.no_hand += 1,
            Some(Verdict::Pass) => t.pass += 1,
            Some(Verdict::Challenge) => t.challenge += 1,
            Some(Verdict::Fail) => t.fail += 1,
        }
        if let Some(pitch) = s.pitch_px {
            for (band, (lo, hi)) in t.bands.iter_mut().zip(simulate::PITCH_BANDS) {
                if (lo..hi).contains(&pitch) {
                    band.0 += 1;
                    band.1 += usize::from(s.verdict() == Some(Verdict::Pass));
                }
            }
        }
        t.screen.extend(s.score("screen_replay"));
        t.print.extend(s.score("print"));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>9} {:>7} {:>6} {:>9} {:>6}  {:<10} {:>8}  screen score min/median/max  print score min/median/max",
        "presentations", "presented", "no hand", "pass", "challenge", "fail", "error rate", ""
    );
    if let Some(t) = tallies.get_mut(&None) {
        let judged = t.presented - t.no_hand;
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>7} {:>6} {:>9} {:>6}  {:<10} {:>8}  {:<28}  {}",
            "bona fide",
            t.presented,
            t.no_hand,
            t.pass,
            t.challenge,
            t.fail,
            "BPCER",
            percent(t.fail, judged),
            range(&mut t.screen, 2),
            range(&mut t.print, 2)
        );
    }
    for s in species {
        if let Some(t) = tallies.get_mut(&Some(*s)) {
            let _ = writeln!(
                out,
                "{:<16} {:>9} {:>7} {:>6} {:>9} {:>6}  {:<10} {:>8}  {:<28}  {}",
                s.name(),
                t.presented,
                t.no_hand,
                t.pass,
                t.challenge,
                t.fail,
                "APCER",
                percent(t.pass, t.presented),
                range(&mut t.screen, 2),
                range(&mut t.print, 2)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nAPCER by grid pitch (camera pixels per screen pixel, halftone cell or printer dot):"
    );
    for s in species {
        if let Some(t) = tallies.get(&Some(*s)) {
            let mut line = format!("{:<16}", s.name());
            for ((presented, passed), (lo, hi)) in t.bands.iter().zip(simulate::PITCH_BANDS) {
                let band = if hi.is_finite() {
                    format!("{lo:.1}-{hi:.1} px")
                } else {
                    format!(">= {lo:.1} px")
                };
                let _ = write!(
                    line,
                    "   {band:>11}: {:>8} of {presented:>3}",
                    percent(*passed, *presented)
                );
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(
        out,
        "\nBPCER: bona fide photos with a hand called attacks (fail). APCER: attacks called bona fide \
         (pass) among all presented (no hand or fail stop the capture; challenge hands over to the \
         active challenge)."
    );
    out
}

/// The motion table: per camera move, the layer's outcomes on planar and 3-D bursts.
fn motion_table(motions: &[MotionSample]) -> String {
    let mut out = format!(
        "\n3-D motion layer, {}-frame bursts, camera 0.3 m away ({} photos; the planar bursts run the \
         landmark model on every frame, the 3-D ones project its landmarks without it):\n",
        motion::FRAMES,
        motions.len() / 2
    );
    let _ = writeln!(
        out,
        "{:<16} {:<14} {:>6} {:>7} {:>6}   residual (palm lengths) min/median/max",
        "burst", "camera travel", "pass", "unsure", "fail"
    );
    for kind in ["planar_motion", "hand_motion_3d"] {
        for (travel, _) in motion::MOVES {
            let mine: Vec<&MotionSample> = motions
                .iter()
                .filter(|m| m.kind == kind && m.travel == travel)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let count = |o: Outcome| mine.iter().filter(|m| m.report.outcome == o).count();
            let mut scores: Vec<f32> = mine
                .iter()
                .filter(|m| m.report.score > 0.0)
                .map(|m| m.report.score)
                .collect();
            let _ = writeln!(
                out,
                "{kind:<16} {travel:<14} {:>6} {:>7} {:>6}   {}",
                count(Outcome::Pass),
                count(Outcome::Unsure),
                count(Outcome::Fail),
                range(&mut scores, 4)
            );
        }
    }
    out.push_str(
        "planar_motion passing is an attack accepted; hand_motion_3d failing is a hand refused; \
         unsure hands over to the active challenge.\n",
    );
    out
}

fn write_report(
    dir: &Path,
    table: &str,
    samples: &[Sample],
    motions: &[MotionSample],
    tilts: &[TiltSample],
    seed: u64,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(CliError::at(dir))?;
    let mut lines: Vec<String> = samples.iter().map(|s| s.json().to_string()).collect();
    lines.extend(motions.iter().map(|m| {
        json!({
            "file": m.file,
            "species": m.kind,
            "setup": format!("camera travel {}", m.travel),
            "motion_3d": {
                "outcome": m.report.outcome,
                "score": m.report.score,
                "reason": m.report.reason,
            },
        })
        .to_string()
    }));
    lines.extend(tilts.iter().map(|t| {
        json!({
            "file": t.file,
            "species": "tilted_picture",
            "setup": "flat picture tilted 60° forward and back, then backward",
            "pitch_change_deg": {"forward": t.response[0], "backward": t.response[1]},
            "challenge_met": {"tilt": t.tilt_met, "close_and_open": t.close_met},
        })
        .to_string()
    }));
    std::fs::write(dir.join("samples.jsonl"), lines.join("\n") + "\n")
        .map_err(CliError::at(dir))?;
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut rows = String::new();
    for s in samples {
        let layers = s
            .spoof
            .as_ref()
            .map(|v| {
                v.layers
                    .iter()
                    .filter(|l| l.outcome != palmkit_core::liveness::Outcome::NotApplicable)
                    .map(|l| format!("{} {:.2}: {}", l.layer, l.score, l.reason))
                    .collect::<Vec<_>>()
                    .join("<br>")
            })
            .unwrap_or_default();
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.file),
            s.species.map_or("bona fide", Species::name),
            s.verdict().map_or("no hand", Verdict::name),
            escape(&layers),
            escape(&s.setup)
        );
    }
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>palmkit spoof-eval</title>\
         <style>body{{font-family:sans-serif}}td{{vertical-align:top;padding:2px 6px;font-size:13px}}\
         tr:nth-child(even){{background:#f4f4f4}}</style>\
         <h1>Spoof layers on bona fide and simulated attacks</h1><p>seed {seed}; every sample also in \
         samples.jsonl</p><pre>{}</pre><table><tr><th>photo</th><th>presentation</th><th>verdict</th>\
         <th>layers</th><th>simulated setup</th></tr>{rows}</table>",
        escape(table)
    );
    std::fs::write(dir.join("index.html"), html).map_err(CliError::at(dir))
}
