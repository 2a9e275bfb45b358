//! The live camera path into the enrollment session, with the real hand models and the
//! reference server: a still palm photo on the enforced path fails the capture as spoofed,
//! an empty view times out, a capture of "either hand" carries the side the models saw,
//! and frames without models are a typed error. Needs the provisioned models.

use crate::support;

use std::sync::Arc;

use palmkit_core::analysis::{FrameAnalyzer, LivenessPolicy};
use palmkit_core::enrollment::{
    EnrollmentSession, FailureReason, HandStatus, SessionOptions, SessionState, StateName,
};
use palmkit_core::error::{Error, ErrorKind, SessionFailure};
use palmkit_core::frame::{Frame, Orientation, PackedFormat};
use palmkit_core::protocol::Hand;
use palmkit_core::quality::Thresholds;
use palmkit_server::RunningServer;

const SIDE: u32 = 480;

fn analyzer(policy: LivenessPolicy) -> FrameAnalyzer {
    let mut a = FrameAnalyzer::load(&support::models_dir(), Thresholds::default()).unwrap();
    a.set_liveness_policy(policy);
    a
}

/// A signed-in session with consent given, on a fresh server.
async fn consented(
    options: SessionOptions,
) -> (tempfile::TempDir, RunningServer, Arc<EnrollmentSession>) {
    let (dir, server) = support::start_server(|_| {}).await;
    let session = Arc::new(
        EnrollmentSession::new(&server.client_config, support::mock_store(), options).unwrap(),
    );
    support::sign_in(&session, &server.client_config).await;
    session.give_consent("v1").await.unwrap();
    (dir, server, session)
}

/// The HaGRID open left palm scaled to SIDE x SIDE RGB.
fn palm() -> Vec<u8> {
    support::square_rgb("palms", "palm_hagrid_palm.png", SIDE)
}

/// Feeds `rgb` with ±1 of noise seeded by `t` (a sensor never repeats a picture exactly).
fn feed(
    session: &EnrollmentSession,
    rgb: &[u8],
    t: u64,
) -> Result<palmkit_core::analysis::FrameAnalysis, Error> {
    let noisy = support::with_sensor_noise(rgb, t);
    let frame = Frame::packed(
        &noisy,
        SIDE,
        SIDE,
        PackedFormat::Rgb888,
        SIDE as usize * 3,
        Orientation::default(),
    )
    .unwrap();
    session.analyze_frame(&frame, t)
}

#[tokio::test]
async fn a_still_palm_photo_on_the_enforced_path_fails_the_capture_as_spoofed() {
    let (_dir, server, session) = consented(SessionOptions::default()).await;
    session.set_analyzer(analyzer(LivenessPolicy::Enforce));
    session.start_hand(None).unwrap();
    let palm = palm();
    // Up to twelve seconds of a still open palm, five frames a second: the challenge is
    // not met in 8 s, the verdict fails, and a second later so does the capture.
    let mut failed_at = None;
    for i in 1..=60u64 {
        match feed(&session, &palm, i * 200) {
            Ok(a) => assert!(!a.captured, "frame {i} captured a photo"),
            Err(e) => panic!("frame {i}: {e}"),
        }
        if session.state().name() == StateName::Failed {
            failed_at = Some(i * 200);
            break;
        }
    }
    let failed_at = failed_at.expect("the capture never failed");
    assert!(
        failed_at >= 8_000,
        "failed at {failed_at} ms, before the challenge ran out"
    );
    match session.state() {
        SessionState::Failed { failure: f } => {
            assert_eq!(f.reason, FailureReason::SpoofSuspected);
            assert!(f.retryable);
            assert!(f.message.contains("challenge"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(session.snapshot().left, HandStatus::NotCaptured);
    // No more frames are taken; the shopper may try again.
    let err = feed(&session, &palm, 20_000).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Session(SessionFailure::OutOfOrder {
                call: "analyze_frame",
                state: StateName::Failed
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        session.start_hand(None).unwrap().state,
        SessionState::Capturing { hand: None }
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_view_without_a_hand_times_out() {
    let options = SessionOptions {
        capture_timeout_ms: 3_000,
        ..SessionOptions::default()
    };
    let (_dir, server, session) = consented(options).await;
    session.set_analyzer(analyzer(LivenessPolicy::Enforce));
    session.start_hand(Some(Hand::Right)).unwrap();
    let wall = vec![128u8; (SIDE * SIDE * 3) as usize];
    let mut frames = 0;
    while session.state().name() == StateName::Capturing && frames < 40 {
        frames += 1;
        let a = feed(&session, &wall, 1_000 + frames * 100).unwrap();
        assert!(a.hand.is_none());
    }
    match session.state() {
        SessionState::Failed { failure: f } => {
            assert_eq!(f.reason, FailureReason::CaptureTimedOut);
            assert!(f.retryable);
            assert!(
                f.message.contains("show_palm") || f.message.contains("no_hand"),
                "{}",
                f.message
            );
        }
        other => panic!("after {frames} frames: {other:?}"),
    }
    assert_eq!(
        frames, 31,
        "3 s of camera time at 10 frames a second, then the failure"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_capture_of_either_hand_carries_the_side_the_models_saw() {
    let (_dir, server, session) = consented(SessionOptions::default()).await;
    session.set_analyzer(analyzer(LivenessPolicy::ReportOnly));
    session.start_hand(None).unwrap();
    let palm = palm();
    let mut captured = false;
    for i in 1..=30u64 {
        if feed(&session, &palm, i * 100).unwrap().captured {
            captured = true;
            break;
        }
    }
    assert!(captured, "no capture in 3 s of a steady open palm");
    let snap = session.snapshot();
    assert_eq!(
        snap.state,
        SessionState::Captured {
            hands: vec![Hand::Left]
        }
    );
    assert_eq!(
        (snap.left, snap.right),
        (HandStatus::Captured, HandStatus::NotCaptured)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn frames_without_models_are_a_typed_error() {
    let (_dir, server, session) = consented(SessionOptions::default()).await;
    session.start_hand(None).unwrap();
    let err = feed(&session, &palm(), 0).unwrap_err();
    assert!(
        matches!(err, Error::Session(SessionFailure::NoAnalyzer)),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::ModelUnavailable);
    assert_eq!(session.state(), SessionState::Capturing { hand: None });
    server.shutdown().await;
}
