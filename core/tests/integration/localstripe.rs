//! The core's provider client against a payment provider nobody on this team wrote: PyPI
//! `localstripe`, a local Stripe emulator (installed by `cargo xtask setup`). A good card
//! tokenizes and its SetupIntent succeeds; `4000000000000002` is declined with a typed
//! error. localstripe speaks plain HTTP and binds every interface, so it is started only
//! inside this test, on a free port, and stopped after.
//!
//! Its differences from Stripe (see notes/peers.md): creating a payment method needs a
//! secret test key rather than the publishable one, so the client is given `sk_test_…`
//! for that call only (the SetupIntent is confirmed with the publishable key, as an app
//! does); a declined card is typed `invalid_request_error` with HTTP 402; reading a
//! SetupIntent back needs the secret key.

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use palmkit_core::error::{Error, ErrorKind, PaymentFailure};
use palmkit_core::payment::card::{CardInput, current_year_month, validate};
use palmkit_core::payment::provider::ProviderClient;
use zeroize::Zeroizing;

const SECRET_KEY: &str = "sk_test_palmkit_interop";
const PUBLISHABLE_KEY: &str = "pk_test_palmkit_interop";

struct LocalStripe {
    child: Child,
    base: url::Url,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start() -> LocalStripe {
    let bin = support::peers_dir().join("localstripe/bin/localstripe");
    assert!(
        bin.exists(),
        "PyPI localstripe is not installed ({}): run `cargo xtask setup`",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--from-scratch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let stripe = LocalStripe { child, base };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return stripe;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("localstripe did not start on port {port}");
}

fn plain_http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

/// The enrollment service's part: a SetupIntent made with the secret key.
async fn setup_intent(stripe: &LocalStripe) -> (String, String) {
    let response: serde_json::Value = plain_http()
        .post(stripe.base.join("v1/setup_intents").unwrap())
        .bearer_auth(SECRET_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("usage=off_session")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        response["id"].as_str().unwrap().to_string(),
        response["client_secret"].as_str().unwrap().to_string(),
    )
}

fn card(number: &str) -> palmkit_core::payment::card::ValidCard {
    validate(
        CardInput {
            number: Zeroizing::new(number.into()),
            exp_month: 12,
            exp_year: current_year_month().0 + 4,
            cvc: Zeroizing::new("123".into()),
            cardholder_name: "Test Shopper".into(),
        },
        current_year_month(),
    )
    .unwrap()
}

#[tokio::test]
async fn good_card_tokenizes_and_declined_card_is_typed() {
    let stripe = start().await;
    let provider = ProviderClient::new(plain_http(), stripe.base.clone(), PUBLISHABLE_KEY.into())
        .with_tokenization_key(SECRET_KEY.into());

    let (id, secret) = setup_intent(&stripe).await;
    let pm = provider
        .create_payment_method(&card("4242424242424242"))
        .await
        .unwrap();
    assert!(pm.starts_with("pm_"), "{pm}");
    let intent = provider
        .confirm_setup_intent(&id, &secret, &pm)
        .await
        .unwrap();
    assert_eq!(intent.status, "succeeded");
    // (Retrieving the intent with the publishable key, as Stripe allows, is refused by
    // localstripe, which wants the secret key for every GET: not exercised here.)

    let (id, secret) = setup_intent(&stripe).await;
    let pm = provider
        .create_payment_method(&card("4000000000000002"))
        .await
        .unwrap();
    let err = provider
        .confirm_setup_intent(&id, &secret, &pm)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Payment(PaymentFailure::Declined { code, .. }) if code == "card_declined"),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::CardDeclined);
}
