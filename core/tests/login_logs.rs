//! Captures every log line (TRACE, all crates: core, server, reqwest, hyper, rustls) of
//! a whole login, refresh and logout, and checks that no token, code or password is in it.
//! A test binary of its own: the log subscriber is process-wide.

use std::io::Write;
use std::sync::{Arc, Mutex};

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::{CredentialStore, KeyringStore, StoredTokens};
use palmkit_server::ServerOptions;
use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
use palmkit_server::browser::ScriptedBrowser;
use palmkit_server::oauth::grants::Lifetimes;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let mut options = ServerOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    options.lifetimes = Lifetimes {
        access: 30, // forces a refresh on the first use
        ..Lifetimes::default()
    };
    let server = palmkit_server::start(options).await.unwrap();
    let store = Arc::new(KeyringStore::new(keyring_core::mock::Store::new().unwrap()));
    let client = AccountClient::new(&server.client_config, store.clone()).unwrap();
    let browser = ScriptedBrowser::new(&server.client_config).unwrap();

    let url = client.start_login().await.unwrap();
    let redirect = browser
        .login(url.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
        .await
        .unwrap();
    client.finish_login(&redirect).await.unwrap();
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
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
