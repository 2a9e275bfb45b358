//! The authorization server's contract over real TLS on 127.0.0.1: metadata, requests that
//! must not redirect, PKCE required, login rate limits, token endpoint errors, bearer
//! challenges, and that the database holds no usable token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palmkit_core::net::PinnedClient;
use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
use palmkit_server::test_rig::TestRig;
use palmkit_server::{APP_CLIENT_ID, APP_REDIRECT_URI};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

const VERIFIER: &str = "a-pkce-verifier-that-is-long-enough-for-rfc-7636-0123456789";

fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

fn authorize_query(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut q: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", APP_CLIENT_ID),
        ("redirect_uri", APP_REDIRECT_URI),
        ("state", "S"),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    q.push(("code_challenge".into(), challenge()));
    for (k, v) in extra {
        q.retain(|(name, _)| name != k);
        if !v.is_empty() {
            q.push((k.to_string(), v.to_string()));
        }
    }
    q
}

fn form(pairs: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn authorize_url(c: &PinnedClient, query: &[(String, String)]) -> url::Url {
    let mut url = c.url("authorize").unwrap();
    url.set_query(Some(&form(query)));
    url
}

async fn get_authorize(c: &PinnedClient, query: &[(String, String)]) -> reqwest::Response {
    c.http().get(authorize_url(c, query)).send().await.unwrap()
}

async fn submit(c: &PinnedClient, query: &[(String, String)], password: &str) -> reqwest::Response {
    let mut fields = query.to_vec();
    fields.push(("email".into(), TEST_SHOPPER_EMAIL.into()));
    fields.push(("password".into(), password.into()));
    fields.push(("action".into(), "login".into()));
    c.http()
        .post(c.url("authorize").unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&fields))
        .send()
        .await
        .unwrap()
}

fn location(resp: &reqwest::Response) -> url::Url {
    url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn metadata_names_this_issuer_and_pkce_s256() {
    let (_dir, server, c) = TestRig::start().await.into_parts_and_client();
    let meta: Value = c
        .http()
        .get(c.url(".well-known/oauth-authorization-server").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], server.base_url.trim_end_matches('/'));
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_client_or_redirect_is_a_page_never_a_redirect() {
    let (_dir, server, c) = TestRig::start().await.into_parts_and_client();
    for extra in [
        [("client_id", "someone-else")],
        [("redirect_uri", "https://evil.test/cb")],
        [("redirect_uri", "http://127.0.0.1:9/other")],
    ] {
        let resp = get_authorize(&c, &authorize_query(&extra)).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{extra:?}");
        assert!(resp.headers().get("location").is_none());
    }
    // Loopback redirects on any port are the app's (RFC 8252 §7.3).
    let resp = get_authorize(
        &c,
        &authorize_query(&[("redirect_uri", "http://127.0.0.1:45678/callback")]),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    server.shutdown().await;
}

#[tokio::test]
async fn pkce_s256_is_required() {
    let (_dir, server, c) = TestRig::start().await.into_parts_and_client();
    for extra in [
        [("code_challenge_method", "plain")],
        [("code_challenge", "")],
    ] {
        let resp = get_authorize(&c, &authorize_query(&extra)).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{extra:?}");
        let to = location(&resp);
        assert_eq!(param(&to, "error").as_deref(), Some("invalid_request"));
        assert_eq!(param(&to, "state").as_deref(), Some("S"));
        assert_eq!(
            param(&to, "iss").as_deref(),
            Some(server.base_url.trim_end_matches('/'))
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_login() {
    let (_dir, server, c) = TestRig::start().await.into_parts_and_client();
    let q = authorize_query(&[]);
    for _ in 0..palmkit_server::accounts::oauth::limiter::MAX_FAILURES {
        assert_eq!(
            submit(&c, &q, "wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Even the right password is refused now.
    let resp = submit(&c, &q, TEST_SHOPPER_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );
    server.shutdown().await;
}

/// Finding 3 of the attack on the server: the lock was checked before the slow password
/// hash and the failure recorded after it, so a burst of 30 concurrent guesses (the right
/// password last) got 29 answers and a success against a limit of 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_concurrent_guesses_gets_no_more_answers_than_the_limit() {
    let (_dir, server, _client) = TestRig::start().await.into_parts_and_client();
    let q = authorize_query(&[]);
    // One connection per guess, each opened before the burst, all released at once.
    let config = server.client_config.validate().unwrap();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(30));
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let (q, barrier) = (q.clone(), barrier.clone());
            let c = PinnedClient::new(&config).unwrap();
            let password = if i == 29 {
                TEST_SHOPPER_PASSWORD.to_string()
            } else {
                format!("wrong-{i}")
            };
            tokio::spawn(async move {
                let warm = c.http().get(c.url("healthz").unwrap()).send().await;
                assert!(warm.unwrap().status().is_success());
                barrier.wait().await;
                submit(&c, &q, &password).await.status()
            })
        })
        .collect();
    let mut answered = 0;
    let mut statuses = Vec::new();
    for guess in guesses {
        let status = guess.await.unwrap();
        if status != StatusCode::TOO_MANY_REQUESTS {
            answered += 1;
        }
        statuses.push(status.as_u16());
    }
    assert!(
        answered <= palmkit_server::accounts::oauth::limiter::MAX_FAILURES as usize,
        "{answered} guesses were checked: {statuses:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749_and_the_db_holds_only_hashes() {
    let (dir, server, c) = TestRig::start().await.into_parts_and_client();
    let token = |fields: Vec<(&str, &str)>| {
        let pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.http()
            .post(c.url("token").unwrap())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&pairs))
            .send()
    };
    let resp = token(vec![
        ("grant_type", "password"),
        ("client_id", APP_CLIENT_ID),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let resp = token(vec![("grant_type", "authorization_code")])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    // A real login, then the code exchange.
    let redirect = location(&submit(&c, &authorize_query(&[]), TEST_SHOPPER_PASSWORD).await);
    let code = param(&redirect, "code").unwrap();
    let resp = token(vec![
        ("grant_type", "authorization_code"),
        ("client_id", APP_CLIENT_ID),
        ("code", &code),
        ("redirect_uri", APP_REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let tokens: Value = resp.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    let me = c
        .http()
        .get(c.url("v1/me").unwrap())
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.json::<Value>().await.unwrap()["email"],
        TEST_SHOPPER_EMAIL
    );
    let anonymous = c.http().get(c.url("v1/me").unwrap()).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    server.shutdown().await;
    let mut db = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("sqlite3") {
            db.extend(std::fs::read(path).unwrap());
        }
    }
    let db = String::from_utf8_lossy(&db);
    for secret in [&code, &access, &refresh] {
        assert!(!db.contains(secret.as_str()), "a token is stored in clear");
    }
    assert!(!db.contains(TEST_SHOPPER_PASSWORD));
}
