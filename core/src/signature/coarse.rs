//! The coarse code: the candidate stage of the 1:N store match. Each bit plane of a
//! [`Template`] is reduced to 8 x 8 blocks of 4 x 4 grid points, one majority bit per block
//! (and a mask bit when the block has enough usable bits and its vote is clear): one `u64`
//! of code and one of mask per plane, 96 bytes for the service's 6-plane code instead of
//! the template's 1 536.
//!
//! Shifts: the exact distance searches shifts of up to [`super::MAX_SHIFT`] grid points. A
//! block is 4 points wide, so the probe's coarse code is made at a few shifts of its own
//! ([`ProbeCodes`], every 2 points within the search) and a gallery code is compared with
//! each; the least distance is the coarse distance. Gallery codes are made once, unshifted.
//! The cut between candidates and the rest ([`COARSE_CUTOFF`]) is set on real genuine
//! pairs so that none within the match band is dropped (`palmkit signature-eval` prints
//! `index_lost`).

use super::Algorithm;
use super::gabor::GRID;
use super::template::Template;

/// Blocks per side.
const BLOCKS: usize = 8;
/// Grid points per block side.
const BLOCK: usize = GRID / BLOCKS;
/// A block's vote counts when at least this many of its 16 bits are usable…
const MIN_USABLE: u32 = 8;
/// …and its ones and zeros differ by at least this.
const MIN_MARGIN: u32 = 2;
/// The probe shifts the coarse stage tries, grid points each way (every 2 within ±2: the
/// residual misalignment is at most one point, a quarter of a block, inside ±3).
const PROBE_SHIFTS: [i8; 3] = [-2, 0, 2];

/// The coarse distance at or under which a gallery template is a candidate for the exact
/// distance.
pub const COARSE_CUTOFF: f32 = 0.36;

/// The coarse code of one template: per plane, one `u64` of block bits (bit `by * 8 + bx`)
/// and one of mask bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoarseCode {
    algorithm: Algorithm,
    /// `planes` words of code, then `planes` words of mask.
    words: Vec<u64>,
}

impl CoarseCode {
    /// The coarse code of `t` moved by (`dx`, `dy`) grid points (0, 0: as it is).
    pub fn of(t: &Template, dx: i8, dy: i8) -> Self {
        let planes = t.planes();
        let mut words = vec![0u64; 2 * planes];
        for p in 0..planes {
            let (code, mask) = plane_code(t, p, dx, dy);
            words[p] = code;
            words[planes + p] = mask;
        }
        Self {
            algorithm: t.algorithm(),
            words,
        }
    }

    /// The algorithm of the template it came from.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Its words: `planes` of code, then `planes` of mask (what an index stores).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Usable block bits.
    pub fn usable(&self) -> u32 {
        let planes = self.words.len() / 2;
        self.words[planes..].iter().map(|m| m.count_ones()).sum()
    }
}

/// The probe's coarse codes at the shifts the coarse stage tries.
#[derive(Clone, Debug)]
pub struct ProbeCodes {
    codes: Vec<CoarseCode>,
}

impl ProbeCodes {
    /// The coarse codes of `probe` at every shift in `PROBE_SHIFTS` squared.
    pub fn of(probe: &Template) -> Self {
        let mut codes = Vec::with_capacity(PROBE_SHIFTS.len() * PROBE_SHIFTS.len());
        for dy in PROBE_SHIFTS {
            for dx in PROBE_SHIFTS {
                codes.push(CoarseCode::of(probe, dx, dy));
            }
        }
        Self { codes }
    }

    /// The coarse distance to gallery `words` (a [`CoarseCode::words`] of the same
    /// algorithm): the least masked Hamming share over the probe's shifts; 1.0 when no
    /// shift leaves enough usable bits.
    #[inline]
    pub fn distance(&self, words: &[u64]) -> f32 {
        let mut best = 1.0f32;
        for code in &self.codes {
            best = best.min(distance(&code.words, words));
        }
        best
    }

    /// The algorithm of the probe.
    pub fn algorithm(&self) -> Algorithm {
        self.codes[0].algorithm
    }
}

/// The masked Hamming share between two coarse codes' words (1.0 with too few bits in
/// common to say).
#[inline]
pub fn distance(a: &[u64], b: &[u64]) -> f32 {
    let planes = a.len() / 2;
    let (mut diff, mut bits) = (0u32, 0u32);
    for p in 0..planes.min(b.len() / 2) {
        let m = a[planes + p] & b[planes + p];
        diff += ((a[p] ^ b[p]) & m).count_ones();
        bits += m.count_ones();
    }
    // A third of one plane's blocks at least, so a sliver cannot score well by chance.
    if bits < (BLOCKS * BLOCKS / 3) as u32 {
        return 1.0;
    }
    diff as f32 / bits as f32
}

/// One plane's block code and mask, the template moved by (`dx`, `dy`).
fn plane_code(t: &Template, plane: usize, dx: i8, dy: i8) -> (u64, u64) {
    let (bits, mask) = t.plane_rows(plane);
    let row = |rows: &[u32], y: isize| -> u32 {
        // Row y of the moved template is row y - dy of the template, column x its column
        // x - dx; what moves in from outside is unusable (mask 0).
        let sy = y - isize::from(dy);
        if !(0..GRID as isize).contains(&sy) {
            return 0;
        }
        let w = rows[sy as usize];
        if dx >= 0 { w << dx } else { w >> (-dx) }
    };
    let (mut code, mut usable_mask) = (0u64, 0u64);
    for by in 0..BLOCKS {
        for bx in 0..BLOCKS {
            let cols = 0xFu32 << (bx * BLOCK);
            let (mut usable, mut ones) = (0u32, 0u32);
            for y in by * BLOCK..(by + 1) * BLOCK {
                let m = row(mask, y as isize) & cols;
                usable += m.count_ones();
                ones += (row(bits, y as isize) & m).count_ones();
            }
            let zeros = usable - ones;
            if usable >= MIN_USABLE && ones.abs_diff(zeros) >= MIN_MARGIN {
                let bit = 1u64 << (by * BLOCKS + bx);
                usable_mask |= bit;
                if ones > zeros {
                    code |= bit;
                }
            }
        }
    }
    (code, usable_mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_at_coarse_distance_zero_of_itself_and_of_a_shifted_copy_nearly() {
        let t = Template::random_for_tests(3);
        let probe = ProbeCodes::of(&t);
        let own = CoarseCode::of(&t, 0, 0);
        assert_eq!(probe.distance(own.words()), 0.0);
        // The same template moved by 2 columns is among the probe's shifts: distance 0.
        let moved = CoarseCode::of(&t, 2, 0);
        assert_eq!(probe.distance(moved.words()), 0.0);
        let other = CoarseCode::of(&Template::random_for_tests(4), 0, 0);
        let d = probe.distance(other.words());
        assert!(d > 0.3, "unrelated random codes at {d}");
    }
}
