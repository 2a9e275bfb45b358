//! A whole add-and-link with every log line captured (TRACE, all crates), every request the
//! server received recorded, and the server's database read afterwards: the card number
//! and security code appear in no log, in no stored byte, and in no request to the
//! enrollment service — only the provider's tokenization endpoint receives them.

use crate::support;

use palmkit_core::account::AccountClient;
use palmkit_core::payment::card::{CardInput, current_year_month};
use palmkit_core::payment::{AddCardOutcome, PaymentClient};
use palmkit_server::router::RequestTap;
use zeroize::Zeroizing;

const NUMBER: &str = "5555555555554444";
const CVC: &str = "987";

#[tokio::test]
async fn the_card_number_reaches_only_the_provider() {
    let captured = support::capture_logs();
    let tap = RequestTap::default();
    let (dir, server) = support::start_server(|o| o.tap = Some(tap.clone())).await;
    let account = AccountClient::new(&server.client_config, support::mock_store()).unwrap();
    support::log_in(&account, &server.client_config).await;

    let payments = PaymentClient::new(&account);
    let card = CardInput {
        number: Zeroizing::new("5555 5555 5555 4444".into()),
        exp_month: 7,
        exp_year: current_year_month().0 + 2,
        cvc: Zeroizing::new(CVC.into()),
        cardholder_name: "Test Shopper".into(),
    };
    let (AddCardOutcome::Added { method }, _) =
        payments.add_card(card, current_year_month()).await.unwrap()
    else {
        panic!("the test card asked for confirmation");
    };
    let key = PaymentClient::new_idempotency_key().unwrap();
    payments.link(&method.id, &key).await.unwrap();
    server.shutdown().await;

    // Requests: the provider's tokenization endpoint got the number; nothing else did.
    let requests = tap.0.lock().unwrap().clone();
    let mut provider_saw_it = false;
    for r in &requests {
        let text = format!(
            "{}\n{}\n{}",
            r.target,
            r.headers,
            String::from_utf8_lossy(&r.body)
        );
        if r.target.starts_with("/provider/v1/payment_methods") {
            provider_saw_it |= text.contains(NUMBER);
        } else {
            assert!(!text.contains(NUMBER), "card number sent to {}", r.target);
            assert!(
                !text.contains(&format!("cvc]={CVC}")),
                "security code sent to {}",
                r.target
            );
        }
    }
    assert!(
        provider_saw_it,
        "the tap did not see the tokenization request"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.target == "/v1/palm-profile/payment-method")
    );

    // Storage: every file of the data directory, database and WAL included.
    let mut stored = Vec::new();
    for entry in walk(dir.path()) {
        stored.extend(std::fs::read(entry).unwrap());
    }
    let stored = String::from_utf8_lossy(&stored);
    assert!(stored.contains("4444"), "the last four should be kept");
    assert!(!stored.contains(NUMBER), "the card number is stored");

    // Logs.
    let logs = captured.text();
    assert!(logs.contains("palm-profile"), "the capture saw nothing");
    assert!(!logs.contains(NUMBER), "the card number is in the logs");
    assert!(
        !logs.contains("5555 5555 5555 4444"),
        "the card number is in the logs"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
