//! Frame descriptions and bytes from the fuzzer: making a view (one buffer, or the planes
//! in buffers of their own as the FFI's frame call passes them) must either fail with a
//! typed error or give a frame whose every upright pixel can be read (debug assertions in
//! the reads catch any read outside the buffer), and the pixel quality measures must run on
//! any box of it, inside or outside the picture.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palmkit_core::frame::{Frame, Layout, Orientation, PackedFormat, Planes, Rotation, YuvLayout};
use palmkit_core::quality::{PixelScratch, SensorRect, pixels};

fn take(data: &mut &[u8], n: usize) -> u64 {
    let mut v = 0u64;
    for _ in 0..n {
        let (b, rest) = data.split_first().map(|(b, r)| (*b, r)).unwrap_or((0, &[]));
        v = (v << 8) | u64::from(b);
        *data = rest;
    }
    v
}

fuzz_target!(|input: &[u8]| {
    let mut d = input;
    let width = take(&mut d, 2) as u32;
    let height = take(&mut d, 2) as u32;
    let kind = take(&mut d, 1);
    let rotation = [Rotation::Deg0, Rotation::Deg90, Rotation::Deg180, Rotation::Deg270]
        [(kind & 3) as usize];
    let mirrored = kind & 4 != 0;
    let layout = if kind & 8 == 0 {
        let format = [PackedFormat::Bgra8888, PackedFormat::Rgba8888, PackedFormat::Rgb888]
            [((kind >> 4) % 3) as usize];
        Layout::Packed {
            format,
            row_stride: take(&mut d, 2) as usize,
        }
    } else {
        Layout::Yuv(YuvLayout {
            y_offset: take(&mut d, 2) as usize,
            y_row_stride: take(&mut d, 2) as usize,
            u_offset: take(&mut d, 3) as usize,
            v_offset: take(&mut d, 3) as usize,
            uv_row_stride: take(&mut d, 2) as usize,
            uv_pixel_stride: take(&mut d, 1) as usize,
        })
    };
    let planes = if kind & 16 == 0 {
        Planes::one(d)
    } else {
        // Three buffers cut from the rest at two fuzzed points (they may overlap).
        let a = (take(&mut d, 2) as usize).min(d.len());
        let b = (take(&mut d, 2) as usize).min(d.len());
        Planes { y: &d[..a], u: &d[a..], v: &d[b..] }
    };
    let orientation = Orientation { rotation, mirrored };
    let Ok(frame) = Frame::with_planes(planes, width, height, layout, orientation) else {
        return;
    };
    let (uw, uh) = frame.upright_size();
    // Bounded work per input: sample a grid over big frames.
    let step_x = (uw / 64).max(1);
    let step_y = (uh / 64).max(1);
    for uy in (0..uh).step_by(step_y as usize) {
        for ux in (0..uw).step_by(step_x as usize) {
            let (sx, sy) = frame.to_sensor(ux, uy);
            assert!(sx < frame.width() && sy < frame.height());
            let _ = frame.rgb(sx, sy);
            let _ = frame.luma(sx, sy);
        }
    }
    for y in (0..frame.height()).step_by(step_y as usize) {
        if let Some(row) = frame.luma_row(y) {
            assert_eq!(row.len(), frame.width() as usize);
        }
    }
    // An upright box from the frame's own first bytes, anywhere (even off the picture).
    let coord = |i: usize| f32::from(input.get(i).copied().unwrap_or(0)) * 8.0 - 256.0;
    let (l, t) = (coord(0), coord(1));
    if let Some(rect) = SensorRect::from_upright(&frame, l, t, l + coord(2).abs(), t + coord(3).abs()) {
        let m = pixels::measure(&frame, rect, &mut PixelScratch::default());
        assert!(m.sharpness.is_finite() && m.noise.is_finite() && m.mean_luma <= 255.0);
    }
});
