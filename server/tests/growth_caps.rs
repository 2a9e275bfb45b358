//! What a signed-in client can make the service keep, against the reference server on
//! 127.0.0.1: attestation nonces are capped per account (the oldest go, and come back
//! refused), consent text versions per account are capped (`409 consent_limit`).

use palmkit_core::enrollment::EnrollmentClient;
use palmkit_server::test_rig::TestRig;

#[tokio::test]
async fn nonces_asked_for_in_a_loop_keep_the_table_small() {
    let rig = TestRig::start().await;
    let account = rig.test_shopper().await;
    let token = account.access_token().await.unwrap();
    let http = account.net().http();
    let mut nonces = Vec::new();
    for _ in 0..40 {
        let answer = http
            .post(account.net().url("v1/attestation/nonce").unwrap())
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = answer.json().await.unwrap();
        nonces.push(body["nonce"].as_str().unwrap().to_string());
    }
    assert_eq!(rig.count("SELECT count(*) FROM attestation_nonces"), 16);
    // The newest are kept; the first is gone (so it would be refused as unknown).
    let kept = |n: &str| {
        rig.count(&format!(
            "SELECT count(*) FROM attestation_nonces WHERE nonce = '{n}'"
        ))
    };
    assert_eq!(kept(nonces.last().unwrap()), 1);
    assert_eq!(kept(&nonces[0]), 0);
    rig.shutdown().await;
}

#[tokio::test]
async fn consent_versions_per_account_are_capped() {
    let rig = TestRig::start().await;
    let account = rig.test_shopper().await;
    let enrollments = EnrollmentClient::new(&account);
    for k in 0..16 {
        enrollments.give_consent(&format!("v{k}")).await.unwrap();
    }
    // A version already given is still answered; a new one past the cap is refused.
    enrollments.give_consent("v3").await.unwrap();
    let err = enrollments.give_consent("v-new").await.unwrap_err();
    assert!(format!("{err:?}").contains("consent_limit"), "{err:?}");
    assert_eq!(rig.count("SELECT count(*) FROM consents"), 16);
    rig.shutdown().await;
}
