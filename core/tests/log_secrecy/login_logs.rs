//! Captures every log line (TRACE, all crates: core, server, reqwest, hyper, rustls) of
//! a whole login, refresh and logout, and checks that no token, code or password is in it.
//! In the `log_secrecy` binary: the log subscriber is process-wide.

use crate::support;

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::{CredentialStore, StoredTokens};
use palmkit_server::accounts::TEST_SHOPPER_PASSWORD;
use palmkit_server::accounts::oauth::grants::Lifetimes;

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let captured = support::capture_logs();
    let (_dir, server) = support::start_server(|o| {
        o.lifetimes = Lifetimes {
            access: 30, // forces a refresh on the first use
            ..Lifetimes::default()
        }
    })
    .await;
    let store = support::mock_store();
    let client = AccountClient::new(&server.client_config, store.clone()).unwrap();
    let redirect = support::log_in(&client, &server.client_config).await;
    let first: StoredTokens =
        serde_json::from_str(&store.load(&client.store_key()).unwrap().unwrap()).unwrap();
    client.account().await.unwrap(); // refresh + rotation
    let second: StoredTokens =
        serde_json::from_str(&store.load(&client.store_key()).unwrap().unwrap()).unwrap();
    client.logout().await.unwrap();
    server.shutdown().await;

    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let logs = captured.text();
    assert!(logs.contains("login finished"), "the capture saw nothing");
    assert!(
        logs.contains("access token refreshed"),
        "the refresh was not logged"
    );
    let secrets = [
        ("authorization code", code),
        ("password", TEST_SHOPPER_PASSWORD.to_string()),
        ("first access token", first.access_token.clone()),
        ("first refresh token", first.refresh_token.clone().unwrap()),
        ("second access token", second.access_token.clone()),
        (
            "second refresh token",
            second.refresh_token.clone().unwrap(),
        ),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "the {what} appears in the logs");
    }
}
