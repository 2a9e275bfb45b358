//! Frame analysis across the FFI: a [`FrameAnalyzer`] object the camera callback feeds
//! synchronously, one frame at a time, and gets back the instruction to show, the measures,
//! and whether the auto-capture fired. The captured image stays in the core: the app hands
//! the analyzer to `PalmKit.upload_auto_capture`, so no palm image crosses the FFI on the
//! live path.
//!
//! uniffi 0.32 cannot borrow a foreign buffer (`&[u8]` arguments arrive in a later
//! release), so the frame bytes come over as one copy, which the core wipes after use.

use std::sync::{Arc, Mutex};

use palmkit_core::analysis::{FrameAnalysis, FrameAnalyzer as CoreAnalyzer};
use palmkit_core::frame::{Frame, Layout, Orientation, PackedFormat, Rotation, YuvLayout};
use palmkit_core::quality::Thresholds;
use zeroize::Zeroizing;

use crate::{Hand, PalmKitError};

/// How the frame's bytes are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum PixelFormat {
    /// Android NV21: Y plane, then interleaved V/U rows right after it.
    Nv21,
    /// Android YUV_420_888 with its three planes copied into one buffer at `u_offset` and
    /// `v_offset`, keeping their row and pixel strides.
    Yuv420888,
    /// iOS `kCVPixelFormatType_32BGRA`.
    Bgra8888,
    /// RGBA, 4 bytes a pixel.
    Rgba8888,
    /// RGB, 3 bytes a pixel.
    Rgb888,
}

/// Everything about a frame except its bytes.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct FrameInfo {
    /// The byte layout.
    pub format: PixelFormat,
    /// Sensor width, pixels.
    pub width: u32,
    /// Sensor height, pixels.
    pub height: u32,
    /// Bytes from one row to the next (the Y plane for YUV formats).
    pub row_stride: u32,
    /// YUV: bytes from one chroma row to the next (ignored for packed formats).
    pub uv_row_stride: u32,
    /// YUV_420_888: bytes between chroma samples in a row, 1 or 2.
    pub uv_pixel_stride: u32,
    /// YUV_420_888: where the U plane starts in the buffer.
    pub u_offset: u64,
    /// YUV_420_888: where the V plane starts in the buffer.
    pub v_offset: u64,
    /// Clockwise rotation that makes the picture upright: 0, 90, 180 or 270.
    pub rotation_degrees: u32,
    /// Mirror after rotating (front camera preview).
    pub mirrored: bool,
    /// The camera's timestamp of the frame, milliseconds (monotonic).
    pub timestamp_ms: u64,
}

/// The measures behind the instruction.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FrameMeasures {
    /// Hand presence, 0-1.
    pub presence: f32,
    /// Probability of a right hand.
    pub right_hand: f32,
    /// Laplacian σ on the palm.
    pub sharpness: f32,
    /// Noise σ on the palm.
    pub noise: f32,
    /// Mean palm luma, 0-255.
    pub mean_luma: f32,
    /// Clipped fraction of the palm.
    pub clipped_fraction: f32,
    /// Highlight fraction of the palm.
    pub glare_fraction: f32,
    /// Palm length / short side of the picture.
    pub palm_size: f32,
    /// Palm centre offset, fraction of the short side.
    pub offset_x: f32,
    /// Same, vertical.
    pub offset_y: f32,
    /// Degrees.
    pub roll: f32,
    /// Degrees.
    pub pitch: f32,
    /// Degrees.
    pub yaw: f32,
    /// Fingers extended, of four.
    pub fingers_extended: u8,
    /// Fingertip gap / finger-base gap.
    pub finger_spread: f32,
    /// Landmark speed, palm lengths per second.
    pub motion: Option<f32>,
}

/// The instruction to show, for an exhaustive `when` / `switch` (the stable string code and
/// the message key are beside it in [`FrameResult`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Guidance {
    /// No hand in view.
    NoHand,
    /// The back of the hand faces the camera.
    ShowPalm,
    /// The right hand is shown, the left was asked for.
    UseLeftHand,
    /// The left hand is shown, the right was asked for.
    UseRightHand,
    /// The palm is too dark.
    TooDark,
    /// The palm is too bright or clipped.
    TooBright,
    /// Part of the hand is out of the picture.
    MoveIntoFrame,
    /// The palm is too small in the picture.
    MoveCloser,
    /// The palm is too large in the picture.
    MoveFarther,
    /// The palm is off centre.
    CenterPalm,
    /// Fingers are curled.
    OpenHand,
    /// Fingers are together.
    SpreadFingers,
    /// The hand is turned in the picture (roll).
    StraightenHand,
    /// The hand is tilted towards or away from the camera (pitch, yaw).
    HoldFlat,
    /// Specular highlights on the palm.
    ReduceGlare,
    /// The hand moves.
    HoldStill,
    /// The palm is not sharp (focus or motion blur).
    Focusing,
    /// The picture is noisy (too little light for the sensor).
    MoreLight,
    /// Everything is right: capturing.
    HoldSteady,
    /// The capture is taken.
    Captured,
    /// Active challenge (spoof detection): close the hand, then open it.
    CloseAndOpenHand,
    /// Active challenge: tilt the hand, then hold it flat again.
    TiltHand,
    /// The spoof layers found no live hand: no capture.
    NotLive,
}

impl From<palmkit_core::quality::GuidanceCode> for Guidance {
    fn from(code: palmkit_core::quality::GuidanceCode) -> Self {
        use palmkit_core::quality::GuidanceCode as G;
        match code {
            G::NoHand => Self::NoHand,
            G::ShowPalm => Self::ShowPalm,
            G::UseLeftHand => Self::UseLeftHand,
            G::UseRightHand => Self::UseRightHand,
            G::TooDark => Self::TooDark,
            G::TooBright => Self::TooBright,
            G::MoveIntoFrame => Self::MoveIntoFrame,
            G::MoveCloser => Self::MoveCloser,
            G::MoveFarther => Self::MoveFarther,
            G::CenterPalm => Self::CenterPalm,
            G::OpenHand => Self::OpenHand,
            G::SpreadFingers => Self::SpreadFingers,
            G::StraightenHand => Self::StraightenHand,
            G::HoldFlat => Self::HoldFlat,
            G::ReduceGlare => Self::ReduceGlare,
            G::HoldStill => Self::HoldStill,
            G::Focusing => Self::Focusing,
            G::MoreLight => Self::MoreLight,
            G::HoldSteady => Self::HoldSteady,
            G::Captured => Self::Captured,
            G::CloseAndOpenHand => Self::CloseAndOpenHand,
            G::TiltHand => Self::TiltHand,
            G::NotLive => Self::NotLive,
        }
    }
}

/// One frame's result.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FrameResult {
    /// The instruction to show: switch over it.
    pub instruction: Guidance,
    /// The same, as a stable code (`move_closer`, `hold_steady`, ...) for logs.
    pub guidance: String,
    /// Its localizable message key (`guidance.move_closer`).
    pub message_key: String,
    /// The English message.
    pub message: String,
    /// Every check passes on this frame.
    pub capture_ready: bool,
    /// The auto-capture fired: upload it with `PalmKit.upload_auto_capture`.
    pub captured: bool,
    /// A hand is in view.
    pub hand_found: bool,
    /// Which hand, when one is in view.
    pub handedness: Option<Hand>,
    /// Palm (not back) towards the camera, when a hand is in view.
    pub palm_facing: Option<bool>,
    /// Landmarks' bounding box in upright pixels: left, top, width, height (empty: none).
    pub bounds: Vec<f32>,
    /// 21 landmarks as x, y pairs in upright pixels (42 values; empty: no hand).
    pub landmarks: Vec<f32>,
    /// The measures, when a hand is in view.
    pub measures: Option<FrameMeasures>,
    /// The spoof layers' verdict so far, with each layer's report.
    pub spoof: SpoofResult,
}

/// The active challenges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ChallengeKind {
    /// "Close your hand, then open it again".
    CloseAndOpen,
    /// "Tilt your hand a little, then hold it flat again". Weaker: a tilted photo can
    /// meet it; not drawn unless the app asks.
    Tilt,
}

impl From<ChallengeKind> for palmkit_core::liveness::ChallengeKind {
    fn from(k: ChallengeKind) -> Self {
        match k {
            ChallengeKind::CloseAndOpen => Self::CloseAndOpen,
            ChallengeKind::Tilt => Self::Tilt,
        }
    }
}

/// What the spoof verdict does on the live path (QA builds: the phone library always
/// enforces).
#[cfg(feature = "dev")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum LivenessPolicy {
    /// Only a passing verdict lets the auto-capture fire (the default).
    Enforce,
    /// Report the verdict but capture anyway: demos and tests feeding photos.
    ReportOnly,
}

#[cfg(feature = "dev")]
impl From<LivenessPolicy> for palmkit_core::analysis::LivenessPolicy {
    fn from(p: LivenessPolicy) -> Self {
        match p {
            LivenessPolicy::Enforce => Self::Enforce,
            LivenessPolicy::ReportOnly => Self::ReportOnly,
        }
    }
}

/// The spoof verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SpoofVerdict {
    /// Every layer that applies passed.
    Pass,
    /// A layer found an attack: do not enroll; show the reason to QA, a neutral message to
    /// the shopper.
    Fail,
    /// No layer failed but one could not tell yet (typically: the hand has not moved
    /// enough for the 3-D motion layer).
    Challenge,
}

/// What one spoof layer concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum LayerOutcome {
    /// Looks bona fide.
    Pass,
    /// Looks like an attack.
    Fail,
    /// Cannot tell yet.
    Unsure,
    /// Does not apply.
    NotApplicable,
}

/// The spoof layers, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SpoofLayerKind {
    /// Live-camera frames only (timestamps, no picture twice).
    CaptureIntegrity,
    /// Screen replay (moiré, refresh banding).
    ScreenReplay,
    /// Print (halftone, missing skin texture).
    Print,
    /// 3-D motion across a burst.
    Motion3d,
    /// The active challenge.
    Challenge,
}

impl From<palmkit_core::liveness::Layer> for SpoofLayerKind {
    fn from(layer: palmkit_core::liveness::Layer) -> Self {
        use palmkit_core::liveness::Layer as L;
        match layer {
            L::CaptureIntegrity => Self::CaptureIntegrity,
            L::ScreenReplay => Self::ScreenReplay,
            L::Print => Self::Print,
            L::Motion3d => Self::Motion3d,
            L::Challenge => Self::Challenge,
        }
    }
}

/// One spoof layer's report.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SpoofLayer {
    /// Which layer: switch over it.
    pub kind: SpoofLayerKind,
    /// Its stable name for logs: `capture_integrity`, `screen_replay`, `print`,
    /// `motion_3d` or `challenge`.
    pub layer: String,
    /// Its score (meaning per layer: docs/spoof-detection.md).
    pub score: f32,
    /// The threshold it was compared with.
    pub threshold: f32,
    /// What it concluded.
    pub outcome: LayerOutcome,
    /// Why, in English (for logs and QA; no image data).
    pub reason: String,
}

/// The verdict and every layer's report.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SpoofResult {
    /// The verdict.
    pub verdict: SpoofVerdict,
    /// Every layer, in order.
    pub layers: Vec<SpoofLayer>,
}

impl From<&palmkit_core::liveness::SpoofVerdict> for SpoofResult {
    fn from(v: &palmkit_core::liveness::SpoofVerdict) -> Self {
        use palmkit_core::liveness::{Outcome, Verdict};
        Self {
            verdict: match v.verdict {
                Verdict::Pass => SpoofVerdict::Pass,
                Verdict::Fail => SpoofVerdict::Fail,
                Verdict::Challenge => SpoofVerdict::Challenge,
            },
            layers: v
                .layers
                .iter()
                .map(|l| SpoofLayer {
                    kind: l.layer.into(),
                    layer: l.layer.to_string(),
                    score: l.score,
                    threshold: l.threshold,
                    outcome: match l.outcome {
                        Outcome::Pass => LayerOutcome::Pass,
                        Outcome::Fail => LayerOutcome::Fail,
                        Outcome::Unsure => LayerOutcome::Unsure,
                        Outcome::NotApplicable => LayerOutcome::NotApplicable,
                    },
                    reason: l.reason.clone(),
                })
                .collect(),
        }
    }
}

impl From<FrameAnalysis> for FrameResult {
    fn from(a: FrameAnalysis) -> Self {
        let hand = a.hand.as_ref();
        Self {
            instruction: a.guidance.into(),
            guidance: a.guidance.code().to_string(),
            message_key: a.guidance.message_key(),
            message: a.guidance.english().to_string(),
            capture_ready: a.capture_ready,
            captured: a.captured,
            hand_found: hand.is_some(),
            handedness: hand.map(|h| h.handedness.into()),
            palm_facing: hand.map(|h| h.palm_facing),
            bounds: hand.map(|h| h.bounds.to_vec()).unwrap_or_default(),
            landmarks: hand
                .map(|h| h.landmarks.iter().flat_map(|p| [p[0], p[1]]).collect())
                .unwrap_or_default(),
            measures: hand.map(|h| FrameMeasures {
                presence: h.presence,
                right_hand: h.right_hand,
                sharpness: h.pixels.sharpness,
                noise: h.pixels.noise,
                mean_luma: h.pixels.mean_luma,
                clipped_fraction: h.pixels.clipped_fraction,
                glare_fraction: h.pixels.glare_fraction,
                palm_size: h.geometry.palm_size,
                offset_x: h.geometry.offset_x,
                offset_y: h.geometry.offset_y,
                roll: h.geometry.roll,
                pitch: h.geometry.pitch,
                yaw: h.geometry.yaw,
                fingers_extended: h.geometry.fingers_extended,
                finger_spread: h.geometry.finger_spread,
                motion: h.motion,
            }),
            spoof: (&a.spoof).into(),
        }
    }
}

/// The live analyzer: load once per capture screen, feed it every camera frame.
#[derive(uniffi::Object)]
pub struct FrameAnalyzer {
    pub(crate) inner: Mutex<CoreAnalyzer>,
}

/// Loads the hand models from `models_dir` (checked against its `SHA256SUMS`) with the
/// default thresholds.
pub(crate) fn load(models_dir: &str) -> Result<CoreAnalyzer, PalmKitError> {
    CoreAnalyzer::load(std::path::Path::new(models_dir), Thresholds::default()).map_err(|e| {
        PalmKitError::ModelUnavailable {
            reason: e.to_string(),
        }
    })
}

pub(crate) fn view<'a>(data: &'a [u8], f: &FrameInfo) -> Result<Frame<'a>, PalmKitError> {
    let invalid = |e: palmkit_core::frame::FrameError| PalmKitError::InvalidFrame {
        reason: e.to_string(),
    };
    let orientation = Orientation {
        rotation: Rotation::from_degrees(f.rotation_degrees).map_err(invalid)?,
        mirrored: f.mirrored,
    };
    let (row, uv_row) = (f.row_stride as usize, f.uv_row_stride as usize);
    let packed = |format| Frame::packed(data, f.width, f.height, format, row, orientation);
    let offset = |v: u64| {
        usize::try_from(v).map_err(|_| PalmKitError::InvalidFrame {
            reason: format!("plane offset {v} is beyond this device's memory"),
        })
    };
    match f.format {
        PixelFormat::Nv21 => Frame::nv21(data, f.width, f.height, row, uv_row, orientation),
        PixelFormat::Yuv420888 => {
            let layout = Layout::Yuv(YuvLayout {
                y_offset: 0,
                y_row_stride: row,
                u_offset: offset(f.u_offset)?,
                v_offset: offset(f.v_offset)?,
                uv_row_stride: uv_row,
                uv_pixel_stride: f.uv_pixel_stride as usize,
            });
            Frame::new(data, f.width, f.height, layout, orientation)
        }
        PixelFormat::Bgra8888 => packed(PackedFormat::Bgra8888),
        PixelFormat::Rgba8888 => packed(PackedFormat::Rgba8888),
        PixelFormat::Rgb888 => packed(PackedFormat::Rgb888),
    }
    .map_err(invalid)
}

#[uniffi::export]
impl FrameAnalyzer {
    /// Loads the hand models from the app's bundled model folder (checked against its
    /// `SHA256SUMS`), with the default thresholds.
    #[uniffi::constructor]
    pub fn new(models_dir: String) -> Result<Arc<Self>, PalmKitError> {
        Ok(Arc::new(Self {
            inner: Mutex::new(load(&models_dir)?),
        }))
    }

    /// Starts guiding towards a capture of `hand` (`None`: either hand).
    pub fn start_hand(&self, hand: Option<Hand>) {
        self.lock().start_hand(hand.map(Into::into));
    }

    /// The active challenges that may be drawn (default: `CLOSE_AND_OPEN` only). Offer
    /// `TILT` only to a shopper who cannot close a hand: a photo tilted by about 50° can
    /// meet it (docs/spoof-detection.md). An empty list changes nothing.
    pub fn set_challenges(&self, kinds: Vec<ChallengeKind>) {
        let kinds: Vec<_> = kinds.into_iter().map(Into::into).collect();
        self.lock().set_challenges(&kinds);
    }

    /// Analyzes one camera frame. Bad frame descriptions are `InvalidFrame`; nothing here
    /// panics across the FFI.
    pub fn analyze_frame(
        &self,
        data: Vec<u8>,
        info: FrameInfo,
    ) -> Result<FrameResult, PalmKitError> {
        let data = Zeroizing::new(data);
        let frame = view(&data, &info)?;
        let analysis = self
            .lock()
            .analyze(&frame, info.timestamp_ms)
            .map_err(|e| PalmKitError::ModelUnavailable {
                reason: e.to_string(),
            })?;
        Ok(analysis.into())
    }
}

/// Development shortcuts: QA builds and the desktop tests only, never the phone library.
#[cfg(feature = "dev")]
#[uniffi::export]
impl FrameAnalyzer {
    /// What the spoof verdict does (default `ENFORCE`: only a passing verdict captures;
    /// the app shows the challenge or `not_live` guidance it gets). `REPORT_ONLY` is for
    /// demos and tests that feed photos as frames; never ship it.
    pub fn set_liveness_policy(&self, policy: LivenessPolicy) {
        self.lock().set_liveness_policy(policy.into());
    }
}

impl FrameAnalyzer {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, CoreAnalyzer> {
        // A panic while holding the lock cannot leave the analyzer half-updated in a way
        // that matters more than losing the frame: keep going with its state.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
