//! `palmkit demo`: a whole enrollment, as far as PalmKit goes today, against a reference
//! server started in this process on a free 127.0.0.1 port with a throw-away data
//! directory. Each step prints what it did; the first failing step stops the demo with
//! an error. With the hand models provisioned (`cargo xtask demo` does it), the capture comes
//! from the live camera path: a palm photo fed as camera frames until the auto-capture.

use std::time::Instant;

use std::sync::Arc;

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::KeyringStore;
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::error::{Error, TrustFailure};
use palmkit_core::payment::card::{CardInput, current_year_month};
use palmkit_core::payment::{AddCardOutcome, PaymentClient};
use palmkit_core::protocol::{CaptureSource, EnrollmentState, Hand};
use palmkit_core::upload::Capture;
use palmkit_core::{ServiceClient, ServiceConfig};
use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
use palmkit_server::browser::ScriptedBrowser;
use zeroize::Zeroizing;

use crate::progress;

/// Runs the demo; `Err` carries the failed step's explanation.
pub async fn run() -> Result<(), String> {
    let started = Instant::now();
    let data = tempfile::Builder::new()
        .prefix("palmkit-demo-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary data directory: {e}"))?;

    let mut step = Steps::default();
    step.begin("Start the reference server (new CA, service key, database)");
    let listen = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    let server = palmkit_server::start(palmkit_server::ServerOptions::development(
        data.path(),
        listen,
    ))
    .await
    .map_err(|e| step.fail(e))?;
    step.done(&format!("listening on {}", server.base_url));

    let result = enrollment_steps(&mut step, &server.client_config).await;
    step.begin("Stop the server gracefully");
    server.shutdown().await;
    step.done("stopped");
    result?;
    println!(
        "\nDemo passed: {} steps in {:.1} s.",
        step.count,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn enrollment_steps(step: &mut Steps, config: &ServiceConfig) -> Result<(), String> {
    step.begin("Load the pinned client configuration");
    let client = ServiceClient::new(config).map_err(|e| step.fail(e))?;
    step.done(&format!(
        "CA-pinned, {} SPKI pins, service key {}",
        config.trust.spki_sha256.len(),
        config.service_key.id
    ));

    step.begin("Health check over pinned TLS");
    let health = client.health().await.map_err(|e| step.fail(e))?;
    step.done(&format!(
        "passed: status {}, server version {}",
        health.status, health.version
    ));

    step.begin("Refuse a server that is not the pinned one");
    let stranger = tempfile::tempdir().map_err(|e| step.fail(e))?;
    let other =
        palmkit_server::init_data_dir(stranger.path(), palmkit_server::ServerMode::Development)
            .map_err(|e| step.fail(e))?;
    let mut wrong = config.clone();
    wrong.trust.ca_pem = Some(other.pki.ca_pem.clone());
    match ServiceClient::new(&wrong)
        .map_err(|e| step.fail(e))?
        .health()
        .await
    {
        Err(Error::Untrusted(TrustFailure::UnknownIssuer)) => {
            step.done("a client pinned to another CA was refused (unknown issuer)")
        }
        other => {
            return Err(step.fail(format!("expected an untrusted-server error, got {other:?}")));
        }
    }

    step.begin("Log in the test shopper (scripted browser at the login form, PKCE)");
    let store = keyring_core::mock::Store::new().map_err(|e| step.fail(e))?;
    let account =
        AccountClient::new(config, Arc::new(KeyringStore::new(store))).map_err(|e| step.fail(e))?;
    let browser = ScriptedBrowser::new(config).map_err(|e| step.fail(e))?;
    let url = account.start_login().await.map_err(|e| step.fail(e))?;
    let redirect = browser
        .login(url.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
        .await
        .map_err(|e| step.fail(e))?;
    account
        .finish_login(&redirect)
        .await
        .map_err(|e| step.fail(e))?;
    let me = account.account().await.map_err(|e| step.fail(e))?;
    step.done(&format!(
        "signed in as {} <{}>; tokens held in the (in-memory) credential store",
        me.display_name, me.email
    ));

    step.begin("Guide the shopper and auto-capture from camera frames (hand models)");
    let live = live_capture().map_err(|e| step.fail(e))?;
    let (capture, what, hand) = match live {
        Some((capture, summary)) => {
            step.done(&summary);
            (
                capture,
                "auto-captured camera frame".to_string(),
                Hand::Left,
            )
        }
        None => {
            step.done(
                "skipped: no hand models or test photos (run `cargo xtask demo`, which \
                 provisions them); uploading a file instead",
            );
            let (image, what) = demo_image().map_err(|e| step.fail(e))?;
            let capture = Capture::new(image, CaptureSource::File).map_err(|e| step.fail(e))?;
            (capture, what, Hand::Right)
        }
    };

    let hand_name = if hand == Hand::Left { "left" } else { "right" };
    step.begin(&format!(
        "Create a draft enrollment for the {hand_name} hand (as the shopper)"
    ));
    let enrollments = EnrollmentClient::new(&account);
    let enrollment = enrollments
        .create(&[hand])
        .await
        .map_err(|e| step.fail(e))?;
    step.done(&format!("{} ({:?})", enrollment.id, enrollment.state));

    step.begin("Read the enrollment back from the service");
    let fetched = enrollments
        .get(&enrollment.id)
        .await
        .map_err(|e| step.fail(e))?;
    if fetched != enrollment || fetched.state != EnrollmentState::Draft {
        return Err(step.fail(format!("read back {fetched:?}, expected {enrollment:?}")));
    }
    step.done(&format!("state draft, hands [{hand_name}]"));

    step.begin("Seal the capture to the service key and upload it (tus, resumable)");
    let report = crate::upload::seal_and_send(&account, &enrollment, hand, capture)
        .await
        .map_err(|e| step.fail(e))?;
    step.done(&format!(
        "{what}: {} sealed bytes (HPKE X25519/ChaCha20-Poly1305) uploaded as {}; \
         the server opened and checked it in memory and kept only the sealed bytes",
        report.length, report.id
    ));

    step.begin("Add a test card (tokenized at the payment provider)");
    let payments = PaymentClient::new(&account);
    let card = CardInput {
        number: Zeroizing::new("4242 4242 4242 4242".into()),
        exp_month: 12,
        exp_year: current_year_month().0 + 3,
        cvc: Zeroizing::new("123".into()),
        cardholder_name: me.display_name.clone(),
    };
    let method = match payments
        .add_card(card, current_year_month())
        .await
        .map_err(|e| step.fail(e))?
    {
        AddCardOutcome::Added(m) => m,
        AddCardOutcome::RequiresAction { .. } => {
            return Err(step.fail("the test card asked for confirmation"));
        }
    };
    step.done(&format!(
        "{} ****{} saved as {}; the enrollment service saw only the token",
        method.brand, method.last4, method.id
    ));

    step.begin("Link the card to the palm profile (idempotent)");
    let key = PaymentClient::new_idempotency_key().map_err(|e| step.fail(e))?;
    let link = payments
        .link(&method.id, &key)
        .await
        .map_err(|e| step.fail(e))?;
    step.done(&format!(
        "palm pays with {} since {}",
        link.payment_method_id, link.linked_at
    ));

    step.begin("Submit the enrollment (idempotent)");
    let key = PaymentClient::new_idempotency_key().map_err(|e| step.fail(e))?;
    let submitted = enrollments
        .submit(&enrollment.id, std::slice::from_ref(&report.id), &key)
        .await
        .map_err(|e| step.fail(e))?;
    if submitted.state != EnrollmentState::PendingStoreMatch {
        return Err(step.fail(format!("submitted, but the state is {:?}", submitted.state)));
    }
    step.done("pending the first in-store palm match");

    step.begin("Log out (revoke at the server, delete the tokens)");
    account.logout().await.map_err(|e| step.fail(e))?;
    if account.is_signed_in().map_err(|e| step.fail(e))? {
        return Err(step.fail("tokens still stored after logout"));
    }
    step.done("signed out; the login is revoked at the server");

    Ok(())
}

/// The photo the demo uploads: a real palm photograph from the shared test data when it
/// can be found (`PALMKIT_TESTDATA`), otherwise a generated stand-in image, said so.
/// The palm photo the live path is shown with: an open left palm that passes every check.
const LIVE_PHOTO: &str = "palms/palm_kbyai_ex5.jpg";

/// The live camera path on the desktop: the palm photo as 30 fps NV21 frames from a
/// landscape sensor, fed to the frame analyzer until it auto-captures. `None` when the
/// models or the photo are not here.
fn live_capture() -> Result<Option<(Capture, String)>, String> {
    let models = crate::analyze::models_dir(None);
    let photo = std::env::var_os("PALMKIT_TESTDATA")
        .map(|d| std::path::Path::new(&d).join(LIVE_PHOTO))
        .filter(|p| p.exists());
    let (Some(photo), true) = (photo, models.join("SHA256SUMS").exists()) else {
        return Ok(None);
    };
    let mut analyzer = crate::analyze::load_analyzer(&models)?;
    // A photo is no live hand: the spoof layers say so (reported below), and an app, which
    // enforces them, would not capture it. The demo reports and carries on.
    analyzer.set_liveness_policy(palmkit_core::analysis::LivenessPolicy::ReportOnly);
    let crate::frames::PhotoFrames {
        nv21,
        width,
        height,
        ..
    } = crate::frames::sensor_nv21(&photo)?;
    let upright = palmkit_core::frame::Orientation {
        rotation: palmkit_core::frame::Rotation::Deg90,
        mirrored: false,
    };
    let frame = palmkit_core::frame::Frame::nv21(
        &nv21,
        width,
        height,
        width as usize,
        width as usize,
        upright,
    )
    .map_err(|e| e.to_string())?;
    analyzer.start_hand(Some(Hand::Left));
    let mut seen: Vec<&str> = Vec::new();
    for i in 0..30u64 {
        let a = analyzer
            .analyze(&frame, i * 33)
            .map_err(|e| e.to_string())?;
        if seen.last() != Some(&a.guidance.code()) {
            seen.push(a.guidance.code());
        }
        if a.captured {
            let spoof = analyzer
                .capture_verdict()
                .map(|v| {
                    let reasons = v.reasons().join("; ");
                    format!("{} ({reasons})", v.verdict.name())
                })
                .unwrap_or_else(|| "none".into());
            let capture = analyzer
                .take_capture()
                .map_err(|e| e.to_string())?
                .ok_or("the capture fired but nothing was kept")?;
            let (kept_w, kept_h) = (capture.metadata().width, capture.metadata().height);
            return Ok(Some((
                capture,
                format!(
                    "{LIVE_PHOTO} as {width}x{height} NV21 (rotation 90): guidance {} after {} \
                     frames; kept the best frame as a {}x{} JPEG in memory; spoof verdict \
                     {spoof} — an app enforcing it would not have captured this photo",
                    seen.join(" -> "),
                    i + 1,
                    kept_w,
                    kept_h
                ),
            )));
        }
    }
    Err(format!(
        "no auto-capture in 30 frames; guidance went {}",
        seen.join(" -> ")
    ))
}

fn demo_image() -> Result<(Zeroizing<Vec<u8>>, String), String> {
    const PHOTO: &str = "palms/palm_11k_f_p.jpg";
    if let Some(dir) = std::env::var_os("PALMKIT_TESTDATA") {
        let path = std::path::Path::new(&dir).join(PHOTO);
        if let Ok(bytes) = std::fs::read(&path) {
            return Ok((Zeroizing::new(bytes), format!("test photo {PHOTO}")));
        }
    }
    let mut png = Vec::new();
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([200 - (y / 4) as u8, 150 + (x / 16) as u8, 120])
    });
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok((
        Zeroizing::new(png),
        "generated 640x480 stand-in (set PALMKIT_TESTDATA for a real palm photo)".into(),
    ))
}

/// Numbered step output with a spinner while a step runs.
#[derive(Default)]
struct Steps {
    count: usize,
    spinner: Option<indicatif::ProgressBar>,
    title: String,
}

impl Steps {
    fn begin(&mut self, title: &str) {
        self.count += 1;
        self.title = title.to_string();
        self.spinner = Some(progress::spinner(format!("{}. {title}", self.count)));
    }

    fn done(&mut self, outcome: &str) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
        println!("{:>2}. {} ... ok\n    {outcome}", self.count, self.title);
    }

    fn fail(&mut self, error: impl std::fmt::Display) -> String {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
        println!("{:>2}. {} ... FAILED", self.count, self.title);
        format!("step {} ({}) failed: {error}", self.count, self.title)
    }
}
