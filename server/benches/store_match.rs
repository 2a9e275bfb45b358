//! `cargo xtask bench store_match`: the in-store scan's 1:N search over 10^4, 10^5 and 10^6
//! templates, release profile, one core (the whole-scan throughput uses both), against
//! the fully exhaustive search of the same gallery in the same run. Prints figures; asserts
//! nothing but its inputs.
//!
//! Galleries are built from real templates, never random bits (random codes put every
//! impostor at 0.5 and flatter any index): `palmkit signature-eval --templates-out` writes
//! the COEP templates (clean, and probes degraded with `--degrade mixed`); xtask runs it
//! and passes the files in `PALMKIT_STORE_MATCH_TEMPLATES` (`clean.jsonl,mixed.jsonl`).
//! Each synthetic identity is a mosaic: 4 x 4 tiles of 8 x 8 grid points, each tile taken
//! at its own place from a random real template, with a share of bits flipped. The
//! synthetic impostor-distance quantiles are printed beside the real ones (they must agree
//! within 0.01).
//!
//! Probes: 1 000, half with a mate (real probes of the palms planted in the gallery: clean
//! images and degraded copies), half without (real probes of palms kept out). Every
//! within-band genuine pair of a planted palm must reach the exact stage (`lost` counts
//! those that did not, and, on the probes the exhaustive search is timed on, every row of
//! the gallery within the band that the candidate stage dropped).
//!
//! `--json`: one line per gallery size. `PALMKIT_BENCH_SIZES` (e.g. `10000,100000`) for
//! other sizes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palmkit_core::signature::{self, AMBIGUITY_MARGIN, MATCH_THRESHOLD, MAX_SHIFT, Template};
use palmkit_server::palms::index::SearchIndex;
use palmkit_server::palms::stores::decide;
use serde_json::json;

const GRID: usize = 32;
const TILE: usize = 8;

/// One real template, with its palm and whether it is a degraded probe.
struct Real {
    palm: u64,
    image: String,
    degraded: bool,
    template: Template,
}

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let files = std::env::var("PALMKIT_STORE_MATCH_TEMPLATES").unwrap_or_else(|_| {
        eprintln!("PALMKIT_STORE_MATCH_TEMPLATES is not set: run `cargo xtask bench store_match`");
        std::process::exit(2)
    });
    let reals = load(&files);
    let originals: Vec<&Real> = reals.iter().filter(|r| !r.degraded).collect();
    let band = MATCH_THRESHOLD + AMBIGUITY_MARGIN;
    // Palms planted in the gallery (two in three) and kept out (the probes without a mate).
    let planted = |palm: u64| palm % 3 != 0;

    // The real impostor quantiles, and the flip rate that makes mosaics agree with them.
    let real_q = quantiles(&impostor_distances(&originals, &originals, true));
    let tiles = Tiles::of(&originals);
    let mut rng = Rng(0x5EED);
    let mut flip = 0.0f64;
    let mut synth_q = [0.0; 3];
    for candidate in [0.0, 0.02, 0.04, 0.06, 0.08, 0.10] {
        let sample: Vec<Template> = (0..150)
            .map(|_| tiles.mosaic(candidate, &mut rng))
            .collect();
        let probes: Vec<&Real> = originals.iter().copied().step_by(2).collect();
        let d = cross_distances(&probes, &sample);
        let q = quantiles(&d);
        let off = |q: &[f32; 3]| {
            (0..3)
                .map(|k| (q[k] - real_q[k]).abs())
                .fold(0f32, f32::max)
        };
        if candidate == 0.0 || off(&q) < off(&synth_q) {
            (flip, synth_q) = (candidate, q);
        }
    }
    if !json {
        println!(
            "impostor distance at 1 % / 10 % / 50 %: real COEP {:.3} / {:.3} / {:.3}; synthetic \
             (mosaics, {:.0} % of bits flipped) {:.3} / {:.3} / {:.3}",
            real_q[0],
            real_q[1],
            real_q[2],
            flip * 100.0,
            synth_q[0],
            synth_q[1],
            synth_q[2]
        );
    }

    // Probes: 500 with a mate in the gallery, 500 without.
    let within: Vec<(usize, usize)> = genuine_within(&reals, band);
    let with_mate: Vec<usize> = {
        let mut p: Vec<usize> = within
            .iter()
            .filter(|(g, _)| planted(reals[*g].palm))
            .map(|&(_, p)| p)
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let without: Vec<usize> = (0..reals.len())
        .filter(|&i| !planted(reals[i].palm))
        .collect();
    let probes: Vec<(usize, bool)> = (0..1000)
        .map(|k| {
            if k % 2 == 0 {
                (with_mate[(k / 2) % with_mate.len()], true)
            } else {
                (without[(k / 2) % without.len()], false)
            }
        })
        .collect();
    if !json {
        println!(
            "{} real templates of {} palms; {} genuine pairs within {band:.2} (clean and \
             degraded); probes: 500 of {} with a mate, 500 of {} without",
            reals.len(),
            reals.iter().map(|r| r.palm).collect::<HashSet<_>>().len(),
            within.len(),
            with_mate.len(),
            without.len()
        );
        println!(
            "\n{:>9} {:>9} {:>9} {:>9} {:>12} {:>12} {:>9} {:>9} {:>8} {:>6}",
            "templates",
            "build s",
            "p50 ms",
            "p99 ms",
            "exhaust. ms",
            "pre-index ms",
            "speedup",
            "cand. p50",
            "B/tmpl",
            "lost"
        );
    }

    let sizes: Vec<usize> = std::env::var("PALMKIT_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    let mut largest = None;
    for &n in &sizes {
        // The planted palms' originals under their own enrollment, the rest synthetic.
        let real_rows: Vec<(String, Template)> = originals
            .iter()
            .filter(|r| planted(r.palm))
            .map(|r| (format!("real-{}", r.image), r.template.clone()))
            .collect();
        let synthetic = n.saturating_sub(real_rows.len());
        let mut rng = Rng(n as u64);
        let mut gallery: Vec<(String, Template)> = (0..synthetic)
            .map(|i| (format!("syn-{i}"), tiles.mosaic(flip, &mut rng)))
            .collect();
        gallery.extend(real_rows);
        let rows = gallery.clone();
        let started = Instant::now();
        let index = SearchIndex::from_templates(rows);
        let build = started.elapsed();

        // The index over every probe.
        let mut times = Vec::with_capacity(probes.len());
        let mut candidates = Vec::with_capacity(probes.len());
        let mut lost = 0usize;
        for &(p, _) in &probes {
            let probe = &reals[p].template;
            let started = Instant::now();
            let (_decision, stats) = index.search(probe, 0).expect("search");
            times.push(started.elapsed());
            candidates.push(stats.candidates);
        }
        // Every within-band genuine pair of a planted palm reaches the exact stage.
        for &p in &with_mate {
            let found: HashSet<Arc<str>> = index
                .candidates(&reals[p].template, 0)
                .expect("candidates")
                .into_iter()
                .collect();
            for &(g, _) in within.iter().filter(|(_, q)| *q == p) {
                if planted(reals[g].palm)
                    && !found.contains(format!("real-{}", reals[g].image).as_str())
                {
                    lost += 1;
                }
            }
        }
        // The fully exhaustive search (every row, every shift, every plane) and the
        // service's search before the index (a coarse third of the planes, then the full
        // search), on a few probes; every row within the band must be a candidate.
        let timed = (200_000 / n).clamp(2, 50);
        let (mut exhaustive, mut pre_index) = (Duration::ZERO, Duration::ZERO);
        for &(p, _) in probes.iter().take(timed) {
            let probe = &reals[p].template;
            let started = Instant::now();
            let near: Vec<&str> = gallery
                .iter()
                .filter(|(_, t)| {
                    probe
                        .distance(t, MAX_SHIFT)
                        .is_some_and(|d| d.value <= band)
                })
                .map(|(id, _)| id.as_str())
                .collect();
            exhaustive += started.elapsed();
            let started = Instant::now();
            std::hint::black_box(decide(
                probe,
                gallery.iter().map(|(id, t)| (id.as_str(), t)),
            ));
            pre_index += started.elapsed();
            let found: HashSet<Arc<str>> = index
                .candidates(probe, 0)
                .expect("candidates")
                .into_iter()
                .collect();
            for id in near.iter().filter(|id| !found.contains(**id)) {
                // Say which row and how far: a lost row is the finding to look at.
                let (_, row) = gallery.iter().find(|(g, _)| g == id).expect("the row");
                let exact = probe.distance(row, MAX_SHIFT).map_or(1.0, |d| d.value);
                let coarse = signature::ProbeCodes::of(probe)
                    .distance(signature::CoarseCode::of(row).words());
                eprintln!(
                    "lost at {n}: probe {} ({}), row {id}: exact {exact:.3}, coarse {coarse:.3}",
                    reals[p].image,
                    if reals[p].degraded {
                        "degraded"
                    } else {
                        "clean"
                    }
                );
                lost += 1;
            }
        }
        let exhaustive_ms = ms(exhaustive) / timed as f64;
        let pre_index_ms = ms(pre_index) / timed as f64;
        times.sort();
        candidates.sort_unstable();
        let p50 = ms(times[times.len() / 2]);
        let p99 = ms(times[times.len() * 99 / 100]);
        let line = json!({
            "templates": n,
            "search_p50_ms": round(p50),
            "search_p99_ms": round(p99),
            "exhaustive_ms": round(exhaustive_ms),
            "pre_index_ms": round(pre_index_ms),
            "speedup": round(exhaustive_ms / p50),
            "bytes_per_template": SearchIndex::bytes_per_row(),
            "build_s": round(build.as_secs_f64()),
            "candidates_p50": candidates[candidates.len() / 2],
            "candidates_max": candidates[candidates.len() - 1],
            "lost": lost,
        });
        if json {
            println!("{line}");
        } else {
            println!(
                "{:>9} {:>9.2} {:>9.2} {:>9.2} {:>12.1} {:>12.1} {:>8.0}x {:>9} {:>8} {:>6}",
                n,
                build.as_secs_f64(),
                p50,
                p99,
                exhaustive_ms,
                pre_index_ms,
                exhaustive_ms / p50,
                candidates[candidates.len() / 2],
                SearchIndex::bytes_per_row(),
                lost
            );
        }
        largest = Some(index);
    }
    if !json {
        println!(
            "(p50/p99: the index's search over 1 000 probes on one core; exhaust.: every row at \
             every shift; pre-index: the service's search before the index, both over the \
             same gallery in this run, mean of a few probes; speedup: exhaustive / p50; \
             lost: within-band rows the candidate stage dropped)"
        );
    }
    if let (Some(index), Some(&n)) = (largest, sizes.last()) {
        whole_scan(&index, n, json);
    }
}

/// A whole store scan: JPEG decode, landmarks, signature and the search, on a 1600x1200
/// picture made from a COEP photo; then 8 stores scanning at once on every core.
fn whole_scan(index: &SearchIndex, n: usize, json: bool) {
    let (Some(models), Some(testdata)) = (
        std::env::var_os("PALMKIT_MODELS"),
        std::env::var_os("PALMKIT_TESTDATA"),
    ) else {
        println!("(whole-scan figures need PALMKIT_MODELS and PALMKIT_TESTDATA)");
        return;
    };
    let photo = std::path::Path::new(&testdata).join("palms/coep/001_1.jpg");
    let image = image::load_from_memory(&std::fs::read(&photo).expect("COEP photo"))
        .expect("decodes")
        .resize_exact(1600, 1200, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&image)
        .expect("encodes");
    let models = std::path::PathBuf::from(models);
    let scan = |tracker: &mut palmkit_core::vision::HandTracker,
                extractor: &mut signature::Extractor| {
        let decoded = palmkit_core::frame::DecodedImage::decode(&jpeg).expect("decodes");
        let hand = tracker
            .detect(&decoded.frame())
            .expect("detects")
            .expect("a hand");
        let template = extractor
            .extract(&decoded.frame(), &hand.landmarks)
            .expect("a signature");
        index.search(&template, 0).expect("search")
    };
    let mut tracker = palmkit_core::vision::HandTracker::load(&models, 0.5).expect("models");
    let mut extractor = signature::Extractor::new(signature::CURRENT);
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(scan(&mut tracker, &mut extractor));
            started.elapsed()
        })
        .collect();
    times.sort();
    let stores = 8;
    let window = Duration::from_secs(10);
    let started = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..stores)
            .map(|_| {
                s.spawn(|| {
                    let mut tracker =
                        palmkit_core::vision::HandTracker::load(&models, 0.5).expect("models");
                    let mut extractor = signature::Extractor::new(signature::CURRENT);
                    let mut done = 0usize;
                    while started.elapsed() < window {
                        std::hint::black_box(scan(&mut tracker, &mut extractor));
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a store"))
            .sum()
    });
    let rate = done as f64 / started.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if json {
        println!(
            "{}",
            json!({"whole_scan_templates": n, "whole_scan_p50_ms": round(ms(times[times.len() / 2])),
                   "stores": stores, "cores": cores, "scans_per_s": round(rate)})
        );
    } else {
        println!(
            "\nwhole store scan (1600x1200 JPEG: decode, landmarks, signature, search over {n}): \
             p50 {:.1} ms on one core; {stores} stores at once on {cores} cores: {rate:.1} scans/s",
            ms(times[times.len() / 2])
        );
    }
}

/// The templates of `PALMKIT_STORE_MATCH_TEMPLATES`: each file's originals (the first
/// file's only, the others' are the same images) and degraded probes.
fn load(files: &str) -> Vec<Real> {
    let mut reals = Vec::new();
    for (k, file) in files.split(',').enumerate() {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let template = |key: &str| {
                v[key].as_str().map(|h| {
                    Template::from_bytes(&hex::decode(h).expect("hex")).expect("a template")
                })
            };
            let palm = v["palm"].as_u64().expect("palm");
            let image = v["name"].as_str().unwrap_or("?").to_string();
            if k == 0 {
                if let Some(template) = template("template") {
                    reals.push(Real {
                        palm,
                        image: image.clone(),
                        degraded: false,
                        template,
                    });
                }
            }
            if let Some(template) = template("probe") {
                reals.push(Real {
                    palm,
                    image,
                    degraded: true,
                    template,
                });
            }
        }
    }
    assert!(!reals.is_empty(), "no templates in {files}");
    reals
}

/// (gallery original, probe) index pairs of one palm within `band` (a degraded probe is
/// not paired with its own original; as `palmkit signature-eval --degrade`).
fn genuine_within(reals: &[Real], band: f32) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (g, a) in reals.iter().enumerate().filter(|(_, r)| !r.degraded) {
        for (p, b) in reals.iter().enumerate() {
            if g == p || a.palm != b.palm || a.image == b.image {
                continue;
            }
            if a.template
                .distance(&b.template, MAX_SHIFT)
                .is_some_and(|d| d.value <= band)
            {
                out.push((g, p));
            }
        }
    }
    out
}

/// Exact distances of every pair of different palms (each pair once when `same_set`).
fn impostor_distances(a: &[&Real], b: &[&Real], same_set: bool) -> Vec<f32> {
    let mut out = Vec::new();
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            if (same_set && j <= i) || x.palm == y.palm {
                continue;
            }
            out.push(
                x.template
                    .distance(&y.template, MAX_SHIFT)
                    .map_or(1.0, |d| d.value),
            );
        }
    }
    out
}

/// Exact distances of real probes to synthetic templates.
fn cross_distances(probes: &[&Real], synthetic: &[Template]) -> Vec<f32> {
    probes
        .iter()
        .flat_map(|p| {
            synthetic
                .iter()
                .map(|s| p.template.distance(s, MAX_SHIFT).map_or(1.0, |d| d.value))
        })
        .collect()
}

/// The 1 %, 10 % and 50 % quantiles.
fn quantiles(d: &[f32]) -> [f32; 3] {
    let mut d = d.to_vec();
    d.sort_by(f32::total_cmp);
    let at = |q: f64| d[((d.len() as f64 * q) as usize).min(d.len() - 1)];
    [at(0.01), at(0.10), at(0.50)]
}

/// The real templates' rows (code rows, then mask rows), to cut mosaics from.
struct Tiles {
    header: Vec<u8>,
    words: Vec<Vec<u32>>,
}

impl Tiles {
    fn of(reals: &[&Real]) -> Self {
        let bytes = reals[0].template.to_bytes();
        let words = reals
            .iter()
            .map(|r| {
                r.template.to_bytes()[8..]
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            })
            .collect();
        Self {
            header: bytes[..8].to_vec(),
            words,
        }
    }

    /// A synthetic identity: each 8 x 8 tile from a random real template at its own
    /// place, then each code bit flipped with probability `flip` (in 1/256 steps).
    fn mosaic(&self, flip: f64, rng: &mut Rng) -> Template {
        let side = GRID / TILE;
        let sources: Vec<&[u32]> = (0..side * side)
            .map(|_| self.words[rng.below(self.words.len())].as_slice())
            .collect();
        let rows = self.words[0].len() / 2;
        let threshold = (flip * 256.0).round() as u64;
        let mut bytes = self.header.clone();
        // Row k of the result takes row k of each of its tiles' sources.
        #[allow(clippy::needless_range_loop)]
        for k in 0..2 * rows {
            let y = (k % rows) % GRID;
            let mut w = 0u32;
            for tx in 0..side {
                w |= sources[(y / TILE) * side + tx][k] & (0xFFu32 << (tx * TILE));
            }
            if k < rows && threshold > 0 {
                for chunk in 0..4 {
                    let r = rng.next();
                    for b in 0..8 {
                        if (r >> (8 * b)) & 0xFF < threshold {
                            w ^= 1 << (chunk * 8 + b);
                        }
                    }
                }
            }
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        Template::from_bytes(&bytes).expect("a template")
    }
}

/// xorshift64*: seeded, so every run builds the same galleries.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
