//! The store scans' budgets, against the reference server on 127.0.0.1 (without the hand
//! models: the budget is checked before any work, so refused answers are cheap): each
//! device has its own burst and rate, a store's devices share the store's, and a device
//! over budget is told when to come back (`429` + `Retry-After`) while other stores' devices
//! are served.

use palmkit_core::net::PinnedClient;
use palmkit_server::test_rig::TestRig;

async fn scan(client: &PinnedClient, token: &str) -> reqwest::Response {
    client
        .http()
        .post(client.url("v1/store/scans").unwrap())
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(b"not a picture".to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_device_over_its_burst_is_told_to_wait_and_others_are_served() {
    let rig = TestRig::start_with(|o| {
        o.limits.scans_per_device = (0.5, 5);
        o.limits.scans_per_store = (100.0, 100);
    })
    .await;
    let client = rig.pinned_client();
    let busy = rig.server.issue_store_device("store-busy").unwrap();
    let other = rig.server.issue_store_device("store-other").unwrap();
    // Thirty at once from one device: its burst is served, the rest refused at once.
    let mut sent = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (client, token) = (client.clone(), busy.token.clone());
        sent.spawn(async move { scan(&client, &token).await });
    }
    let answers = sent.join_all().await;
    let limited: Vec<_> = answers.iter().filter(|a| a.status() == 429).collect();
    let statuses: Vec<_> = answers.iter().map(|a| a.status()).collect();
    assert_eq!(limited.len(), 25, "{statuses:?}");
    let retry: u64 = limited[0].headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "retry after {retry} s");
    // Another store's device is not slowed by it.
    assert_ne!(scan(&client, &other.token).await.status(), 429);
    rig.shutdown().await;
}

#[tokio::test]
async fn a_stores_devices_share_the_stores_budget() {
    let rig = TestRig::start_with(|o| {
        o.limits.scans_per_device = (100.0, 100);
        o.limits.scans_per_store = (0.5, 4);
    })
    .await;
    let client = rig.pinned_client();
    let a = rig.server.issue_store_device("store-1").unwrap();
    let b = rig.server.issue_store_device("store-1").unwrap();
    let elsewhere = rig.server.issue_store_device("store-2").unwrap();
    for token in [&a.token, &b.token, &a.token, &b.token] {
        assert_ne!(scan(&client, token).await.status(), 429);
    }
    assert_eq!(scan(&client, &a.token).await.status(), 429);
    assert_eq!(scan(&client, &b.token).await.status(), 429);
    assert_ne!(scan(&client, &elsewhere.token).await.status(), 429);
    rig.shutdown().await;
}
