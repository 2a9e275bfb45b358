//! Palm signature figures, one core, release profile, in one run:
//! 1. extraction time per image for each algorithm (ROI + filters + code), from the
//!    landmarks of a COEP photo (the landmark models' own time printed beside it);
//! 2. comparisons per second (the masked Hamming distance with its ±3 shift search);
//! 3. a 1:N search of one probe over 1 million synthetic templates of the service's
//!    algorithm (random code bits behind a real template's mask), on one thread and on
//!    every core;
//! 4. template size.
//!
//! `cargo xtask bench` runs it; by hand: `PALMKIT_MODELS=... PALMKIT_TESTDATA=... cargo
//! bench -p palmkit-core --features signature --bench signature`. Set `PALMKIT_BENCH_N`
//! for another gallery size (1 000 000 templates take ~1.6 GB of memory).

use std::path::PathBuf;
use std::time::Instant;

use palmkit_core::frame::DecodedImage;
use palmkit_core::signature::{self, Algorithm, Extractor, MAX_SHIFT, Template};
use palmkit_core::vision::HandTracker;

fn env_dir(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| panic!("{name} is not set")))
}

fn main() {
    let models = env_dir("PALMKIT_MODELS");
    let testdata = env_dir("PALMKIT_TESTDATA");
    let mut tracker = HandTracker::load(&models, 0.5).unwrap();
    let photos: Vec<DecodedImage> = ["001_1.jpg", "001_2.jpg"]
        .iter()
        .map(|n| {
            DecodedImage::decode(&std::fs::read(testdata.join("palms/coep").join(n)).unwrap())
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let hands: Vec<_> = photos
        .iter()
        .map(|p| {
            tracker
                .detect(&p.frame())
                .unwrap()
                .expect("a hand in the COEP photo")
        })
        .collect();
    println!(
        "landmarks (detector + landmark model, 1024x768 photo): {:.1} ms per image",
        started.elapsed().as_secs_f64() * 500.0
    );

    println!(
        "\n{:<16} {:>12} {:>14} {:>10}",
        "algorithm", "extract ms", "compares/s", "bytes"
    );
    let mut current = None;
    for algorithm in Algorithm::ALL {
        let mut extractor = Extractor::new(algorithm);
        let frame = photos[0].frame();
        let _ = extractor.extract(&frame, &hands[0].landmarks).unwrap();
        let runs = 30;
        let t = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(extractor.extract(&frame, &hands[0].landmarks).unwrap());
        }
        let extract_ms = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
        let a = extractor
            .extract(&photos[0].frame(), &hands[0].landmarks)
            .unwrap();
        let b = extractor
            .extract(&photos[1].frame(), &hands[1].landmarks)
            .unwrap();
        let compares = 20_000;
        let t = Instant::now();
        for _ in 0..compares {
            std::hint::black_box(a.distance(std::hint::black_box(&b), MAX_SHIFT));
        }
        let rate = compares as f64 / t.elapsed().as_secs_f64();
        println!(
            "{:<16} {:>12.2} {:>14.0} {:>10}",
            algorithm.name(),
            extract_ms,
            rate,
            a.to_bytes().len()
        );
        if algorithm == signature::CURRENT {
            current = Some((a, b));
        }
    }

    let (probe, mate) = current.unwrap();
    let n: usize = std::env::var("PALMKIT_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let bytes = probe.to_bytes();
    let words = (bytes.len() - 8) / 2;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let t = Instant::now();
    let mut gallery: Vec<Template> = (0..n)
        .map(|_| {
            let mut t = bytes.clone();
            for b in &mut t[8..8 + words] {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
            Template::from_bytes(&t).unwrap()
        })
        .collect();
    // The probe's own palm somewhere in the middle.
    gallery[n / 2] = mate;
    println!(
        "\n1:N gallery: {n} synthetic {} templates made in {:.1} s",
        signature::CURRENT.name(),
        t.elapsed().as_secs_f64()
    );
    // Full shift search over every template (the baseline), then the service's search:
    // a coarse pass on every third plane, the full search only near the threshold band.
    let full = |part: &[Template]| {
        part.iter()
            .enumerate()
            .filter_map(|(i, t)| probe.distance(t, MAX_SHIFT).map(|d| (i, d.value)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    };
    let cutoff = signature::MATCH_THRESHOLD + signature::AMBIGUITY_MARGIN;
    let search = |part: &[Template]| {
        part.iter()
            .enumerate()
            .filter_map(|(i, t)| {
                probe
                    .distance_within(t, MAX_SHIFT, cutoff)
                    .map(|d| (i, d.value))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
    };
    let t = Instant::now();
    let baseline = full(&gallery).unwrap();
    let full_secs = t.elapsed().as_secs_f64();
    assert_eq!(baseline.0, n / 2, "the mate must be the best match");
    let t = Instant::now();
    let best = search(&gallery).unwrap();
    let one = t.elapsed().as_secs_f64();
    assert_eq!(best.0, n / 2, "the mate must be the best match");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let chunk = n.div_ceil(threads);
    let found: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = gallery
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| s.spawn(move || search(part).map(|(i, d)| (k * chunk + i, d))))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    let all = t.elapsed().as_secs_f64();
    let best_all = found
        .into_iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert_eq!(best_all.0, n / 2);
    println!(
        "1:N over {n}, one thread: full shift search {full_secs:.2} s; coarse-then-full search \
         {one:.2} s ({:.1}x faster, {:.0} templates/s); {all:.2} s on {threads} threads; best {:.3} \
         (the mate), threshold {}",
        full_secs / one,
        n as f64 / one,
        best.1,
        signature::MATCH_THRESHOLD
    );
}
