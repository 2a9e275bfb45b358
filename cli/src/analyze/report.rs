//! The HTML report of `palmkit analyze --report DIR`: `DIR/index.html` with one card per
//! image — a thumbnail (`DIR/images/NNNN.jpg`, upright, at most 480 px) under an SVG overlay
//! of the hand's box, landmarks and skeleton, the guidance, and the measures. QA looks
//! instead of reading JSON. The thumbnails are downscaled copies of the inputs: the report
//! is a desktop QA artefact, never made on a phone.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use palmkit_core::frame::Frame;

use super::Outcome;
use crate::error::{CliError, Result};

const THUMB_SIDE: u32 = 480;
/// Bones of the MediaPipe hand skeleton, as landmark index pairs.
const BONES: [(usize, usize); 21] = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (0, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (5, 9),
    (9, 10),
    (10, 11),
    (11, 12),
    (9, 13),
    (13, 14),
    (14, 15),
    (15, 16),
    (13, 17),
    (17, 18),
    (18, 19),
    (19, 20),
    (0, 17),
];

pub struct Report {
    dir: PathBuf,
    cards: String,
    count: usize,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Report {
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir.join("images"))
            .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cards: String::new(),
            count: 0,
        })
    }

    pub fn add_failed(&mut self, o: &Outcome) {
        let error = o.result.as_ref().err().cloned().unwrap_or_default();
        let _ = writeln!(
            self.cards,
            "<div class=card><p class=file>{}</p><p class=bad>cannot analyze: {}</p></div>",
            escape(&o.file.display().to_string()),
            escape(&error)
        );
    }

    pub fn add(&mut self, o: &Outcome, frame: &Frame<'_>) -> Result<()> {
        let Ok(a) = &o.result else {
            self.add_failed(o);
            return Ok(());
        };
        self.count += 1;
        let (uw, uh) = frame.upright_size();
        let scale = (THUMB_SIDE as f32 / uw.max(uh) as f32).min(1.0);
        let (tw, th) = (
            ((uw as f32 * scale) as u32).max(1),
            ((uh as f32 * scale) as u32).max(1),
        );
        let mut rgb = Vec::with_capacity((tw * th * 3) as usize);
        for y in 0..th {
            for x in 0..tw {
                let ux = ((x as f32 + 0.5) / scale) as u32;
                let uy = ((y as f32 + 0.5) / scale) as u32;
                let (sx, sy) = frame.to_sensor(ux.min(uw - 1), uy.min(uh - 1));
                rgb.extend_from_slice(&frame.rgb(sx, sy));
            }
        }
        let name = format!("images/{:04}.jpg", self.count);
        let file = std::fs::File::create(self.dir.join(&name))
            .map_err(|e| CliError::Failed(format!("cannot write the report image {name}: {e}")))?;
        image::ImageEncoder::write_image(
            image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 85),
            &rgb,
            tw,
            th,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| CliError::Failed(format!("cannot encode {name}: {e}")))?;

        let mut svg = String::new();
        let colour = if a.capture_ready {
            "#1a7f37"
        } else {
            "#d1242f"
        };
        if let Some(h) = &a.hand {
            let p = |i: usize| (h.landmarks[i][0] * scale, h.landmarks[i][1] * scale);
            let [x, y, w, hh] = h.bounds.0.map(|v| v * scale);
            let _ = write!(
                svg,
                "<rect x='{x:.1}' y='{y:.1}' width='{w:.1}' height='{hh:.1}' fill='none' stroke='{colour}' stroke-width='2'/>"
            );
            for (a_, b) in BONES {
                let ((x1, y1), (x2, y2)) = (p(a_), p(b));
                let _ = write!(
                    svg,
                    "<line x1='{x1:.1}' y1='{y1:.1}' x2='{x2:.1}' y2='{y2:.1}' stroke='#fff' stroke-width='1.5'/>"
                );
            }
            for i in 0..21 {
                let (cx, cy) = p(i);
                let _ = write!(
                    svg,
                    "<circle cx='{cx:.1}' cy='{cy:.1}' r='2.5' fill='#0969da'/>"
                );
            }
        }
        let measures = a
            .hand
            .as_ref()
            .map(|h| {
                format!(
                    "{:?} hand, {}; presence {:.2}<br>{}",
                    h.handedness,
                    if h.palm_facing {
                        "palm facing"
                    } else {
                        "back facing"
                    },
                    h.presence,
                    escape(&super::measures_line(h))
                )
            })
            .unwrap_or_else(|| "no hand".into());
        let _ = writeln!(
            self.cards,
            "<div class=card><p class=file>{file}</p><svg width='{tw}' height='{th}' viewBox='0 0 {tw} {th}'>\
             <image href='{name}' width='{tw}' height='{th}'/>{svg}</svg>\
             <p class=guide style='color:{colour}'><b>{code}</b> — {message}{ready}</p><p class=m>{measures}</p></div>",
            file = escape(&o.file.display().to_string()),
            code = a.guidance.code(),
            message = escape(a.guidance.english()),
            ready = if a.capture_ready {
                " (capture-ready)"
            } else {
                ""
            },
        );
        Ok(())
    }

    pub fn finish(self) -> Result<PathBuf> {
        let index = self.dir.join("index.html");
        let page = format!(
            "<!doctype html><meta charset=utf-8><title>palmkit analyze</title>\
             <style>body{{font:14px system-ui;margin:1em}}.card{{display:inline-block;vertical-align:top;\
             margin:6px;padding:6px;border:1px solid #ccc;max-width:{THUMB_SIDE}px}}.file{{font:12px monospace;\
             word-break:break-all}}.m{{font-size:12px;color:#444}}.bad{{color:#d1242f}}</style>\
             <h1>palmkit analyze</h1><p>Box and landmarks as the core found them; green when every check \
             passes. Thresholds: core/src/quality/thresholds.rs.</p>\n{}",
            self.cards
        );
        std::fs::write(&index, page)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", index.display())))?;
        Ok(index)
    }
}
