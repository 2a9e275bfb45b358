//! Camera frames made from pictures, for the desktop tools, tests and benchmarks: RGB rows
//! encoded as NV21 the way Android cameras deliver it (full-range BT.601, 2x2 chroma
//! averaged). Phones never call this: their frames come from the camera.

/// Full-range BT.601 Y, Cb, Cr of an RGB pixel.
fn ycbcr(p: &[u8]) -> (f32, f32, f32) {
    let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
    (
        0.299 * r + 0.587 * g + 0.114 * b,
        128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
        128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
    )
}

fn byte(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// NV21 bytes (Y plane, then V/U interleaved; strides = `width`) of a `width` x `height`
/// RGB8 picture. `None` when a side is odd or zero, or `rgb` is not `width * height * 3`
/// bytes.
pub fn nv21_from_rgb(rgb: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 || rgb.len() != w * h * 3 {
        return None;
    }
    let mut out = vec![0u8; w * h + w * h / 2];
    for (y, px) in out[..w * h].iter_mut().zip(rgb.chunks_exact(3)) {
        *y = byte(ycbcr(px).0);
    }
    for cy in 0..h / 2 {
        for cx in 0..w / 2 {
            let (mut u, mut v) = (0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let at = ((2 * cy + dy) * w + 2 * cx + dx) * 3;
                let (_, cb, cr) = ycbcr(&rgb[at..at + 3]);
                u += cb / 4.0;
                v += cr / 4.0;
            }
            let i = w * h + cy * w + 2 * cx;
            out[i] = byte(v);
            out[i + 1] = byte(u);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, Orientation};

    #[test]
    fn an_nv21_frame_reads_back_the_colours_it_was_made_from() {
        let rgb: Vec<u8> = [[200u8, 30, 40], [20, 180, 60]]
            .iter()
            .cycle()
            .take(4 * 2)
            .flatten()
            .copied()
            .collect();
        // 4x2 with columns alternating red and green: chroma averages them.
        let nv21 = nv21_from_rgb(&rgb, 4, 2).unwrap();
        let frame = Frame::nv21(&nv21, 4, 2, 4, 4, Orientation::default()).unwrap();
        assert_eq!(frame.luma(0, 0), byte(ycbcr(&[200, 30, 40]).0));
        assert_eq!(frame.luma(1, 1), byte(ycbcr(&[20, 180, 60]).0));
        assert!(nv21_from_rgb(&rgb, 3, 2).is_none());
        assert!(nv21_from_rgb(&rgb[1..], 4, 2).is_none());
    }
}
