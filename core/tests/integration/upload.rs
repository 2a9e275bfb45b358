//! The core's resumable upload against the reference server on 127.0.0.1: a real palm
//! photograph goes up through bad links (cuts at random offsets, a server restart, 503
//! with Retry-After, a slow link) and always arrives whole, once, or ends in a typed
//! offline error. What the service does with an upload (envelopes refused, quotas, caps,
//! the sweep) is the server's to test: server/tests/uploads.rs.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use palmkit_core::ServiceConfig;
use palmkit_core::account::AccountClient;
use palmkit_core::account::store::{CredentialStore as _, KeyringStore};
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::error::{Error, ErrorKind, UploadFailure};
use palmkit_core::protocol::{CaptureSource, Hand};
use palmkit_core::upload::{
    CancelToken, Capture, NoProgress, RetryPolicy, TusAuth, TusClient, TusOptions,
};
use palmkit_server::test_rig::{
    self, TestRig, quick_retry_options as options, upload_file as upload,
};
use zeroize::Zeroizing;

const CHUNK: usize = 32 * 1024;

/// The server's test rig with the test shopper signed in (tokens in `store`).
struct Rig {
    test: TestRig,
    store: Arc<KeyringStore>,
    account: AccountClient,
}

impl Rig {
    async fn start(configure: impl FnOnce(&mut palmkit_server::ServerOptions)) -> Self {
        let test = TestRig::start_with(configure).await;
        let store = support::mock_store();
        let account = test.test_shopper_in(store.clone()).await;
        Self {
            test,
            store,
            account,
        }
    }

    /// A draft enrollment of the rig's shopper.
    async fn draft(&self, hands: &[Hand]) -> palmkit_core::protocol::Enrollment {
        test_rig::draft(&self.account, hands).await
    }

    /// A fault proxy in front of the server and a client with this rig's login that goes
    /// through it, already connected (so the next bytes up are the test's).
    async fn proxied(&self) -> (support::proxy::FaultProxy, AccountClient) {
        let proxy = support::proxy::start(self.test.server.addr).await;
        let via = self.account_via(&proxy);
        via.account().await.unwrap();
        (proxy, via)
    }

    /// A client that reaches the service through `proxy` with this rig's login.
    fn account_via(&self, proxy: &support::proxy::FaultProxy) -> AccountClient {
        let mut config: ServiceConfig = self.test.client_config().clone();
        config.base_url = format!("https://{}/", proxy.addr);
        let store = support::mock_store();
        let via = AccountClient::new(&config, store.clone()).unwrap();
        let tokens = self.store.load(&self.account.store_key()).unwrap().unwrap();
        store.save(&via.store_key(), &tokens).unwrap();
        via
    }
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
    assert_eq!(rig.test.opened_capture(&report.id), photo);
    assert_eq!(rig.test.upload_count(None), 1);
    rig.test.shutdown().await;
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
        test,
        store,
        account,
    } = rig;
    let (dir, server) = test.into_parts();
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
        test: TestRig::from_parts(dir, server),
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
    assert_eq!(rig.test.opened_capture(&report.id), photo);
    rig.test.shutdown().await;
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
    let holder_writing = async {
        // Until the holder's upload exists, then long enough for its first (throttled)
        // PATCH to be in the server's hands.
        loop {
            if rig.test.upload_count(Some(Hand::Left)) > 0 {
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
    assert_eq!(rig.test.opened_capture(&report.id), photo);
    // The cancelled upload was terminated at the server, not left to expire.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rig.test.upload_count(Some(Hand::Left)),
        0,
        "the cancelled upload is still there"
    );
    rig.test.shutdown().await;
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
    assert_eq!(rig.test.opened_capture(&report.id), photo);
    rig.test.shutdown().await;
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
    rig.test.shutdown().await;
}
