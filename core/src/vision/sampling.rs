//! Model inputs from frames: a `size` x `size` RGB tensor (NHWC, values in [0, 1]) whose
//! pixel (x, y) shows the upright image around `map(x + s, y + s)` for the sub-pixel
//! offsets `subs` in both directions, averaged (so a large frame is area-sampled rather
//! than aliased). Points outside the picture count as black: the zero padding of a
//! letterbox, the black border of a crop that leaves the frame.

use crate::frame::Frame;

pub(crate) fn sample(
    frame: &Frame<'_>,
    size: usize,
    subs: &[f32],
    map: impl Fn(f32, f32) -> (f32, f32),
) -> Vec<f32> {
    let (uw, uh) = frame.upright_size();
    let (uw, uh) = (uw as f32, uh as f32);
    let samples = (subs.len() * subs.len()) as f32 * 255.0;
    let mut input = vec![0f32; size * size * 3];
    for oy in 0..size {
        for ox in 0..size {
            let mut sum = [0u32; 3];
            for &sy in subs {
                for &sx in subs {
                    let (x, y) = map(ox as f32 + sx, oy as f32 + sy);
                    if x < 0.0 || y < 0.0 || x >= uw || y >= uh {
                        continue;
                    }
                    let (fx, fy) = frame.to_sensor(x as u32, y as u32);
                    let rgb = frame.rgb(fx, fy);
                    for c in 0..3 {
                        sum[c] += u32::from(rgb[c]);
                    }
                }
            }
            let at = (oy * size + ox) * 3;
            for c in 0..3 {
                input[at + c] = sum[c] as f32 / samples;
            }
        }
    }
    input
}
