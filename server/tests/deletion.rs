//! What deleting an enrollment leaves behind, through the core's real client against the
//! reference server on 127.0.0.1: nothing that names it (an idempotent answer replayed
//! after the delete must not be the deleted enrollment).

use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::protocol::Hand;
use palmkit_server::test_rig::TestRig;

#[tokio::test]
async fn an_idempotent_create_replayed_after_the_delete_is_not_the_deleted_enrollment() {
    let rig = TestRig::start().await;
    let account = rig.test_shopper().await;
    let enrollments = EnrollmentClient::new(&account);
    let key = Some("create-once-0001");
    let first = enrollments
        .create_with_key(&[Hand::Right], key)
        .await
        .unwrap();
    // A retry before the delete replays the same draft.
    let again = enrollments
        .create_with_key(&[Hand::Right], key)
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    enrollments.delete(&first.id).await.unwrap();
    let named = |id: &str| {
        rig.count(&format!(
            "SELECT count(*) FROM idempotency WHERE response LIKE '%{id}%'"
        ))
    };
    assert_eq!(named(&first.id), 0, "an idempotent answer still names it");
    // The same key after the delete: a request of its own, answered by a live draft.
    let after = enrollments
        .create_with_key(&[Hand::Right], key)
        .await
        .unwrap();
    assert_ne!(after.id, first.id, "the deleted enrollment was replayed");
    assert_eq!(enrollments.get(&after.id).await.unwrap().id, after.id);
    rig.shutdown().await;
}
