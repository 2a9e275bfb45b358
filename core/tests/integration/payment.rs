//! Payment against the reference server on 127.0.0.1: add a card through the provider
//! stand-in, link it to the palm profile, and every way that goes wrong.

use crate::support;

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::CredentialStore;
use palmkit_core::error::{Error, ErrorKind};
use palmkit_core::payment::card::{CardInput, current_year_month};
use palmkit_core::payment::{AddCardOutcome, PaymentClient};
use palmkit_server::RunningServer;
use palmkit_server::payments::provider::{AUTHENTICATION_CARD, DECLINED_CARD, PROVIDER_ERROR_CARD};
use zeroize::Zeroizing;

struct Rig {
    dir: tempfile::TempDir,
    server: RunningServer,
    account: AccountClient,
}

async fn signed_in() -> Rig {
    let (dir, server) = support::start_server(|_| {}).await;
    let account = AccountClient::new(&server.client_config, support::mock_store()).unwrap();
    support::log_in(&account, &server.client_config).await;
    Rig {
        dir,
        server,
        account,
    }
}

impl Rig {
    fn count(&self, table: &str) -> i64 {
        let db = palmkit_server::db::Db::open(&self.dir.path().join("palmkit.sqlite3")).unwrap();
        db.with(|c| Ok(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?))
            .unwrap()
    }
}

fn card(number: &str) -> CardInput {
    CardInput {
        number: Zeroizing::new(number.into()),
        exp_month: 12,
        exp_year: current_year_month().0 + 3,
        cvc: Zeroizing::new("123".into()),
        cardholder_name: "Test Shopper".into(),
    }
}

#[tokio::test]
async fn add_a_card_then_link_it_once_even_when_retried() {
    let rig = signed_in().await;
    let payments = PaymentClient::new(&rig.account);
    let method = match payments
        .add_card(card("4242 4242 4242 4242"), current_year_month())
        .await
        .unwrap()
    {
        (AddCardOutcome::Added { method }, _) => method,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (method.brand.as_str(), method.last4.as_str()),
        ("visa", "4242")
    );
    let wallet = payments.wallet().await.unwrap();
    assert_eq!(wallet.payment_methods, vec![method.clone()]);
    assert_eq!(wallet.linked_payment_method_id, None);

    let key = PaymentClient::new_idempotency_key().unwrap();
    let first = payments.link(&method.id, &key).await.unwrap();
    // The answer was lost and the app retries with the same key: same result, no new link.
    let again = payments.link(&method.id, &key).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(rig.count("palm_payment_links"), 1);
    assert_eq!(
        payments.wallet().await.unwrap().linked_payment_method_id,
        Some(method.id.clone())
    );

    // Reusing a key for another request is refused, not silently applied.
    let err = payments.link("pm_other", &key).await.unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 422, .. }),
        "{err:?}"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn bad_card_input_is_refused_before_anything_is_sent() {
    let rig = signed_in().await;
    let payments = PaymentClient::new(&rig.account);
    for bad in [
        card("4242 4242 4242 4241"),
        CardInput {
            exp_year: 2020,
            ..card("4242424242424242")
        },
        CardInput {
            cvc: Zeroizing::new("12".into()),
            ..card("4242424242424242")
        },
        card("9999 9999 9999 9995"),
    ] {
        let err = payments
            .add_card(bad, current_year_month())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCard, "{err:?}");
    }
    assert_eq!(rig.count("provider_setup_intents"), 0, "a request was made");
    rig.server.shutdown().await;
}

#[tokio::test]
async fn declined_card_and_provider_failure_are_typed_and_nothing_is_saved() {
    let rig = signed_in().await;
    let payments = PaymentClient::new(&rig.account);
    let err = payments
        .add_card(card(DECLINED_CARD), current_year_month())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CardDeclined, "{err:?}");
    assert_eq!(err.to_string(), "Your card was declined.");
    let err = payments
        .add_card(card(PROVIDER_ERROR_CARD), current_year_month())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServiceUnavailable, "{err:?}");
    assert!(err.is_retryable());
    assert!(payments.wallet().await.unwrap().payment_methods.is_empty());
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_card_that_needs_the_shopper_is_resumed_after_confirmation() {
    let rig = signed_in().await;
    let payments = PaymentClient::new(&rig.account);
    let (url, pending) = match payments
        .add_card(card(AUTHENTICATION_CARD), current_year_month())
        .await
        .unwrap()
    {
        (AddCardOutcome::RequiresAction { url }, Some(pending)) => (url, pending),
        other => panic!("{other:?}"),
    };
    // Resuming before the shopper confirmed is refused, and the card is not saved.
    let early = payments.resume_add_card(pending.clone()).await.unwrap_err();
    assert_eq!(early.kind(), ErrorKind::CardDeclined, "{early:?}");
    // The shopper confirms on the provider's page (the test plays the browser). Without
    // the intent's client secret the page changes nothing.
    let net = palmkit_core::net::PinnedClient::new(&rig.server.client_config.validate().unwrap())
        .unwrap();
    let parsed = url::Url::parse(&url).unwrap();
    assert_eq!(
        parsed.path(),
        "/provider/3ds",
        "the intent id stays out of the path"
    );
    let mut bare = parsed.clone();
    bare.query_pairs_mut()
        .clear()
        .extend_pairs(parsed.query_pairs().filter(|(k, _)| k != "client_secret"));
    let forged = net
        .http()
        .post(bare.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("result=approve")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 404);
    let early = payments.resume_add_card(pending.clone()).await.unwrap_err();
    assert_eq!(early.kind(), ErrorKind::CardDeclined, "{early:?}");
    let confirmed = net
        .http()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("result=approve")
        .send()
        .await
        .unwrap();
    assert!(confirmed.status().is_success());
    let method = payments.resume_add_card(pending).await.unwrap();
    assert_eq!(method.last4, "3155");
    assert_eq!(payments.wallet().await.unwrap().payment_methods.len(), 1);
    rig.server.shutdown().await;
}

/// Finding 2 of the attack on the service: confirming a SetupIntent accepted any payment
/// method id, so another shopper could confirm their own intent with a victim's card,
/// attach it and pay with it by palm.
#[tokio::test]
async fn another_shoppers_card_cannot_be_confirmed_attached_or_linked() {
    let rig = signed_in().await;
    let (AddCardOutcome::Added { method: victim }, _) = PaymentClient::new(&rig.account)
        .add_card(card("4242424242424242"), current_year_month())
        .await
        .unwrap()
    else {
        panic!("the test card asked for confirmation");
    };
    let thief = support::another_shopper(&rig.server, rig.dir.path(), "thief@palmkit.test").await;
    let grant: palmkit_core::protocol::SetupIntentGrant = thief
        .authorized(&palmkit_core::account::Request::with_json(
            reqwest::Method::POST,
            "v1/payment-methods/setup-intents",
            serde_json::json!({}),
        ))
        .await
        .unwrap();
    let net = palmkit_core::net::PinnedClient::new(&rig.server.client_config.validate().unwrap())
        .unwrap();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payment_method", &victim.id)
        .append_pair("client_secret", &grant.client_secret)
        .append_pair("key", &grant.publishable_key)
        .finish();
    let confirm = net
        .http()
        .post(format!(
            "{}/v1/setup_intents/{}/confirm",
            grant.provider_url, grant.setup_intent_id
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        confirm.status().as_u16(),
        400,
        "confirmed with another's card"
    );

    // Nothing reached the thief's wallet, and the victim's card cannot be linked by them.
    let attach = thief
        .authorized::<palmkit_core::protocol::PaymentMethod>(
            &palmkit_core::account::Request::with_json(
                reqwest::Method::POST,
                "v1/payment-methods",
                serde_json::json!({"setup_intent_id": grant.setup_intent_id}),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(attach.kind(), ErrorKind::Rejected, "{attach:?}");
    let thief_payments = PaymentClient::new(&thief);
    let key = PaymentClient::new_idempotency_key().unwrap();
    let link = thief_payments.link(&victim.id, &key).await.unwrap_err();
    assert_eq!(link.kind(), ErrorKind::Rejected, "{link:?}");
    assert!(
        thief_payments
            .wallet()
            .await
            .unwrap()
            .payment_methods
            .is_empty()
    );
    // The victim still has and can use their card.
    let key = PaymentClient::new_idempotency_key().unwrap();
    PaymentClient::new(&rig.account)
        .link(&victim.id, &key)
        .await
        .unwrap();
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_link_whose_answer_is_lost_is_retried_and_links_once() {
    use std::sync::atomic::Ordering;
    let tap = palmkit_server::router::RequestTap::default();
    let (dir, server) = support::start_server(|o| o.tap = Some(tap.clone())).await;
    let proxy = support::proxy::start(server.addr).await;
    let mut config = server.client_config.clone();
    config.base_url = format!("https://{}/", proxy.addr);

    // Log in directly (through the proxy the issuer would not match, as it should not),
    // then hand the tokens to a client that reaches the service through the proxy.
    let store = support::mock_store();
    let direct = AccountClient::new(&server.client_config, store.clone()).unwrap();
    support::log_in(&direct, &server.client_config).await;
    let account = AccountClient::new(&config, store.clone()).unwrap();
    let tokens = store.load(&direct.store_key()).unwrap().unwrap();
    store.save(&account.store_key(), &tokens).unwrap();
    let payments = PaymentClient::new(&account);
    let (AddCardOutcome::Added { method }, _) = payments
        .add_card(card("4242424242424242"), current_year_month())
        .await
        .unwrap()
    else {
        panic!("the test card asked for confirmation");
    };
    account.account().await.unwrap(); // settle: the next bytes back are the link's answer

    proxy.faults.lose_next_answer.store(true, Ordering::SeqCst);
    let key = PaymentClient::new_idempotency_key().unwrap();
    let link = payments.link(&method.id, &key).await.unwrap();
    assert_eq!(link.payment_method_id, method.id);
    assert_eq!(
        proxy.faults.cuts.load(Ordering::SeqCst),
        1,
        "the proxy did not cut"
    );

    let link_requests = tap
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.target == "/v1/palm-profile/payment-method")
        .count();
    assert_eq!(
        link_requests, 2,
        "the server should have seen the first try and the retry"
    );
    let db = palmkit_server::db::Db::open(&dir.path().join("palmkit.sqlite3")).unwrap();
    let links: i64 = db
        .with(|c| Ok(c.query_row("SELECT count(*) FROM palm_payment_links", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(links, 1, "linked twice");
    server.shutdown().await;
}

#[tokio::test]
async fn the_service_refuses_links_it_cannot_honour() {
    use palmkit_core::account::Request;
    let rig = signed_in().await;
    let put = |key: Option<&'static str>, id: &str| Request {
        method: reqwest::Method::PUT,
        path: "v1/palm-profile/payment-method",
        body: Some(serde_json::json!({"payment_method_id": id})),
        idempotency_key: key,
    };
    let err = rig
        .account
        .authorized::<serde_json::Value>(&put(None, "pm_x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 400, code, .. } if code == "idempotency_key_required"),
        "{err:?}"
    );
    let err = rig
        .account
        .authorized::<serde_json::Value>(&put(Some("key-0123456789"), "pm_not_mine"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 404, code, .. } if code == "not_in_wallet"),
        "{err:?}"
    );
    let err = rig
        .account
        .authorized::<serde_json::Value>(&Request::with_json(
            reqwest::Method::POST,
            "v1/payment-methods",
            serde_json::json!({"setup_intent_id": "seti_someone_elses"}),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(rig.count("palm_payment_links"), 0);
    rig.server.shutdown().await;
}
