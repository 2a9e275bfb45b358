//! What the service admits once a capture has opened and checked out
//! ([`super::verify`]), by [`ServerMode`].
//!
//! In production a capture must say it came from the live camera and carry a sealed spoof
//! verdict that passed. Neither proves anything alone: the envelope is HPKE base mode,
//! so a modified app can seal any image with any verdict. Their worth comes from the
//! platform attestation bound to the envelope's hash, which production also requires
//! (checked when the upload is created and again over the bytes received). Development
//! mode admits file-origin captures and captures without a verdict, for desktop QA.

use palmkit_core::protocol::CaptureSource;

use super::verify::{Refused, Verified};
use crate::state::ServerMode;

/// `Ok` if `mode` admits the verified capture, otherwise why not.
pub fn admit(mode: ServerMode, capture: Verified) -> Result<Verified, Refused> {
    if mode == ServerMode::Development {
        return Ok(capture);
    }
    if capture.source != CaptureSource::Camera {
        return Err(Refused {
            code: "camera_capture_required",
            message: "this service takes captures from the live camera only".into(),
        });
    }
    match capture.spoof_decision.as_deref() {
        Some("pass") => Ok(capture),
        Some(other) => Err(Refused {
            code: "spoof_check_failed",
            message: format!("the capture's spoof verdict is {other:.16}, not pass"),
        }),
        None => Err(Refused {
            code: "spoof_verdict_required",
            message: "this service takes captures with a sealed spoof verdict only".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(source: CaptureSource, decision: Option<&str>) -> Verified {
        Verified {
            key_id: "k".into(),
            metadata: "{}".into(),
            spoof: decision.map(|_| "{}".into()),
            source,
            spoof_decision: decision.map(str::to_string),
            signature: None,
        }
    }

    fn code(mode: ServerMode, source: CaptureSource, decision: Option<&str>) -> &'static str {
        match admit(mode, capture(source, decision)) {
            Ok(_) => "admitted",
            Err(r) => r.code,
        }
    }

    #[test]
    fn production_admits_only_camera_captures_whose_verdict_passed() {
        use CaptureSource::{Camera, File};
        let p = ServerMode::Production;
        assert_eq!(code(p, Camera, Some("pass")), "admitted");
        assert_eq!(code(p, File, Some("pass")), "camera_capture_required");
        assert_eq!(code(p, Camera, None), "spoof_verdict_required");
        assert_eq!(code(p, Camera, Some("fail")), "spoof_check_failed");
        assert_eq!(code(p, Camera, Some("challenge")), "spoof_check_failed");
        let d = ServerMode::Development;
        assert_eq!(code(d, File, None), "admitted");
    }
}
