//! `palmkit signature-eval DIR...`: how well palm signatures tell palms apart, on labelled
//! photos. Images of one palm share the file-name part before the last underscore
//! (`002_1.jpg`, `002_3.jpg`); `--same-palm A=B` merges ids known to be one palm.
//! Byte-identical files are counted once (they would add genuine pairs at distance 0)
//! unless `--keep-duplicates`.
//!
//! Every pair of images is scored (genuine: same palm; impostor: different palms), and for
//! identification the first image of each palm is its gallery entry and every other image
//! a probe. With `--degrade KIND` every probe is a degraded copy of its image (landmarks
//! found again on the degraded picture, as a second camera would need) matched against the
//! originals of all the others. Prints EER, TAR at FAR 1e-3 and 1e-4 (with the impostor
//! pairs behind each) and rank-1, per algorithm; `--json` one line per algorithm.

mod degrade;
mod metrics;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;
use palmkit_core::signature::{
    self, Algorithm, COARSE_CUTOFF, CoarseCode, Extractor, LOCATE_CUTOFF, MAX_SHIFT, ProbeCodes,
    Template,
};
use palmkit_core::vision::HandTracker;
use serde_json::json;

use crate::analyze::{collect, models_dir};
use crate::error::{CliError, Result};
pub use degrade::Degradation;
use metrics::Scores;

/// `palmkit signature-eval`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One JSON line per algorithm: palms, images, genuine_pairs, impostor_pairs, eer,
    /// tar_at_far_1e3, tar_at_far_1e4, rank1 (fractions), algorithm.
    #[arg(long)]
    json: bool,
    /// Ids known to be one palm, e.g. `--same-palm 081=156 --same-palm 081=158`.
    #[arg(long, value_name = "A=B")]
    same_palm: Vec<String>,
    /// Algorithm(s): compcode, bocv, bocv-fragile, bocv-multiscale, or all (default:
    /// the one the service uses).
    #[arg(long, value_delimiter = ',')]
    algorithm: Vec<String>,
    /// Match every image against a degraded copy of the others: mixed, jpeg50,
    /// rotate10, scale0.8, shift0.08, red, green, blue.
    #[arg(long, value_name = "KIND")]
    degrade: Option<String>,
    /// Seed of the degradations.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Count byte-identical files as separate images (default: once).
    #[arg(long)]
    keep_duplicates: bool,
    /// Write an HTML page (histograms, worst genuine and best impostor pairs) here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The provisioned model folder (as for `analyze`).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Write every image's template (and its degraded probe's, with `--degrade`) here as
    /// JSON lines `{"palm", "name", "template", "probe"}` (hex), for the service's algorithm
    /// only: what `cargo xtask bench store_match` builds its galleries from.
    #[arg(long, value_name = "FILE")]
    templates_out: Option<PathBuf>,
    /// Folders or files of palm photos.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// What the evaluation was asked, parsed.
struct Options {
    paths: Vec<PathBuf>,
    same_palm: Vec<String>,
    algorithms: Vec<Algorithm>,
    degrade: Option<Degradation>,
    seed: u64,
    keep_duplicates: bool,
    json: bool,
    report: Option<PathBuf>,
    models: Option<PathBuf>,
    templates_out: Option<PathBuf>,
}

/// Runs the evaluation and prints (and writes) its report.
pub fn run(args: Args) -> Result<()> {
    let options = Options {
        algorithms: parse_algorithms(&args.algorithm)?,
        degrade: args
            .degrade
            .as_deref()
            .map(Degradation::parse)
            .transpose()?,
        paths: args.paths,
        same_palm: args.same_palm,
        seed: args.seed,
        keep_duplicates: args.keep_duplicates,
        json: args.json,
        report: args.report,
        models: args.models,
        templates_out: args.templates_out,
    };
    run_options(options)
}

/// Parses `--algorithm` values (`all` for every one).
fn parse_algorithms(names: &[String]) -> Result<Vec<Algorithm>> {
    if names.is_empty() {
        return Ok(vec![palmkit_core::signature::CURRENT]);
    }
    let mut out = Vec::new();
    for name in names {
        if name == "all" {
            out.extend(Algorithm::ALL);
        } else {
            out.push(
                Algorithm::from_name(name)
                    .ok_or_else(|| {
                        let known: Vec<_> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                        format!(
                            "unknown algorithm {name:?}: use one of {}, or all",
                            known.join(", ")
                        )
                    })
                    .map_err(CliError::failed)?,
            );
        }
    }
    out.dedup();
    Ok(out)
}

/// One labelled image.
pub(crate) struct Sample {
    pub name: String,
    pub palm: usize,
    /// The upright picture (wiped on drop by nobody: these are evaluation photos on the
    /// desktop, not captures).
    pub image: RgbImage,
    pub landmarks: Option<[[f32; 3]; 21]>,
    /// The degraded copy matched against the others (none when not degrading).
    pub probe: Option<Probe>,
}

/// A degraded copy of a sample: the picture, its landmarks found again, and the region
/// shift asked of the extraction.
pub(crate) struct Probe {
    pub image: RgbImage,
    pub landmarks: Option<[[f32; 3]; 21]>,
    pub shift: (f32, f32),
}

/// Runs the evaluation and prints it.
fn run_options(options: Options) -> Result<()> {
    let files = collect(&options.paths)?;
    let merges = parse_merges(&options.same_palm)?;
    let (files, duplicates) = if options.keep_duplicates {
        (files, 0)
    } else {
        drop_duplicates(files)?
    };
    let mut labels = Labels::new(&merges);
    let models = models_dir(options.models.clone());
    let mut tracker = HandTracker::load(&models, 0.5)
        .map_err(|e| {
            format!(
                "{e} (models in {}: run `cargo xtask models` once)",
                models.display()
            )
        })
        .map_err(CliError::failed)?;
    let started = Instant::now();
    let bar = crate::progress::bar(files.len() as u64);
    let mut samples = Vec::with_capacity(files.len());
    for (at, path) in files.iter().enumerate() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        bar.set_message(name.clone());
        let bytes = std::fs::read(path).map_err(CliError::at(path))?;
        let image = crate::frames::upright(&bytes).map_err(CliError::at(path))?;
        let landmarks = find_hand(&mut tracker, &image)?;
        let probe = match options.degrade {
            Some(d) => {
                let mut rng =
                    fastrand::Rng::with_seed(options.seed ^ (at as u64).wrapping_mul(0x9E37_79B9));
                let degraded = d.apply(&image, &mut rng);
                let landmarks = find_hand(&mut tracker, &degraded)?;
                let shift = d.region_shift(&mut rng);
                Some(Probe {
                    image: degraded,
                    landmarks,
                    shift,
                })
            }
            None => None,
        };
        samples.push(Sample {
            palm: labels.palm_of(&name),
            name,
            image,
            landmarks,
            probe,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let landmark_secs = started.elapsed().as_secs_f64();
    let palms = labels.count();
    if !options.json {
        println!(
            "{} images of {} palms ({} byte-identical duplicates left out), {}; landmarks in {:.1} s",
            samples.len(),
            palms,
            duplicates,
            options
                .degrade
                .map_or("no degradation".to_string(), |d| format!(
                    "probes: {}",
                    d.label()
                )),
            landmark_secs
        );
        println!(
            "{:<16} {:>5} {:>8} {:>9} {:>8} {:>12} {:>12} {:>7} {:>9}",
            "algorithm",
            "fte",
            "genuine",
            "impostor",
            "EER %",
            "TAR@1e-3 %",
            "TAR@1e-4 %",
            "rank-1",
            "extract"
        );
    }
    for &algorithm in &options.algorithms {
        let result = evaluate(&samples, palms, algorithm)?;
        if options.json {
            println!(
                "{}",
                json!({
                    "palms": palms,
                    "images": samples.len(),
                    "genuine_pairs": result.scores.genuine.len(),
                    "impostor_pairs": result.scores.impostor.len(),
                    "eer": result.eer,
                    "tar_at_far_1e3": result.tar_1e3.tar,
                    "tar_at_far_1e4": result.tar_1e4.tar,
                    "rank1": result.rank1,
                    "index_lost": result.index_lost,
                    "impostors_located": result.impostor_located,
                    "algorithm": algorithm.name(),
                })
            );
        } else {
            println!(
                "{:<16} {:>5} {:>8} {:>9} {:>8.3} {:>6.2} ({:>3}) {:>6.2} ({:>3}) {:>6.2}% {:>6.1} ms",
                algorithm.name(),
                result.failed,
                result.scores.genuine.len(),
                result.scores.impostor.len(),
                100.0 * result.eer,
                100.0 * result.tar_1e3.tar,
                result.tar_1e3.false_accepts_allowed,
                100.0 * result.tar_1e4.tar,
                result.tar_1e4.false_accepts_allowed,
                100.0 * result.rank1,
                result.extract_ms,
            );
        }
        if !options.json {
            let worst = result
                .pairs
                .iter()
                .filter(|(_, i, j)| samples[*i].palm == samples[*j].palm)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let closest = result
                .pairs
                .iter()
                .filter(|(_, i, j)| samples[*i].palm != samples[*j].palm)
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let name = |p: Option<&(f32, usize, usize)>| {
                p.map_or("-".to_string(), |(d, i, j)| {
                    format!("{d:.3} ({} vs {})", samples[*i].name, samples[*j].name)
                })
            };
            println!(
                "  {:<14} worst genuine {}; closest impostor {}; EER threshold {:.3}",
                "",
                name(worst),
                name(closest),
                result.eer_threshold
            );
            println!(
                "  {:<14} coarse-pass search (the service's): {} of {} genuine pairs within the \
                 threshold {} would be dropped by the coarse pass",
                "",
                result.coarse_lost,
                result.within_threshold,
                palmkit_core::signature::MATCH_THRESHOLD
            );
            println!(
                "  {:<14} store-match index (coarse codes: locate within {LOCATE_CUTOFF}, refine \
                 within {COARSE_CUTOFF}): {} of {} \
                 genuine pairs within {band:.2} dropped (index_lost); worst genuine coarse \
                 distance {:.3}, locate share {:.3}; {:.1} % of impostor pairs pass the locate \
                 code, {:.3} % reach the exact stage (impostor coarse distance at 0.1 % {:.3}, \
                 1 % {:.3}, 50 % {:.3})",
                "",
                result.index_lost,
                result.within_band,
                result.worst_genuine_coarse,
                result.worst_genuine_locate,
                100.0 * result.impostor_located,
                100.0 * result.impostor_candidates,
                result.impostor_coarse_quantiles[0],
                result.impostor_coarse_quantiles[1],
                result.impostor_coarse_quantiles[2],
                band = palmkit_core::signature::MATCH_THRESHOLD
                    + palmkit_core::signature::AMBIGUITY_MARGIN,
            );
        }
        if let Some(out) = &options.templates_out {
            if algorithm == signature::CURRENT {
                write_templates(out, &samples, &result)?;
            }
        }
        if let Some(dir) = &options.report {
            let page = report::write(dir, algorithm, &samples, &result)?;
            if !options.json {
                println!("  report: {}", page.display());
            }
        }
    }
    if !options.json {
        println!(
            "(TAR columns: the number in brackets is how many false accepts the FAR allows \
             over that many impostor pairs; fte: images without a usable palm region, their \
             pairs counted as non-matches)"
        );
    }
    Ok(())
}

/// One algorithm's figures.
pub(crate) struct Evaluation {
    pub scores: Scores,
    /// (distance, gallery sample, probe sample) of every pair, for the report.
    pub pairs: Vec<(f32, usize, usize)>,
    pub eer: f64,
    pub eer_threshold: f32,
    pub tar_1e3: metrics::TarAtFar,
    pub tar_1e4: metrics::TarAtFar,
    pub rank1: f64,
    pub failed: usize,
    pub extract_ms: f64,
    /// Each sample's template, and its degraded probe's (with `--degrade`).
    pub gallery: Vec<Option<Template>>,
    pub probes: Option<Vec<Option<Template>>>,
    /// Genuine pairs within the operating threshold, and how many of them the coarse pass
    /// of the service's search would drop.
    pub within_threshold: usize,
    pub coarse_lost: usize,
    /// Genuine pairs within the match band (threshold + ambiguity margin), how many of them
    /// the store match's coarse-code candidate stage would drop, the largest coarse
    /// distance among them, and the share of impostor pairs the stage lets through.
    pub within_band: usize,
    pub index_lost: usize,
    pub worst_genuine_coarse: f32,
    pub impostor_candidates: f64,
    /// The share of impostor pairs the locate code hands on to the refine code, and the
    /// largest locate share of a genuine pair within the band.
    pub impostor_located: f64,
    pub worst_genuine_locate: f32,
    /// Impostor coarse distances at the 0.1 %, 1 % and 50 % quantiles.
    pub impostor_coarse_quantiles: [f32; 3],
}

fn evaluate(samples: &[Sample], palms: usize, algorithm: Algorithm) -> Result<Evaluation> {
    let mut extractor = Extractor::new(algorithm);
    let started = Instant::now();
    let mut made = 0usize;
    let mut template = |image: &RgbImage, landmarks: &Option<[[f32; 3]; 21]>, shift| {
        let landmarks = landmarks.as_ref()?;
        made += 1;
        extractor
            .extract_shifted(&frame(image), landmarks, shift)
            .ok()
    };
    let gallery: Vec<Option<Template>> = samples
        .iter()
        .map(|s| template(&s.image, &s.landmarks, (0.0, 0.0)))
        .collect();
    let probes: Option<Vec<Option<Template>>> = samples
        .iter()
        .map(|s| {
            s.probe
                .as_ref()
                .map(|p| template(&p.image, &p.landmarks, p.shift))
        })
        .collect();
    let extract_ms = started.elapsed().as_secs_f64() * 1000.0 / made.max(1) as f64;
    let failed = gallery.iter().filter(|t| t.is_none()).count()
        + probes
            .as_ref()
            .map_or(0, |p| p.iter().filter(|t| t.is_none()).count());
    let distance = |a: &Option<Template>, b: &Option<Template>| -> f32 {
        match (a, b) {
            (Some(a), Some(b)) => a.distance(b, MAX_SHIFT).map_or(1.0, |d| d.value),
            // No template: the pair cannot match.
            _ => 1.0,
        }
    };
    let mut scores = Scores::default();
    let mut pairs = Vec::new();
    // The coarse codes of the index's candidate stage: the gallery's unshifted, each
    // probe's at the stage's shifts.
    let coarse_gallery: Vec<Option<CoarseCode>> = gallery
        .iter()
        .map(|t| t.as_ref().map(CoarseCode::of))
        .collect();
    let coarse_probes: Vec<Option<ProbeCodes>> = probes
        .as_ref()
        .unwrap_or(&gallery)
        .iter()
        .map(|t| t.as_ref().map(ProbeCodes::of))
        .collect();
    let coarse = |i: usize, j: usize| -> f32 {
        match (&coarse_gallery[i], &coarse_probes[j]) {
            (Some(g), Some(p)) => p.distance(g.words()),
            _ => 1.0,
        }
    };
    // The locate stage alone: how much of the gallery it hands on to the refine code.
    let locate = |i: usize, j: usize| -> f32 {
        match (&coarse_gallery[i], &coarse_probes[j]) {
            (Some(g), Some(p)) => p.locate_share(g.words()),
            _ => 1.0,
        }
    };
    let (mut impostor_located, mut worst_genuine_locate) = (0usize, 0f32);
    let band = palmkit_core::signature::MATCH_THRESHOLD + palmkit_core::signature::AMBIGUITY_MARGIN;
    let (mut within_band, mut index_lost, mut worst_genuine_coarse) = (0usize, 0usize, 0f32);
    let (mut impostors, mut impostor_passed) = (0usize, 0usize);
    let mut impostor_coarse = Vec::new();
    let (mut within_threshold, mut coarse_lost) = (0usize, 0usize);
    let threshold = palmkit_core::signature::MATCH_THRESHOLD;
    let mut coarse_check = |a: &Option<Template>, b: &Option<Template>, d: f32| {
        if let (Some(a), Some(b)) = (a, b) {
            if d <= threshold {
                within_threshold += 1;
                if a.distance_within(b, MAX_SHIFT, threshold).is_none() {
                    coarse_lost += 1;
                }
            }
        }
    };
    for i in 0..samples.len() {
        for j in 0..samples.len() {
            let d = match &probes {
                // Original i against the degraded copy of every other image.
                Some(probes) if i != j => distance(&gallery[i], &probes[j]),
                None if i < j => distance(&gallery[i], &gallery[j]),
                _ => continue,
            };
            let c = coarse(i, j);
            if samples[i].palm == samples[j].palm {
                let probe = probes.as_ref().map_or(&gallery[j], |p| &p[j]);
                coarse_check(&gallery[i], probe, d);
                if d <= band {
                    within_band += 1;
                    worst_genuine_coarse = worst_genuine_coarse.max(c);
                    worst_genuine_locate = worst_genuine_locate.max(locate(i, j));
                    if c > COARSE_CUTOFF {
                        index_lost += 1;
                    }
                }
                scores.genuine.push(d);
            } else {
                impostors += 1;
                impostor_passed += usize::from(c <= COARSE_CUTOFF);
                impostor_located += usize::from(locate(i, j) <= LOCATE_CUTOFF);
                impostor_coarse.push(c);
                scores.impostor.push(d);
            }
            pairs.push((d, i, j));
        }
    }
    // Identification: the first image of each palm in the gallery, every other a probe.
    let mut first: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, s) in samples.iter().enumerate() {
        first.entry(s.palm).or_insert(i);
    }
    let (mut right, mut tried) = (0usize, 0usize);
    for (j, s) in samples.iter().enumerate() {
        if first.get(&s.palm) == Some(&j) {
            continue;
        }
        tried += 1;
        let probe = probes.as_ref().map_or(&gallery[j], |p| &p[j]);
        let best = first
            .iter()
            .map(|(&palm, &g)| (distance(&gallery[g], probe), palm))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if best.is_some_and(|(d, palm)| palm == s.palm && d < 1.0) {
            right += 1;
        }
    }
    debug_assert!(first.len() == palms);
    let eer = scores.eer();
    Ok(Evaluation {
        tar_1e3: scores.tar_at_far(1e-3),
        tar_1e4: scores.tar_at_far(1e-4),
        eer: eer.rate,
        eer_threshold: eer.threshold,
        scores,
        pairs,
        rank1: if tried == 0 {
            f64::NAN
        } else {
            right as f64 / tried as f64
        },
        failed,
        extract_ms,
        gallery,
        probes,
        within_threshold,
        coarse_lost,
        within_band,
        index_lost,
        worst_genuine_coarse,
        impostor_candidates: impostor_passed as f64 / impostors.max(1) as f64,
        impostor_located: impostor_located as f64 / impostors.max(1) as f64,
        worst_genuine_locate,
        impostor_coarse_quantiles: {
            impostor_coarse.sort_by(f32::total_cmp);
            let at = |q: f64| {
                impostor_coarse
                    .get(
                        ((impostor_coarse.len() as f64 * q) as usize)
                            .min(impostor_coarse.len().saturating_sub(1)),
                    )
                    .copied()
                    .unwrap_or(f32::NAN)
            };
            [at(0.001), at(0.01), at(0.5)]
        },
    })
}

pub(crate) use crate::frames::rgb_frame as frame;

/// `--templates-out`: one JSON line per sample.
fn write_templates(out: &Path, samples: &[Sample], result: &Evaluation) -> Result<()> {
    use std::io::Write;
    let hex = |t: Option<&Option<Template>>| {
        t.and_then(|t| t.as_ref())
            .map(|t| hex::encode(t.to_bytes()))
    };
    let mut text = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let line = json!({
            "palm": s.palm,
            "name": s.name,
            "template": hex(result.gallery.get(i)),
            "probe": hex(result.probes.as_ref().and_then(|p| p.get(i))),
        });
        writeln!(text, "{line}").map_err(CliError::at(out))?;
    }
    std::fs::write(out, text).map_err(CliError::at(out))
}

fn find_hand(tracker: &mut HandTracker, image: &RgbImage) -> Result<Option<[[f32; 3]; 21]>> {
    let hand = tracker.detect(&frame(image))?;
    Ok(hand.filter(|h| h.palm_facing).map(|h| h.landmarks))
}

/// `A=B` pairs from `--same-palm`.
fn parse_merges(given: &[String]) -> Result<Vec<(String, String)>> {
    given
        .iter()
        .map(|m| {
            m.split_once('=')
                .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| {
                    CliError::Failed(format!("--same-palm {m:?}: expected ID=ID, e.g. 081=156"))
                })
        })
        .collect()
}

/// Files minus byte-identical repeats (the first by name kept), and how many were left out.
fn drop_duplicates(files: Vec<PathBuf>) -> Result<(Vec<PathBuf>, usize)> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut kept = Vec::new();
    let mut dropped = 0;
    for path in files {
        let bytes = std::fs::read(&path).map_err(CliError::at(&path))?;
        if seen.insert(bytes) {
            kept.push(path);
        } else {
            dropped += 1;
        }
    }
    Ok((kept, dropped))
}

/// Palm ids from file names, with merges.
struct Labels {
    /// id -> the id it is merged into.
    merged: HashMap<String, String>,
    palms: HashMap<String, usize>,
}

impl Labels {
    fn new(merges: &[(String, String)]) -> Self {
        let mut merged: HashMap<String, String> = HashMap::new();
        for (a, b) in merges {
            let root_a = Self::root(&merged, a);
            let root_b = Self::root(&merged, b);
            if root_a != root_b {
                merged.insert(root_b, root_a);
            }
        }
        Self {
            merged,
            palms: HashMap::new(),
        }
    }

    fn root(merged: &HashMap<String, String>, id: &str) -> String {
        let mut id = id.to_string();
        while let Some(next) = merged.get(&id) {
            id = next.clone();
        }
        id
    }

    fn palm_of(&mut self, file_name: &str) -> usize {
        let stem = Path::new(file_name)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file_name);
        let id = stem.rsplit_once('_').map_or(stem, |(id, _)| id);
        let root = Self::root(&self.merged, id);
        let next = self.palms.len();
        *self.palms.entry(root).or_insert(next)
    }

    fn count(&self) -> usize {
        self.palms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_name_and_merges_join_them() {
        let merges = parse_merges(&["081=156".into(), "156=158".into()]).unwrap();
        let mut labels = Labels::new(&merges);
        let a = labels.palm_of("081_1.jpg");
        assert_eq!(labels.palm_of("158_4.jpg"), a);
        assert_eq!(labels.palm_of("156_2.jpg"), a);
        assert_ne!(labels.palm_of("002_1.jpg"), a);
        assert_eq!(labels.palm_of("a_b_3.png"), labels.palm_of("a_b_1.png"));
        assert_eq!(labels.count(), 3);
        assert!(parse_merges(&["081".into()]).is_err());
    }
}
