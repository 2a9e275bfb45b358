//! Sealed, resumable capture uploads against the reference server on 127.0.0.1: a real
//! palm photograph goes up through bad links (cuts at random offsets, a server restart,
//! 503 with Retry-After, a slow link) and always arrives whole, once; envelopes sealed for
//! another context, tampered, or to an unknown key are refused and nothing is kept.

use crate::support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use palmkit_core::ServiceConfig;
use palmkit_core::account::AccountClient;
use palmkit_core::account::store::{CredentialStore as _, KeyringStore};
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::error::{Error, ErrorKind, UploadFailure};
use palmkit_core::protocol::{CaptureSource, EnrollmentState, Hand, SpoofMetadata};
use palmkit_core::upload::envelope::{self, SealContext};
use palmkit_core::upload::sealed_verdict;
use palmkit_core::upload::{
    AeadSuite, CancelToken, Capture, NoProgress, RetryPolicy, TusAuth, TusClient, TusOptions,
    UploadProgress,
};
use palmkit_server::RunningServer;
use palmkit_server::db::Db;
use zeroize::Zeroizing;

const CHUNK: usize = 32 * 1024;

struct Rig {
    dir: tempfile::TempDir,
    server: RunningServer,
    store: Arc<KeyringStore>,
    account: AccountClient,
}

impl Rig {
    async fn start(configure: impl FnOnce(&mut palmkit_server::ServerOptions)) -> Self {
        let (dir, server) = support::start_server(configure).await;
        let store = support::mock_store();
        let account = AccountClient::new(&server.client_config, store.clone()).unwrap();
        support::log_in(&account, &server.client_config).await;
        Self {
            dir,
            server,
            store,
            account,
        }
    }

    fn db(&self) -> Db {
        Db::open(&self.dir.path().join("palmkit.sqlite3")).unwrap()
    }

    /// A draft enrollment of the rig's shopper.
    async fn draft(&self, hands: &[Hand]) -> palmkit_core::protocol::Enrollment {
        EnrollmentClient::new(&self.account)
            .create(hands)
            .await
            .unwrap()
    }

    /// A fault proxy in front of the server and a client with this rig's login that goes
    /// through it, already connected (so the next bytes up are the test's).
    async fn proxied(&self) -> (support::proxy::FaultProxy, AccountClient) {
        let proxy = support::proxy::start(self.server.addr).await;
        let via = self.account_via(&proxy);
        via.account().await.unwrap();
        (proxy, via)
    }

    /// A client that reaches the service through `proxy` with this rig's login.
    fn account_via(&self, proxy: &support::proxy::FaultProxy) -> AccountClient {
        let mut config: ServiceConfig = self.server.client_config.clone();
        config.base_url = format!("https://{}/", proxy.addr);
        let store = support::mock_store();
        let via = AccountClient::new(&config, store.clone()).unwrap();
        let tokens = self.store.load(&self.account.store_key()).unwrap().unwrap();
        store.save(&via.store_key(), &tokens).unwrap();
        via
    }
}

fn options(chunk: usize) -> TusOptions {
    TusOptions {
        chunk_size: chunk,
        retry: RetryPolicy {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(400),
            ..RetryPolicy::default()
        },
        ..TusOptions::default()
    }
}

/// Records every progress report.
#[derive(Default)]
struct Recorder(Mutex<Vec<(u64, u64)>>);

impl UploadProgress for Recorder {
    fn on_progress(&self, confirmed: u64, total: u64) {
        self.0.lock().unwrap().push((confirmed, total));
    }
}

/// What the server keeps for an upload, opened with its private key in the context it
/// recorded: the plaintext the service would see.
fn opened_capture(rig: &Rig, upload_id: &str) -> Vec<u8> {
    let db = rig.db();
    let (sealed, key_id, enrollment_id, hand, account_id): (
        Vec<u8>,
        String,
        String,
        String,
        String,
    ) = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT c.sealed, c.key_id, c.enrollment_id, c.hand, u.account_id
                 FROM captures c JOIN uploads u ON u.id = c.upload_id WHERE c.upload_id = ?1",
                [upload_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?)
        })
        .unwrap();
    let private = db
        .with(|c| palmkit_server::keys::private_key(c, &key_id))
        .unwrap()
        .unwrap();
    let context = SealContext {
        account_id: &account_id,
        enrollment_id: &enrollment_id,
        hand: if hand == "left" {
            Hand::Left
        } else {
            Hand::Right
        },
        key_id: &key_id,
    };
    envelope::open(&sealed, &context, &private)
        .unwrap()
        .to_vec()
}

fn count(rig: &Rig, sql: &str) -> i64 {
    rig.db()
        .with(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .unwrap()
}

async fn upload(
    account: &AccountClient,
    enrollment_id: &str,
    hand: Hand,
    image: &[u8],
    options: &TusOptions,
    progress: &dyn UploadProgress,
) -> Result<palmkit_core::upload::UploadReport, Error> {
    EnrollmentClient::new(account)
        .upload_capture(
            enrollment_id,
            hand,
            Capture::new(Zeroizing::new(image.to_vec()), CaptureSource::File)?,
            options,
            progress,
            &CancelToken::new(),
        )
        .await
}

#[tokio::test]
async fn the_spoof_verdict_travels_encrypted_with_the_capture_and_the_service_opens_it() {
    use palmkit_core::liveness::{Layer, LayerReport, Outcome, SpoofVerdict};
    let rig = Rig::start(|_| {}).await;
    let enrollments = EnrollmentClient::new(&rig.account);
    let draft = enrollments.create(&[Hand::Left]).await.unwrap();
    let verdict = SpoofVerdict::combine(vec![
        LayerReport::new(
            Layer::ScreenReplay,
            0.4,
            1.0,
            Outcome::Pass,
            "no pattern".into(),
        ),
        LayerReport::new(
            Layer::Motion3d,
            0.01,
            0.02,
            Outcome::Unsure,
            "too little".into(),
        ),
        LayerReport::new(Layer::Challenge, 1.0, 1.0, Outcome::Pass, "met".into()),
    ]);
    let capture = Capture::new(Zeroizing::new(support::palm_photo()), CaptureSource::Camera)
        .unwrap()
        .with_spoof(&verdict);
    let report = enrollments
        .upload_capture(
            &draft.id,
            Hand::Left,
            capture,
            &options(CHUNK),
            &Recorder::default(),
            &CancelToken::new(),
        )
        .await
        .unwrap();
    let (metadata, sealed, spoof): (String, Vec<u8>, String) = rig
        .db()
        .with(|c| {
            Ok(c.query_row(
                "SELECT metadata, sealed, spoof FROM captures WHERE upload_id = ?1",
                [&report.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    // In the envelope as sent: only ciphertext of the verdict.
    let clear: serde_json::Value = serde_json::from_str(&metadata).unwrap();
    assert!(clear["sealed_spoof"].is_string(), "{clear}");
    for word in [&b"motion_3d"[..], b"unsure", b"too little"] {
        assert!(
            !sealed.windows(word.len()).any(|w| w == word),
            "{} in the clear",
            String::from_utf8_lossy(word)
        );
    }
    // Opened by the service.
    let json: serde_json::Value = serde_json::from_str(&spoof).unwrap();
    assert_eq!(json["verdict"], "pass", "{json}");
    assert_eq!(json["layers"][1]["layer"], "motion_3d");
    assert_eq!(json["layers"][1]["outcome"], "unsure");
    assert_eq!(json["layers"][2]["reason"], "met");
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_photo_is_sealed_uploaded_checked_and_submitted_once() {
    let rig = Rig::start(|_| {}).await;
    let photo = support::palm_photo();
    let enrollments = EnrollmentClient::new(&rig.account);
    let key = palmkit_core::payment::PaymentClient::new_idempotency_key().unwrap();
    let draft = enrollments
        .create_with_key(&[Hand::Right], Some(&key))
        .await
        .unwrap();
    // A create retried after a lost answer is the same draft.
    let again = enrollments
        .create_with_key(&[Hand::Right], Some(&key))
        .await
        .unwrap();
    assert_eq!(again.id, draft.id);

    let progress = Recorder::default();
    let report = upload(
        &rig.account,
        &draft.id,
        Hand::Right,
        &photo,
        &options(CHUNK),
        &progress,
    )
    .await
    .unwrap();
    assert!(report.checksummed, "the server offers sha256 checksums");
    assert_eq!(report.bytes_sent, report.length, "nothing sent twice");
    assert_eq!(report.interruptions, 0);
    let seen = progress.0.lock().unwrap().clone();
    assert_eq!(seen.last(), Some(&(report.length, report.length)));
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress only grows: {seen:?}"
    );
    assert!(
        seen.len() as u64 >= report.length / CHUNK as u64,
        "a report per chunk"
    );

    assert_eq!(
        opened_capture(&rig, &report.id),
        photo,
        "the service opens the same bytes"
    );

    // Nothing in the data directory holds the photo in the clear: only sealed bytes.
    let needle = &photo[photo.len() / 2..photo.len() / 2 + 64];
    for entry in walk(rig.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{} holds plaintext",
            entry.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(rig.dir.path().join("uploads"))
            .unwrap()
            .count(),
        0,
        "the part file is gone once accepted"
    );

    let submit_key = palmkit_core::payment::PaymentClient::new_idempotency_key().unwrap();
    let submitted = enrollments
        .submit(&draft.id, std::slice::from_ref(&report.id), &submit_key)
        .await
        .unwrap();
    assert_eq!(submitted.state, EnrollmentState::PendingStoreMatch);
    // A retried submit (lost answer) gets the same answer; nothing is created twice.
    let retried = enrollments
        .submit(&draft.id, std::slice::from_ref(&report.id), &submit_key)
        .await
        .unwrap();
    assert_eq!(retried, submitted);
    assert_eq!(count(&rig, "SELECT count(*) FROM enrollments"), 1);
    assert_eq!(count(&rig, "SELECT count(*) FROM captures"), 1);
    // Another key on a submitted enrollment is a conflict, not a second submission.
    let other_key = palmkit_core::payment::PaymentClient::new_idempotency_key().unwrap();
    let err = enrollments
        .submit(&draft.id, std::slice::from_ref(&report.id), &other_key)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 409, code, .. } if code == "already_submitted"),
        "{err:?}"
    );
    rig.server.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn submit_needs_an_accepted_capture_of_every_hand() {
    let rig = Rig::start(|_| {}).await;
    let photo = support::palm_photo();
    let enrollments = EnrollmentClient::new(&rig.account);
    let draft = enrollments
        .create(&[Hand::Left, Hand::Right])
        .await
        .unwrap();
    let right = upload(
        &rig.account,
        &draft.id,
        Hand::Right,
        &photo,
        &options(CHUNK),
        &NoProgress,
    )
    .await
    .unwrap();
    let key = palmkit_core::payment::PaymentClient::new_idempotency_key().unwrap();
    let err = enrollments
        .submit(&draft.id, std::slice::from_ref(&right.id), &key)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 422, code, .. } if code == "captures_missing"),
        "{err:?}"
    );
    let err = enrollments
        .submit(&draft.id, &["upl-0000".into()], &key)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 422, .. }),
        "{err:?}"
    );
    let left = upload(
        &rig.account,
        &draft.id,
        Hand::Left,
        &photo,
        &options(CHUNK),
        &NoProgress,
    )
    .await
    .unwrap();
    let key = palmkit_core::payment::PaymentClient::new_idempotency_key().unwrap();
    let done = enrollments
        .submit(&draft.id, &[left.id, right.id], &key)
        .await
        .unwrap();
    assert_eq!(done.state, EnrollmentState::PendingStoreMatch);
    // A hand not in the enrollment is refused at creation.
    let single = enrollments.create(&[Hand::Left]).await.unwrap();
    let err = upload(
        &rig.account,
        &single.id,
        Hand::Right,
        &photo,
        &options(CHUNK),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 422, code, .. } if code == "hand_not_enrolled"),
        "{err:?}"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn cuts_at_random_offsets_resume_and_resend_at_most_a_chunk_each() {
    let rig = Rig::start(|_| {}).await;
    let photo = std::fs::read(support::testdata_dir().join("palms/palm_eddy1.jpg")).unwrap();
    let draft = rig.draft(&[Hand::Left]).await;
    let (proxy, via) = rig.proxied().await;

    // Four cuts, each after a random number of bytes sent up, re-armed as each fires.
    let (armer, offsets) = proxy.cut_repeatedly(4, 2_000..150_000);
    let report = upload(
        &via,
        &draft.id,
        Hand::Left,
        &photo,
        &options(CHUNK),
        &NoProgress,
    )
    .await
    .unwrap();
    armer.abort();
    let cuts = proxy.faults.cuts.load(Ordering::SeqCst) as u32;
    println!(
        "cut after {:?} bytes up; {report:?}",
        offsets.lock().unwrap()
    );
    assert!(cuts >= 1, "no cut happened");
    assert!(report.interruptions >= 1);
    let resent = report.bytes_sent - report.length;
    assert!(
        resent <= u64::from(report.interruptions) * CHUNK as u64,
        "re-sent {resent} bytes over {} interruptions",
        report.interruptions
    );
    assert_eq!(report.creations, 1, "resumed, never started over");
    assert_eq!(opened_capture(&rig, &report.id), photo);
    assert_eq!(count(&rig, "SELECT count(*) FROM uploads"), 1);
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_server_restart_mid_upload_is_resumed() {
    let rig = Rig::start(|_| {}).await;
    let photo = std::fs::read(support::testdata_dir().join("palms/palm_eddy1.jpg")).unwrap();
    let draft = rig.draft(&[Hand::Left]).await;
    let (proxy, via) = rig.proxied().await;
    // ~2 s for the whole photo, so the restart lands in the middle.
    proxy
        .faults
        .up_bytes_per_sec
        .store(200_000, Ordering::SeqCst);

    let Rig {
        dir,
        server,
        store,
        account,
    } = rig;
    let addr = server.addr;
    let data_dir = dir.path().to_path_buf();
    let faults = proxy.faults.clone();
    let restarter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        faults.refuse.store(true, Ordering::SeqCst);
        server.shutdown().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let options = palmkit_server::ServerOptions::development(&data_dir, addr);
        let server = palmkit_server::start(options).await.unwrap();
        faults.refuse.store(false, Ordering::SeqCst);
        server
    });
    let report = upload(
        &via,
        &draft.id,
        Hand::Left,
        &photo,
        &options(CHUNK),
        &NoProgress,
    )
    .await
    .unwrap();
    let server = restarter.await.unwrap();
    let rig = Rig {
        dir,
        server,
        store,
        account,
    };
    println!("{report:?}");
    assert!(report.interruptions >= 1, "the restart was not noticed");
    assert_eq!(
        report.creations, 1,
        "resumed after the restart, not started over"
    );
    assert!(report.bytes_sent - report.length <= u64::from(report.interruptions) * CHUNK as u64);
    assert_eq!(opened_capture(&rig, &report.id), photo);
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_busy_server_answers_503_with_retry_after_and_the_upload_waits() {
    let rig = Rig::start(|o| {
        o.limits.uploads.max_concurrent_writes = 1;
        o.limits.uploads.retry_after = Duration::from_secs(1);
    })
    .await;
    let photo = support::palm_photo();
    let draft = rig.draft(&[Hand::Left, Hand::Right]).await;
    // Another phone on a crawling link holds the only write slot until it cancels.
    let (proxy, slow) = rig.proxied().await;
    proxy
        .faults
        .up_bytes_per_sec
        .store(10_000, Ordering::SeqCst);
    let cancel = CancelToken::new();
    let holder = {
        let cancel = cancel.clone();
        let id = draft.id.clone();
        let photo = photo.clone();
        async move {
            EnrollmentClient::new(&slow)
                .upload_capture(
                    &id,
                    Hand::Left,
                    Capture::new(Zeroizing::new(photo), CaptureSource::File).unwrap(),
                    &options(CHUNK),
                    &NoProgress,
                    &cancel,
                )
                .await
        }
    };
    let db = rig.db();
    let holder_writing = async {
        // Until the holder's upload exists, then long enough for its first (throttled)
        // PATCH to be in the server's hands.
        loop {
            let n: i64 = db
                .with(|c| {
                    Ok(c.query_row(
                        "SELECT count(*) FROM uploads WHERE hand = 'left'",
                        [],
                        |r| r.get(0),
                    )?)
                })
                .unwrap();
            if n > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
    };
    let main_started = tokio::sync::Notify::new();
    let main = async {
        holder_writing.await;
        main_started.notify_one();
        let started = Instant::now();
        let report = upload(
            &rig.account,
            &draft.id,
            Hand::Right,
            &photo,
            &options(CHUNK),
            &NoProgress,
        )
        .await;
        (report, started.elapsed())
    };
    let canceller = async {
        main_started.notified().await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        cancel.cancel();
    };
    let (held, (report, took), ()) = tokio::join!(holder, main, canceller);
    let report = report.unwrap();
    println!("{report:?} in {took:?}");
    assert!(
        matches!(held, Err(Error::Upload(UploadFailure::Cancelled))),
        "{held:?}"
    );
    assert!(report.interruptions >= 1, "the 503 was not seen");
    assert!(
        took >= Duration::from_millis(900),
        "Retry-After: 1 was not obeyed ({took:?})"
    );
    assert_eq!(opened_capture(&rig, &report.id), photo);
    // The cancelled upload was terminated at the server, not left to expire.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        count(&rig, "SELECT count(*) FROM uploads WHERE hand = 'left'"),
        0,
        "the cancelled upload is still there"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_slow_link_shrinks_chunks_and_completes() {
    let rig = Rig::start(|_| {}).await;
    let photo = support::palm_photo();
    let draft = rig.draft(&[Hand::Right]).await;
    let (proxy, via) = rig.proxied().await;
    proxy
        .faults
        .up_bytes_per_sec
        .store(256_000, Ordering::SeqCst);
    // A 32 KiB chunk needs ~130 ms on this link; PATCHes may take 100 ms.
    let options = TusOptions {
        patch_timeout: Duration::from_millis(100),
        ..options(CHUNK)
    };
    let report = upload(&via, &draft.id, Hand::Right, &photo, &options, &NoProgress)
        .await
        .unwrap();
    println!("{report:?}");
    assert!(
        report.interruptions >= 1,
        "no PATCH timed out; the link was not slow"
    );
    assert_eq!(opened_capture(&rig, &report.id), photo);
    rig.server.shutdown().await;
}

#[tokio::test]
async fn retries_end_with_a_typed_offline_error() {
    let rig = Rig::start(|_| {}).await;
    let draft = rig.draft(&[Hand::Right]).await;
    let (proxy, via) = rig.proxied().await;
    proxy.faults.refuse.store(true, Ordering::SeqCst);
    // Drop the pooled connection so the next request needs a new one.
    proxy.faults.cut_after_up.store(1, Ordering::SeqCst);
    let options = TusOptions {
        retry: RetryPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_attempts_without_progress: 3,
            ..RetryPolicy::default()
        },
        ..options(CHUNK)
    };
    let endpoint = via.net().url("v1/uploads").unwrap();
    let err = TusClient::new(via.net().http(), endpoint, TusAuth::Account(&via), options)
        .upload(
            &b"sealed bytes"[..],
            &[("enrollment_id", draft.id.as_str()), ("hand", "right")],
            &NoProgress,
            &CancelToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Upload(UploadFailure::RetriesExhausted { attempts: 3, .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Offline);
    assert!(err.is_retryable());
    rig.server.shutdown().await;
}

/// Uploads hand-made envelopes with the tus client directly, as the shopper.
async fn send_raw(
    rig: &Rig,
    enrollment_id: &str,
    hand: &str,
    envelope: &[u8],
) -> Result<(), Error> {
    let endpoint = rig.account.net().url("v1/uploads").unwrap();
    TusClient::new(
        rig.account.net().http(),
        endpoint,
        TusAuth::Account(&rig.account),
        options(CHUNK),
    )
    .upload(
        envelope,
        &[("enrollment_id", enrollment_id), ("hand", hand)],
        &NoProgress,
        &CancelToken::new(),
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn foreign_tampered_and_unknown_key_envelopes_are_refused_and_nothing_is_kept() {
    let rig = Rig::start(|_| {}).await;
    let photo = support::palm_photo();
    let me = rig.account.account().await.unwrap();
    let draft = rig.draft(&[Hand::Right]).await;
    let config = rig.account.config();
    let (w, h) = {
        let c = Capture::new(Zeroizing::new(photo.clone()), CaptureSource::File).unwrap();
        (c.metadata().width, c.metadata().height)
    };
    let metadata = format!(
        r#"{{"media_type":"image/jpeg","width":{w},"height":{h},"captured_at_ms":1,"source":"file"}}"#
    );
    let seal_for =
        |account_id: &str, enrollment_id: &str, hand: Hand, key_id: &str, body: &[u8]| {
            envelope::seal(
                body,
                metadata.as_bytes(),
                &SealContext {
                    account_id,
                    enrollment_id,
                    hand,
                    key_id,
                },
                &config.service_public_key,
                AeadSuite::ChaCha20Poly1305,
            )
            .unwrap()
        };
    let key_id = config.service_key_id.clone();
    // Right envelopes whose sealed spoof verdict is another context's, or not one at all.
    let right = SealContext {
        account_id: &me.account_id,
        enrollment_id: &draft.id,
        hand: Hand::Right,
        key_id: &key_id,
    };
    let with_spoof = |sealed_spoof: &str| {
        let md = metadata.replace(
            r#""source":"file"}"#,
            &format!(r#""source":"file","sealed_spoof":"{sealed_spoof}"}}"#),
        );
        envelope::seal(
            &photo,
            md.as_bytes(),
            &right,
            &config.service_public_key,
            AeadSuite::ChaCha20Poly1305,
        )
        .unwrap()
    };
    let verdict = SpoofMetadata {
        verdict: "pass".into(),
        layers: Vec::new(),
    };
    let left_verdict = sealed_verdict::seal(
        &verdict,
        &SealContext {
            hand: Hand::Left,
            ..right.clone()
        },
        &config.service_public_key,
        AeadSuite::ChaCha20Poly1305,
    )
    .unwrap();
    let mut tampered = seal_for(&me.account_id, &draft.id, Hand::Right, &key_id, &photo);
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x40;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "another account",
            seal_for("acct-someone-else", &draft.id, Hand::Right, &key_id, &photo),
            "envelope_rejected",
        ),
        (
            "another enrollment",
            seal_for(&me.account_id, "enr-another", Hand::Right, &key_id, &photo),
            "envelope_rejected",
        ),
        (
            "another hand",
            seal_for(&me.account_id, &draft.id, Hand::Left, &key_id, &photo),
            "envelope_rejected",
        ),
        ("tampered ciphertext", tampered, "envelope_rejected"),
        (
            "unknown key id",
            seal_for(
                &me.account_id,
                &draft.id,
                Hand::Right,
                "k-retired-long-ago",
                &photo,
            ),
            "unknown_key",
        ),
        (
            "not an image",
            seal_for(
                &me.account_id,
                &draft.id,
                Hand::Right,
                &key_id,
                &[7u8; 5000],
            ),
            "invalid_image",
        ),
        ("not an envelope", photo.clone(), "malformed_envelope"),
        (
            "a spoof verdict sealed for the other hand",
            with_spoof(&left_verdict),
            "envelope_rejected",
        ),
        (
            "a spoof verdict that is not sealed",
            with_spoof("cGFzcw=="),
            "invalid_metadata",
        ),
    ];
    for (what, body, expected) in cases {
        let err = send_raw(&rig, &draft.id, "right", &body).await.unwrap_err();
        match &err {
            Error::Upload(UploadFailure::Rejected { code, message }) => {
                assert_eq!(code, expected, "{what}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(err.kind(), ErrorKind::Rejected, "{what}");
    }
    assert_eq!(
        count(&rig, "SELECT count(*) FROM captures"),
        0,
        "nothing stored"
    );
    assert_eq!(
        count(
            &rig,
            "SELECT count(*) FROM uploads WHERE state <> 'rejected'"
        ),
        0
    );
    assert_eq!(
        std::fs::read_dir(rig.dir.path().join("uploads"))
            .unwrap()
            .count(),
        0,
        "no part file left"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_capture_sealed_to_the_previous_key_opens_after_rotation() {
    let rig = Rig::start(|_| {}).await;
    let draft = rig.draft(&[Hand::Right]).await;
    let old_key = rig.account.config().service_key_id.clone();
    let rotated = palmkit_server::keys::rotate(&rig.db()).unwrap();
    assert_ne!(rotated.id, old_key);
    let photo = support::palm_photo();
    let report = upload(
        &rig.account,
        &draft.id,
        Hand::Right,
        &photo,
        &options(CHUNK),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(opened_capture(&rig, &report.id), photo);
    rig.server.shutdown().await;
}

#[tokio::test]
async fn an_abandoned_upload_expires_and_is_swept_with_its_file() {
    let rig = Rig::start(|o| o.limits.uploads.expiry = Duration::from_secs(1)).await;
    let draft = rig.draft(&[Hand::Right]).await;
    let token = rig.account.access_token().await.unwrap();
    let http = rig.account.net().http();
    let created = http
        .post(rig.account.net().url("v1/uploads").unwrap())
        .bearer_auth(&token)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "1000")
        .header(
            "upload-metadata",
            format!(
                "enrollment_id {},hand cmlnaHQ=",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &draft.id)
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().contains_key("upload-expires"));
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let url = rig
        .account
        .net()
        .url(location.trim_start_matches('/'))
        .unwrap();
    assert_eq!(
        std::fs::read_dir(rig.dir.path().join("uploads"))
            .unwrap()
            .count(),
        1
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let head = http
        .head(url.clone())
        .bearer_auth(&token)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert!(
        head.status() == 410 || head.status() == 404,
        "an expired upload answered {}",
        head.status()
    );
    // The sweeper (every second with this expiry) removes the row and the file.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(count(&rig, "SELECT count(*) FROM uploads"), 0);
    assert_eq!(
        std::fs::read_dir(rig.dir.path().join("uploads"))
            .unwrap()
            .count(),
        0
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn size_limit_and_per_account_quota_are_enforced() {
    let rig = Rig::start(|o| {
        o.limits.uploads.max_upload_bytes = 50_000;
        o.limits.uploads.max_active_per_account = 1;
    })
    .await;
    let draft = rig.draft(&[Hand::Left, Hand::Right]).await;
    // The photo seals to ~80 KB: the client reads Tus-Max-Size and sends nothing.
    let err = upload(
        &rig.account,
        &draft.id,
        Hand::Right,
        &support::palm_photo(),
        &options(CHUNK),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Upload(UploadFailure::TooLarge { max: 50_000, .. })
        ),
        "{err:?}"
    );
    assert_eq!(count(&rig, "SELECT count(*) FROM uploads"), 0);

    // One unfinished upload is the quota: the next creation is refused with 429.
    let small = |n: usize| {
        let rig = &rig;
        let id = draft.id.clone();
        async move {
            let endpoint = rig.account.net().url("v1/uploads").unwrap();
            let options = TusOptions {
                retry: RetryPolicy {
                    initial_delay: Duration::from_millis(10),
                    max_delay: Duration::from_millis(20),
                    max_attempts_without_progress: 2,
                    ..RetryPolicy::default()
                },
                ..options(CHUNK)
            };
            TusClient::new(
                rig.account.net().http(),
                endpoint,
                TusAuth::Account(&rig.account),
                options,
            )
            .upload(
                &vec![0u8; n][..],
                &[("enrollment_id", id.as_str()), ("hand", "left")],
                &NoProgress,
                &CancelToken::new(),
            )
            .await
        }
    };
    // A first upload that the server refuses at its end stays "rejected", not active...
    let refused = small(100).await.unwrap_err();
    assert!(
        matches!(refused, Error::Upload(UploadFailure::Rejected { .. })),
        "{refused:?}"
    );
    // ...so make one that stays unfinished: create it by hand.
    let token = rig.account.access_token().await.unwrap();
    let created = rig
        .account
        .net()
        .http()
        .post(rig.account.net().url("v1/uploads").unwrap())
        .bearer_auth(&token)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "10")
        .header(
            "upload-metadata",
            format!(
                "enrollment_id {},hand bGVmdA==",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &draft.id)
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let err = small(100).await.unwrap_err();
    match &err {
        Error::Upload(UploadFailure::RetriesExhausted { last, .. }) => assert!(
            matches!(&**last, Error::Service { status: 429, code, .. } if code == "quota_exceeded"),
            "{last:?}"
        ),
        other => panic!("{other:?}"),
    }
    rig.server.shutdown().await;
}

/// A large JPEG (30 MP, smooth so it stays a few MB): decoding it is real work.
fn large_jpeg() -> Vec<u8> {
    let (w, h) = (6000u32, 5000u32);
    let pixels = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x / 24) as u8, (y / 20) as u8, ((x + y) / 44) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&pixels)
        .unwrap();
    out
}

/// Finding 5 of the attack on the service: opening the envelope and decoding up to 8192²
/// pixels happened under the single database lock, so four finishing uploads held every
/// other request, `/healthz` included (2.7 s measured). Here four 30 MP captures finish at
/// once while `/healthz` is asked every 10 ms: its slowest answer must stay a small part
/// of the time the four took (under the lock it waited for most of it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishing_uploads_do_not_hold_the_database_from_other_requests() {
    let rig = Rig::start(|_| {}).await;
    let photo = Arc::new(tokio::task::spawn_blocking(large_jpeg).await.unwrap());
    let mut drafts = Vec::new();
    for _ in 0..4 {
        drafts.push(rig.draft(&[Hand::Right]).await.id);
    }
    let net = palmkit_core::net::PinnedClient::new(&rig.server.client_config.validate().unwrap())
        .unwrap();
    let healthz = net.url("healthz").unwrap();
    net.http().get(healthz.clone()).send().await.unwrap();

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (done, net, healthz) = (done.clone(), net.clone(), healthz.clone());
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            while !done.load(Ordering::SeqCst) {
                let asked = Instant::now();
                let answer = net.http().get(healthz.clone()).send().await.unwrap();
                assert!(answer.status().is_success());
                slowest = slowest.max(asked.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            slowest
        })
    };
    let started = Instant::now();
    // One task, four uploads in flight at once (the account client is shared by reference).
    let one = |draft: String| {
        let (account, photo) = (&rig.account, photo.clone());
        async move {
            upload(
                account,
                &draft,
                Hand::Right,
                &photo,
                &options(1024 * 1024),
                &NoProgress,
            )
            .await
            .unwrap()
        }
    };
    let [a, b, c, d]: [String; 4] = drafts.try_into().unwrap();
    tokio::join!(one(a), one(b), one(c), one(d));
    let took = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let slowest = poller.await.unwrap();
    assert_eq!(count(&rig, "SELECT count(*) FROM captures"), 4);
    eprintln!("/healthz slowest {slowest:?} while four 30 MP uploads finished in {took:?}");
    assert!(
        slowest * 4 < took,
        "/healthz took up to {slowest:?} while four uploads finished in {took:?}"
    );
    rig.server.shutdown().await;
}

/// Finding 9 of the attack on the service: nothing capped the captures and enrollments an
/// account keeps, so one shopper could fill the service with biometric images.
#[tokio::test]
async fn captures_and_enrollments_per_account_are_capped() {
    let rig = Rig::start(|o| {
        o.limits.uploads.max_enrollments_per_account = 2;
        o.limits.uploads.max_captures_per_hand = 1;
        o.limits.uploads.max_captures_per_account = 2;
    })
    .await;
    let first = rig.draft(&[Hand::Left, Hand::Right]).await;
    let second = rig.draft(&[Hand::Right]).await;
    let err = EnrollmentClient::new(&rig.account)
        .create(&[Hand::Left])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 409, code, .. } if code == "enrollment_limit"),
        "{err:?}"
    );
    let photo = support::palm_photo();
    let send = |id: String, hand: Hand| {
        let (rig, photo) = (&rig, &photo);
        async move { upload(&rig.account, &id, hand, photo, &options(CHUNK), &NoProgress).await }
    };
    let limit_code = |err: Error| match err {
        Error::Service {
            status: 409, code, ..
        } => code,
        Error::Upload(UploadFailure::Rejected { code, .. }) => code,
        other => format!("{other:?}"),
    };
    send(first.id.clone(), Hand::Right).await.unwrap();
    // A second capture of the same hand is over the per-hand cap...
    let err = send(first.id.clone(), Hand::Right).await.unwrap_err();
    assert_eq!(limit_code(err), "capture_limit");
    // ...the other hand is not, and then the account's cap (2) is reached.
    send(first.id.clone(), Hand::Left).await.unwrap();
    let err = send(second.id.clone(), Hand::Right).await.unwrap_err();
    assert_eq!(limit_code(err), "capture_limit");
    assert_eq!(count(&rig, "SELECT count(*) FROM captures"), 2);
    assert_eq!(count(&rig, "SELECT count(*) FROM enrollments"), 2);
    rig.server.shutdown().await;
}
