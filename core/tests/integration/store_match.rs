//! The store match that completes an enrollment, end to end against the real reference
//! server with the hand models: a shopper enrolls a palm photo through the session, a
//! registered store device posts another photo of the same palm and the enrollment becomes
//! complete (the session and its listener see it); another palm does not match; scans need
//! a store device's own, unrevoked credential; deleted and expired enrollments never
//! match; each store sees its own pseudonym of a shopper, new after a deletion; a
//! capture with no palm or of the other hand is refused with a named reason; and
//! captures kept by a server without models get their signatures when it starts with them.
//! Palms: COEP photos from the shared test data (right palms, four per person).

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use palmkit_core::account::store::KeyringStore;
use palmkit_core::enrollment::{
    EnrollmentSession, HandStatus, SessionListener, SessionOptions, SessionSnapshot, SessionState,
};
use palmkit_core::net::PinnedClient;
use palmkit_core::payment::AddCardOutcome;
use palmkit_core::payment::card::{CardInput, current_year_month};
use palmkit_core::protocol::{CaptureSource, Hand, ScanOutcome, StoreScan};
use palmkit_core::upload::Capture;
use palmkit_server::{RunningServer, ServerOptions};
use zeroize::Zeroizing;

fn coep(name: &str) -> Vec<u8> {
    std::fs::read(support::testdata_dir().join("palms/coep").join(name)).unwrap()
}

fn with_models(options: &mut ServerOptions) {
    options.models = Some(support::models_dir());
}

/// Records the states the listener is told of.
#[derive(Default)]
struct Recorder(Mutex<Vec<SessionState>>);

impl SessionListener for Recorder {
    fn on_state_changed(&self, snapshot: &SessionSnapshot) {
        self.0.lock().unwrap().push(snapshot.state.clone());
    }
    fn on_upload_progress(&self, _: u64, _: u64) {}
}

/// Signs the test shopper in on a new device, enrolls `photo` as the right hand and
/// uploads it; returns the session and the upload's result.
async fn enroll(
    server: &RunningServer,
    store: Arc<KeyringStore>,
    photo: Vec<u8>,
) -> (
    Arc<EnrollmentSession>,
    Result<SessionSnapshot, palmkit_core::Error>,
) {
    let shopper = (
        palmkit_server::accounts::TEST_SHOPPER_EMAIL,
        palmkit_server::accounts::TEST_SHOPPER_PASSWORD,
    );
    enroll_as(server, shopper, store, photo).await
}

/// [`enroll`] as the shopper with `(email, password)`.
async fn enroll_as(
    server: &RunningServer,
    (email, password): (&str, &str),
    store: Arc<KeyringStore>,
    photo: Vec<u8>,
) -> (
    Arc<EnrollmentSession>,
    Result<SessionSnapshot, palmkit_core::Error>,
) {
    let session = Arc::new(
        EnrollmentSession::new(&server.client_config, store, SessionOptions::default()).unwrap(),
    );
    support::sign_in_as(&session, &server.client_config, email, password).await;
    session.give_consent("test-consent-v1").await.unwrap();
    session.start_hand(Some(Hand::Right)).unwrap();
    let capture = Capture::new(Zeroizing::new(photo), CaptureSource::Camera).unwrap();
    session.add_capture(Hand::Right, capture).unwrap();
    let card = CardInput {
        number: Zeroizing::new("4242424242424242".into()),
        exp_month: 12,
        exp_year: current_year_month().0 + 2,
        cvc: Zeroizing::new("123".into()),
        cardholder_name: "Test Shopper".into(),
    };
    let AddCardOutcome::Added { method } = session.add_card(card).await.unwrap() else {
        panic!("the test card asked for confirmation");
    };
    session.choose_payment(&method.id).await.unwrap();
    let uploaded = session.upload().await;
    (session, uploaded)
}

/// Posts `photo` to the scan route as a store device with `token` (or none).
async fn scan(server: &RunningServer, token: Option<&str>, photo: Vec<u8>) -> reqwest::Response {
    let client = PinnedClient::new(&server.client_config.validate().unwrap()).unwrap();
    let mut request = client
        .http()
        .post(client.url("v1/store/scans").unwrap())
        .header("content-type", "image/jpeg")
        .body(photo);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn scan_ok(server: &RunningServer, token: &str, photo: Vec<u8>) -> StoreScan {
    let response = scan(server, Some(token), photo).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_scan_of_the_same_palm_completes_the_enrollment_and_another_palm_does_not() {
    let (_dir, server) = support::start_server(with_models).await;
    let (session, uploaded) = enroll(&server, support::mock_store(), coep("001_1.jpg")).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    let recorder = Arc::new(Recorder::default());
    session.set_listener(Some(recorder.clone()));
    let device = server.issue_store_device("store-12 Main St").unwrap();

    // Another person's palm: no match, and the enrollment stays pending.
    let other = scan_ok(&server, &device.token, coep("003_1.jpg")).await;
    assert_eq!(other.outcome, ScanOutcome::NoMatch);
    assert_eq!(other.reason.as_deref(), Some("below_threshold"));
    assert!(other.shopper_ref.is_none());
    assert_eq!(
        session.refresh().await.unwrap().state,
        SessionState::PendingStoreMatch
    );

    // The app waits for the match (polling with backoff) while the shopper is in store.
    let waiting = {
        let session = session.clone();
        tokio::spawn(async move {
            session
                .await_store_match(
                    Duration::from_millis(50),
                    Duration::from_millis(200),
                    Duration::from_secs(30),
                )
                .await
        })
    };
    // Another photo of the enrolled palm: a match that completes the enrollment.
    let matched = scan_ok(&server, &device.token, coep("001_2.jpg")).await;
    assert_eq!(matched.outcome, ScanOutcome::Matched, "{matched:?}");
    let shopper = matched.shopper_ref.clone().unwrap();
    assert!(shopper.starts_with("shp-"), "{shopper}");
    assert!(!shopper.contains("acct"), "the store sees no account id");
    assert!(matched.score_band.is_some());
    let snap = waiting.await.unwrap().unwrap();
    assert_eq!(snap.state, SessionState::Complete);
    assert_eq!(
        session.refresh().await.unwrap().state,
        SessionState::Complete
    );
    assert_eq!(snap.right, HandStatus::Active);
    assert!(recorder.0.lock().unwrap().contains(&SessionState::Complete));

    // Nothing of the pictures is kept: the scans are recorded with their outcome only.
    let db = palmkit_server::db::Db::open(&server.data_dir.join("palmkit.sqlite3")).unwrap();
    let recorded: Vec<(String, Option<String>)> = db
        .with(|c| {
            let mut stmt =
                c.prepare("SELECT outcome, score_band FROM store_scans ORDER BY at, rowid")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .unwrap();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].0, "no_match");
    assert_eq!(recorded[1].0, "matched");
    let columns: Vec<String> = db
        .with(|c| {
            let mut stmt = c.prepare("SELECT name FROM pragma_table_info('store_scans')")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .unwrap();
    assert!(
        !columns
            .iter()
            .any(|c| c.contains("image") || c.contains("template")),
        "{columns:?}"
    );

    // A picture with no palm is a poor capture with its reason, not an error.
    let poor = scan_ok(
        &server,
        &device.token,
        std::fs::read(support::testdata_dir().join("hands/back_11k_f_d.jpg")).unwrap(),
    )
    .await;
    assert_eq!(poor.outcome, ScanOutcome::PoorCapture);
    assert!(
        matches!(poor.reason.as_deref(), Some("no_palm" | "back_of_hand")),
        "{poor:?}"
    );
    // Bytes that are no picture are a bad request, recorded like every attempt.
    assert_eq!(
        scan(&server, Some(&device.token), b"not a picture".to_vec())
            .await
            .status(),
        400
    );
    let last: (String, Option<String>) = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT outcome, reason FROM store_scans ORDER BY at DESC, rowid DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!(last, ("poor_capture".into(), Some("invalid_image".into())));
    server.shutdown().await;
}

#[tokio::test]
async fn scans_take_only_a_registered_unrevoked_store_device() {
    let (_dir, server) = support::start_server(with_models).await;
    // A shopper's own access token is not a store's.
    let store = support::mock_store();
    let shopper = palmkit_core::account::AccountClient::new(&server.client_config, store).unwrap();
    support::log_in(&shopper, &server.client_config).await;
    let access = shopper.access_token().await.unwrap();
    for token in [
        None,
        Some(access.as_str()),
        Some("pkst_00000000000000000000000000000000"),
    ] {
        let response = scan(&server, token, coep("001_2.jpg")).await;
        assert_eq!(response.status(), 401, "{token:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_store_credential");
    }
    // A store token opens no shopper route.
    let device = server.issue_store_device("store-7").unwrap();
    let client = PinnedClient::new(&server.client_config.validate().unwrap()).unwrap();
    let me = client
        .http()
        .get(client.url("v1/me").unwrap())
        .bearer_auth(&device.token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    // Works, then revoked: refused.
    assert_eq!(
        scan(&server, Some(&device.token), coep("003_1.jpg"))
            .await
            .status(),
        200
    );
    assert_eq!(server.revoke_store_devices("store-7").unwrap(), 1);
    assert_eq!(
        scan(&server, Some(&device.token), coep("003_1.jpg"))
            .await
            .status(),
        401
    );
    server.shutdown().await;
}

#[tokio::test]
async fn deleted_and_expired_enrollments_never_match() {
    let (_dir, server) = support::start_server(|o| {
        with_models(o);
        o.limits.uploads.pending_enrollment_ttl = Duration::from_secs(3);
    })
    .await;
    let device = server.issue_store_device("store-1").unwrap();
    // Deleted: its signature goes with it.
    let (deleted, uploaded) = enroll(&server, support::mock_store(), coep("001_1.jpg")).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    assert_eq!(deleted.delete().await.unwrap().state, SessionState::Deleted);
    let after_delete = scan_ok(&server, &device.token, coep("001_2.jpg")).await;
    assert_eq!(after_delete.outcome, ScanOutcome::NoMatch);
    // Expired: past its deadline it is not searched, even before the sweeper runs.
    let (expired, uploaded) = enroll(&server, support::mock_store(), coep("005_1.jpg")).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let after_expiry = scan_ok(&server, &device.token, coep("005_2.jpg")).await;
    assert_eq!(after_expiry.outcome, ScanOutcome::NoMatch);
    assert_eq!(
        expired.refresh().await.unwrap().state,
        SessionState::Expired
    );
    server.shutdown().await;
}

/// The test shopper enrolls photo `enrolled` (a new session) and the store device with
/// `token` scans `scanned`: it must match; returns the session and the reference seen.
async fn matched_at(
    server: &RunningServer,
    token: &str,
    enrolled: &str,
    scanned: &str,
) -> (Arc<EnrollmentSession>, String) {
    let (session, uploaded) = enroll(server, support::mock_store(), coep(enrolled)).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    let scan = scan_ok(server, token, coep(scanned)).await;
    assert_eq!(
        scan.outcome,
        ScanOutcome::Matched,
        "{enrolled} / {scanned}: {scan:?}"
    );
    (session, scan.shopper_ref.unwrap())
}

#[tokio::test]
async fn each_store_sees_its_own_pseudonym_and_a_deletion_starts_new_ones() {
    let (_dir, server) = support::start_server(with_models).await;
    let (north, south) = (
        server.issue_store_device("store-north").unwrap(),
        server.issue_store_device("store-south").unwrap(),
    );
    // One shopper, four enrollments (one palm each), each completed by a store scan.
    let (_, at_north) = matched_at(&server, &north.token, "001_1.jpg", "001_2.jpg").await;
    let (_, at_south) = matched_at(&server, &south.token, "015_1.jpg", "015_2.jpg").await;
    assert_ne!(
        at_north, at_south,
        "two stores saw the same shopper reference"
    );
    let (latest, again_north) = matched_at(&server, &north.token, "018_1.jpg", "018_2.jpg").await;
    assert_eq!(
        again_north, at_north,
        "a store sees one reference per shopper"
    );
    // The shopper deletes an enrollment: every store's reference goes with it, and the
    // scans that matched it no longer name it.
    let deleted = latest.snapshot().enrollment_id.clone().unwrap();
    assert_eq!(latest.delete().await.unwrap().state, SessionState::Deleted);
    let db = palmkit_server::db::Db::open(&server.data_dir.join("palmkit.sqlite3")).unwrap();
    let count = |sql: &str| -> i64 {
        db.with(|c| Ok(c.query_row(sql, [&deleted], |r| r.get(0))?))
            .unwrap()
    };
    assert_eq!(
        count("SELECT count(*) FROM store_scans WHERE enrollment_id = ?1"),
        0
    );
    let (_, after) = matched_at(&server, &north.token, "020_1.jpg", "020_2.jpg").await;
    assert_ne!(after, at_north, "the reference survived the deletion");
    server.shutdown().await;
}

/// Creates a shopper `email` in the server's database (password `copy-password`).
fn another_account(server: &RunningServer, email: &'static str) -> (&'static str, &'static str) {
    let db = palmkit_server::db::Db::open(&server.data_dir.join("palmkit.sqlite3")).unwrap();
    palmkit_server::accounts::create(&db, email, "Copy", "copy-password").unwrap();
    (email, "copy-password")
}

#[tokio::test]
async fn one_palm_in_two_accounts_is_held_for_review_and_no_shopper_can_tell() {
    use palmkit_server::palms::holds;
    let (_dir, server) = support::start_server(with_models).await;
    let device = server.issue_store_device("store-1").unwrap();
    let db = palmkit_server::db::Db::open(&server.data_dir.join("palmkit.sqlite3")).unwrap();
    let (owner, uploaded) = enroll(&server, support::mock_store(), coep("001_1.jpg")).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    let owner_id = owner.snapshot().enrollment_id.clone().unwrap();
    // Another palm in another account is nobody's duplicate.
    let stranger = another_account(&server, "stranger@example.com");
    let (_, uploaded) =
        enroll_as(&server, stranger, support::mock_store(), coep("015_1.jpg")).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    assert_eq!(holds::list(&db).unwrap(), vec![]);
    // Another account enrolls another photo of the owner's palm: its shopper sees what
    // every shopper sees (no oracle), and the owner's scan is no longer answered
    // `ambiguous` (as it was, for ever, before the policy) — both are held for review.
    let copier = another_account(&server, "copy@example.com");
    let (copy, uploaded) =
        enroll_as(&server, copier, support::mock_store(), coep("001_3.jpg")).await;
    let uploaded = uploaded.unwrap();
    assert_eq!(uploaded.state, SessionState::PendingStoreMatch);
    let copy_id = uploaded.enrollment_id.clone().unwrap();
    // (The service's `load` of an enrollment never reads the holds: its answer cannot
    // differ.)
    assert_eq!(
        copy.refresh().await.unwrap().state,
        SessionState::PendingStoreMatch
    );
    let while_held = scan_ok(&server, &device.token, coep("001_2.jpg")).await;
    assert_eq!(while_held.outcome, ScanOutcome::NoMatch, "{while_held:?}");
    let held = holds::list(&db).unwrap();
    let mut ids: Vec<&str> = held.iter().map(|h| h.enrollment_id.as_str()).collect();
    ids.sort();
    let mut want = vec![owner_id.as_str(), copy_id.as_str()];
    want.sort();
    assert_eq!(ids, want, "{held:?}");
    for h in &held {
        let other = if h.enrollment_id == owner_id {
            &copy_id
        } else {
            &owner_id
        };
        assert_eq!(&h.conflicts_with, &vec![other.clone()]);
    }
    // A third account's copy of the held palm is held too (held rows are still searched).
    let third = another_account(&server, "third@example.com");
    let (_, uploaded) = enroll_as(&server, third, support::mock_store(), coep("001_4.jpg")).await;
    let third_id = uploaded.unwrap().enrollment_id.clone().unwrap();
    assert_eq!(holds::list(&db).unwrap().len(), 3);
    // The operator releases the owner's after review: the next scan matches it, with no
    // restart, and the copies stay held.
    assert!(holds::release(&db, &owner_id).unwrap());
    assert!(!holds::release(&db, &owner_id).unwrap(), "released twice");
    let released = scan_ok(&server, &device.token, coep("001_2.jpg")).await;
    assert_eq!(released.outcome, ScanOutcome::Matched, "{released:?}");
    assert_eq!(owner.refresh().await.unwrap().state, SessionState::Complete);
    // A deletion cuts the copy's hold and every conflict naming it.
    assert_eq!(copy.delete().await.unwrap().state, SessionState::Deleted);
    let held = holds::list(&db).unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].enrollment_id, third_id);
    assert!(!held[0].conflicts_with.contains(&copy_id), "{held:?}");
    let links: i64 = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT (SELECT count(*) FROM palm_holds WHERE enrollment_id = ?1)
                      + (SELECT count(*) FROM palm_conflicts
                         WHERE enrollment_id = ?1 OR other_id = ?1)",
                [&copy_id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(links, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_deleted_enrollment_leaves_no_copy_in_any_file_the_service_wrote() {
    use palmkit_server::data_keys::{Boxed, DataKeySource, DataKeys, EnrollmentKey};
    let (dir, server) = support::start_server(with_models).await;
    let (session, uploaded) = enroll(&server, support::mock_store(), coep("001_1.jpg")).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    // What the service keeps of it, as stored (each under the enrollment's key, which is
    // stored wrapped under the data key) and as opened: the palm template and the sealed
    // capture as the phone sent it.
    let keys = DataKeys::load(&DataKeySource::DataDir, dir.path()).unwrap();
    let db = palmkit_server::db::Db::open(&server.data_dir.join("palmkit.sqlite3")).unwrap();
    let stored: [Vec<u8>; 3] = db
        .with(|c| {
            Ok([
                c.query_row("SELECT template FROM palm_signatures", [], |r| r.get(0))?,
                c.query_row("SELECT sealed FROM captures", [], |r| r.get(0))?,
                c.query_row("SELECT wrapped FROM enrollment_keys", [], |r| r.get(0))?,
            ])
        })
        .unwrap();
    let (enrollment_id, upload_id): (String, String) = db
        .with(|c| {
            Ok(
                c.query_row("SELECT enrollment_id, upload_id FROM captures", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?,
            )
        })
        .unwrap();
    let key = db
        .with(|c| EnrollmentKey::get(c, &keys, &enrollment_id))
        .unwrap()
        .unwrap();
    let template = key.open(Boxed::Template, &upload_id, &stored[0]).unwrap();
    let sealed = key.open(Boxed::Capture, &upload_id, &stored[1]).unwrap();
    drop(db);
    // A window of each from past its header: a match anywhere is a copy.
    let window = |b: &[u8]| b[b.len() / 2 - 32..b.len() / 2 + 32].to_vec();
    let opened = [
        ("template in the clear", window(&template)),
        ("capture as sent", window(&sealed)),
    ];
    // While it exists, the clear forms are in no file: only the boxes are.
    let (found, looked) = files_holding(dir.path(), &opened);
    assert!(found.is_empty(), "found before deletion: {found:?}");
    assert!(looked >= 3, "only {looked} files looked at");

    assert_eq!(session.delete().await.unwrap().state, SessionState::Deleted);
    server.shutdown().await;
    let stored = [
        ("stored template", window(&stored[0])),
        ("stored capture", window(&stored[1])),
        ("wrapped enrollment key", stored[2].clone()),
    ];
    let (found, looked) = files_holding(dir.path(), &[&opened[..], &stored[..]].concat());
    assert!(found.is_empty(), "left after deletion: {found:?}");
    assert!(looked >= 3, "only {looked} files looked at");
}

/// Which of `needles` some file under `dir` holds (what, file), and how many files there
/// are.
fn files_holding(
    dir: &std::path::Path,
    needles: &[(&'static str, Vec<u8>)],
) -> (Vec<(&'static str, std::path::PathBuf)>, usize) {
    let mut files = vec![dir.to_path_buf()];
    let (mut found, mut looked) = (Vec::new(), 0);
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        looked += 1;
        for (what, needle) in needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                found.push((*what, path.clone()));
            }
        }
    }
    (found, looked)
}

#[tokio::test]
async fn a_capture_without_a_palm_or_of_the_other_hand_is_refused_by_name() {
    let (_dir, server) = support::start_server(with_models).await;
    // The back of a hand as the right palm.
    let back = std::fs::read(support::testdata_dir().join("hands/back_11k_f_d.jpg")).unwrap();
    let (_, refused) = enroll(&server, support::mock_store(), back).await;
    let error = refused.unwrap_err().to_string();
    assert!(
        error.contains("no_palm") || error.contains("back_of_hand"),
        "{error}"
    );
    // A right palm mirrored is a left palm: not the right hand.
    let right = image::load_from_memory(&coep("001_1.jpg")).unwrap();
    let mut mirrored = Vec::new();
    right
        .fliph()
        .write_to(
            &mut std::io::Cursor::new(&mut mirrored),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let (_, refused) = enroll(&server, support::mock_store(), mirrored).await;
    let error = refused.unwrap_err().to_string();
    assert!(error.contains("wrong_hand"), "{error}");
    server.shutdown().await;
}

#[tokio::test]
async fn captures_kept_without_models_get_signatures_when_the_server_starts_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let listen = "127.0.0.1:0".parse().unwrap();
    let store = support::mock_store();
    // No models: the capture is accepted unread, and scans are refused.
    let server = palmkit_server::start(ServerOptions::development(dir.path(), listen))
        .await
        .unwrap();
    let (_, uploaded) = enroll(&server, store.clone(), coep("001_1.jpg")).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    let device = server.issue_store_device("store-1").unwrap();
    assert_eq!(
        scan(&server, Some(&device.token), coep("001_2.jpg"))
            .await
            .status(),
        503
    );
    server.shutdown().await;
    // The same data directory with models: the signature is made at start.
    let mut options = ServerOptions::development(dir.path(), listen);
    with_models(&mut options);
    let server = palmkit_server::start(options).await.unwrap();
    let matched = scan_ok(&server, &device.token, coep("001_2.jpg")).await;
    assert_eq!(matched.outcome, ScanOutcome::Matched, "{matched:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_beyond_the_bounded_pool_wait_their_turn_and_all_are_answered() {
    // One scan at a time: the others queue for the slot (within the request timeout), a
    // refused picture gives its slot back, and every scan gets its answer.
    let (_dir, server) = support::start_server(|o| {
        with_models(o);
        o.limits.scan_workers = 1;
    })
    .await;
    let device = server.issue_store_device("store-1").unwrap();
    let refused = scan(&server, Some(&device.token), b"not a picture".to_vec()).await;
    assert_eq!(refused.status(), 400);
    let (_enrolled, uploaded) = enroll(&server, support::mock_store(), coep("001_1.jpg")).await;
    assert_eq!(uploaded.unwrap().state, SessionState::PendingStoreMatch);
    let started = std::time::Instant::now();
    let t = &device.token;
    let (a, b, c, d) = tokio::join!(
        scan_ok(&server, t, coep("008_1.jpg")),
        scan_ok(&server, t, coep("011_1.jpg")),
        scan_ok(&server, t, coep("013_1.jpg")),
        scan_ok(&server, t, coep("005_1.jpg")),
    );
    for answer in [&a, &b, &c, &d] {
        assert_eq!(answer.outcome, ScanOutcome::NoMatch, "{answer:?}");
    }
    println!("4 scans through one slot in {:?}", started.elapsed());
    server.shutdown().await;
}
