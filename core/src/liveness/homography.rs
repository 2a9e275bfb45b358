//! Plane-to-plane homographies between two sets of image points, by the normalized direct
//! linear transform (Hartley & Zisserman, "Multiple View Geometry", algorithm 4.2, with
//! h33 = 1 and least squares instead of an SVD), and the reprojection residual that tells a
//! flat picture from a hand: every point of a plane moves by one homography when the camera
//! moves; the points of a 3-D hand do not, as soon as the camera translates.

/// A 3x3 homography, row-major, mapping `(x, y, 1)` to `(x', y', w')`.
pub type Homography = [f64; 9];

/// Applies `h` to a point.
pub fn apply(h: &Homography, p: [f64; 2]) -> [f64; 2] {
    let w = h[6] * p[0] + h[7] * p[1] + h[8];
    [
        (h[0] * p[0] + h[1] * p[1] + h[2]) / w,
        (h[3] * p[0] + h[4] * p[1] + h[5]) / w,
    ]
}

/// Moves points so their centroid is at the origin and their mean distance from it is √2;
/// returns the moved points and the similarity `T` that did it.
fn normalize(points: &[[f64; 2]]) -> (Vec<[f64; 2]>, Homography) {
    let n = points.len() as f64;
    let (cx, cy) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p[0] / n, y + p[1] / n));
    let mean = points
        .iter()
        .map(|p| ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt())
        .sum::<f64>()
        / n;
    let s = if mean > 0.0 { 2f64.sqrt() / mean } else { 1.0 };
    let moved = points
        .iter()
        .map(|p| [(p[0] - cx) * s, (p[1] - cy) * s])
        .collect();
    (moved, [s, 0.0, -s * cx, 0.0, s, -s * cy, 0.0, 0.0, 1.0])
}

fn multiply(a: &Homography, b: &Homography) -> Homography {
    let mut out = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            out[3 * r + c] = (0..3).map(|k| a[3 * r + k] * b[3 * k + c]).sum();
        }
    }
    out
}

fn invert_similarity(t: &Homography) -> Homography {
    // T = [s 0 tx; 0 s ty; 0 0 1] → T⁻¹ = [1/s 0 -tx/s; 0 1/s -ty/s; 0 0 1].
    let s = t[0];
    [
        1.0 / s,
        0.0,
        -t[2] / s,
        0.0,
        1.0 / s,
        -t[5] / s,
        0.0,
        0.0,
        1.0,
    ]
}

/// Solves the 8x8 system `a x = b` by Gaussian elimination with partial pivoting; `None`
/// when it is singular (degenerate points: fewer than 4 in general position).
fn solve8(mut a: [[f64; 8]; 8], mut b: [f64; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (top, bottom) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (offset, row) in bottom.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (v, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *v -= f * p;
            }
            b[col + 1 + offset] -= f * b[col];
        }
    }
    let mut x = [0.0; 8];
    for row in (0..8).rev() {
        let rest: f64 = (row + 1..8).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}

/// The homography that best maps `src` onto `dst` (least squares on normalized points),
/// or `None` with fewer than 4 pairs or a degenerate configuration.
pub fn fit(src: &[[f64; 2]], dst: &[[f64; 2]]) -> Option<Homography> {
    if src.len() != dst.len() || src.len() < 4 {
        return None;
    }
    let (s, ts) = normalize(src);
    let (d, td) = normalize(dst);
    // Each pair gives two rows of A h = b with h = (h11..h32), h33 = 1; accumulate the
    // normal equations AᵀA h = Aᵀb.
    let mut ata = [[0.0; 8]; 8];
    let mut atb = [0.0; 8];
    for (p, q) in s.iter().zip(&d) {
        let (x, y, u, v) = (p[0], p[1], q[0], q[1]);
        for (row, rhs) in [
            ([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y], u),
            ([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y], v),
        ] {
            for i in 0..8 {
                atb[i] += row[i] * rhs;
                for j in 0..8 {
                    ata[i][j] += row[i] * row[j];
                }
            }
        }
    }
    let h = solve8(ata, atb)?;
    let normalized = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0];
    // Undo the normalizations: H = Td⁻¹ · Hn · Ts.
    let full = multiply(&invert_similarity(&td), &multiply(&normalized, &ts));
    let scale = full[8];
    (scale.abs() > 1e-12).then(|| full.map(|v| v / scale))
}

/// Root-mean-square distance between `h(src)` and `dst`.
pub fn rms_residual(h: &Homography, src: &[[f64; 2]], dst: &[[f64; 2]]) -> f64 {
    let sum: f64 = src
        .iter()
        .zip(dst)
        .map(|(p, q)| {
            let m = apply(h, *p);
            (m[0] - q[0]).powi(2) + (m[1] - q[1]).powi(2)
        })
        .sum();
    (sum / src.len().max(1) as f64).sqrt()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A pinhole camera (focal `f` px, principal point (640, 360)) at `position`, turned
    /// by `yaw` about the y axis, looking down +z.
    pub(crate) fn project(
        points: &[[f64; 3]],
        position: [f64; 3],
        yaw: f64,
        f: f64,
    ) -> Vec<[f64; 2]> {
        let (s, c) = yaw.sin_cos();
        points
            .iter()
            .map(|p| {
                let (x, y, z) = (p[0] - position[0], p[1] - position[1], p[2] - position[2]);
                // World to camera: rotate by -yaw about y.
                let (xc, zc) = (c * x - s * z, s * x + c * z);
                [640.0 + f * xc / zc, 360.0 + f * y / zc]
            })
            .collect()
    }

    /// 21 points of a hand-sized layout (metres) 0.3 m in front of the camera, with
    /// per-point depth `depth(i)` added.
    pub(crate) fn hand(depth: impl Fn(usize) -> f64) -> Vec<[f64; 3]> {
        (0..21)
            .map(|i| {
                let (row, col) = ((i / 5) as f64, (i % 5) as f64);
                [-0.04 + 0.02 * col, -0.05 + 0.025 * row, 0.3 + depth(i)]
            })
            .collect()
    }

    #[test]
    fn a_known_homography_is_recovered_exactly() {
        let h: Homography = [1.1, 0.05, 12.0, -0.03, 0.95, -7.0, 1e-4, -2e-4, 1.0];
        let src: Vec<[f64; 2]> = (0..21)
            .map(|i| [100.0 + 37.0 * (i % 5) as f64, 80.0 + 41.0 * (i / 5) as f64])
            .collect();
        let dst: Vec<[f64; 2]> = src.iter().map(|p| apply(&h, *p)).collect();
        let fitted = fit(&src, &dst).unwrap();
        for (a, b) in fitted.iter().zip(&h) {
            assert!((a - b).abs() < 1e-8, "{fitted:?} vs {h:?}");
        }
        assert!(rms_residual(&fitted, &src, &dst) < 1e-8);
    }

    #[test]
    fn a_flat_picture_moves_by_one_homography_and_a_hand_does_not() {
        let flat = hand(|_| 0.0);
        // Fingers and thumb up to 3 cm nearer or farther than the palm.
        let real = hand(|i| 0.015 * ((i * 7 % 5) as f64 - 2.0));
        for (name, moved) in [
            ("sideways 3 cm", ([0.03, 0.0, 0.0], 0.0)),
            ("closer 5 cm", ([0.0, 0.0, 0.05], 0.0)),
            (
                "sideways and turned 10°",
                ([0.02, 0.01, 0.0], 10f64.to_radians()),
            ),
        ] {
            let before_flat = project(&flat, [0.0; 3], 0.0, 1000.0);
            let after_flat = project(&flat, moved.0, moved.1, 1000.0);
            let h = fit(&before_flat, &after_flat).unwrap();
            let planar = rms_residual(&h, &before_flat, &after_flat);
            let before_real = project(&real, [0.0; 3], 0.0, 1000.0);
            let after_real = project(&real, moved.0, moved.1, 1000.0);
            let h = fit(&before_real, &after_real).unwrap();
            let solid = rms_residual(&h, &before_real, &after_real);
            assert!(planar < 1e-6, "{name}: flat residual {planar}");
            assert!(solid > 0.5, "{name}: hand residual {solid} px");
        }
    }

    #[test]
    fn a_pure_rotation_of_the_camera_cannot_tell_depth() {
        // Known limit of the method: turning the camera about its centre maps any scene by
        // one homography. The motion layer needs translation (a hand moving in the frame).
        let real = hand(|i| 0.015 * ((i * 7 % 5) as f64 - 2.0));
        let before = project(&real, [0.0; 3], 0.0, 1000.0);
        let after = project(&real, [0.0; 3], 8f64.to_radians(), 1000.0);
        let h = fit(&before, &after).unwrap();
        assert!(rms_residual(&h, &before, &after) < 1e-6);
    }

    #[test]
    fn too_few_or_degenerate_points_give_no_homography() {
        let p = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        assert!(fit(&p, &p).is_none());
        let line: Vec<[f64; 2]> = (0..6).map(|i| [i as f64, 2.0 * i as f64]).collect();
        assert!(fit(&line, &line).is_none());
    }
}
