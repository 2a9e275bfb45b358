//! `palmkit`: the desktop QA tool. Runs a whole enrollment against an embedded reference
//! server (`demo`), runs that server alone (`serve`), and checks a running server through
//! the pinned client (`health`), and analyzes palm images as the phones analyze camera
//! frames (`analyze`).

mod analyze;
mod args;
mod attestation;
mod demo;
mod enrollment;
mod error;
mod frames;
mod health;
mod holds;
mod login;
mod payment;
mod progress;
mod serve;
mod signature_eval;
mod spoof_eval;
mod store;
mod upload;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::args::ConfigArgs;

/// PalmKit desktop QA tool.
///
/// PalmKit is the shared core of a pay-by-palm enrollment app. This tool runs the same core
/// the iPhone and Android apps use, against the reference enrollment server, so QA can see
/// every step of an enrollment on a desktop.
///
/// New here? In a checkout, run `cargo xtask demo`: it provisions the hand models, finds the
/// shared palm photos and runs a whole enrollment. The binary alone needs real palm photos,
/// which never ship with it: `palmkit demo --palms DIR` (or set PALMKIT_TESTDATA).
#[derive(Parser)]
#[command(name = "palmkit", version, propagate_version = true)]
struct Cli {
    /// Show the server's and the core's logs (info level; RUST_LOG overrides).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

/// The verbs. Each one's arguments and code live in its module; this file only
/// dispatches.
#[derive(Subcommand)]
enum Command {
    /// Run a whole enrollment through the enrollment session, step by step, against a
    /// reference server started in this process on a free 127.0.0.1 port with a throw-away
    /// data directory.
    Demo(demo::Args),
    /// Run the reference enrollment server until Ctrl-C or SIGTERM.
    ///
    /// On first start it makes a development CA, a server certificate, an HPKE service key
    /// and a SQLite database in the data directory, and reuses them after. It writes
    /// `client-config.json` there: everything a client needs to reach and trust it.
    Serve(serve::Args),
    /// Register or revoke in-store scanner devices in a server's data directory.
    #[command(subcommand)]
    Store(store::Command),
    /// Review enrollments held because their palm is near another account's (the
    /// duplicate-palm policy) in a server's data directory.
    #[command(subcommand)]
    Holds(holds::Command),
    /// Platform attestation statements (App Attest, Android Key Attestation).
    #[command(subcommand)]
    Attestation(attestation::Command),
    /// Play an in-store scanner: post a palm photo to a running server as a registered
    /// store device and print the outcome (a match completes that shopper's enrollment).
    Scan(store::ScanArgs),
    /// Check a running server through the pinned client.
    Health(ConfigArgs),
    /// Log in through your browser (OAuth with PKCE; the answer comes back to a one-time
    /// listener on 127.0.0.1). Tokens go to the Linux kernel keyring (keyutils), never
    /// to a file.
    Login(ConfigArgs),
    /// Show who is logged in (refreshing the login if needed).
    Whoami(ConfigArgs),
    /// Log out: revoke the login at the server and delete the tokens here.
    Logout(ConfigArgs),
    /// List your saved cards and which one your palm pays with.
    Cards(ConfigArgs),
    /// Add a card. The number goes straight to the payment provider, never to the
    /// enrollment service; it is read without echo.
    AddCard(ConfigArgs),
    /// Link a saved card (its id from `palmkit cards`) to your palm.
    Link(payment::LinkArgs),
    /// Show one of your enrollments: its state (draft, pending store match, complete,
    /// expired), hands and deadline.
    Status(enrollment::Args),
    /// Delete one of your enrollments and all its biometric data at the service
    /// (captures, spoof verdicts, attestations, uploads).
    Delete(enrollment::Args),
    /// Seal a palm image (JPEG or PNG) to the service key and upload it resumably as the
    /// logged-in shopper, with a progress bar; then submit the enrollment. Ctrl-C cancels
    /// (the unfinished upload is deleted at the server). The image never touches the disk
    /// in the clear beyond the file you give.
    Upload(upload::Args),
    /// Analyze palm images as the phone would analyze a camera frame: hand, landmarks,
    /// palm side, which hand, quality measures and the one instruction the shopper would
    /// see. Folders are searched for .jpg/.jpeg/.png.
    ///
    /// With --json, prints exactly one JSON object per input line: {"file", "hand_found",
    /// "handedness" ("left"|"right"|null), "palm_facing" (true|false|null), "guidance" (a
    /// stable code), "message" (English), "capture_ready", "box" [left, top, width, height]
    /// and "landmarks" (21 x [x, y, z], upright pixels) or null, "quality" {presence,
    /// right_hand, score, geometry {...}, pixels {...}} | null}; a file that cannot be read
    /// gives {"file", "error"}.
    Analyze(analyze::Args),
    /// Evaluate the spoof layers: every palm photo given (bona fide) and attacks simulated
    /// from it (a screen replay or a print filmed by a phone camera, several species), with
    /// BPCER and APCER per species (ISO/IEC 30107-3) at the core's thresholds. Reproducible:
    /// the same photos and seed give the same attacks. Folders are searched for
    /// .jpg/.jpeg/.png.
    SpoofEval(spoof_eval::Args),
    /// How well palm signatures tell palms apart, on labelled photos.
    ///
    /// Images of one palm share the file-name part before the last underscore (`002_1.jpg`,
    /// `002_3.jpg`). Every pair is scored; prints genuine and impostor pair counts, EER, TAR
    /// at FAR 1e-3 and 1e-4, rank-1 identification (first image of each palm in the
    /// gallery), per algorithm.
    SignatureEval(signature_eval::Args),
    /// For tests and benchmarks: write a photo as raw camera frames (NV21 as a landscape
    /// sensor sees it, BGRA upright) with a frames.properties describing them.
    #[command(hide = true)]
    ExportFrames(frames::ExportArgs),
    /// For tests and demos: play the shopper at the reference server's login page for the
    /// authorization URL given, and print where the server redirects to.
    ApproveLogin(login::ApproveArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // Offline and synchronous, with its own exit statuses.
    if let Command::Attestation(attestation::Command::Verify(args)) = &cli.command {
        return attestation::verify_command(args);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Store(command) => store::run(command),
            Command::Holds(command) => holds::run(command),
            Command::Attestation(command) => attestation::run(command),
            Command::Scan(args) => store::scan(args).await,
            Command::Health(args) => health::run(args).await,
            Command::Login(args) => login::login(args).await,
            Command::Whoami(args) => login::whoami(args).await,
            Command::Logout(args) => login::logout(args).await,
            Command::Cards(args) => payment::cards(args).await,
            Command::AddCard(args) => payment::add_card(args).await,
            Command::Link(args) => payment::link(args).await,
            Command::Status(args) => enrollment::status(args).await,
            Command::Delete(args) => enrollment::delete(args).await,
            Command::Upload(args) => upload::run(args).await,
            Command::Analyze(args) => analyze::run(args),
            Command::SpoofEval(args) => spoof_eval::run(args),
            Command::SignatureEval(args) => signature_eval::run(args),
            Command::ExportFrames(args) => frames::export(args),
            Command::ApproveLogin(args) => login::approve(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Logs to stderr: warnings by default, info with --verbose, RUST_LOG overrides.
fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if verbose { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    /// clap's own consistency check of every verb's arguments (names, conflicts, defaults):
    /// the arguments live in the verbs' modules, so a clash shows only when put together.
    #[test]
    fn the_verbs_arguments_fit_together() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_verbs_arguments_parse_into_its_own_args() {
        let cli = Cli::try_parse_from(["palmkit", "upload", "--hand", "left", "photo.jpg"])
            .expect("upload parses");
        let Command::Upload(args) = cli.command else {
            panic!("not the upload verb");
        };
        assert!(format!("{args:?}").contains("Left"), "{args:?}");
        assert!(Cli::try_parse_from(["palmkit", "upload", "--hand", "middle", "x"]).is_err());
    }

    #[test]
    fn usage_errors_exit_2_and_others_1() {
        let usage = error::CliError::Usage("bad --store".into());
        let other = error::CliError::file(std::path::Path::new("x.jpg"), "not an image");
        assert_eq!(usage.exit_code(), ExitCode::from(2));
        assert_eq!(other.exit_code(), ExitCode::FAILURE);
        assert_eq!(other.to_string(), "x.jpg: not an image");
    }
}
