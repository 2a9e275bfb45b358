//! `palmkit export-frames PHOTO --out DIR`: a photo turned into raw camera frames as the
//! phones deliver them, for the Kotlin and Swift tests and the benchmarks: `frame.nv21`
//! (Android NV21, stored as a landscape sensor would see a portrait shot, so it needs
//! `rotation 90` to be upright) and `frame.bgra` (iOS BGRA, upright), described in
//! `frames.properties` (key=value lines). Sides are cut to even numbers (4:2:0 chroma).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};
use image::RgbImage;
use palmkit_core::frame::synthetic::nv21_from_rgb;
use palmkit_core::frame::{DecodedImage, Frame, Orientation, PackedFormat};

/// Decodes a photo and turns it upright (EXIF orientation applied).
pub fn upright(bytes: &[u8]) -> Result<RgbImage> {
    let decoded = DecodedImage::decode(bytes)?;
    let frame = decoded.frame();
    let (w, h) = frame.upright_size();
    Ok(RgbImage::from_fn(w, h, |x, y| {
        let (sx, sy) = frame.to_sensor(x, y);
        image::Rgb(frame.rgb(sx, sy))
    }))
}

/// A packed RGB frame over an upright picture.
pub fn rgb_frame(image: &RgbImage) -> Frame<'_> {
    // The buffer is exactly width x height x 3: the view cannot be refused.
    Frame::packed(
        image.as_raw(),
        image.width(),
        image.height(),
        PackedFormat::Rgb888,
        image.width() as usize * 3,
        Orientation::default(),
    )
    .expect("an RgbImage is a valid packed frame")
}

/// The upright picture of `photo`, read from its file.
pub fn read_upright(photo: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(photo).map_err(CliError::at(photo))?;
    upright(&bytes).map_err(CliError::at(photo))
}

/// A picture's RGB rows cut to even sides (4:2:0 chroma).
fn even_rgb(image: &RgbImage) -> Result<(Vec<u8>, u32, u32)> {
    let (w, h) = (image.width() & !1, image.height() & !1);
    if w == 0 || h == 0 {
        return Err(CliError::Failed(
            "the picture is too small for a frame".into(),
        ));
    }
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        let row = (y * image.width() * 3) as usize;
        rgb.extend_from_slice(&image.as_raw()[row..row + (w * 3) as usize]);
    }
    Ok((rgb, w, h))
}

/// A photo as camera frames.
pub struct PhotoFrames {
    /// NV21 from a landscape sensor: `rotation 90` makes it upright.
    pub nv21: Vec<u8>,
    /// Sensor width.
    pub width: u32,
    /// Sensor height.
    pub height: u32,
    /// The upright RGB picture, `height` x `width`.
    pub upright_rgb: Vec<u8>,
}

/// The photo as an NV21 frame from a landscape sensor, and its upright RGB picture.
pub fn sensor_nv21(photo: &Path) -> Result<PhotoFrames> {
    sensor_nv21_of(&read_upright(photo)?)
}

/// An upright picture as an NV21 frame from a landscape sensor.
pub fn sensor_nv21_of(image: &RgbImage) -> Result<PhotoFrames> {
    let (rgb, w, h) = even_rgb(image)?;
    rgb_to_sensor_nv21(rgb, w, h)
}

/// A square of side `side` centred on (`cx`, `cy`) (upright pixels), turned by `degrees`
/// (black beyond the photo): a shopper holding the palm straight in the middle of the
/// camera's view. Then as [`sensor_nv21`].
pub fn sensor_nv21_framed(
    image: &RgbImage,
    cx: f32,
    cy: f32,
    side: u32,
    degrees: f32,
) -> Result<PhotoFrames> {
    let (rgb, w, h) = (image.as_raw(), image.width(), image.height());
    let side = side.clamp(2, 4096) & !1;
    let (sin, cos) = degrees.to_radians().sin_cos();
    let half = side as f32 / 2.0;
    let mut crop = vec![0u8; (side * side * 3) as usize];
    for y in 0..side {
        for x in 0..side {
            let (dx, dy) = (x as f32 + 0.5 - half, y as f32 + 0.5 - half);
            let sx = cx + cos * dx - sin * dy;
            let sy = cy + sin * dx + cos * dy;
            if sx < 0.0 || sy < 0.0 || sx >= w as f32 || sy >= h as f32 {
                continue;
            }
            let from = ((sy as u32 * w + sx as u32) * 3) as usize;
            let to = ((y * side + x) * 3) as usize;
            crop[to..to + 3].copy_from_slice(&rgb[from..from + 3]);
        }
    }
    rgb_to_sensor_nv21(crop, side, side)
}

/// Even-sided upright RGB rows as the frame a landscape sensor gives.
fn rgb_to_sensor_nv21(rgb: Vec<u8>, w: u32, h: u32) -> Result<PhotoFrames> {
    let at = |x: u32, y: u32| &rgb[((y * w + x) * 3) as usize..][..3];
    // Turning the sensor picture 90° clockwise gives the upright one, so sensor (sx, sy)
    // shows upright (w - 1 - sy, sx).
    let (sw, sh) = (h, w);
    let mut sensor = Vec::with_capacity(rgb.len());
    for sy in 0..sh {
        for sx in 0..sw {
            sensor.extend_from_slice(at(w - 1 - sy, sx));
        }
    }
    let nv21 = nv21_from_rgb(&sensor, sw, sh)
        .ok_or("cannot encode NV21")
        .map_err(CliError::failed)?;
    Ok(PhotoFrames {
        nv21,
        width: sw,
        height: sh,
        upright_rgb: rgb,
    })
}

/// `palmkit export-frames`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// The photo (JPEG or PNG).
    photo: PathBuf,
}

/// Writes the photo's frames and their description into the output folder.
pub fn export(args: ExportArgs) -> Result<()> {
    let (photo, out) = (args.photo.as_path(), args.out.as_path());
    let PhotoFrames {
        nv21,
        width: sw,
        height: sh,
        upright_rgb: rgb,
    } = sensor_nv21(photo)?;
    let (w, h) = (sh, sw);
    std::fs::create_dir_all(out).map_err(CliError::at(out))?;
    // BGRA, upright.
    let bgra: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[2], p[1], p[0], 255])
        .collect();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes).map_err(CliError::at(&out.join(name)))
    };
    write("frame.nv21", &nv21)?;
    write("frame.bgra", &bgra)?;
    let mut props = String::new();
    let _ = writeln!(props, "source={}", photo.display());
    let _ = writeln!(
        props,
        "nv21.width={sw}\nnv21.height={sh}\nnv21.row_stride={sw}\nnv21.uv_row_stride={sw}\nnv21.rotation=90"
    );
    let _ = writeln!(
        props,
        "bgra.width={w}\nbgra.height={h}\nbgra.row_stride={}\nbgra.rotation=0",
        w * 4
    );
    write("frames.properties", props.as_bytes())?;
    println!(
        "{}: NV21 {sw}x{sh} (rotation 90) and BGRA {w}x{h} in {}",
        photo.display(),
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use palmkit_core::frame::{Frame, Orientation, PackedFormat, Rotation};

    #[test]
    fn the_nv21_frame_turned_upright_shows_the_bgra_picture() {
        let dir = tempfile::tempdir().unwrap();
        // A 6x4 PNG whose pixels all differ.
        let (w, h) = (6u32, 4u32);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i * 10) as u8, (200 - i * 5) as u8, 60])
            .collect();
        let png = dir.path().join("p.png");
        image::save_buffer(&png, &rgb, w, h, image::ExtendedColorType::Rgb8).unwrap();
        super::export(super::ExportArgs {
            out: dir.path().to_path_buf(),
            photo: png.clone(),
        })
        .unwrap();
        let nv21 = std::fs::read(dir.path().join("frame.nv21")).unwrap();
        let bgra = std::fs::read(dir.path().join("frame.bgra")).unwrap();
        let turned = Orientation {
            rotation: Rotation::Deg90,
            mirrored: false,
        };
        let a = Frame::nv21(&nv21, h, w, h as usize, h as usize, turned).unwrap();
        let b = Frame::packed(
            &bgra,
            w,
            h,
            PackedFormat::Bgra8888,
            w as usize * 4,
            Orientation::default(),
        )
        .unwrap();
        assert_eq!(a.upright_size(), (w, h));
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = a.to_sensor(x, y);
                let (ly, lb) = (i32::from(a.luma(sx, sy)), i32::from(b.luma(x, y)));
                assert!((ly - lb).abs() <= 2, "({x}, {y}): {ly} vs {lb}");
            }
        }
    }
}
