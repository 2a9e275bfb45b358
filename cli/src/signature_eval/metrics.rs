//! Verification and identification figures from distances: EER, TAR at a FAR, rank-1.
//! A pair is accepted when its distance is at most the threshold.

/// Genuine and impostor distances of a run.
#[derive(Default)]
pub struct Scores {
    pub genuine: Vec<f32>,
    pub impostor: Vec<f32>,
}

/// The equal error rate and the threshold where it is reached.
pub struct Eer {
    pub rate: f64,
    pub threshold: f32,
}

/// True accepts at a false-accept rate, and what backs it.
pub struct TarAtFar {
    pub tar: f64,
    /// Impostor pairs the threshold was set on.
    pub impostor_pairs: usize,
    /// Impostors the FAR allows to be accepted (`floor(far * pairs)`).
    pub false_accepts_allowed: usize,
    /// The largest distance accepted.
    pub threshold: f32,
}

impl Scores {
    fn sorted(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        v.sort_by(f32::total_cmp);
        v
    }

    /// The EER: the threshold where the false-reject and false-accept rates are closest,
    /// and their mean there.
    pub fn eer(&self) -> Eer {
        let (g, i) = (Self::sorted(&self.genuine), Self::sorted(&self.impostor));
        if g.is_empty() || i.is_empty() {
            return Eer {
                rate: f64::NAN,
                threshold: f32::NAN,
            };
        }
        let mut best = Eer {
            rate: 1.0,
            threshold: 0.0,
        };
        let mut gap = f64::INFINITY;
        // Candidate thresholds: every score (accepting up to and including it).
        for &t in g.iter().chain(&i) {
            let frr = g.partition_point(|&d| d <= t);
            let frr = 1.0 - frr as f64 / g.len() as f64;
            let far = i.partition_point(|&d| d <= t) as f64 / i.len() as f64;
            if (frr - far).abs() < gap {
                gap = (frr - far).abs();
                best = Eer {
                    rate: (frr + far) / 2.0,
                    threshold: t,
                };
            }
        }
        // Below every score: nothing accepted.
        if 1.0 < gap {
            best = Eer {
                rate: 0.5,
                threshold: 0.0,
            };
        }
        best
    }

    /// TAR at `far`: the threshold accepts at most `floor(far * impostors)` impostors.
    pub fn tar_at_far(&self, far: f64) -> TarAtFar {
        let (g, i) = (Self::sorted(&self.genuine), Self::sorted(&self.impostor));
        let allowed = (far * i.len() as f64).floor() as usize;
        // Accept strictly below the (allowed+1)-th smallest impostor distance.
        let threshold = i.get(allowed).map_or(f32::INFINITY, |&d| d);
        let accepted = g.partition_point(|&d| d < threshold);
        let largest = g[..accepted].last().copied().unwrap_or(0.0);
        TarAtFar {
            tar: if g.is_empty() {
                f64::NAN
            } else {
                accepted as f64 / g.len() as f64
            },
            impostor_pairs: i.len(),
            false_accepts_allowed: allowed,
            threshold: largest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_scores_have_no_error_and_overlapping_ones_do() {
        let s = Scores {
            genuine: vec![0.1, 0.2, 0.25],
            impostor: vec![0.4, 0.45, 0.5, 0.5],
        };
        assert_eq!(s.eer().rate, 0.0);
        assert_eq!(s.tar_at_far(1e-3).tar, 1.0);
        let s = Scores {
            genuine: vec![0.1, 0.2, 0.42, 0.6],
            impostor: vec![0.3, 0.45, 0.5, 0.55],
        };
        // At 0.42: FRR 1/4, FAR 1/4.
        let eer = s.eer();
        assert!((eer.rate - 0.25).abs() < 1e-9, "{}", eer.rate);
        let t = s.tar_at_far(0.25);
        assert_eq!((t.false_accepts_allowed, t.tar), (1, 0.75));
        assert_eq!(s.tar_at_far(0.0).tar, 0.5);
    }
}
