//! `palmkit login`, `whoami`, `logout` and `approve-login`.
//!
//! On the desktop the redirect comes back to a one-time listener on 127.0.0.1 with a
//! random port (RFC 8252 §7.3), and tokens live in the Linux kernel keyring (keyutils),
//! never in a file.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::KeyringStore;
use palmkit_server::accounts::browser::ScriptedBrowser;

use crate::read_config;

/// How long `palmkit login` waits for the browser.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

pub fn account_client(config: &Path) -> Result<AccountClient, String> {
    let config = read_config(config)?;
    let backend = linux_keyutils_keyring_store::Store::new()
        .map_err(|e| format!("the kernel keyring (keyutils) is not available: {e}"))?;
    AccountClient::new(&config, Arc::new(KeyringStore::new(backend))).map_err(|e| e.to_string())
}

/// Browser login with a loopback redirect.
pub async fn login(config: &Path) -> Result<(), String> {
    let client = account_client(config)?;
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let redirect =
        url::Url::parse(&format!("http://127.0.0.1:{port}/callback")).map_err(|e| e.to_string())?;
    let url = client
        .start_login_with_redirect(redirect)
        .await
        .map_err(|e| e.to_string())?;
    println!("Open this address in your browser to log in:\n\n  {url}\n");
    let _ = std::process::Command::new("xdg-open")
        .arg(url.as_str())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let spinner = crate::progress::spinner("Waiting for the browser (up to 5 minutes)");
    let callback = tokio::task::spawn_blocking(move || wait_for_callback(listener, port))
        .await
        .map_err(|e| e.to_string())??;
    spinner.finish_and_clear();
    client
        .finish_login(&callback)
        .await
        .map_err(|e| e.to_string())?;
    let me = client.account().await.map_err(|e| e.to_string())?;
    println!("Logged in as {} <{}>.", me.display_name, me.email);
    Ok(())
}

/// Accepts one request on the loopback listener and returns its full URL.
fn wait_for_callback(listener: TcpListener, port: u16) -> Result<String, String> {
    listener.set_nonblocking(false).map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + LOGIN_TIMEOUT;
    loop {
        if std::time::Instant::now() > deadline {
            return Err("no answer from the browser within 5 minutes".into());
        }
        let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut line = String::new();
        let mut reader = BufReader::new(&stream);
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        // Read the rest of the request head: closing a socket with unread data resets the
        // connection, and the browser would show an error instead of the page below.
        let mut header = String::new();
        while reader.read_line(&mut header).map_err(|e| e.to_string())? > 0 && header != "\r\n" {
            header.clear();
        }
        // "GET /callback?code=...&state=... HTTP/1.1"
        let target = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        if !target.starts_with("/callback") {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            continue;
        }
        let body = "<!doctype html><title>PalmKit</title><p>Login received. You can close this window.</p>";
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        return Ok(format!("http://127.0.0.1:{port}{target}"));
    }
}

/// Who is logged in.
pub async fn whoami(config: &Path) -> Result<(), String> {
    let client = account_client(config)?;
    match client.account().await {
        Ok(me) => {
            println!(
                "{} <{}> (account {})",
                me.display_name, me.email, me.account_id
            );
            Ok(())
        }
        Err(palmkit_core::Error::NotSignedIn) => Err("not logged in (run `palmkit login`)".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Revoke and delete.
pub async fn logout(config: &Path) -> Result<(), String> {
    let client = account_client(config)?;
    let was = client.is_signed_in().map_err(|e| e.to_string())?;
    client.logout().await.map_err(|e| e.to_string())?;
    println!("{}", if was { "Logged out." } else { "Not logged in." });
    Ok(())
}

/// The scripted browser, for tests and demos.
pub async fn approve(
    config: &Path,
    email: &str,
    password: &str,
    cancel: bool,
    url: &str,
) -> Result<(), String> {
    let config = read_config(config)?;
    let browser = ScriptedBrowser::new(&config).map_err(|e| e.to_string())?;
    let redirect = if cancel {
        browser.cancel(url).await
    } else {
        browser.login(url, email, password).await
    }
    .map_err(|e| e.to_string())?;
    println!("{redirect}");
    Ok(())
}
