//! The coarse code: the candidate stage of the 1:N store match, a compact part of each
//! template that a scan over every indexed row can afford, and that never drops a pair the
//! exact distance would put within the match band.
//!
//! Two block-majority codes of a [`Template`], each block one bit (its majority, or
//! unusable when too few of its bits are usable or its vote is not clear):
//! - **locate**: planes 0, 2 and 4 in 4 x 4 blocks (one `u64` per plane). The probe's code
//!   is made at 9 shifts (every 2 grid points within ±2); the best of them says roughly how
//!   the two templates line up, and rows farther than [`LOCATE_CUTOFF`] are dropped.
//! - **refine**: planes 0 and 3 in 2 x 2 blocks (four `u64` per plane). The probe's code is
//!   made at every one of the exact search's 49 shifts; a row is compared at the 3 x 3
//!   shifts around the one the locate code found, and it is a candidate when the best of
//!   those is within [`COARSE_CUTOFF`].
//!
//! Why this shape (measured on the COEP palms, `palmkit signature-eval` and
//! docs/palm-signature.md): 4 x 4 block codes alone are cheap but not selective (palms
//! share their major lines, which is what survives such blocks: a third to a fifth of the
//! impostor pairs pass any cut that keeps every genuine pair); full-resolution codes need
//! every shift (the code decorrelates within one grid point), which is the exact search's
//! cost. 2 x 2 blocks keep the texture that tells palms apart and survive half-block
//! misalignment; the locate code finds the alignment for them at a ninth of the cost.
//!
//! Every word holds "ones" and "zeros" separately (a block is in at most one; unusable
//! blocks in neither), so the differing usable bits of two codes are
//! `popcount(ones_a & zeros_b | zeros_a & ones_b)` and the usable ones
//! `popcount((ones_a | zeros_a) & (ones_b | zeros_b))`.

use super::gabor::GRID;
use super::template::Template;

/// The locate code's planes, block side and probe shifts.
const LOCATE_PLANES: [usize; 3] = [0, 2, 4];
const LOCATE_BLOCK: usize = 4;
const LOCATE_SHIFTS: [i8; 3] = [-2, 0, 2];
/// Words per plane of the locate code (8 x 8 blocks).
const LOCATE_WORDS: usize = 1;
/// The refine code's planes and block side; its probe shifts are the exact search's.
const REFINE_PLANES: [usize; 2] = [0, 3];
const REFINE_BLOCK: usize = 2;
/// Words per plane of the refine code (16 x 16 blocks).
const REFINE_WORDS: usize = 4;
/// The exact search's shift range, grid points each way (`super::MAX_SHIFT`).
const SHIFT: i8 = super::MAX_SHIFT;
const SHIFT_SIDE: usize = 2 * SHIFT as usize + 1;

const LOCATE_LEN: usize = LOCATE_PLANES.len() * LOCATE_WORDS;
const REFINE_LEN: usize = REFINE_PLANES.len() * REFINE_WORDS;
/// Words of a row's locate code (ones, then zeros) and of its refine code.
pub const LOCATE_ROW: usize = 2 * LOCATE_LEN;
pub const REFINE_ROW: usize = 2 * REFINE_LEN;
/// Words of one gallery row: locate ones, locate zeros, refine ones, refine zeros.
pub const CODE_WORDS: usize = LOCATE_ROW + REFINE_ROW;

/// Rows whose best locate distance is above this are not refined. Set well above the
/// largest genuine locate distance measured (0.184 clean, 0.213 degraded on COEP).
pub const LOCATE_CUTOFF: f32 = 0.27;
/// The refine distance at or under which a row is a candidate for the exact distance. The
/// largest genuine refine distance measured on COEP is 0.170 clean, 0.161 degraded (for
/// every genuine pair within the match band); impostors start at ~0.22 (1 %).
pub const COARSE_CUTOFF: f32 = 0.21;

/// The fewest usable bits a comparison of `len`-word codes needs to say anything: a sixth
/// of the blocks, so a sliver cannot score well by chance.
const fn min_usable(len: usize) -> u32 {
    (len * 64 / 6) as u32
}

/// The coarse code of one gallery template ([`CODE_WORDS`] words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoarseCode {
    words: [u64; CODE_WORDS],
}

impl CoarseCode {
    /// The coarse code of `t` as it is (unshifted).
    pub fn of(t: &Template) -> Self {
        let mut words = [0u64; CODE_WORDS];
        let (locate, refine) = words.split_at_mut(2 * LOCATE_LEN);
        code_into(t, &LOCATE_PLANES, LOCATE_BLOCK, 0, 0, locate);
        code_into(t, &REFINE_PLANES, REFINE_BLOCK, 0, 0, refine);
        Self { words }
    }

    /// Its words (what an index stores, [`CODE_WORDS`] per row).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The locate code's words ([`LOCATE_ROW`]), what the pass over every row reads.
    pub fn locate_words(&self) -> &[u64] {
        &self.words[..LOCATE_ROW]
    }

    /// The refine code's words ([`REFINE_ROW`]), read for the rows the locate code keeps.
    pub fn refine_words(&self) -> &[u64] {
        &self.words[LOCATE_ROW..]
    }
}

/// The probe's codes at the shifts the stage tries.
#[derive(Clone, Debug)]
pub struct ProbeCodes {
    /// 9 locate codes (`2 * LOCATE_LEN` words each), in `LOCATE_SHIFTS` order (dy major).
    locate: Vec<[u64; 2 * LOCATE_LEN]>,
    /// 49 refine codes (`2 * REFINE_LEN` words each) at shift (dx, dy), index
    /// `(dy + 3) * 7 + dx + 3`.
    refine: Vec<[u64; 2 * REFINE_LEN]>,
    /// Each code's usable words (ones | zeros).
    locate_usable: Vec<[u64; LOCATE_LEN]>,
    refine_usable: Vec<[u64; REFINE_LEN]>,
}

impl ProbeCodes {
    /// The coarse codes of `probe` at every shift the stage tries.
    pub fn of(probe: &Template) -> Self {
        let mut locate = Vec::with_capacity(LOCATE_SHIFTS.len().pow(2));
        for dy in LOCATE_SHIFTS {
            for dx in LOCATE_SHIFTS {
                let mut w = [0u64; 2 * LOCATE_LEN];
                code_into(probe, &LOCATE_PLANES, LOCATE_BLOCK, -dx, -dy, &mut w);
                locate.push(w);
            }
        }
        let mut refine = Vec::with_capacity(SHIFT_SIDE * SHIFT_SIDE);
        for dy in -SHIFT..=SHIFT {
            for dx in -SHIFT..=SHIFT {
                let mut w = [0u64; 2 * REFINE_LEN];
                code_into(probe, &REFINE_PLANES, REFINE_BLOCK, -dx, -dy, &mut w);
                refine.push(w);
            }
        }
        Self {
            locate_usable: locate.iter().map(|c| usable::<LOCATE_LEN>(c)).collect(),
            refine_usable: refine.iter().map(|c| usable::<REFINE_LEN>(c)).collect(),
            locate,
            refine,
        }
    }

    /// The coarse distance to one gallery row (the [`CoarseCode::words`] of a template):
    /// the refine distance around the best locate shift, 1.0 when the locate stage drops
    /// the row, too few bits are usable to say, or `row` is not [`CODE_WORDS`] long.
    pub fn distance(&self, row: &[u64]) -> f32 {
        if row.len() != CODE_WORDS {
            return 1.0;
        }
        let (locate, refine) = row.split_at(LOCATE_ROW);
        #[cfg(target_arch = "x86_64")]
        if has_popcnt() {
            // SAFETY: the processor has the instruction (checked just above).
            return unsafe { self.row_distance_popcnt(locate, refine) };
        }
        self.row_distance(locate, refine)
    }

    /// The rows (by index) that `keep` allows and whose coarse distance is within
    /// [`COARSE_CUTOFF`], appended to `out`. `locate` holds every row's
    /// [`CoarseCode::locate_words`] back to back, `refine` their
    /// [`CoarseCode::refine_words`] (two arrays, so the pass over every row reads only
    /// the first; rows past the shorter array's end are not looked at). One pass; the
    /// popcount instruction is used where the processor has it.
    pub fn candidates(
        &self,
        locate: &[u64],
        refine: &[u64],
        keep: impl FnMut(usize) -> bool,
        out: &mut Vec<usize>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if has_popcnt() {
            // SAFETY: the processor has the instruction (checked just above).
            return unsafe { self.candidates_popcnt(locate, refine, keep, out) };
        }
        self.candidates_here(locate, refine, keep, out)
    }

    #[inline(always)]
    fn candidates_here(
        &self,
        locate: &[u64],
        refine: &[u64],
        mut keep: impl FnMut(usize) -> bool,
        out: &mut Vec<usize>,
    ) {
        let rows = locate
            .chunks_exact(LOCATE_ROW)
            .zip(refine.chunks_exact(REFINE_ROW));
        for (i, (l, r)) in rows.enumerate() {
            if keep(i) && self.row_distance(l, r) <= COARSE_CUTOFF {
                out.push(i);
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn candidates_popcnt(
        &self,
        locate: &[u64],
        refine: &[u64],
        keep: impl FnMut(usize) -> bool,
        out: &mut Vec<usize>,
    ) {
        self.candidates_here(locate, refine, keep, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn row_distance_popcnt(&self, locate: &[u64], refine: &[u64]) -> f32 {
        self.row_distance(locate, refine)
    }

    /// The locate stage: the best of the probe's locate shifts for this row (an index into
    /// `LOCATE_SHIFTS` squared), `None` when its share is over [`LOCATE_CUTOFF`].
    #[inline(always)]
    fn located(&self, locate: &[u64]) -> Option<usize> {
        let (best, at) = self.best_locate(locate);
        (best.share() <= LOCATE_CUTOFF).then_some(at)
    }

    /// The best locate share over the probe's locate shifts for one gallery row (its
    /// [`CoarseCode::words`]; 1.0 when too few bits are usable to say or `row` is not
    /// [`CODE_WORDS`] long): what the locate stage compares with [`LOCATE_CUTOFF`], for
    /// evaluations (`palmkit signature-eval`).
    pub fn locate_share(&self, row: &[u64]) -> f32 {
        if row.len() != CODE_WORDS {
            return 1.0;
        }
        self.best_locate(&row[..LOCATE_ROW]).0.share()
    }

    /// The best locate comparison and its shift's index.
    #[inline(always)]
    fn best_locate(&self, locate: &[u64]) -> (Count, usize) {
        let locate_usable = usable::<LOCATE_LEN>(locate);
        // The best locate shift, compared as fractions (diff / bits) without dividing.
        let (mut best, mut at) = (Count::NONE, 0usize);
        for (k, (probe, probe_usable)) in self.locate.iter().zip(&self.locate_usable).enumerate() {
            let c = count(probe, probe_usable, locate, &locate_usable, LOCATE_LEN);
            if c.below(best) {
                (best, at) = (c, k);
            }
        }
        (best, at)
    }

    #[inline(always)]
    fn row_distance(&self, locate: &[u64], refine: &[u64]) -> f32 {
        let Some(at) = self.located(locate) else {
            return 1.0;
        };
        // The locate shift's (dx, dy), and the refine shifts within one point of it.
        let side = LOCATE_SHIFTS.len();
        let (lx, ly) = (LOCATE_SHIFTS[at % side], LOCATE_SHIFTS[at / side]);
        let refine_usable = usable::<REFINE_LEN>(refine);
        let mut refined = Count::NONE;
        for dy in (ly - 1).max(-SHIFT)..=(ly + 1).min(SHIFT) {
            for dx in (lx - 1).max(-SHIFT)..=(lx + 1).min(SHIFT) {
                let k = (dy + SHIFT) as usize * SHIFT_SIDE + (dx + SHIFT) as usize;
                let c = count(
                    &self.refine[k],
                    &self.refine_usable[k],
                    refine,
                    &refine_usable,
                    REFINE_LEN,
                );
                if c.below(refined) {
                    refined = c;
                }
            }
        }
        refined.share()
    }
}

/// Differing and usable bits of two codes; `bits == 0` when too few are usable to say.
#[derive(Clone, Copy)]
struct Count {
    diff: u32,
    bits: u32,
}

impl Count {
    /// No comparison (share 1.0).
    const NONE: Count = Count { diff: 1, bits: 0 };

    /// Whether this share is below `other`'s (any share is below NONE).
    #[inline(always)]
    fn below(self, other: Count) -> bool {
        self.bits > 0 && (other.bits == 0 || self.diff * other.bits < other.diff * self.bits)
    }

    #[inline(always)]
    fn share(self) -> f32 {
        if self.bits == 0 {
            1.0
        } else {
            self.diff as f32 / self.bits as f32
        }
    }
}

/// The differing and usable bits of two codes of `len` words of ones then `len` of zeros;
/// too few usable (under a sixth of the blocks in both) counts as none, so a sliver cannot
/// score well by chance. `am` and `bm` are the codes' usable words (ones | zeros), made
/// once per row and per probe code rather than at every comparison.
#[inline(always)]
fn count(a: &[u64], am: &[u64], b: &[u64], bm: &[u64], len: usize) -> Count {
    let (a1, a0) = a.split_at(len);
    let (b1, b0) = b.split_at(len);
    let (mut diff, mut bits) = (0u32, 0u32);
    for k in 0..len {
        diff += ((a1[k] & b0[k]) | (a0[k] & b1[k])).count_ones();
        bits += (am[k] & bm[k]).count_ones();
    }
    if bits < min_usable(len) {
        return Count::NONE;
    }
    Count { diff, bits }
}

/// The usable words (ones | zeros) of a code of `N` words of ones then `N` of zeros.
#[inline(always)]
fn usable<const N: usize>(code: &[u64]) -> [u64; N] {
    std::array::from_fn(|k| code[k] | code[N + k])
}

/// Whether this processor has the popcount instruction. The x86_64 baseline the release
/// build targets does not, so `count_ones` is a dozen instructions there, and the stage
/// and the exact distance are nothing but popcounts: each has a copy compiled for the
/// instruction (`#[target_feature]`), called when this says so.
#[inline]
pub(crate) fn has_popcnt() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The block code of `planes` of `t` moved by (`dx`, `dy`) grid points, blocks of `block`
/// points a side: `out` gets the ones words of every plane, then the zeros words.
fn code_into(t: &Template, planes: &[usize], block: usize, dx: i8, dy: i8, out: &mut [u64]) {
    let blocks = GRID / block;
    let words = blocks * blocks / 64;
    let half = out.len() / 2;
    let (ones, zeros) = out.split_at_mut(half);
    // A block's vote counts when at least half its bits are usable and its ones and zeros
    // differ clearly (by 2 in a 16-bit block, 1 in a 4-bit one).
    let need = (block * block / 2) as u32;
    let margin = if block >= 4 { 2 } else { 1 };
    let cols = (1u32 << block) - 1;
    for (n, &p) in planes.iter().enumerate() {
        let (bits, mask) = t.plane_rows(p);
        // Row y of the moved template is row y - dy of the template, column x its column
        // x - dx; what moves in from outside is unusable (mask 0).
        let row = |rows: &[u32], y: usize| -> u32 {
            let sy = y as isize - isize::from(dy);
            if !(0..GRID as isize).contains(&sy) {
                return 0;
            }
            let w = rows[sy as usize];
            if dx >= 0 { w << dx } else { w >> (-dx) }
        };
        for by in 0..blocks {
            for bx in 0..blocks {
                let cols = cols << (bx * block);
                let (mut usable, mut set) = (0u32, 0u32);
                for y in by * block..(by + 1) * block {
                    let m = row(mask, y) & cols;
                    usable += m.count_ones();
                    set += (row(bits, y) & m).count_ones();
                }
                let unset = usable - set;
                if usable >= need && set.abs_diff(unset) >= margin {
                    let at = by * blocks + bx;
                    let (word, bit) = (n * words + at / 64, 1u64 << (at % 64));
                    if set > unset {
                        ones[word] |= bit;
                    } else {
                        zeros[word] |= bit;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_at_coarse_distance_zero_of_itself_and_of_a_shifted_copy() {
        let t = Template::random_for_tests(3);
        let probe = ProbeCodes::of(&t);
        let own = CoarseCode::of(&t);
        assert_eq!(probe.distance(own.words()), 0.0);
        // The same template moved by 2 columns and 2 rows: its code is one of the probe's
        // shifted codes, so it is found at distance 0 (the blocks moved in from outside
        // are unusable in both).
        let moved = t.moved_for_tests(2, 2);
        assert_eq!(probe.distance(CoarseCode::of(&moved).words()), 0.0);
        let other = CoarseCode::of(&Template::random_for_tests(4));
        let d = probe.distance(other.words());
        assert!(d > 0.3, "unrelated random codes at {d}");
    }

    #[test]
    fn candidates_are_the_kept_rows_within_the_cutoff() {
        let t = Template::random_for_tests(5);
        let probe = ProbeCodes::of(&t);
        let (mut locate, mut refine) = (Vec::new(), Vec::new());
        for seed in [5, 6, 5, 7] {
            let code = CoarseCode::of(&Template::random_for_tests(seed));
            locate.extend_from_slice(code.locate_words());
            refine.extend_from_slice(code.refine_words());
        }
        let mut out = Vec::new();
        probe.candidates(&locate, &refine, |i| i != 2, &mut out);
        assert_eq!(out, vec![0]);
    }
}
