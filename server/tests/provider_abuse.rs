//! Finding 8 of the attack on the service: creating a payment method at the provider
//! stand-in needs only the public publishable key, and 200 requests with 64 KiB cardholder
//! names grew the database by 13 MB; an expiry year of 2000 was accepted. Sizes are now
//! limited, expiries validated and each address gets a few creations a minute.

use palmkit_core::net::PinnedClient;
use palmkit_core::payment::card::current_year_month;
use palmkit_server::payments::provider::PUBLISHABLE_KEY;
use palmkit_server::test_rig::TestRig;

async fn create(c: &PinnedClient, year: u32, name: &str) -> (u16, serde_json::Value) {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("type", "card")
        .append_pair("card[number]", "4242424242424242")
        .append_pair("card[exp_month]", "12")
        .append_pair("card[exp_year]", &year.to_string())
        .append_pair("card[cvc]", "123")
        .append_pair("billing_details[name]", name)
        .finish();
    let answer = c
        .http()
        .post(c.url("provider/v1/payment_methods").unwrap())
        .bearer_auth(PUBLISHABLE_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

fn stored(dir: &tempfile::TempDir) -> i64 {
    let db = palmkit_server::db::Db::open(&dir.path().join("palmkit.sqlite3")).unwrap();
    db.with(|c| {
        Ok(
            c.query_row("SELECT count(*) FROM provider_payment_methods", [], |r| {
                r.get(0)
            })?,
        )
    })
    .unwrap()
}

#[tokio::test]
async fn oversized_names_and_past_expiries_are_refused_and_nothing_is_stored() {
    let (dir, server, c) = TestRig::start().await.into_parts_and_client();
    let next_year = current_year_month().0 + 1;
    let (status, body) = create(&c, next_year, &"x".repeat(60 * 1024)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "parameter_invalid");
    let (status, body) = create(&c, 2000, "Test Shopper").await;
    assert_eq!(status, 402, "{body}");
    let (status, body) = create(&c, next_year + 60, "Test Shopper").await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(stored(&dir), 0);
    let (status, body) = create(&c, next_year, "Test Shopper").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored(&dir), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn one_address_gets_a_few_creations_a_minute() {
    let (dir, server, c) = TestRig::start().await.into_parts_and_client();
    let next_year = current_year_month().0 + 1;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(create(&c, next_year, "Test Shopper").await.0);
    }
    let allowed = palmkit_server::limits::Limits::default().provider_writes_per_minute as usize;
    assert!(
        statuses[..allowed].iter().all(|s| *s == 200),
        "{statuses:?}"
    );
    assert!(
        statuses[allowed..].iter().all(|s| *s == 429),
        "{statuses:?}"
    );
    assert_eq!(stored(&dir), allowed as i64);
    server.shutdown().await;
}
