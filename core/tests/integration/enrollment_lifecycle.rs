//! An enrollment's life at the service after it is made, against the reference server:
//! the shopper's biometric consent recorded with its text version and time, deletion of an
//! enrollment with all its biometric data (by its owner only), and expiry of an enrollment
//! that waited too long for its store match.

use crate::support;

use std::time::Duration;

use palmkit_core::account::AccountClient;
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::error::Error;
use palmkit_core::protocol::{CaptureSource, EnrollmentState, Hand};
use palmkit_core::upload::{CancelToken, Capture, NoProgress, TusOptions};
use palmkit_server::RunningServer;
use zeroize::Zeroizing;

async fn signed_in(
    configure: impl FnOnce(&mut palmkit_server::ServerOptions),
) -> (tempfile::TempDir, RunningServer, AccountClient) {
    let (dir, server) = support::start_server(configure).await;
    let account = AccountClient::new(&server.client_config, support::mock_store()).unwrap();
    support::log_in(&account, &server.client_config).await;
    (dir, server, account)
}

/// Uploads the test palm photo as a right-hand capture of `enrollment_id`.
async fn upload_photo(
    enrollments: &EnrollmentClient<'_>,
    enrollment_id: &str,
    source: CaptureSource,
) -> Result<palmkit_core::upload::UploadReport, Error> {
    let capture = Capture::new(Zeroizing::new(support::palm_photo()), source).unwrap();
    enrollments
        .upload_capture(
            enrollment_id,
            Hand::Right,
            capture,
            &TusOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .await
}

/// Makes a right-hand enrollment with one accepted capture and submits it.
async fn submitted(account: &AccountClient) -> (String, String) {
    let enrollments = EnrollmentClient::new(account);
    let draft = enrollments.create(&[Hand::Right]).await.unwrap();
    let report = upload_photo(&enrollments, &draft.id, CaptureSource::File)
        .await
        .unwrap();
    let key = palmkit_core::payment::PaymentClient::new_idempotency_key().unwrap();
    let pending = enrollments
        .submit(&draft.id, std::slice::from_ref(&report.id), &key)
        .await
        .unwrap();
    assert_eq!(pending.state, EnrollmentState::PendingStoreMatch);
    assert!(
        pending.expires_at.is_some(),
        "a pending enrollment names its deadline"
    );
    (draft.id, report.id)
}

fn count(dir: &tempfile::TempDir, sql: &str, id: &str) -> i64 {
    let db = palmkit_server::db::Db::open(&dir.path().join("palmkit.sqlite3")).unwrap();
    db.with(|c| Ok(c.query_row(sql, [id], |r| r.get(0))?))
        .unwrap()
}

fn biometric_rows(dir: &tempfile::TempDir, enrollment: &str) -> i64 {
    count(
        dir,
        "SELECT count(*) FROM captures WHERE enrollment_id = ?1",
        enrollment,
    ) + count(
        dir,
        "SELECT count(*) FROM uploads WHERE enrollment_id = ?1",
        enrollment,
    )
}

#[tokio::test]
async fn consent_is_recorded_with_its_version_and_first_time() {
    let (_dir, server, account) = signed_in(|_| {}).await;
    let enrollments = EnrollmentClient::new(&account);
    let first = enrollments.give_consent("biometric-2026-11").await.unwrap();
    assert_eq!(first.text_version, "biometric-2026-11");
    assert!(first.given_at.ends_with('Z'), "{}", first.given_at);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = enrollments.give_consent("biometric-2026-11").await.unwrap();
    assert_eq!(again, first, "the first time given is kept");
    let err = enrollments
        .give_consent("no spaces allowed")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 422, .. }),
        "{err:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_production_service_takes_no_capture_before_consent() {
    let (_dir, server, account) =
        signed_in(|o| o.mode = palmkit_server::ServerMode::Production).await;
    let enrollments = EnrollmentClient::new(&account);
    let draft = enrollments.create(&[Hand::Right]).await.unwrap();
    let upload = || async {
        upload_photo(&enrollments, &draft.id, CaptureSource::Camera)
            .await
            .unwrap_err()
    };
    let code = |e: Error| match e {
        Error::Service { code, .. } => code,
        Error::Upload(palmkit_core::error::UploadFailure::Rejected { code, .. }) => code,
        other => format!("{other:?}"),
    };
    assert_eq!(code(upload().await), "consent_required");
    enrollments.give_consent("biometric-2026-11").await.unwrap();
    // With consent the next requirement (a platform attestation) is what refuses it.
    assert_eq!(code(upload().await), "attestation_required");
    server.shutdown().await;
}

#[tokio::test]
async fn a_deleted_enrollment_is_gone_with_its_biometric_data() {
    let (dir, server, account) = signed_in(|_| {}).await;
    let (id, _upload) = submitted(&account).await;
    assert!(biometric_rows(&dir, &id) > 0);

    // Another shopper cannot delete it: "not found", and it stays.
    let other = support::another_shopper(&server, dir.path(), "other@palmkit.test").await;
    let err = EnrollmentClient::new(&other).delete(&id).await.unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 404, .. }),
        "{err:?}"
    );
    assert!(biometric_rows(&dir, &id) > 0);

    let enrollments = EnrollmentClient::new(&account);
    enrollments.delete(&id).await.unwrap();
    let err = enrollments.get(&id).await.unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 404, code, .. } if code == "not_found"),
        "{err:?}"
    );
    assert_eq!(biometric_rows(&dir, &id), 0, "captures and uploads deleted");
    assert_eq!(
        count(&dir, "SELECT count(*) FROM enrollments WHERE id = ?1", &id),
        0
    );
    // Deleting again is a typed "not found", nothing else.
    let err = enrollments.delete(&id).await.unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 404, .. }),
        "{err:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_pending_enrollment_expires_and_its_captures_are_deleted() {
    let (dir, server, account) = signed_in(|o| {
        o.limits.uploads.pending_enrollment_ttl = Duration::from_secs(1);
    })
    .await;
    let (id, _upload) = submitted(&account).await;
    let enrollments = EnrollmentClient::new(&account);
    // The deadline passes: the shopper learns it at once...
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = enrollments.get(&id).await.unwrap();
    assert_eq!(expired.state, EnrollmentState::Expired);
    assert_eq!(expired.expires_at, None);
    // ...and the sweeper (every second here) deletes its biometric data.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while biometric_rows(&dir, &id) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        biometric_rows(&dir, &id),
        0,
        "the sweeper deleted the captures"
    );
    assert_eq!(
        enrollments.get(&id).await.unwrap().state,
        EnrollmentState::Expired
    );
    server.shutdown().await;
}
