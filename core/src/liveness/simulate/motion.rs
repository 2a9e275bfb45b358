//! Motion bursts for the 3-D motion layer: a camera 0.3 m from the hand drifting by a
//! given travel over a burst of frames.
//!
//! - **Planar (attack)**: the palm photo held flat — each frame is the photo warped by the
//!   homography its plane undergoes (`K (R + t nᵀ / d) K⁻¹`, here a pure translation), so the
//!   landmark model runs on every frame and its jitter is in the result.
//! - **3-D (bona fide)**: the landmark model's 21 points of the photo, lifted to 3-D with
//!   their relative depth, moved with the same camera and projected. No model runs, so this
//!   side has no jitter: it shows the parallax a real hand's depth gives, not how the model
//!   would see it.

use zeroize::Zeroizing;

use crate::frame::Frame;

use super::RgbImage;

/// Rendered frame size of planar bursts.
pub const FRAME_W: u32 = 480;
/// Rendered frame height.
pub const FRAME_H: u32 = 640;
/// Focal length of the rendered frames, pixels.
pub const FOCAL: f64 = 600.0;
/// Distance of the hand (or photo) from the camera at the start, metres.
pub const DISTANCE: f64 = 0.3;
/// Frames per burst.
pub const FRAMES: usize = 10;

/// Camera travel over a burst (x right, y down, z towards the hand), metres, by name.
pub const MOVES: [(&str, [f64; 3]); 3] = [
    ("small (1 cm)", [0.008, 0.005, 0.004]),
    ("medium (3 cm)", [0.024, 0.015, 0.012]),
    ("large (6 cm)", [0.048, 0.030, 0.024]),
];

/// The camera's offset at frame `i` of a burst with `travel`.
fn offset(travel: [f64; 3], i: usize) -> [f64; 3] {
    let k = i as f64 / (FRAMES - 1) as f64;
    travel.map(|v| v * k)
}

/// Frame `i` of the planar burst of `photo` (upright), as RGB of FRAME_W x FRAME_H: the
/// photo spans the frame at the start, 0.3 m away, facing the camera.
pub fn planar_frame(photo: &Frame<'_>, travel: [f64; 3], i: usize) -> RgbImage {
    plane_frame(photo, offset(travel, i), 0.0, 0.0)
}

/// `photo` (upright) as a flat plane seen by a camera moved by `t` (metres), the plane
/// turned about its centre by `pitch` (about the picture's horizontal axis) and then `yaw`
/// (about its vertical axis), degrees: what the camera films when a printed or displayed
/// palm is tilted. At rest the photo spans the FRAME_W x FRAME_H frame, 0.3 m away.
pub fn plane_frame(photo: &Frame<'_>, t: [f64; 3], pitch: f64, yaw: f64) -> RgbImage {
    let (pw, ph) = photo.upright_size();
    let scale = (f64::from(pw) / f64::from(FRAME_W)).max(f64::from(ph) / f64::from(FRAME_H));
    // The plane's axes in camera coordinates: R = Ry(yaw) Rx(pitch), columns u, v, n.
    let (sp, cp) = pitch.to_radians().sin_cos();
    let (sy, cy) = yaw.to_radians().sin_cos();
    let u_axis = [cy, 0.0, -sy];
    let v_axis = [sy * sp, cp, cy * sp];
    let normal = [sy * cp, -sp, cy * cp];
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let centre = [-t[0], -t[1], DISTANCE - t[2]];
    let along = dot(normal, centre);
    let mut rgb = Zeroizing::new(vec![0u8; (FRAME_W * FRAME_H * 3) as usize]);
    for y in 0..FRAME_H {
        for x in 0..FRAME_W {
            // Intersect the pixel's ray with the plane, then express the point in the
            // plane's own axes: metres from the photo's centre.
            let ray = [
                (f64::from(x) - f64::from(FRAME_W) / 2.0) / FOCAL,
                (f64::from(y) - f64::from(FRAME_H) / 2.0) / FOCAL,
                1.0,
            ];
            let facing = dot(normal, ray);
            if facing.abs() < 1e-9 || along / facing <= 0.0 {
                continue;
            }
            let s = along / facing;
            let hit = [
                s * ray[0] - centre[0],
                s * ray[1] - centre[1],
                s * ray[2] - centre[2],
            ];
            let (u, v) = (
                dot(u_axis, hit) / DISTANCE * FOCAL * scale + f64::from(pw) / 2.0,
                dot(v_axis, hit) / DISTANCE * FOCAL * scale + f64::from(ph) / 2.0,
            );
            if u < 0.0 || v < 0.0 || u >= f64::from(pw) || v >= f64::from(ph) {
                continue;
            }
            let (sx, sy) = photo.to_sensor(u as u32, v as u32);
            let at = ((y * FRAME_W + x) * 3) as usize;
            rgb[at..at + 3].copy_from_slice(&photo.rgb(sx, sy));
        }
    }
    RgbImage {
        rgb,
        width: FRAME_W,
        height: FRAME_H,
    }
}

/// The 3-D burst: `landmarks` (upright pixels of a `width` x `height` picture, relative
/// depth in the same pixels) placed 0.3 m away so the picture spans a FRAME_W x FRAME_H
/// frame, moved by the camera and projected, frame by frame.
pub fn hand_burst(
    landmarks: &[[f32; 3]; 21],
    width: u32,
    height: u32,
    travel: [f64; 3],
) -> Vec<[[f32; 3]; 21]> {
    let scale = (f64::from(width) / f64::from(FRAME_W)).max(f64::from(height) / f64::from(FRAME_H));
    // Picture pixels to metres on the plane 0.3 m away (and the same for depth).
    let metres = DISTANCE / (FOCAL * scale);
    let points: Vec<[f64; 3]> = landmarks
        .iter()
        .map(|p| {
            [
                (f64::from(p[0]) - f64::from(width) / 2.0) * metres,
                (f64::from(p[1]) - f64::from(height) / 2.0) * metres,
                DISTANCE + f64::from(p[2]) * metres,
            ]
        })
        .collect();
    (0..FRAMES)
        .map(|i| {
            let t = offset(travel, i);
            std::array::from_fn(|k| {
                let [x, y, z] = points[k];
                let depth = (z - t[2]).max(1e-3);
                [
                    (FOCAL * (x - t[0]) / depth + f64::from(FRAME_W) / 2.0) as f32,
                    (FOCAL * (y - t[1]) / depth + f64::from(FRAME_H) / 2.0) as f32,
                    0.0,
                ]
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liveness::Outcome;
    use crate::liveness::homography::tests::hand;
    use crate::liveness::motion::MotionLayer;

    /// Landmarks of a hand picture: the synthetic hand's points in pixels of 480x640, its
    /// depth (±3 cm) in the same scale.
    fn picture_landmarks() -> [[f32; 3]; 21] {
        let h = hand(|i| {
            if i % 4 == 0 {
                0.03
            } else {
                -0.01 * (i % 3) as f64
            }
        });
        let px = FOCAL / DISTANCE;
        std::array::from_fn(|i| {
            let [x, y, z] = h[i];
            [
                (x * px + 240.0) as f32,
                (y * px + 320.0) as f32,
                ((z - DISTANCE).max(-0.05) * px) as f32,
            ]
        })
    }

    #[test]
    fn the_same_landmarks_flat_move_by_a_homography_and_with_depth_do_not() {
        let lm = picture_landmarks();
        let flat: [[f32; 3]; 21] = lm.map(|p| [p[0], p[1], 0.0]);
        for (name, travel) in MOVES.into_iter().skip(1) {
            let mut deep = MotionLayer::default();
            hand_burst(&lm, 480, 640, travel)
                .iter()
                .for_each(|l| deep.push(l));
            let mut planar = MotionLayer::default();
            hand_burst(&flat, 480, 640, travel)
                .iter()
                .for_each(|l| planar.push(l));
            assert_eq!(planar.report().outcome, Outcome::Unsure, "{name}");
            assert!(deep.report().score > 10.0 * planar.report().score, "{name}");
        }
    }
}
