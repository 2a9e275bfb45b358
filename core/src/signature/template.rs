//! The palm template: bit planes of the code grid with a mask per plane, in a compact
//! versioned binary form, and the masked, normalized Hamming distance between two of them
//! with a small translation search.
//!
//! Binary form (little-endian): byte 0 the format version ([`FORMAT_VERSION`]), byte 1 the
//! algorithm id, bytes 2-3 the grid width and height, byte 4 the number of planes, bytes
//! 5-7 zero; then `planes * height` rows of code bits (`u32`, bit x = grid column x), then
//! as many rows of mask bits (1 = the bit is usable).

use super::Algorithm;
use super::gabor::GRID;

/// How far above the cutoff a template's coarse-pass best may be and still get the full
/// search in [`Template::distance_within`] (the coarse pass sees a third of the bits, so
/// its distance is noisier).
pub const COARSE_SLACK: f32 = 0.08;
/// The coarse pass compares every this-many-th bit plane.
const COARSE_PLANE_STEP: usize = 3;

/// The binary format's version: bumped when the layout changes.
pub const FORMAT_VERSION: u8 = 1;
const HEADER: usize = 8;

/// A palm template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    algorithm: Algorithm,
    planes: usize,
    /// `planes * GRID` rows of code bits.
    bits: Vec<u32>,
    /// `planes * GRID` rows of mask bits.
    mask: Vec<u32>,
}

/// Why bytes are not a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Shorter than its header says.
    #[error("the template is {len} bytes; its header needs {needed}")]
    Truncated {
        /// Bytes given.
        len: usize,
        /// Bytes the header implies.
        needed: usize,
    },
    /// A format version this build does not read.
    #[error("template format version {0} is not known here (this build reads {FORMAT_VERSION})")]
    UnknownFormat(u8),
    /// An algorithm id this build does not know.
    #[error("template algorithm id {0} is not known here")]
    UnknownAlgorithm(u8),
    /// A grid or plane count the algorithm does not produce.
    #[error("the template's shape ({width}x{height}, {planes} planes) is not its algorithm's")]
    BadShape {
        /// Grid width.
        width: u8,
        /// Grid height.
        height: u8,
        /// Planes.
        planes: u8,
    },
}

/// The distance between two templates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Distance {
    /// Share of usable bits that differ at the best shift: 0 identical, ~0.5 unrelated.
    pub value: f32,
    /// Usable bits compared at that shift.
    pub bits: u32,
    /// The shift (grid columns, rows) of the second template that gave it.
    pub shift: (i8, i8),
}

impl Template {
    pub(crate) fn new(algorithm: Algorithm, planes: usize, bits: Vec<u32>, mask: Vec<u32>) -> Self {
        debug_assert_eq!(bits.len(), planes * GRID);
        debug_assert_eq!(mask.len(), planes * GRID);
        Self {
            algorithm,
            planes,
            bits,
            mask,
        }
    }

    /// The algorithm that made it.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Bit planes.
    pub fn planes(&self) -> usize {
        self.planes
    }

    /// Plane `p`'s rows of code bits and of mask bits (bit x = grid column x).
    pub(crate) fn plane_rows(&self, p: usize) -> (&[u32], &[u32]) {
        let rows = p * GRID..(p + 1) * GRID;
        (&self.bits[rows.clone()], &self.mask[rows])
    }

    /// A template of random code bits, every bit usable (the service's algorithm's shape).
    #[cfg(test)]
    pub(crate) fn random_for_tests(seed: u64) -> Self {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u32
        };
        let planes = Algorithm::Bocv.planes();
        let bits = (0..planes * GRID).map(|_| next()).collect();
        Template::new(Algorithm::Bocv, planes, bits, vec![u32::MAX; planes * GRID])
    }

    /// This template moved by (`dx`, `dy`) grid points (row y of the result is row y - dy,
    /// column x column x - dx; what moves in from outside is unusable).
    #[cfg(test)]
    pub(crate) fn moved_for_tests(&self, dx: i8, dy: i8) -> Self {
        let mut moved = self.clone();
        for p in 0..self.planes {
            for y in 0..GRID {
                let sy = y as isize - isize::from(dy);
                let (b, m) = if (0..GRID as isize).contains(&sy) {
                    let i = p * GRID + sy as usize;
                    let mv = |w: u32| if dx >= 0 { w << dx } else { w >> (-dx) };
                    (mv(self.bits[i]), mv(self.mask[i]))
                } else {
                    (0, 0)
                };
                moved.bits[p * GRID + y] = b;
                moved.mask[p * GRID + y] = m;
            }
        }
        moved
    }

    /// Usable bits (set in the mask).
    pub fn usable_bits(&self) -> u32 {
        self.mask.iter().map(|m| m.count_ones()).sum()
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 8 * self.bits.len());
        out.extend_from_slice(&[
            FORMAT_VERSION,
            self.algorithm.id(),
            GRID as u8,
            GRID as u8,
            self.planes as u8,
            0,
            0,
            0,
        ]);
        for row in self.bits.iter().chain(&self.mask) {
            out.extend_from_slice(&row.to_le_bytes());
        }
        out
    }

    /// Reads the binary form, checking every field.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TemplateError> {
        if bytes.len() < HEADER {
            return Err(TemplateError::Truncated {
                len: bytes.len(),
                needed: HEADER,
            });
        }
        if bytes[0] != FORMAT_VERSION {
            return Err(TemplateError::UnknownFormat(bytes[0]));
        }
        let algorithm =
            Algorithm::from_id(bytes[1]).ok_or(TemplateError::UnknownAlgorithm(bytes[1]))?;
        let (width, height, planes) = (bytes[2], bytes[3], bytes[4]);
        if usize::from(width) != GRID
            || usize::from(height) != GRID
            || usize::from(planes) != algorithm.planes()
        {
            return Err(TemplateError::BadShape {
                width,
                height,
                planes,
            });
        }
        let rows = usize::from(planes) * GRID;
        let needed = HEADER + 8 * rows;
        if bytes.len() != needed {
            return Err(TemplateError::Truncated {
                len: bytes.len(),
                needed,
            });
        }
        let words: Vec<u32> = bytes[HEADER..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let (bits, mask) = words.split_at(rows);
        Ok(Self::new(
            algorithm,
            planes.into(),
            bits.to_vec(),
            mask.to_vec(),
        ))
    }

    /// The masked, normalized Hamming distance to `other`, the least over shifts of up to
    /// `max_shift` grid points each way (a shift counts only when at least a third of the
    /// bits stay usable, so a sliver of overlap cannot score well by chance). `None` when
    /// the two are of different algorithms or no shift overlaps enough.
    pub fn distance(&self, other: &Template, max_shift: i8) -> Option<Distance> {
        #[cfg(target_arch = "x86_64")]
        if super::coarse::has_popcnt() {
            // SAFETY: the processor has the instruction (checked just above).
            return unsafe { self.distance_popcnt(other, max_shift) };
        }
        self.distance_here(other, max_shift)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn distance_popcnt(&self, other: &Template, max_shift: i8) -> Option<Distance> {
        self.distance_here(other, max_shift)
    }

    #[inline(always)]
    fn distance_here(&self, other: &Template, max_shift: i8) -> Option<Distance> {
        if self.algorithm != other.algorithm {
            return None;
        }
        let min_bits = (self.usable_bits().min(other.usable_bits()) / 3).max(1);
        let mut best: Option<Distance> = None;
        for dy in -max_shift..=max_shift {
            for dx in -max_shift..=max_shift {
                let (diff, bits) = self.compare_at(other, dx, dy);
                if bits < min_bits {
                    continue;
                }
                let value = diff as f32 / bits as f32;
                if best.is_none_or(|b| value < b.value) {
                    best = Some(Distance {
                        value,
                        bits,
                        shift: (dx, dy),
                    });
                }
            }
        }
        best
    }

    /// As [`distance`](Self::distance), for searching many templates: first every shift
    /// on every third bit plane only (a third of the work), and only when that pass's best
    /// is within `cutoff + COARSE_SLACK` the full search. `None` also when the coarse pass
    /// shows `other` cannot come within `cutoff`. (A pass over fewer *shifts* instead
    /// drops true matches: the code decorrelates within one grid point; `palmkit
    /// signature-eval` prints how many genuine pairs the coarse pass would drop.)
    pub fn distance_within(
        &self,
        other: &Template,
        max_shift: i8,
        cutoff: f32,
    ) -> Option<Distance> {
        #[cfg(target_arch = "x86_64")]
        if super::coarse::has_popcnt() {
            // SAFETY: the processor has the instruction (checked just above).
            return unsafe { self.distance_within_popcnt(other, max_shift, cutoff) };
        }
        self.distance_within_here(other, max_shift, cutoff)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn distance_within_popcnt(
        &self,
        other: &Template,
        max_shift: i8,
        cutoff: f32,
    ) -> Option<Distance> {
        self.distance_within_here(other, max_shift, cutoff)
    }

    #[inline(always)]
    fn distance_within_here(
        &self,
        other: &Template,
        max_shift: i8,
        cutoff: f32,
    ) -> Option<Distance> {
        if self.algorithm != other.algorithm {
            return None;
        }
        let min_bits =
            ((self.usable_bits().min(other.usable_bits()) / 3) / COARSE_PLANE_STEP as u32).max(1);
        let mut coarse = f32::INFINITY;
        for dy in -max_shift..=max_shift {
            for dx in -max_shift..=max_shift {
                let (diff, bits) = self.compare_planes(other, dx, dy, COARSE_PLANE_STEP);
                if bits >= min_bits {
                    coarse = coarse.min(diff as f32 / bits as f32);
                }
            }
        }
        if coarse > cutoff + COARSE_SLACK {
            return None;
        }
        self.distance_here(other, max_shift)
    }

    /// Differing and usable bits with `other` moved by (`dx`, `dy`) grid points: row y of
    /// self meets row y + dy of other, column x meets column x + dx.
    #[inline(always)]
    fn compare_at(&self, other: &Template, dx: i8, dy: i8) -> (u32, u32) {
        self.compare_planes(other, dx, dy, 1)
    }

    /// As `compare_at` over every `step`-th plane.
    #[inline(always)]
    fn compare_planes(&self, other: &Template, dx: i8, dy: i8, step: usize) -> (u32, u32) {
        let (mut diff, mut bits) = (0u32, 0u32);
        let dy = isize::from(dy);
        let y_lo = (-dy).max(0) as usize;
        let y_hi = (GRID as isize - dy).min(GRID as isize) as usize;
        let shift = |w: u32| -> u32 {
            // Column x of `other` moves to x - dx so it lines up with column x of self.
            if dx >= 0 { w >> dx } else { w << (-dx) }
        };
        for p in (0..self.planes).step_by(step) {
            let base = p * GRID;
            for y in y_lo..y_hi {
                let oy = (y as isize + dy) as usize;
                let a = self.bits[base + y];
                let am = self.mask[base + y];
                let b = shift(other.bits[base + oy]);
                let bm = shift(other.mask[base + oy]);
                let m = am & bm;
                diff += ((a ^ b) & m).count_ones();
                bits += m.count_ones();
            }
        }
        (diff, bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_template(seed: u64) -> Template {
        Template::random_for_tests(seed)
    }

    #[test]
    fn the_binary_form_round_trips_and_refuses_damage() {
        let t = random_template(1);
        let bytes = t.to_bytes();
        assert_eq!(bytes.len(), 8 + 8 * 6 * 32);
        assert_eq!(Template::from_bytes(&bytes).unwrap(), t);
        assert!(matches!(
            Template::from_bytes(&bytes[..100]),
            Err(TemplateError::Truncated { .. })
        ));
        let mut wrong = bytes.clone();
        wrong[0] = 9;
        assert_eq!(
            Template::from_bytes(&wrong),
            Err(TemplateError::UnknownFormat(9))
        );
        wrong = bytes.clone();
        wrong[1] = 200;
        assert_eq!(
            Template::from_bytes(&wrong),
            Err(TemplateError::UnknownAlgorithm(200))
        );
        wrong = bytes;
        wrong[4] = 5;
        assert!(matches!(
            Template::from_bytes(&wrong),
            Err(TemplateError::BadShape { .. })
        ));
    }

    #[test]
    fn distance_finds_a_shifted_copy_and_unrelated_codes_sit_near_one_half() {
        let t = random_template(7);
        assert_eq!(t.distance(&t, 3).unwrap().value, 0.0);
        // The same code moved 2 columns right and 1 row down.
        let mut moved = t.clone();
        for p in 0..t.planes {
            for y in 0..GRID {
                let from = y
                    .checked_sub(1)
                    .map(|sy| t.bits[p * GRID + sy] << 2)
                    .unwrap_or(0);
                moved.bits[p * GRID + y] = from;
                let m = y
                    .checked_sub(1)
                    .map(|sy| t.mask[p * GRID + sy] << 2)
                    .unwrap_or(0);
                moved.mask[p * GRID + y] = m;
            }
        }
        let d = t.distance(&moved, 3).unwrap();
        assert_eq!((d.value, d.shift), (0.0, (2, 1)));
        // The search's coarse pass keeps the shifted copy (same answer) and drops the
        // unrelated code.
        assert_eq!(t.distance_within(&moved, 3, 0.22), Some(d));
        assert_eq!(t.distance_within(&random_template(8), 3, 0.22), None);
        let far = t.distance(&random_template(8), 0).unwrap();
        assert!((far.value - 0.5).abs() < 0.03, "{}", far.value);
        assert!(t.distance(&moved, 0).unwrap().value > 0.4);
    }
}
