//! Frame views: pixels where they should be in every orientation, typed errors for every
//! inconsistent description, and a randomized sweep of descriptions that must never panic
//! (the same property the `cargo fuzz` target checks for longer).

use super::*;

fn rgb_image(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for y in 0..height {
        for x in 0..width {
            out.extend_from_slice(&[(x * 20) as u8, (y * 30) as u8, (x * 7 + y * 11) as u8]);
        }
    }
    out
}

#[test]
fn every_orientation_matches_the_image_crate() {
    let (w, h) = (5u32, 3u32);
    let data = rgb_image(w, h);
    let img = image::RgbImage::from_raw(w, h, data.clone()).unwrap();
    for (rotation, expected) in [
        (Rotation::Deg0, img.clone()),
        (Rotation::Deg90, image::imageops::rotate90(&img)),
        (Rotation::Deg180, image::imageops::rotate180(&img)),
        (Rotation::Deg270, image::imageops::rotate270(&img)),
    ] {
        for mirrored in [false, true] {
            let expected = if mirrored {
                image::imageops::flip_horizontal(&expected)
            } else {
                expected.clone()
            };
            let frame = Frame::packed(
                &data,
                w,
                h,
                PackedFormat::Rgb888,
                w as usize * 3,
                Orientation { rotation, mirrored },
            )
            .unwrap();
            let (uw, uh) = frame.upright_size();
            assert_eq!((uw, uh), expected.dimensions());
            for uy in 0..uh {
                for ux in 0..uw {
                    let (sx, sy) = frame.to_sensor(ux, uy);
                    assert_eq!(
                        frame.rgb(sx, sy),
                        expected.get_pixel(ux, uy).0,
                        "{rotation:?} mirrored={mirrored} at ({ux},{uy})"
                    );
                }
            }
        }
    }
}

#[test]
fn nv21_with_padded_rows_reads_luma_and_chroma() {
    let (w, h) = (6u32, 4u32);
    let (y_stride, uv_stride) = (8usize, 8usize);
    let mut data = vec![0xEEu8; y_stride * h as usize + uv_stride * (h as usize / 2)];
    for y in 0..h as usize {
        for x in 0..w as usize {
            data[y * y_stride + x] = (10 * y + x) as u8;
        }
    }
    // Chroma for the block at (cx, cy): V then U.
    let base = y_stride * h as usize;
    for cy in 0..2 {
        for cx in 0..3 {
            data[base + cy * uv_stride + 2 * cx] = 128; // V
            data[base + cy * uv_stride + 2 * cx + 1] = 128; // U
        }
    }
    let frame = Frame::nv21(&data, w, h, y_stride, uv_stride, Orientation::default()).unwrap();
    assert_eq!(frame.luma(3, 2), 23);
    assert_eq!(frame.luma_row(1).unwrap(), &[10, 11, 12, 13, 14, 15]);
    // Neutral chroma: grey.
    assert_eq!(frame.rgb(3, 2), [23, 23, 23]);
    // Outside the frame: black, not a panic.
    assert_eq!(frame.luma(6, 0), 0);
    assert_eq!(frame.rgb(0, 4), [0, 0, 0]);
}

/// A `w` x `h` YUV picture as (Y, U, V) sample grids: what every layout below must read back.
fn yuv_samples(w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let y = (0..w * h).map(|i| (i * 7 % 251) as u8).collect();
    let u = (0..cw * ch).map(|i| (40 + i * 13 % 170) as u8).collect();
    let v = (0..cw * ch).map(|i| (200 - i * 11 % 150) as u8).collect();
    (y, u, v)
}

#[test]
fn yuv_420_888_planes_in_their_own_buffers_read_like_one_buffer() {
    // Android's ImageReader: padded rows, U and V interleaved in one block of memory (pixel
    // stride 2, V one byte after U), each plane's last row stopping at its last sample.
    let (w, h) = (7usize, 5usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (ys, us, vs) = yuv_samples(w, h);
    let (y_stride, uv_stride) = (12usize, 10usize);
    let mut y = vec![0xEEu8; y_stride * (h - 1) + w];
    for r in 0..h {
        y[r * y_stride..r * y_stride + w].copy_from_slice(&ys[r * w..(r + 1) * w]);
    }
    let mut uv = vec![0xEEu8; uv_stride * (ch - 1) + 2 * cw];
    for r in 0..ch {
        for c in 0..cw {
            uv[r * uv_stride + 2 * c] = us[r * cw + c];
            uv[r * uv_stride + 2 * c + 1] = vs[r * cw + c];
        }
    }
    // Both chroma buffers are views of the same memory; each ends at its plane's last sample.
    let u_plane = &uv[..uv.len() - 1];
    let v_plane = &uv[1..];
    let planes = Planes {
        y: &y,
        u: u_plane,
        v: v_plane,
    };
    let o = Orientation::default();
    let frame = Frame::yuv420(planes, w as u32, h as u32, y_stride, uv_stride, 2, o).unwrap();
    // The same picture in one tight I420 buffer, planes at offsets.
    let mut one = ys.clone();
    one.extend_from_slice(&us);
    one.extend_from_slice(&vs);
    let layout = Layout::Yuv(YuvLayout {
        y_offset: 0,
        y_row_stride: w,
        u_offset: w * h,
        v_offset: w * h + cw * ch,
        uv_row_stride: cw,
        uv_pixel_stride: 1,
    });
    let reference = Frame::new(&one, w as u32, h as u32, layout, o).unwrap();
    for sy in 0..h as u32 {
        for sx in 0..w as u32 {
            assert_eq!(frame.rgb(sx, sy), reference.rgb(sx, sy), "({sx},{sy})");
            assert_eq!(frame.chroma(sx, sy), reference.chroma(sx, sy));
        }
        assert_eq!(frame.luma_row(sy), reference.luma_row(sy));
    }
    // The view is the caller's memory: no plane was copied.
    assert_eq!(
        frame.plane_addresses(),
        [y.as_ptr(), u_plane.as_ptr(), v_plane.as_ptr()].map(|p| p as usize)
    );
    // A chroma buffer one byte short of its last sample is a typed error naming it.
    let short = Planes {
        v: &uv[1..uv.len() - 1],
        ..planes
    };
    assert!(matches!(
        Frame::yuv420(short, w as u32, h as u32, y_stride, uv_stride, 2, o),
        Err(FrameError::BufferTooSmall { plane: "V", .. })
    ));
    let short_y = Planes {
        y: &y[..y.len() - 1],
        ..planes
    };
    assert!(matches!(
        Frame::yuv420(short_y, w as u32, h as u32, y_stride, uv_stride, 2, o),
        Err(FrameError::BufferTooSmall { plane: "Y", .. })
    ));
}

#[test]
fn nv12_in_two_planes_reads_u_first() {
    let (w, h) = (6usize, 4usize);
    let (cw, ch) = (w / 2, h / 2);
    let (ys, us, vs) = yuv_samples(w, h);
    let uv_stride = 16usize;
    let mut uv = vec![0u8; uv_stride * ch];
    for r in 0..ch {
        for c in 0..cw {
            uv[r * uv_stride + 2 * c] = us[r * cw + c];
            uv[r * uv_stride + 2 * c + 1] = vs[r * cw + c];
        }
    }
    let o = Orientation::default();
    let frame = Frame::nv12(&ys, &uv, w as u32, h as u32, w, uv_stride, o).unwrap();
    assert_eq!(
        frame.chroma(3, 3),
        (f32::from(us[cw + 1]) - 128.0, f32::from(vs[cw + 1]) - 128.0)
    );
    assert_eq!(
        frame.plane_addresses()[..2],
        [ys.as_ptr() as usize, uv.as_ptr() as usize]
    );
    // No chroma plane at all, or a Y plane for a smaller picture: typed errors.
    assert!(matches!(
        Frame::nv12(&ys, &[], w as u32, h as u32, w, uv_stride, o),
        Err(FrameError::BufferTooSmall { plane: "U", .. })
    ));
    assert!(matches!(
        Frame::nv12(&ys[..w * 2], &uv, w as u32, h as u32, w, uv_stride, o),
        Err(FrameError::BufferTooSmall { plane: "Y", needed, len }) if needed == w * h && len == w * 2
    ));
}

#[test]
fn yuv_colours_convert_like_bt601_full_range() {
    // Pure red in BT.601 full range: Y 76, U 85, V 255.
    let data = [76u8, 76, 76, 76, 85, 255];
    let layout = Layout::Yuv(YuvLayout {
        y_offset: 0,
        y_row_stride: 2,
        u_offset: 4,
        v_offset: 5,
        uv_row_stride: 2,
        uv_pixel_stride: 1,
    });
    let frame = Frame::new(&data, 2, 2, layout, Orientation::default()).unwrap();
    let [r, g, b] = frame.rgb(1, 1);
    assert!(r >= 250 && g <= 5 && b <= 5, "{r} {g} {b}");
    // Chroma comes straight from the planes; from RGB, the same red agrees closely.
    assert_eq!(frame.chroma(1, 1), (85.0 - 128.0, 255.0 - 128.0));
    let red = [255u8, 0, 0];
    let packed =
        Frame::packed(&red, 1, 1, PackedFormat::Rgb888, 3, Orientation::default()).unwrap();
    let (cb, cr) = packed.chroma(0, 0);
    assert!(
        (cb + 43.0).abs() < 1.0 && (cr - 127.5).abs() < 1.0,
        "{cb} {cr}"
    );
    assert_eq!(frame.chroma(2, 0), (0.0, 0.0), "outside the frame");
}

#[test]
fn bgra_channels_are_in_ios_order() {
    let data = [10u8, 20, 30, 255]; // B G R A
    let frame = Frame::packed(
        &data,
        1,
        1,
        PackedFormat::Bgra8888,
        4,
        Orientation::default(),
    )
    .unwrap();
    assert_eq!(frame.rgb(0, 0), [30, 20, 10]);
    assert_eq!(
        frame.luma(0, 0),
        ((77 * 30 + 150 * 20 + 29 * 10) >> 8) as u8
    );
}

#[test]
fn inconsistent_descriptions_are_typed_errors() {
    let o = Orientation::default();
    let buf = vec![0u8; 64];
    assert!(matches!(
        Frame::nv21(&buf, 0, 4, 4, 4, o),
        Err(FrameError::ZeroSize { .. })
    ));
    assert!(matches!(
        Frame::nv21(&buf, 20_000, 4, 20_000, 20_000, o),
        Err(FrameError::TooLarge { .. })
    ));
    assert!(matches!(
        Frame::nv21(&buf, 8, 8, 8, 8, o),
        Err(FrameError::BufferTooSmall { plane: "U", .. })
    ));
    assert!(matches!(
        Frame::nv21(&buf, 8, 4, 4, 8, o),
        Err(FrameError::StrideTooSmall { plane: "Y", .. })
    ));
    assert!(matches!(
        Frame::packed(&buf, 4, 4, PackedFormat::Bgra8888, 15, o),
        Err(FrameError::StrideTooSmall { .. })
    ));
    assert!(matches!(
        Frame::packed(&buf, 4, 5, PackedFormat::Bgra8888, 16, o),
        Err(FrameError::BufferTooSmall {
            needed: 80,
            len: 64,
            ..
        })
    ));
    let planar = |pixel_stride, v_offset| {
        Layout::Yuv(YuvLayout {
            y_offset: 0,
            y_row_stride: 4,
            u_offset: 16,
            v_offset,
            uv_row_stride: 4,
            uv_pixel_stride: pixel_stride,
        })
    };
    assert_eq!(
        Frame::new(&buf, 4, 4, planar(3, 24), o).unwrap_err(),
        FrameError::BadPixelStride(3)
    );
    assert!(matches!(
        Frame::new(&buf, 4, 4, planar(1, 63), o),
        Err(FrameError::BufferTooSmall { plane: "V", .. })
    ));
    // Strides so large the arithmetic would overflow.
    let huge = Layout::Yuv(YuvLayout {
        y_offset: usize::MAX - 2,
        y_row_stride: usize::MAX / 2,
        u_offset: 0,
        v_offset: 0,
        uv_row_stride: 4,
        uv_pixel_stride: 1,
    });
    assert!(matches!(
        Frame::new(&buf, 4, 4, huge, o),
        Err(FrameError::BufferTooSmall { .. })
    ));
    assert_eq!(
        Rotation::from_degrees(45).unwrap_err(),
        FrameError::BadRotation(45)
    );
}

/// A small xorshift: the sweep is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn upto(&mut self, n: u64) -> usize {
        (self.next() % (n + 1)) as usize
    }
}

#[test]
fn random_descriptions_never_panic_and_never_read_outside() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let buf: Vec<u8> = (0..4096).map(|i| (i * 31 % 256) as u8).collect();
    let mut accepted = 0;
    for _ in 0..20_000 {
        let len = rng.upto(4096);
        let (w, h) = (rng.upto(40) as u32, rng.upto(40) as u32);
        let orientation = Orientation {
            rotation: [
                Rotation::Deg0,
                Rotation::Deg90,
                Rotation::Deg180,
                Rotation::Deg270,
            ][rng.upto(3)],
            mirrored: rng.upto(1) == 1,
        };
        let layout = if rng.upto(1) == 0 {
            Layout::Packed {
                format: [
                    PackedFormat::Bgra8888,
                    PackedFormat::Rgba8888,
                    PackedFormat::Rgb888,
                ][rng.upto(2)],
                row_stride: rng.upto(200),
            }
        } else {
            Layout::Yuv(YuvLayout {
                y_offset: rng.upto(300),
                y_row_stride: rng.upto(60),
                u_offset: rng.upto(3000),
                v_offset: rng.upto(3000),
                uv_row_stride: rng.upto(60),
                uv_pixel_stride: rng.upto(3),
            })
        };
        // Half the time the planes are three separate buffers of their own lengths.
        let planes = if rng.upto(1) == 0 {
            Planes::one(&buf[..len])
        } else {
            let (a, b) = (rng.upto(4096), rng.upto(4096));
            Planes {
                y: &buf[..len],
                u: &buf[a.min(b)..],
                v: &buf[..a.max(b)],
            }
        };
        let Ok(frame) = Frame::with_planes(planes, w, h, layout, orientation) else {
            continue;
        };
        accepted += 1;
        let (uw, uh) = frame.upright_size();
        for uy in 0..uh {
            for ux in 0..uw {
                let (sx, sy) = frame.to_sensor(ux, uy);
                assert!(sx < w && sy < h);
                // Debug assertions in the reads fail the test if a read leaves the buffer.
                let _ = frame.rgb(sx, sy);
                let _ = frame.luma(sx, sy);
            }
        }
    }
    assert!(
        accepted > 500,
        "the sweep accepted only {accepted} descriptions"
    );
}
