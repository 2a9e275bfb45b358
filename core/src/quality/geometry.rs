//! Hand geometry from the 21 landmarks (upright pixels, MediaPipe order): how big and how
//! centred the palm is, how it is turned, whether the fingers are open and spread, whether
//! part of the hand leaves the frame, and how fast it moves between frames.
//!
//! Angles come from the landmark model's relative depth `z` (same scale as x and y): yaw
//! from the depth difference across the knuckles (index base 5 → pinky base 17), pitch from
//! the depth difference along the palm (wrist 0 → middle base 9); roll is the direction of
//! wrist → middle base against straight up.

/// Landmark indices (MediaPipe).
pub mod index {
    /// Wrist.
    pub const WRIST: usize = 0;
    /// Bases (MCP joints) of index, middle, ring and pinky.
    pub const BASES: [usize; 4] = [5, 9, 13, 17];
    /// Middle joints (PIP) of the four fingers.
    pub const MIDDLE_JOINTS: [usize; 4] = [6, 10, 14, 18];
    /// Tips of the four fingers.
    pub const TIPS: [usize; 4] = [8, 12, 16, 20];
    /// The palm outline: wrist, thumb base, the four finger bases.
    pub const PALM: [usize; 6] = [0, 1, 5, 9, 13, 17];
}

/// Geometry of one hand in one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HandGeometry {
    /// Palm length (wrist → middle base) as a fraction of the picture's short side.
    pub palm_size: f32,
    /// Palm centre offset from the picture centre, x, as a fraction of the short side
    /// (positive: right of centre).
    pub offset_x: f32,
    /// Same for y (positive: below centre).
    pub offset_y: f32,
    /// Roll, degrees: 0 with the fingers pointing up, positive turned clockwise.
    pub roll: f32,
    /// Pitch, degrees: positive when the fingers lean away from the camera.
    pub pitch: f32,
    /// Yaw, degrees: positive when the pinky side is farther than the index side.
    pub yaw: f32,
    /// Fingers (of index, middle, ring, pinky) whose tip lies beyond their middle joint,
    /// seen from the wrist.
    pub fingers_extended: u8,
    /// Mean distance between neighbouring fingertips divided by the distance between their
    /// bases: under ~1.2 the fingers are held together.
    pub finger_spread: f32,
    /// How far the hand's landmarks reach out of the picture, as a fraction of the palm
    /// length (0 when all are inside the margin).
    pub out_of_frame: f32,
    /// Where the hand leaves the picture most, across: -1 left, 1 right, 0 neither.
    pub out_x: i8,
    /// Where the hand leaves the picture most, up and down: -1 top, 1 bottom, 0 neither.
    pub out_y: i8,
}

/// Landmarks as the geometry needs them: x, y upright pixels and relative z.
pub type Landmarks = [[f32; 3]; 21];

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The geometry of `lm` in a `width` x `height` upright picture; `margin` is the border,
/// as a fraction of the short side, that landmarks should stay inside.
pub fn measure(lm: &Landmarks, width: u32, height: u32, margin: f32) -> HandGeometry {
    use index::*;
    let short = width.min(height).max(1) as f32;
    let wrist = lm[WRIST];
    let middle = lm[9];
    let palm_length = dist(wrist, middle).max(1e-3);
    let (mut cx, mut cy) = (0.0, 0.0);
    for &i in &PALM {
        cx += lm[i][0];
        cy += lm[i][1];
    }
    let (cx, cy) = (cx / PALM.len() as f32, cy / PALM.len() as f32);

    let roll = (middle[0] - wrist[0])
        .atan2(-(middle[1] - wrist[1]))
        .to_degrees();
    let across = dist(lm[5], lm[17]).max(1e-3);
    let yaw = (lm[17][2] - lm[5][2]).atan2(across).to_degrees();
    let pitch = (middle[2] - wrist[2]).atan2(palm_length).to_degrees();

    let mut fingers_extended = 0;
    for f in 0..4 {
        let tip = dist(lm[TIPS[f]], wrist);
        let joint = dist(lm[MIDDLE_JOINTS[f]], wrist);
        if tip > joint {
            fingers_extended += 1;
        }
    }
    // Spread: how far apart neighbouring fingertips are compared with their bases. Fingers
    // held together converge (ratio near or under 1); spread ones fan out.
    let mut finger_spread = 0.0;
    for f in 0..3 {
        let tips = dist(lm[TIPS[f]], lm[TIPS[f + 1]]);
        let bases = dist(lm[BASES[f]], lm[BASES[f + 1]]).max(1e-3);
        finger_spread += tips / bases / 3.0;
    }

    let m = margin * short;
    let (w, h) = (width as f32, height as f32);
    let (mut worst, mut dir) = (0.0f32, (0i8, 0i8));
    for p in lm {
        for (over, d) in [
            (m - p[0], (-1, 0)),
            (p[0] - (w - m), (1, 0)),
            (m - p[1], (0, -1)),
            (p[1] - (h - m), (0, 1)),
        ] {
            if over > worst {
                worst = over;
                dir = d;
            }
        }
    }

    HandGeometry {
        palm_size: palm_length / short,
        offset_x: (cx - w / 2.0) / short,
        offset_y: (cy - h / 2.0) / short,
        roll,
        pitch,
        yaw,
        fingers_extended,
        finger_spread,
        out_of_frame: worst / palm_length,
        out_x: dir.0,
        out_y: dir.1,
    }
}

/// The bounding box of `points` (x, y of each): left, top, right, bottom.
pub fn bounds<'a>(points: impl IntoIterator<Item = &'a [f32; 3]>) -> [f32; 4] {
    points.into_iter().fold(
        [f32::MAX, f32::MAX, f32::MIN, f32::MIN],
        |[l, t, r, b], p| [l.min(p[0]), t.min(p[1]), r.max(p[0]), b.max(p[1])],
    )
}

/// The bounding box of the palm outline (wrist, thumb base, four finger bases): where the
/// pixel measures look.
pub fn palm_bounds(lm: &Landmarks) -> [f32; 4] {
    bounds(index::PALM.iter().map(|&i| &lm[i]))
}

/// Mean landmark speed between two frames, in palm lengths per second (`None` without a
/// positive time step).
pub fn motion(previous: &Landmarks, current: &Landmarks, seconds: f32) -> Option<f32> {
    if seconds.is_nan() || seconds <= 0.0 {
        return None;
    }
    let palm = dist(current[0], current[9]).max(1e-3);
    let moved: f32 = previous
        .iter()
        .zip(current)
        .map(|(a, b)| dist(*a, *b))
        .sum::<f32>()
        / 21.0;
    Some(moved / palm / seconds)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An open right palm facing the camera, fingers up and spread, centred on (cx, cy),
    /// palm length `s` pixels, flat (z = 0).
    pub(crate) fn open_palm(cx: f32, cy: f32, s: f32) -> Landmarks {
        let mut lm = [[0f32; 3]; 21];
        let wrist = [cx, cy + 0.5 * s, 0.0];
        lm[0] = wrist;
        // Thumb off to one side.
        for (k, i) in (1..=4).enumerate() {
            let k = k as f32 + 1.0;
            lm[i] = [
                cx - 0.35 * s - 0.15 * s * k,
                cy + 0.35 * s - 0.2 * s * k,
                0.0,
            ];
        }
        // Four fingers fanning out from bases across the top of the palm.
        for f in 0..4 {
            let base_x = cx - 0.3 * s + 0.2 * s * f as f32;
            let angle = (-12.0 + 8.0 * f as f32).to_radians();
            for j in 0..4 {
                let len = 0.3 * s * j as f32;
                lm[5 + 4 * f + j] = [
                    base_x + len * angle.sin(),
                    cy - 0.5 * s - len * angle.cos(),
                    0.0,
                ];
            }
        }
        lm
    }

    #[test]
    fn an_open_centred_palm_measures_as_drawn() {
        let lm = open_palm(500.0, 400.0, 200.0);
        let g = measure(&lm, 1000, 800, 0.02);
        assert!((g.palm_size - 200.0 / 800.0).abs() < 0.01, "{g:?}");
        assert!(g.offset_x.abs() < 0.1 && g.offset_y.abs() < 0.1, "{g:?}");
        assert!(g.roll.abs() < 8.0, "{g:?}");
        assert_eq!(g.fingers_extended, 4);
        // Tips 0.9 s out along directions 8° apart: gaps grow by 2·0.9·sin(4°)·s over 0.2 s.
        let expected = (0.2 + 2.0 * 0.9 * 4f32.to_radians().sin()) / 0.2;
        assert!(
            (g.finger_spread - expected).abs() < 0.02,
            "{g:?} vs {expected}"
        );
        assert_eq!(g.out_of_frame, 0.0);
        assert!(g.pitch.abs() < 1e-3 && g.yaw.abs() < 1e-3);
    }

    #[test]
    fn turning_leaning_and_curling_show() {
        let mut lm = open_palm(500.0, 400.0, 200.0);
        // Rotate a quarter turn clockwise about the centre: fingers point right.
        let rotated: Landmarks = lm.map(|p| [500.0 - (p[1] - 400.0), 400.0 + (p[0] - 500.0), p[2]]);
        let g = measure(&rotated, 1000, 800, 0.02);
        assert!((g.roll - 90.0).abs() < 8.0, "{g:?}");
        // Pinky side 100 px deeper than the index side, across 120 px of knuckles.
        lm[17][2] = 100.0;
        lm[9][2] = -300.0;
        let g = measure(&lm, 1000, 800, 0.02);
        assert!(g.yaw > 25.0, "{g:?}");
        assert!(g.pitch < -30.0, "{g:?}");
        // Curl the index and middle fingers: tips back to the palm.
        let mut fist = open_palm(500.0, 400.0, 200.0);
        fist[8] = fist[5];
        fist[12] = [500.0, 400.0, 0.0];
        assert_eq!(measure(&fist, 1000, 800, 0.02).fingers_extended, 2);
    }

    #[test]
    fn a_hand_leaving_the_top_is_out_of_frame_upwards() {
        let lm = open_palm(500.0, 150.0, 200.0);
        let g = measure(&lm, 1000, 800, 0.02);
        assert!(g.out_of_frame > 0.5, "{g:?}");
        assert_eq!((g.out_x, g.out_y), (0, -1));
        assert!(g.offset_y < -0.3);
    }

    #[test]
    fn motion_is_palm_lengths_per_second() {
        let a = open_palm(500.0, 400.0, 200.0);
        let b = a.map(|p| [p[0] + 30.0, p[1], p[2]]);
        let v = motion(&a, &b, 0.1).unwrap();
        let expected = 30.0 / dist(a[0], a[9]) / 0.1;
        assert!((v - expected).abs() < 1e-4, "{v} vs {expected}");
        assert_eq!(motion(&a, &b, 0.0), None);
    }
}
