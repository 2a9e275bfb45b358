//! `palmkit demo`: a whole enrollment through the core's `EnrollmentSession` — the one
//! entry point the apps drive — against a reference server started in this process on a
//! free 127.0.0.1 port with a throw-away data directory: pinned health check, login,
//! consent, live camera frames to auto-capture, card, sealed upload with progress, pending
//! store match, logout. Each step prints what it did and how long it took; the first failing
//! step stops the demo with an error. With the hand models provisioned (`cargo xtask demo`
//! does it) the captures come from palm photos fed as camera frames (`--palms DIR`: the
//! photos in DIR, enrolling the hand each shows; at most one capture per hand).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use palmkit_core::account::store::KeyringStore;
use palmkit_core::enrollment::{
    EnrollmentSession, HandStatus, SessionListener, SessionOptions, SessionSnapshot, SessionState,
    StateName,
};
use palmkit_core::error::{Error, TrustFailure};
use palmkit_core::payment::AddCardOutcome;
use palmkit_core::payment::card::{CardInput, current_year_month};
use palmkit_core::protocol::{CaptureSource, Hand};
use palmkit_core::upload::Capture;
use palmkit_core::{ServiceClient, ServiceConfig};
use palmkit_server::accounts::browser::ScriptedBrowser;
use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
use zeroize::Zeroizing;

use crate::error::{CliError, Result};
use crate::progress;

/// `palmkit demo`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Make the camera frames from the palm photos in DIR (JPEG or PNG, searched
    /// recursively) and enroll the hand each shows, at most one photo per hand; needs
    /// the hand models. Default: the shared test photo of a left palm.
    #[arg(long, value_name = "DIR")]
    palms: Option<PathBuf>,
    /// Enroll at a running `palmkit serve --dev` (its `client-config.json`) instead of
    /// a server started in this process.
    #[arg(long, value_name = "CLIENT_CONFIG")]
    server: Option<PathBuf>,
}

/// What the demo says, and stops at, when it finds no palm photo to enroll.
const NEEDS_PALMS: &str = "palmkit demo needs real palm photos, which do not ship with the \
    binary: pass --palms DIR (JPEG or PNG photos of open palms), set PALMKIT_TESTDATA to the \
    shared test data, or run `cargo xtask demo` in a checkout (it provisions the hand models \
    and finds the photos)";

/// Runs the demo; `Err` carries the failed step's explanation. With `--server` (a running
/// `palmkit serve --dev`'s client configuration) the enrollment goes to that server instead
/// of one started here, and this process writes no file at all (the `strace` test shows it).
pub async fn run(args: Args) -> Result<()> {
    let (palms, server) = (args.palms.as_deref(), args.server.as_deref());
    // A server that reads palms refuses anything but a real palm, and real palm photos
    // never ship with the binary: say what is needed before starting anything.
    if palms.is_none() && live_photo().is_none() {
        return Err(CliError::Usage(NEEDS_PALMS.into()));
    }
    let started = Instant::now();
    if let Some(config_path) = server {
        let config = crate::args::read_config(config_path)?;
        let mut step = Steps::default();
        enrollment_steps(&mut step, &config, palms, false, None).await?;
        println!(
            "\nDemo passed: {} steps in {:.1} s.",
            step.count,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let data = tempfile::Builder::new()
        .prefix("palmkit-demo-")
        .tempdir()
        .map_err(CliError::system("cannot make a temporary data directory"))?;

    let mut step = Steps::default();
    step.begin("Start the reference server (new CA, service key, database)");
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = palmkit_server::ServerOptions::development(data.path(), listen);
    // With the hand models the server reads each capture's palm and can match store scans
    // (the demo has a real palm photo to send: checked above).
    let models = crate::analyze::models_dir(None);
    let provisioned = models.join("SHA256SUMS").exists();
    options.models = Some(models).filter(|_| provisioned);
    let reads_palms = options.models.is_some();
    let server = palmkit_server::start(options)
        .await
        .map_err(|e| step.fail(e))?;
    step.done(&format!(
        "listening on {}; {}",
        server.base_url,
        if reads_palms {
            "reads palms (hand models loaded)"
        } else {
            "no hand models: captures are not read, no store match"
        }
    ));

    let store = (reads_palms && palms.is_none()).then_some(&server);
    let result = enrollment_steps(&mut step, &server.client_config, palms, true, store).await;
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

/// The enrollment against the server `config` names; `show_refusal` adds the step that makes
/// a stranger's CA (in a temporary directory) and shows the pinned client refusing it.
async fn enrollment_steps(
    step: &mut Steps,
    config: &ServiceConfig,
    palms: Option<&Path>,
    show_refusal: bool,
    store_server: Option<&palmkit_server::RunningServer>,
) -> Result<()> {
    step.begin("Open an enrollment session (pinned client, in-memory secure store)");
    let store = keyring_core::mock::Store::new().map_err(|e| step.fail(e))?;
    let session = EnrollmentSession::new(
        config,
        Arc::new(KeyringStore::new(store)),
        SessionOptions::default(),
    )
    .map_err(|e| step.fail(e))?;
    let listener = Arc::new(Shown::default());
    session.set_listener(Some(listener.clone()));
    let restored = session.restore().await.map_err(|e| step.fail(e))?;
    step.done(&format!(
        "CA-pinned, {} SPKI pins, service key {}; state {}",
        config.trust.spki_sha256.len(),
        config.service_key.id,
        restored.state.name()
    ));

    step.begin("Health check over pinned TLS");
    let health = session.health().await.map_err(|e| step.fail(e))?;
    step.done(&format!(
        "passed: status {}, server version {}",
        health.status, health.version
    ));

    if show_refusal {
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
    }

    step.begin("Log in the test shopper (scripted browser at the login form, PKCE)");
    let url = session.start_login().await.map_err(|e| step.fail(e))?;
    let redirect = ScriptedBrowser::new(config)
        .map_err(|e| step.fail(e))?
        .login(url.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
        .await
        .map_err(|e| step.fail(e))?;
    let snap = session
        .finish_login(&redirect)
        .await
        .map_err(|e| step.fail(e))?;
    let me = session.account().await.map_err(|e| step.fail(e))?;
    step.done(&format!(
        "signed in as {} <{}>; state {}",
        me.display_name,
        me.email,
        snap.state.name()
    ));

    step.begin("Record the biometric consent at the service");
    let consent = session
        .give_consent(CONSENT_VERSION)
        .await
        .map_err(|e| step.fail(e))?;
    step.done(&format!(
        "text {} agreed at {}; state {}",
        consent.text_version,
        consent.given_at,
        session.state().name()
    ));

    step.begin("Guide the shopper and auto-capture from camera frames (hand models)");
    let summary = capture(&session, palms).map_err(|e| step.fail(e))?;
    step.done(&summary);

    step.begin("Add a test card (tokenized at the payment provider) and link it");
    let card = CardInput {
        number: Zeroizing::new("4242 4242 4242 4242".into()),
        exp_month: 12,
        exp_year: current_year_month().0 + 3,
        cvc: Zeroizing::new("123".into()),
        cardholder_name: me.display_name.clone(),
    };
    let method = match session.add_card(card).await.map_err(|e| step.fail(e))? {
        AddCardOutcome::Added { method } => method,
        AddCardOutcome::RequiresAction { .. } => {
            return Err(step.fail("the test card asked for confirmation"));
        }
    };
    let link = session
        .choose_payment(&method.id)
        .await
        .map_err(|e| step.fail(e))?;
    step.done(&format!(
        "{} ****{} saved as {} (the enrollment service saw only the token); palm pays with \
         it since {}; state {}",
        method.brand,
        method.last4,
        method.id,
        link.linked_at,
        session.state().name()
    ));

    step.begin("Seal the captures to the service key, upload (tus, resumable) and submit");
    step.pause();
    listener.show_progress();
    let uploaded = session.upload().await;
    listener.hide_progress();
    let snap = uploaded.map_err(|e| step.fail(e))?;
    if snap.state != SessionState::PendingStoreMatch {
        return Err(step.fail(format!("uploaded, but the state is {:?}", snap.state)));
    }
    let (confirmed, total) = listener.last_progress();
    step.done(&format!(
        "{confirmed} of {total} sealed bytes (HPKE X25519/ChaCha20-Poly1305) confirmed; \
         enrollment {} pending the first in-store palm match (left {:?}, right {:?}); the \
         server opened each capture in memory and kept only the sealed bytes",
        snap.enrollment_id.as_deref().unwrap_or("?"),
        snap.left,
        snap.right
    ));

    step.begin("Read the enrollment back from the service");
    let snap = session.refresh().await.map_err(|e| step.fail(e))?;
    step.done(&format!("state {}", snap.state.name()));

    if let Some(server) = store_server {
        store_steps(step, &session, server).await?;
    }

    step.begin("Log out (revoke at the server, delete the tokens and the saved progress)");
    let snap = session.logout().await.map_err(|e| step.fail(e))?;
    if session
        .account_client()
        .is_signed_in()
        .map_err(|e| step.fail(e))?
    {
        return Err(step.fail("tokens still stored after logout"));
    }
    step.done(&format!(
        "signed out; the login is revoked at the server; state {}; the session went {}",
        snap.state.name(),
        listener.path()
    ));
    Ok(())
}

/// The photos the store scanner is shown: another photo of the enrolled palm (its
/// capture is `LIVE_PHOTO`), and a different person's palm.
const SAME_PALM_AGAIN: &str = "palms/coep/001_2.jpg";
const OTHER_PALM: &str = "palms/coep/003_1.jpg";

/// The in-store match: a registered store device scans a different palm (no match; the
/// enrollment stays pending), then another photo of the enrolled palm (a match: the
/// enrollment completes and the app, waiting with backoff, sees it).
async fn store_steps(
    step: &mut Steps,
    session: &EnrollmentSession,
    server: &palmkit_server::RunningServer,
) -> Result<()> {
    let Some(testdata) = std::env::var_os("PALMKIT_TESTDATA").map(PathBuf::from) else {
        return Ok(());
    };
    let read = |name: &str| {
        std::fs::read(testdata.join(name)).map_err(|e| CliError::Failed(format!("{name}: {e}")))
    };
    step.begin("Register a store scanner (its own device token, not a shopper's login)");
    let device = server
        .issue_store_device("demo-store")
        .map_err(|e| step.fail(e))?;
    step.done(&format!("device {} of demo-store", device.id));

    step.begin("The store scans a different person's palm");
    let other = crate::store::post_scan(&server.client_config, &device.token, read(OTHER_PALM)?)
        .await
        .map_err(|e| step.fail(e))?;
    if other.outcome != palmkit_core::protocol::ScanOutcome::NoMatch {
        return Err(step.fail(format!("expected no match, got {other:?}")));
    }
    step.done(&format!("{OTHER_PALM}: {}", crate::store::describe(&other)));

    step.begin("The store scans another photo of the enrolled palm; the app sees the match");
    // The app waits (polling with backoff) while the store scans.
    let (matched, snap) = tokio::join!(
        crate::store::post_scan(&server.client_config, &device.token, read(SAME_PALM_AGAIN)?),
        session.await_store_match(
            std::time::Duration::from_millis(100),
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(30),
        )
    );
    let matched = matched.map_err(|e| step.fail(e))?;
    let snap = snap.map_err(|e| step.fail(e))?;
    if matched.outcome != palmkit_core::protocol::ScanOutcome::Matched
        || snap.state != SessionState::Complete
    {
        return Err(step.fail(format!(
            "expected a match and a complete enrollment, got {matched:?} and {}",
            snap.state.name()
        )));
    }
    step.done(&format!(
        "{SAME_PALM_AGAIN}: {}; the app's session is now {} (right hand {:?})",
        crate::store::describe(&matched),
        snap.state.name(),
        snap.right
    ));
    Ok(())
}

/// The consent text version the demo agrees to.
const CONSENT_VERSION: &str = "palmkit-demo-consent-1";

/// The palm photo the live path is shown with by default: a right palm from the COEP set
/// (framed by the demo as a shopper would hold it), of which the store later scans
/// another photo.
const LIVE_PHOTO: &str = "palms/coep/001_1.jpg";

/// The capture step: each photo (the `--palms` folder's, or the default one) as 30 fps
/// NV21 frames from a landscape sensor, fed to the session until it auto-captures the hand
/// the photo shows; at most one capture per hand. Without the models (and no `--palms`),
/// the shared palm photo is held as a file capture instead, said so.
fn capture(session: &EnrollmentSession, palms: Option<&Path>) -> Result<String> {
    let models = crate::analyze::models_dir(None);
    let photos: Vec<PathBuf> = match palms {
        Some(dir) => photos_in(dir)?,
        None => live_photo().into_iter().collect(),
    };
    if photos.is_empty() || !models.join("SHA256SUMS").exists() {
        if palms.is_some() {
            return Err(crate::analyze::load_analyzer(&models)
                .err()
                .unwrap_or_else(|| CliError::Failed("no palm photos".into())));
        }
        let (image, what) = demo_image()?;
        session.start_hand(Some(Hand::Right))?;
        let capture = Capture::new(image, CaptureSource::File)?;
        session.add_capture(Hand::Right, capture)?;
        return Ok(format!(
            "skipped the camera path: no hand models or test photos (run `cargo xtask demo`, \
             which provisions them); holding {what} as the right hand's capture"
        ));
    }
    let mut analyzer = crate::analyze::load_analyzer(&models)?;
    // A photo is no live hand: the spoof layers say so (reported below), and an app, which
    // enforces them, would not capture it. The demo reports and carries on.
    analyzer.set_liveness_policy(palmkit_core::analysis::LivenessPolicy::ReportOnly);
    session.set_analyzer(analyzer);
    let mut framer = palmkit_core::vision::HandTracker::load(&models, 0.5)?;
    let mut lines = Vec::new();
    for photo in photos {
        let held = session.snapshot();
        if held.left != HandStatus::NotCaptured && held.right != HandStatus::NotCaptured {
            break;
        }
        let name = photo.display().to_string();
        // The first capture takes whichever hand is shown; then the other one is asked for.
        let wanted = match (held.left, held.right) {
            (HandStatus::NotCaptured, HandStatus::NotCaptured) => None,
            (HandStatus::NotCaptured, _) => Some(Hand::Left),
            _ => Some(Hand::Right),
        };
        session.start_hand(wanted)?;
        // The shopper frames the palm: the photo cropped around the hand it shows (a
        // photo taken from further away, like the peg-board COEP pictures, would only
        // ever get "centre your palm").
        let picture = crate::frames::read_upright(&photo)?;
        let frames = match palm_centre(&mut framer, &picture)? {
            Some((cx, cy, side, roll)) => {
                crate::frames::sensor_nv21_framed(&picture, cx, cy, side, roll)?
            }
            None => crate::frames::sensor_nv21_of(&picture)?,
        };
        let upright = palmkit_core::frame::Orientation {
            rotation: palmkit_core::frame::Rotation::Deg90,
            mirrored: false,
        };
        let frame = palmkit_core::frame::Frame::nv21(
            &frames.nv21,
            frames.width,
            frames.height,
            frames.width as usize,
            frames.width as usize,
            upright,
        )
        .map_err(CliError::failed)?;
        let mut seen: Vec<&str> = Vec::new();
        let mut outcome = None;
        for i in 0..30u64 {
            let a = session.analyze_frame(&frame, i * 33)?;
            if seen.last() != Some(&a.guidance.code()) {
                seen.push(a.guidance.code());
            }
            // The photo shows the hand already captured: the next photo, then.
            if i >= 4 && matches!(a.guidance.code(), "use_left_hand" | "use_right_hand") {
                break;
            }
            if a.captured {
                let hand = a.hand.as_ref().map(|h| h.handedness);
                outcome = Some(format!(
                    "{name}: guidance {} after {} frames; the {:?} hand captured (best frame \
                     kept as a JPEG in memory); spoof verdict {} ({}) — an app enforcing it \
                     would not have captured a photo",
                    seen.join(" -> "),
                    i + 1,
                    hand.unwrap_or(Hand::Left),
                    a.spoof.verdict.name(),
                    a.spoof.reasons().join("; ")
                ));
                break;
            }
        }
        match outcome {
            Some(line) => lines.push(line),
            None => {
                session.cancel_capture()?;
                lines.push(format!(
                    "{name}: no capture (guidance went {}); skipped",
                    seen.join(" -> ")
                ));
            }
        }
    }
    let snap = session.snapshot();
    if snap.left == HandStatus::NotCaptured && snap.right == HandStatus::NotCaptured {
        return Err(CliError::Failed(format!(
            "nothing was captured:\n    {}",
            lines.join("\n    ")
        )));
    }
    Ok(format!(
        "{}\n    state {}",
        lines.join("\n    "),
        snap.state.name()
    ))
}

/// Where the palm of the hand in `picture` is (upright pixels: centre of the wrist and
/// finger bases), the side of a frame that shows the whole hand around it, and the hand's
/// roll (degrees from fingers-up).
fn palm_centre(
    tracker: &mut palmkit_core::vision::HandTracker,
    picture: &image::RgbImage,
) -> Result<Option<(f32, f32, u32, f32)>> {
    let frame = crate::frames::rgb_frame(picture);
    let Some(hand) = tracker.detect(&frame)? else {
        return Ok(None);
    };
    let lm = &hand.landmarks;
    let palm = [0, 5, 9, 13, 17];
    let cx = palm.iter().map(|&i| lm[i][0]).sum::<f32>() / 5.0;
    let cy = palm.iter().map(|&i| lm[i][1]).sum::<f32>() / 5.0;
    let width = (lm[5][0] - lm[17][0]).hypot(lm[5][1] - lm[17][1]);
    // Wrist to middle-finger base: straight up when the hand is upright.
    let roll = (lm[9][0] - lm[0][0])
        .atan2(lm[0][1] - lm[9][1])
        .to_degrees();
    Ok(Some((cx, cy, (width * 4.0) as u32, roll)))
}

/// The JPEG and PNG files directly in `dir`, sorted by name.
fn photos_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::Failed(format!("--palms {}: {e}", dir.display())))?;
    let mut photos: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && crate::analyze::is_image(p))
        .collect();
    photos.sort();
    if photos.is_empty() {
        return Err(CliError::Failed(format!(
            "--palms {}: no JPEG or PNG files in it",
            dir.display()
        )));
    }
    Ok(photos)
}

/// The shared palm photo fed as camera frames, when the test data is there
/// (`PALMKIT_TESTDATA`).
fn live_photo() -> Option<PathBuf> {
    std::env::var_os("PALMKIT_TESTDATA")
        .map(|d| Path::new(&d).join(LIVE_PHOTO))
        .filter(|p| p.exists())
}

/// The palm photo held when the camera path cannot run (no hand models): the shared test
/// data's palm photograph (`PALMKIT_TESTDATA`; [`run`] stops earlier without one).
fn demo_image() -> Result<(Zeroizing<Vec<u8>>, String)> {
    const PHOTO: &str = "palms/palm_11k_f_p.jpg";
    let dir =
        std::env::var_os("PALMKIT_TESTDATA").ok_or_else(|| CliError::Usage(NEEDS_PALMS.into()))?;
    let path = Path::new(&dir).join(PHOTO);
    let bytes = std::fs::read(&path).map_err(|e| CliError::File {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok((Zeroizing::new(bytes), format!("test photo {PHOTO}")))
}

/// The session's listener: the states it went through, and the upload progress bar.
#[derive(Default)]
struct Shown {
    path: Mutex<Vec<StateName>>,
    bar: Mutex<Option<indicatif::ProgressBar>>,
    last: Mutex<(u64, u64)>,
}

impl Shown {
    fn show_progress(&self) {
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(crate::upload::bar());
    }

    fn hide_progress(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }

    fn last_progress(&self) -> (u64, u64) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path(&self) -> String {
        let path = self.path.lock().unwrap_or_else(|p| p.into_inner());
        path.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" -> ")
    }
}

impl SessionListener for Shown {
    fn on_state_changed(&self, snapshot: &SessionSnapshot) {
        let mut path = self.path.lock().unwrap_or_else(|p| p.into_inner());
        if path.last() != Some(&snapshot.state.name()) {
            path.push(snapshot.state.name());
        }
    }

    fn on_upload_progress(&self, confirmed: u64, total: u64) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = (confirmed, total);
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            bar.set_length(total);
            bar.set_position(confirmed);
        }
    }
}

/// Numbered step output with a spinner while a step runs.
#[derive(Default)]
struct Steps {
    count: usize,
    spinner: Option<indicatif::ProgressBar>,
    title: String,
    started: Option<Instant>,
}

impl Steps {
    fn begin(&mut self, title: &str) {
        self.count += 1;
        self.title = title.to_string();
        self.started = Some(Instant::now());
        self.spinner = Some(progress::spinner(format!("{}. {title}", self.count)));
    }

    /// Clears the spinner so a progress bar can take the line.
    fn pause(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
    }

    fn done(&mut self, outcome: &str) {
        self.pause();
        let took = self
            .started
            .take()
            .map(|t| t.elapsed().as_secs_f64() * 1000.0)
            .unwrap_or_default();
        println!(
            "{:>2}. {} ... ok ({took:.0} ms)\n    {outcome}",
            self.count, self.title
        );
    }

    fn fail(&mut self, error: impl std::fmt::Display) -> CliError {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
        println!("{:>2}. {} ... FAILED", self.count, self.title);
        CliError::Step {
            step: self.count,
            title: self.title.clone(),
            reason: error.to_string(),
        }
    }
}
