//! Model inputs from frames, written into the model's kept input tensor: a `size` x `size`
//! RGB tensor (NHWC, values in [0, 1]) whose
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
    input: &mut [f32],
) {
    let (uw, uh) = frame.upright_size();
    let (uw, uh) = (uw as f32, uh as f32);
    let samples = (subs.len() * subs.len()) as f32 * 255.0;
    for (at, px) in input.chunks_exact_mut(3).take(size * size).enumerate() {
        let (ox, oy) = (at % size, at / size);
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
        for c in 0..3 {
            px[c] = sum[c] as f32 / samples;
        }
    }
}
