//! Login against the reference server on 127.0.0.1, end to end: the core's account client,
//! the server's authorization server, and the scripted browser playing the shopper.

use crate::support;

use std::sync::Arc;

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::{CredentialStore, KeyringStore, StoredTokens};
use palmkit_core::error::{Error, ErrorKind, LoginFailure};
use palmkit_server::RunningServer;
use palmkit_server::accounts::browser::{BrowserError, ScriptedBrowser};
use palmkit_server::accounts::oauth::grants::Lifetimes;
use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};

struct Rig {
    _dir: tempfile::TempDir,
    server: RunningServer,
    store: Arc<KeyringStore>,
    client: AccountClient,
    browser: ScriptedBrowser,
}

async fn rig(lifetimes: Lifetimes) -> Rig {
    let (dir, server) = support::start_server(|o| o.lifetimes = lifetimes).await;
    let store = support::mock_store();
    let client = AccountClient::new(&server.client_config, store.clone()).unwrap();
    let browser = ScriptedBrowser::new(&server.client_config).unwrap();
    Rig {
        _dir: dir,
        server,
        store,
        client,
        browser,
    }
}

impl Rig {
    async fn login(&self) -> String {
        support::log_in(&self.client, &self.server.client_config).await
    }

    fn stored(&self) -> Option<StoredTokens> {
        self.store
            .load(&self.client.store_key())
            .unwrap()
            .map(|json| serde_json::from_str(&json).unwrap())
    }

    fn put(&self, tokens: &StoredTokens) {
        self.store
            .save(
                &self.client.store_key(),
                &serde_json::to_string(tokens).unwrap(),
            )
            .unwrap();
    }
}

fn short_access() -> Lifetimes {
    // Shorter than the client's refresh margin: every use refreshes first.
    Lifetimes {
        access: 30,
        ..Lifetimes::default()
    }
}

#[tokio::test]
async fn login_then_account_then_logout() {
    let rig = rig(Lifetimes::default()).await;
    assert!(matches!(
        rig.client.account().await,
        Err(Error::NotSignedIn)
    ));
    rig.login().await;
    let me = rig.client.account().await.unwrap();
    assert_eq!(me.email, TEST_SHOPPER_EMAIL);
    assert!(rig.stored().is_some());

    let old = rig.stored().unwrap();
    rig.client.logout().await.unwrap();
    assert!(rig.stored().is_none(), "tokens must be deleted on logout");
    // The server revoked the grant: the old access token no longer opens /v1/me.
    rig.put(&old);
    let err = rig.client.account().await.unwrap_err();
    assert!(matches!(err, Error::SignedOut(_)), "{err:?}");
    assert!(
        rig.stored().is_none(),
        "a refused refresh must sign out cleanly"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn access_token_is_refreshed_before_expiry_and_refresh_tokens_rotate() {
    let rig = rig(short_access()).await;
    rig.login().await;
    let first = rig.stored().unwrap();
    rig.client.account().await.unwrap();
    let second = rig.stored().unwrap();
    assert_ne!(
        first.access_token, second.access_token,
        "access token not refreshed"
    );
    assert_ne!(
        first.refresh_token, second.refresh_token,
        "refresh token not rotated"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_401_triggers_one_refresh_and_a_retry() {
    let rig = rig(Lifetimes::default()).await;
    rig.login().await;
    let mut tokens = rig.stored().unwrap();
    let refresh_before = tokens.refresh_token.clone();
    tokens.access_token = "not-a-token-the-server-knows".into();
    rig.put(&tokens);
    let me = rig.client.account().await.unwrap();
    assert_eq!(me.email, TEST_SHOPPER_EMAIL);
    assert_ne!(rig.stored().unwrap().refresh_token, refresh_before);
    rig.server.shutdown().await;
}

#[tokio::test]
async fn reused_refresh_token_revokes_the_whole_family() {
    let rig = rig(short_access()).await;
    rig.login().await;
    let stolen = rig.stored().unwrap();
    rig.client.account().await.unwrap(); // rotates: `stolen` is now spent
    let legit = rig.stored().unwrap();

    // An attacker replays the spent refresh token.
    rig.put(&stolen);
    let err = rig.client.account().await.unwrap_err();
    assert!(matches!(err, Error::SignedOut(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::SignInRequired);
    assert!(rig.stored().is_none());

    // The legitimate, newer tokens die with the family.
    rig.put(&legit);
    assert!(matches!(
        rig.client.account().await,
        Err(Error::SignedOut(_))
    ));
    rig.server.shutdown().await;
}

#[tokio::test]
async fn expired_refresh_token_signs_out() {
    let rig = rig(Lifetimes {
        access: 30,
        refresh: -1,
        ..Lifetimes::default()
    })
    .await;
    rig.login().await;
    let err = rig.client.account().await.unwrap_err();
    assert!(matches!(err, Error::SignedOut(_)), "{err:?}");
    assert!(rig.stored().is_none());
    rig.server.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_state_is_refused_and_nothing_is_stored() {
    let rig = rig(Lifetimes::default()).await;
    for (tamper, want) in [
        ("state=forged", LoginFailure::StateMismatch),
        ("", LoginFailure::MissingState),
    ] {
        let url = rig.client.start_login().await.unwrap();
        let redirect = rig
            .browser
            .login(url.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
            .await
            .unwrap();
        let mut parsed = url::Url::parse(&redirect).unwrap();
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(k, _)| k != "state")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(kept);
        let mut forged = parsed.to_string();
        if !tamper.is_empty() {
            forged.push('&');
            forged.push_str(tamper);
        }
        let err = rig.client.finish_login(&forged).await.unwrap_err();
        assert!(matches!(&err, Error::Login(f) if *f == want), "{err:?}");
        assert!(rig.stored().is_none());
    }
    rig.server.shutdown().await;
}

#[tokio::test]
async fn cancel_at_the_login_page_is_a_cancelled_login() {
    let rig = rig(Lifetimes::default()).await;
    let url = rig.client.start_login().await.unwrap();
    let redirect = rig.browser.cancel(url.as_str()).await.unwrap();
    let err = rig.client.finish_login(&redirect).await.unwrap_err();
    assert!(
        matches!(err, Error::Login(LoginFailure::Cancelled)),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::LoginCancelled);
    assert!(rig.stored().is_none());
    // The login is consumed: finishing it again is refused.
    let again = rig.client.finish_login(&redirect).await.unwrap_err();
    assert!(matches!(
        again,
        Error::Login(LoginFailure::NoLoginInProgress)
    ));
    rig.server.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_refused_at_the_page() {
    let rig = rig(Lifetimes::default()).await;
    let url = rig.client.start_login().await.unwrap();
    let err = rig
        .browser
        .login(url.as_str(), TEST_SHOPPER_EMAIL, "wrong")
        .await
        .unwrap_err();
    assert!(matches!(err, BrowserError::WrongPassword), "{err:?}");
    rig.server.shutdown().await;
}

#[tokio::test]
async fn replayed_code_is_rejected_and_revokes_the_first_login() {
    let rig = rig(Lifetimes::default()).await;
    let redirect = rig.login().await;
    rig.client.account().await.unwrap();

    // Replay the same code within a new login (its state, so the state check passes).
    let url = rig.client.start_login().await.unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let mut replay = url::Url::parse(&redirect).unwrap();
    let pairs: Vec<(String, String)> = replay
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                state.clone()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    replay.query_pairs_mut().clear().extend_pairs(pairs);
    let err = rig.client.finish_login(replay.as_str()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Login(LoginFailure::CodeRejected { code, .. }) if code == "invalid_grant"),
        "{err:?}"
    );
    // Theft is assumed: the tokens the code first bought are revoked.
    assert!(matches!(
        rig.client.account().await,
        Err(Error::SignedOut(_))
    ));
    rig.server.shutdown().await;
}

#[tokio::test]
async fn pkce_verifier_mismatch_is_rejected() {
    let rig = rig(Lifetimes::default()).await;
    let url = rig.client.start_login().await.unwrap();
    // The browser is handed a request whose challenge is not the one the client holds.
    let mut tampered = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "code_challenge" {
                "A".repeat(43)
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    let redirect = rig
        .browser
        .login(tampered.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
        .await
        .unwrap();
    let err = rig.client.finish_login(&redirect).await.unwrap_err();
    assert!(
        matches!(&err, Error::Login(LoginFailure::CodeRejected { description, .. }) if description.contains("PKCE")),
        "{err:?}"
    );
    assert!(rig.stored().is_none());
    rig.server.shutdown().await;
}

#[tokio::test]
async fn revoked_refresh_token_signs_out() {
    let rig = rig(short_access()).await;
    rig.login().await;
    // Revoked elsewhere (another device's logout, an admin): revoke at the server directly.
    let tokens = rig.stored().unwrap();
    let other = AccountClient::new(&rig.server.client_config, rig.store.clone()).unwrap();
    other.logout().await.unwrap();
    rig.put(&tokens);
    let err = rig.client.account().await.unwrap_err();
    assert!(matches!(err, Error::SignedOut(_)), "{err:?}");
    rig.server.shutdown().await;
}

/// An authorization server holding the right certificate whose metadata and token
/// endpoint answer what the test says.
fn hostile_as(
    metadata_status: u16,
    metadata_body: Option<&'static str>,
    token_status: u16,
    token_body: &'static str,
) -> support::TlsServer {
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    support::tls_server(|issuer| {
        let metadata = match metadata_body {
            Some(body) => body.to_string(),
            None => serde_json::json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "revocation_endpoint": format!("{issuer}/revoke"),
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": true,
            })
            .to_string(),
        };
        let json = [("content-type", "application/json")];
        axum::Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(move || async move {
                    (
                        StatusCode::from_u16(metadata_status).unwrap(),
                        json,
                        metadata,
                    )
                }),
            )
            .route(
                "/token",
                post(move || async move {
                    (
                        StatusCode::from_u16(token_status).unwrap(),
                        json,
                        token_body,
                    )
                }),
            )
    })
}

/// Starts a login against `config` and answers it with a well-formed redirect.
async fn finish_with_code(
    config: &palmkit_core::ServiceConfig,
    store: Arc<KeyringStore>,
) -> Result<(), Error> {
    let client = AccountClient::new(config, store)?;
    let url = client.start_login().await?;
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let issuer = config.base_url.trim_end_matches('/');
    let mut redirect = url::Url::parse(&config.redirect_uri).unwrap();
    redirect
        .query_pairs_mut()
        .append_pair("code", "C")
        .append_pair("state", &state)
        .append_pair("iss", issuer);
    client.finish_login(redirect.as_str()).await
}

#[tokio::test]
async fn authorization_server_failures_are_typed_and_store_nothing() {
    let cases: [(u16, Option<&'static str>, u16, &'static str, ErrorKind); 5] = [
        (503, Some("down"), 200, "{}", ErrorKind::ServiceUnavailable),
        (200, Some("{not json"), 200, "{}", ErrorKind::Protocol),
        (
            200,
            Some(
                r#"{"issuer":"https://evil.test","authorization_endpoint":"https://evil.test/a","token_endpoint":"https://evil.test/t","code_challenge_methods_supported":["S256"]}"#,
            ),
            200,
            "{}",
            ErrorKind::Protocol,
        ),
        (
            200,
            None,
            500,
            "<html>oops</html>",
            ErrorKind::ServiceUnavailable,
        ),
        (200, None, 200, "{\"access_token\": 12", ErrorKind::Protocol),
    ];
    for (meta_status, meta_body, token_status, token_body, want) in cases {
        let server = hostile_as(meta_status, meta_body, token_status, token_body);
        let store = support::mock_store();
        let err = finish_with_code(&server.config, store.clone())
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            want,
            "{meta_status} {meta_body:?} {token_status}: {err:?}"
        );
        let client = AccountClient::new(&server.config, store).unwrap();
        assert!(!client.is_signed_in().unwrap(), "something was stored");
        server.handle.shutdown();
    }
}
