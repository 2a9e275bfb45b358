//! The enrollment session against the real reference server on 127.0.0.1: the whole flow,
//! every out-of-order call (a typed error naming the state, the state unchanged), and each
//! failure path — login refused, card declined, upload cut and resumed, retries run out and
//! the kept envelope goes up later, upload cancelled, app restarted mid-upload, enrollment
//! expired, enrollment deleted — each showing the session state and the typed error.
//! Captures come from the shared palm photo through the `dev` feature's `add_capture`;
//! the live camera path into the session is in `session_capture.rs`.

use crate::support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use palmkit_core::ServiceConfig;
use palmkit_core::account::store::{CredentialStore, KeyringStore};
use palmkit_core::enrollment::{
    EnrollmentClient, EnrollmentSession, FailureReason, HandStatus, SessionListener,
    SessionOptions, SessionSnapshot, SessionState, StateName,
};
use palmkit_core::error::{Error, ErrorKind, SessionFailure};
use palmkit_core::payment::AddCardOutcome;
use palmkit_core::payment::card::{CardInput, current_year_month};
use palmkit_core::protocol::{CaptureSource, EnrollmentState, Hand};
use palmkit_core::upload::{Capture, RetryPolicy, TusOptions};
use palmkit_server::accounts::browser::ScriptedBrowser;
use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
use palmkit_server::{RunningServer, ServerOptions};
use zeroize::Zeroizing;

/// A server, a device's secure store, and the sessions made on it.
struct Rig {
    _dir: tempfile::TempDir,
    server: RunningServer,
    store: Arc<KeyringStore>,
}

impl Rig {
    async fn start(configure: impl FnOnce(&mut ServerOptions)) -> Self {
        let (dir, server) = support::start_server(configure).await;
        Self {
            _dir: dir,
            server,
            store: support::mock_store(),
        }
    }

    /// A new session on this device (an app start), talking to `config`.
    fn session_with(
        &self,
        config: &ServiceConfig,
        options: SessionOptions,
    ) -> Arc<EnrollmentSession> {
        Arc::new(EnrollmentSession::new(config, self.store.clone(), options).unwrap())
    }

    fn session(&self) -> Arc<EnrollmentSession> {
        self.session_with(&self.server.client_config, quick_options())
    }

    /// A session, signed in through the real login page, consent given.
    async fn consented(&self) -> Arc<EnrollmentSession> {
        let session = self.session();
        log_in(&session, &self.server.client_config).await;
        session.give_consent("test-consent-v1").await.unwrap();
        session
    }
}

fn quick_options() -> SessionOptions {
    SessionOptions {
        tus: TusOptions {
            chunk_size: 16 * 1024,
            retry: RetryPolicy {
                initial_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(100),
                max_attempts_without_progress: 3,
                ..RetryPolicy::default()
            },
            ..TusOptions::default()
        },
        ..SessionOptions::default()
    }
}

async fn log_in(session: &EnrollmentSession, browser_config: &ServiceConfig) -> SessionSnapshot {
    support::sign_in(session, browser_config).await
}

fn photo() -> Capture {
    Capture::new(Zeroizing::new(support::palm_photo()), CaptureSource::Camera).unwrap()
}

/// Captures `hand` the way a QA tool does (the photo instead of the camera).
fn capture(session: &EnrollmentSession, hand: Hand) -> SessionSnapshot {
    session.start_hand(Some(hand)).unwrap();
    session.add_capture(hand, photo()).unwrap()
}

/// Adds the test card and links it.
async fn choose_card(session: &EnrollmentSession, number: &str) -> Result<String, Error> {
    let card = CardInput {
        number: Zeroizing::new(number.into()),
        exp_month: 12,
        exp_year: current_year_month().0 + 2,
        cvc: Zeroizing::new("123".into()),
        cardholder_name: "Test Shopper".into(),
    };
    let method = match session.add_card(card).await? {
        AddCardOutcome::Added { method } => method,
        AddCardOutcome::RequiresAction { .. } => panic!("the test card asked for confirmation"),
    };
    session.choose_payment(&method.id).await?;
    Ok(method.id)
}

fn out_of_order(result: Result<impl std::fmt::Debug, Error>) -> (&'static str, StateName) {
    match result {
        Err(Error::Session(SessionFailure::OutOfOrder { call, state })) => (call, state),
        other => panic!("expected an out-of-order error, got {other:?}"),
    }
}

/// Records what the listener is told.
#[derive(Default)]
struct Recorder {
    states: Mutex<Vec<SessionSnapshot>>,
    progress: Mutex<Vec<(u64, u64)>>,
    /// Cancel the upload of this session when the left hand shows as uploaded.
    cancel_after_left: Mutex<Option<Weak<EnrollmentSession>>>,
    /// Cancel the upload of this session at its first progress report.
    cancel_at_first_progress: Mutex<Option<Weak<EnrollmentSession>>>,
}

impl SessionListener for Recorder {
    fn on_state_changed(&self, snapshot: &SessionSnapshot) {
        self.states.lock().unwrap().push(snapshot.clone());
        if snapshot.left == HandStatus::Uploaded {
            if let Some(session) = self.cancel_after_left.lock().unwrap().take() {
                assert!(session.upgrade().unwrap().cancel_upload());
            }
        }
    }

    fn on_upload_progress(&self, confirmed: u64, total: u64) {
        self.progress.lock().unwrap().push((confirmed, total));
        if let Some(session) = self.cancel_at_first_progress.lock().unwrap().take() {
            assert!(session.upgrade().unwrap().cancel_upload());
        }
    }
}

impl Recorder {
    fn names(&self) -> Vec<StateName> {
        let mut names: Vec<StateName> = Vec::new();
        for s in self.states.lock().unwrap().iter() {
            if names.last() != Some(&s.state.name()) {
                names.push(s.state.name());
            }
        }
        names
    }
}

#[tokio::test]
async fn the_whole_flow_with_both_hands_ends_pending_the_store_match() {
    let rig = Rig::start(|_| {}).await;
    let session = rig.session();
    let recorder = Arc::new(Recorder::default());
    session.set_listener(Some(recorder.clone()));
    assert_eq!(
        session.restore().await.unwrap().state,
        SessionState::SignedOut
    );
    assert_eq!(
        log_in(&session, &rig.server.client_config).await.state,
        SessionState::SignedIn
    );
    let consent = session.give_consent("test-consent-v1").await.unwrap();
    assert_eq!(consent.text_version, "test-consent-v1");

    // Either hand first; with `None` the hand comes from the capture.
    capture(&session, Hand::Left);
    let snap = capture(&session, Hand::Right);
    assert_eq!(
        snap.state,
        SessionState::Captured {
            hands: vec![Hand::Left, Hand::Right]
        }
    );
    assert_eq!(
        (snap.left, snap.right),
        (HandStatus::Captured, HandStatus::Captured)
    );
    assert_eq!(snap.enrollment_id, None, "nothing reached the service yet");

    let card = choose_card(&session, "4242424242424242").await.unwrap();
    assert_eq!(session.state(), SessionState::PaymentChosen);
    assert_eq!(
        session.wallet().await.unwrap().linked_payment_method_id,
        Some(card)
    );

    let snap = session.upload().await.unwrap();
    assert_eq!(snap.state, SessionState::PendingStoreMatch);
    assert_eq!(
        (snap.left, snap.right),
        (HandStatus::PendingMatch, HandStatus::PendingMatch)
    );
    let id = snap.enrollment_id.clone().unwrap();
    let at_service = EnrollmentClient::new(session.account_client())
        .get(&id)
        .await
        .unwrap();
    assert_eq!(at_service.state, EnrollmentState::PendingStoreMatch);
    assert_eq!(at_service.hands, vec![Hand::Left, Hand::Right]);

    // Progress went up to the total, never down, over both hands.
    let progress = recorder.progress.lock().unwrap().clone();
    let (last, total) = *progress.last().unwrap();
    assert_eq!(last, total);
    assert!(
        progress.windows(2).all(|w| w[0].0 <= w[1].0),
        "{progress:?}"
    );
    assert!(
        progress.len() >= 4,
        "16 KiB chunks of two photos: {}",
        progress.len()
    );
    assert_eq!(
        recorder.names(),
        [
            StateName::SignedIn,
            StateName::ConsentGiven,
            StateName::Capturing,
            StateName::Captured,
            StateName::Capturing,
            StateName::Captured,
            StateName::PaymentChosen,
            StateName::Uploading,
            StateName::PendingStoreMatch,
        ]
    );
    assert_eq!(
        session.refresh().await.unwrap().state,
        SessionState::PendingStoreMatch
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn every_out_of_order_call_is_a_typed_error_naming_the_state() {
    let rig = Rig::start(|_| {}).await;
    let session = rig.session();

    // Signed out: nothing but the login.
    assert_eq!(
        out_of_order(session.give_consent("v1").await),
        ("give_consent", StateName::SignedOut)
    );
    assert_eq!(
        out_of_order(session.start_hand(None)),
        ("start_hand", StateName::SignedOut)
    );
    assert_eq!(
        out_of_order(session.upload().await),
        ("upload", StateName::SignedOut)
    );
    assert_eq!(
        out_of_order(session.choose_payment("pm_x").await),
        ("choose_payment", StateName::SignedOut)
    );
    assert_eq!(
        out_of_order(session.delete().await),
        ("delete", StateName::SignedOut)
    );
    assert_eq!(
        out_of_order(session.refresh().await),
        ("refresh", StateName::SignedOut)
    );
    assert_eq!(
        out_of_order(session.enroll_again()),
        ("enroll_again", StateName::SignedOut)
    );
    assert_eq!(
        out_of_order(session.wallet().await),
        ("wallet", StateName::SignedOut)
    );
    assert_eq!(
        out_of_order(session.logout().await),
        ("logout", StateName::SignedOut)
    );
    assert_eq!(session.state(), SessionState::SignedOut);

    log_in(&session, &rig.server.client_config).await;
    // Signed in, no consent: no capture, no second login.
    assert_eq!(
        out_of_order(session.start_hand(Some(Hand::Left))),
        ("start_hand", StateName::SignedIn)
    );
    assert_eq!(
        out_of_order(session.start_login().await),
        ("start_login", StateName::SignedIn)
    );
    assert_eq!(
        out_of_order(session.finish_login("palmkit://x?code=a&state=b").await),
        ("finish_login", StateName::SignedIn)
    );
    assert_eq!(
        out_of_order(session.restore().await),
        ("restore", StateName::SignedIn)
    );
    assert_eq!(session.state(), SessionState::SignedIn);

    session.give_consent("v1").await.unwrap();
    // Consent given, nothing captured: no card choice, no upload, no frames, no consent twice.
    assert_eq!(
        out_of_order(session.give_consent("v1").await),
        ("give_consent", StateName::ConsentGiven)
    );
    assert_eq!(
        out_of_order(session.choose_payment("pm_x").await),
        ("choose_payment", StateName::ConsentGiven)
    );
    assert_eq!(
        out_of_order(session.upload().await),
        ("upload", StateName::ConsentGiven)
    );
    assert_eq!(
        out_of_order(session.add_capture(Hand::Left, photo())),
        ("add_capture", StateName::ConsentGiven)
    );
    assert_eq!(
        out_of_order(session.cancel_capture()),
        ("cancel_capture", StateName::ConsentGiven)
    );
    assert_eq!(
        out_of_order(session.refresh().await),
        ("refresh", StateName::ConsentGiven)
    );
    assert_eq!(
        out_of_order(session.enroll_again()),
        ("enroll_again", StateName::ConsentGiven)
    );
    assert!(!session.cancel_upload(), "no upload is running");

    // Capturing the left hand: a right-hand capture does not belong here.
    session.start_hand(Some(Hand::Left)).unwrap();
    assert_eq!(
        out_of_order(session.add_capture(Hand::Right, photo())),
        ("add_capture", StateName::Capturing)
    );
    assert_eq!(
        out_of_order(session.upload().await),
        ("upload", StateName::Capturing)
    );
    // Cancelling the capture goes back to where it was.
    assert_eq!(
        session.cancel_capture().unwrap().state,
        SessionState::ConsentGiven
    );

    capture(&session, Hand::Left);
    // Captured, no card: no upload yet.
    assert_eq!(
        out_of_order(session.upload().await),
        ("upload", StateName::Captured)
    );
    assert_eq!(
        out_of_order(session.refresh().await),
        ("refresh", StateName::Captured)
    );
    assert_eq!(
        session.state(),
        SessionState::Captured {
            hands: vec![Hand::Left]
        }
    );

    choose_card(&session, "4242424242424242").await.unwrap();
    session.upload().await.unwrap();
    // Pending: the captures are in; no more capturing, no second upload.
    assert_eq!(
        out_of_order(session.start_hand(Some(Hand::Right))),
        ("start_hand", StateName::PendingStoreMatch)
    );
    assert_eq!(
        out_of_order(session.upload().await),
        ("upload", StateName::PendingStoreMatch)
    );
    assert_eq!(
        out_of_order(session.choose_payment("pm_x").await),
        ("choose_payment", StateName::PendingStoreMatch)
    );
    assert_eq!(
        out_of_order(session.enroll_again()),
        ("enroll_again", StateName::PendingStoreMatch)
    );
    assert_eq!(session.state(), SessionState::PendingStoreMatch);
    // Out of order is the app's bug: the kind says so.
    assert_eq!(
        session.upload().await.unwrap_err().kind(),
        ErrorKind::OutOfOrder
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_refused_login_leaves_the_session_signed_out() {
    let rig = Rig::start(|_| {}).await;
    let session = rig.session();
    let url = session.start_login().await.unwrap();
    let redirect = ScriptedBrowser::new(&rig.server.client_config)
        .unwrap()
        .login(url.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
        .await
        .unwrap();
    // An answer to another login (its state does not match).
    let forged = redirect.replace("state=", "state=x");
    let err = session.finish_login(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LoginFailed, "{err}");
    assert_eq!(session.state(), SessionState::SignedOut);
    // The shopper tries again and gets in.
    assert_eq!(
        log_in(&session, &rig.server.client_config).await.state,
        SessionState::SignedIn
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_declined_card_keeps_the_captures_and_the_state() {
    let rig = Rig::start(|_| {}).await;
    let session = rig.consented().await;
    capture(&session, Hand::Right);
    let err = choose_card(&session, palmkit_server::payments::provider::DECLINED_CARD)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CardDeclined, "{err}");
    assert_eq!(
        session.state(),
        SessionState::Captured {
            hands: vec![Hand::Right]
        }
    );
    assert_eq!(session.snapshot().right, HandStatus::Captured);
    // Another card, and the enrollment goes through with the same capture.
    choose_card(&session, "4242424242424242").await.unwrap();
    assert_eq!(
        session.upload().await.unwrap().state,
        SessionState::PendingStoreMatch
    );
    rig.server.shutdown().await;
}

/// A session whose traffic goes through a fault proxy, with the rig's login copied in.
async fn proxied_session(rig: &Rig) -> (support::proxy::FaultProxy, Arc<EnrollmentSession>) {
    let direct = rig.consented().await;
    capture(&direct, Hand::Right);
    choose_card(&direct, "4242424242424242").await.unwrap();
    drop(direct);
    let proxy = support::proxy::start(rig.server.addr).await;
    let mut config = rig.server.client_config.clone();
    config.base_url = format!("https://{}/", proxy.addr);
    // The same device store: copy the login and progress to the proxied client's keys.
    let key =
        palmkit_core::account::AccountClient::new(&rig.server.client_config, rig.store.clone())
            .unwrap()
            .store_key();
    let via = rig.session_with(&config, quick_options());
    let via_key = via.account_client().store_key();
    for suffix in ["", "#enrollment"] {
        let value = rig.store.load(&format!("{key}{suffix}")).unwrap().unwrap();
        rig.store
            .save(&format!("{via_key}{suffix}"), &value)
            .unwrap();
    }
    via.restore().await.unwrap();
    (proxy, via)
}

#[tokio::test]
async fn an_upload_cut_midway_resumes_and_completes() {
    let rig = Rig::start(|_| {}).await;
    let (proxy, session) = proxied_session(&rig).await;
    // After restore the capture is gone (it was another app run): capture again.
    assert_eq!(session.state(), SessionState::ConsentGiven);
    capture(&session, Hand::Right);
    assert_eq!(
        session.state(),
        SessionState::PaymentChosen,
        "the card choice was kept"
    );
    proxy.faults.cut_after_up.store(40_000, Ordering::SeqCst);
    let snap = session.upload().await.unwrap();
    assert_eq!(snap.state, SessionState::PendingStoreMatch);
    assert!(
        proxy.faults.cuts.load(Ordering::SeqCst) >= 1,
        "the link was cut"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn when_retries_run_out_the_sealed_capture_is_kept_for_the_next_try() {
    let rig = Rig::start(|_| {}).await;
    let (proxy, session) = proxied_session(&rig).await;
    capture(&session, Hand::Right);
    proxy.faults.refuse.store(true, Ordering::SeqCst);
    proxy.faults.cut_after_up.store(1, Ordering::SeqCst);
    let err = session.upload().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Offline, "{err}");
    match session.state() {
        SessionState::Failed { failure: f } => {
            assert_eq!(f.reason, FailureReason::Offline);
            assert!(f.retryable);
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(session.snapshot().right, HandStatus::Captured, "still held");
    // The network is back: the same capture goes up, no re-capture.
    proxy.faults.refuse.store(false, Ordering::SeqCst);
    assert_eq!(
        session.upload().await.unwrap().state,
        SessionState::PendingStoreMatch
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_upload_returns_to_payment_chosen_and_goes_up_later() {
    let rig = Rig::start(|_| {}).await;
    let session = rig.consented().await;
    capture(&session, Hand::Left);
    choose_card(&session, "4242424242424242").await.unwrap();
    let recorder = Arc::new(Recorder::default());
    *recorder.cancel_at_first_progress.lock().unwrap() = Some(Arc::downgrade(&session));
    session.set_listener(Some(recorder.clone()));
    let err = session.upload().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert_eq!(session.state(), SessionState::PaymentChosen);
    assert_eq!(session.snapshot().left, HandStatus::Captured);
    assert_eq!(
        session.upload().await.unwrap().state,
        SessionState::PendingStoreMatch
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn an_app_restarted_mid_upload_resumes_with_the_hand_already_up() {
    let rig = Rig::start(|_| {}).await;
    let session = rig.consented().await;
    capture(&session, Hand::Left);
    capture(&session, Hand::Right);
    choose_card(&session, "4242424242424242").await.unwrap();
    let recorder = Arc::new(Recorder::default());
    *recorder.cancel_after_left.lock().unwrap() = Some(Arc::downgrade(&session));
    session.set_listener(Some(recorder.clone()));
    assert_eq!(
        session.upload().await.unwrap_err().kind(),
        ErrorKind::Cancelled
    );
    let id = session.snapshot().enrollment_id.unwrap();
    // The app is killed: the right hand's capture is lost with it.
    drop(session);

    let restarted = rig.session();
    let snap = restarted.restore().await.unwrap();
    assert_eq!(
        snap.state,
        SessionState::ConsentGiven,
        "captures do not survive"
    );
    assert_eq!(
        (snap.left, snap.right),
        (HandStatus::Uploaded, HandStatus::NotCaptured)
    );
    assert_eq!(snap.enrollment_id.as_deref(), Some(id.as_str()));
    // The left hand is done; the right one is asked again, the card is remembered.
    let err = restarted.start_hand(Some(Hand::Left)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Session(SessionFailure::HandAlreadyUploaded(Hand::Left))
        ),
        "{err:?}"
    );
    // "Either hand" showing the uploaded one is refused; capturing goes on.
    restarted.start_hand(None).unwrap();
    let err = restarted.add_capture(Hand::Left, photo()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Session(SessionFailure::HandAlreadyUploaded(Hand::Left))
        ),
        "{err:?}"
    );
    assert_eq!(restarted.state(), SessionState::Capturing { hand: None });
    assert_eq!(
        capture(&restarted, Hand::Right).state,
        SessionState::PaymentChosen
    );
    let snap = restarted.upload().await.unwrap();
    assert_eq!(snap.state, SessionState::PendingStoreMatch);
    assert_eq!(
        snap.enrollment_id.as_deref(),
        Some(id.as_str()),
        "the same enrollment"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn an_expired_enrollment_is_learned_and_can_be_enrolled_again() {
    let rig = Rig::start(|o| {
        o.limits.uploads.pending_enrollment_ttl = Duration::from_secs(1);
    })
    .await;
    let session = rig.consented().await;
    capture(&session, Hand::Right);
    choose_card(&session, "4242424242424242").await.unwrap();
    session.upload().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The app learns it on its next start (or refresh).
    let restarted = rig.session();
    let snap = restarted.restore().await.unwrap();
    assert_eq!(snap.state, SessionState::Expired);
    assert_eq!(snap.right, HandStatus::Failed);
    assert_eq!(
        out_of_order(restarted.start_hand(None)),
        ("start_hand", StateName::Expired)
    );
    let snap = restarted.enroll_again().unwrap();
    assert_eq!(
        snap.state,
        SessionState::ConsentGiven,
        "the consent is kept"
    );
    assert_eq!(
        (snap.enrollment_id, snap.right),
        (None, HandStatus::NotCaptured)
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_deleted_enrollment_is_gone_at_the_service() {
    let rig = Rig::start(|_| {}).await;
    let session = rig.consented().await;
    capture(&session, Hand::Left);
    choose_card(&session, "4242424242424242").await.unwrap();
    let id = session.upload().await.unwrap().enrollment_id.unwrap();
    let snap = session.delete().await.unwrap();
    assert_eq!(snap.state, SessionState::Deleted);
    assert_eq!(
        (snap.enrollment_id, snap.left),
        (None, HandStatus::NotCaptured)
    );
    let err = EnrollmentClient::new(session.account_client())
        .get(&id)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 404, .. }),
        "{err:?}"
    );
    // A restart does not bring it back.
    let restarted = rig.session();
    assert_eq!(
        restarted.restore().await.unwrap().state,
        SessionState::ConsentGiven
    );
    assert_eq!(
        session.enroll_again().unwrap().state,
        SessionState::ConsentGiven
    );

    // Deleted from another device while pending: the refresh says so.
    capture(&session, Hand::Left);
    choose_card(&session, "4242424242424242").await.unwrap();
    let id = session.upload().await.unwrap().enrollment_id.unwrap();
    EnrollmentClient::new(restarted.account_client())
        .delete(&id)
        .await
        .unwrap();
    assert_eq!(
        session.refresh().await.unwrap().state,
        SessionState::Deleted
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn logout_forgets_the_progress_on_this_device() {
    let rig = Rig::start(|_| {}).await;
    let session = rig.consented().await;
    capture(&session, Hand::Left);
    assert_eq!(
        session.logout().await.unwrap().state,
        SessionState::SignedOut
    );
    let restarted = rig.session();
    assert_eq!(
        restarted.restore().await.unwrap().state,
        SessionState::SignedOut
    );
    log_in(&restarted, &rig.server.client_config).await;
    // Consent is the service's record; this device starts from the consent screen.
    assert_eq!(restarted.state(), SessionState::SignedIn);
    rig.server.shutdown().await;
}
