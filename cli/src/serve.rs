//! `palmkit serve`: the reference enrollment server in the foreground until Ctrl-C or
//! SIGTERM (or `--init-only`: prepare its data directory and exit).

use std::net::SocketAddr;
use std::path::PathBuf;

use palmkit_server::ServerMode;

use crate::error::{CliError, Result};

/// `palmkit serve`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Data directory (created if missing).
    #[arg(long, default_value = "palmkit-data")]
    data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Only prepare the data directory (CA, keys, database), then exit.
    #[arg(long)]
    init_only: bool,
    /// Development mode: accept unattested, file-origin captures and the development
    /// attestation format (key in DATA_DIR/dev-attestation.key). Without it the server
    /// runs in production mode and requires a platform attestation, a sealed spoof
    /// verdict and camera origin for every upload: App Attest or Key Attestation,
    /// verified offline for the apps named by --apple-app-id / --android-package.
    #[arg(long)]
    dev: bool,
    /// The hand models (`cargo xtask models`; default: PALMKIT_MODELS or the
    /// provisioning cache, when provisioned). With them the server checks each capture
    /// shows a palm of its hand, keeps palm signatures and matches store scans.
    #[arg(long, conflicts_with = "no_models")]
    models: Option<PathBuf>,
    /// Run without the hand models even when they are provisioned: captures are kept
    /// unread (signatures are made at a later start with models), store scans refused.
    #[arg(long)]
    no_models: bool,
    /// The keys that open biometric data: a file of `<id> <key>` lines, newest first
    /// (`palmkit serve --new-data-key` prints a line). Default: the PALMKIT_DATA_KEYS
    /// variable (the same text), else DATA_DIR/data-keys, made on first start. Put it
    /// outside the data directory in production: a copy of the directory alone then
    /// opens no capture and no template. To rotate, put a new line first and restart;
    /// the old line can go after that start (docs/operations.md).
    #[arg(long, env = "PALMKIT_DATA_KEYS_FILE")]
    data_keys: Option<PathBuf>,
    /// Print a new data-key line (for the data-keys file) and exit.
    #[arg(long)]
    new_data_key: bool,
    #[command(flatten)]
    attestation: crate::attestation::ServeArgs,
}

/// Where the data keys come from: `--data-keys`, else the variable's text, else the
/// data directory's file.
fn data_key_source(file: Option<PathBuf>) -> palmkit_server::data_keys::DataKeySource {
    use palmkit_server::data_keys::{DATA_KEYS_ENV, DataKeySource};
    match (file, std::env::var(DATA_KEYS_ENV)) {
        (Some(path), _) => DataKeySource::File(path),
        (None, Ok(text)) if !text.trim().is_empty() => DataKeySource::Text(text),
        _ => DataKeySource::DataDir,
    }
}

/// Runs the server until a stop signal, then stops it gracefully.
pub async fn run(args: Args) -> Result<()> {
    let mode = if args.dev {
        ServerMode::Development
    } else {
        ServerMode::Production
    };
    if args.new_data_key {
        print!("{}", palmkit_server::data_keys::new_key_line()?);
        return Ok(());
    }
    let platforms = args.attestation.config()?;
    let data_keys = data_key_source(args.data_keys.clone());
    if args.init_only {
        let dir = palmkit_server::prepare_data_dir(&args.data_dir, mode, &data_keys)?;
        println!("Data directory ready: {}", dir.root.display());
        println!("  CA certificate: {}", dir.pki.ca_path.display());
        println!("  service key:    {}", dir.key.id);
        return Ok(());
    }
    let spinner = crate::progress::spinner(
        "Starting the reference server (first start makes its CA and keys)",
    );
    let mut options = palmkit_server::ServerOptions::new(&args.data_dir, args.listen);
    options.mode = mode;
    options.data_keys = data_keys;
    let trusted_apps = platforms.apple_app_ids.len() + platforms.android_apps.len();
    options.attestation = platforms;
    // Explicit models must be there; the default folder is used when provisioned.
    options.models = match args.models {
        Some(dir) if !dir.join("SHA256SUMS").exists() => {
            return Err(CliError::file(
                &dir,
                "no SHA256SUMS there (run `cargo xtask models`)",
            ));
        }
        Some(dir) => Some(dir),
        None if args.no_models => None,
        None => Some(crate::analyze::models_dir(None)).filter(|d| d.join("SHA256SUMS").exists()),
    };
    let reads_palms = options.models.is_some();
    let server = palmkit_server::start(options).await?;
    spinner.finish_and_clear();
    say(&format!(
        "PalmKit reference server ({mode:?} mode) listening on {}\n  data directory: {}\n  CA certificate: {}\n  \
         client config:  {}\n  service key:    {}\n  palms:          {}\n  attested apps:  {}\nPress Ctrl-C to stop.",
        server.base_url,
        server.data_dir.display(),
        server.ca_path.display(),
        server.client_config_path.display(),
        server.client_config.service_key.id,
        if reads_palms {
            "read (captures checked, signatures kept, store scans matched)"
        } else {
            "not read: no hand models (run `cargo xtask models`); store scans are refused"
        },
        if trusted_apps == 0 && mode == ServerMode::Production {
            "none: every upload is refused (name them with --apple-app-id / --android-package)"
                .to_string()
        } else {
            format!("{trusted_apps} app(s) trusted")
        }
    ));
    palmkit_server::shutdown_signal().await;
    say("Stopping (waiting for requests in flight)...");
    server.shutdown().await;
    Ok(())
}

/// Prints a line for whoever started the server. A long-running server must not die
/// because its stdout was closed (a harness that stopped reading), so write errors are
/// ignored rather than panicking like `println!`.
fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}
