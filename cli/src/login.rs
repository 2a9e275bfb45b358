//! `palmkit login`, `whoami`, `logout` and `approve-login`.
//!
//! On the desktop the redirect comes back to a one-time listener on 127.0.0.1 with a
//! random port (RFC 8252 §7.3), and tokens live in the Linux kernel keyring (keyutils),
//! never in a file.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::KeyringStore;
use palmkit_server::accounts::browser::ScriptedBrowser;

use crate::args::{ConfigArgs, DEFAULT_CONFIG, read_config};

/// `palmkit approve-login`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ApproveArgs {
    /// The client configuration written by `palmkit serve`.
    #[arg(long, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// Email to log in with (default: the seeded test shopper).
    #[arg(long, default_value = palmkit_server::accounts::TEST_SHOPPER_EMAIL)]
    email: String,
    /// Password (default: the seeded test shopper's). Prefer PALMKIT_PASSWORD.
    #[arg(long, env = "PALMKIT_PASSWORD", hide_env_values = true,
          default_value = palmkit_server::accounts::TEST_SHOPPER_PASSWORD)]
    password: String,
    /// Press Cancel instead of logging in.
    #[arg(long)]
    cancel: bool,
    /// The authorization URL the app would open in the browser.
    url: String,
}
use crate::error::{CliError, Result};

/// How long `palmkit login` waits for the browser.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

pub fn account_client(config: &Path) -> Result<AccountClient> {
    let config = read_config(config)?;
    let backend = linux_keyutils_keyring_store::Store::new().map_err(|e| {
        CliError::Failed(format!(
            "the kernel keyring (keyutils) is not available: {e}"
        ))
    })?;
    Ok(AccountClient::new(
        &config,
        Arc::new(KeyringStore::new(backend)),
    )?)
}

/// Browser login with a loopback redirect.
pub async fn login(args: ConfigArgs) -> Result<()> {
    let client = account_client(&args.config)?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| CliError::Failed(format!("cannot listen on 127.0.0.1: {e}")))?;
    let port = listener.local_addr()?.port();
    let redirect =
        url::Url::parse(&format!("http://127.0.0.1:{port}/callback")).map_err(CliError::failed)?;
    let url = client.start_login_with_redirect(redirect).await?;
    println!("Open this address in your browser to log in:\n\n  {url}\n");
    let _ = std::process::Command::new("xdg-open")
        .arg(url.as_str())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let spinner = crate::progress::spinner("Waiting for the browser (up to 5 minutes)");
    let callback = tokio::task::spawn_blocking(move || wait_for_callback(listener, port)).await??;
    spinner.finish_and_clear();
    client.finish_login(&callback).await?;
    let me = client.account().await?;
    println!("Logged in as {} <{}>.", me.display_name, me.email);
    Ok(())
}

/// Accepts one request on the loopback listener and returns its full URL.
fn wait_for_callback(listener: TcpListener, port: u16) -> Result<String> {
    listener.set_nonblocking(false)?;
    let deadline = std::time::Instant::now() + LOGIN_TIMEOUT;
    loop {
        if std::time::Instant::now() > deadline {
            return Err(CliError::Failed(
                "no answer from the browser within 5 minutes".into(),
            ));
        }
        let (mut stream, _) = listener.accept()?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut line = String::new();
        let mut reader = BufReader::new(&stream);
        reader.read_line(&mut line)?;
        // Read the rest of the request head: closing a socket with unread data resets the
        // connection, and the browser would show an error instead of the page below.
        let mut header = String::new();
        while reader.read_line(&mut header)? > 0 && header != "\r\n" {
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
pub async fn whoami(args: ConfigArgs) -> Result<()> {
    let client = account_client(&args.config)?;
    match client.account().await {
        Ok(me) => {
            println!(
                "{} <{}> (account {})",
                me.display_name, me.email, me.account_id
            );
            Ok(())
        }
        Err(palmkit_core::Error::NotSignedIn) => Err(CliError::Failed(
            "not logged in (run `palmkit login`)".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Revoke and delete.
pub async fn logout(args: ConfigArgs) -> Result<()> {
    let client = account_client(&args.config)?;
    let was = client.is_signed_in()?;
    client.logout().await?;
    println!("{}", if was { "Logged out." } else { "Not logged in." });
    Ok(())
}

/// The scripted browser, for tests and demos.
pub async fn approve(args: ApproveArgs) -> Result<()> {
    let (email, password, url) = (&args.email, &args.password, &args.url);
    let config = read_config(&args.config)?;
    let browser = ScriptedBrowser::new(&config)?;
    let redirect = if args.cancel {
        browser.cancel(url).await
    } else {
        browser.login(url, email, password).await
    }?;
    println!("{redirect}");
    Ok(())
}
