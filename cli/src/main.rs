//! `palmkit`: the desktop QA tool. Runs a whole enrollment against an embedded reference
//! server (`demo`), runs that server alone (`serve`), and checks a running server through
//! the pinned client (`health`), and analyzes palm images as the phones analyze camera
//! frames (`analyze`).

mod analyze;
mod attestation;
mod demo;
mod enrollment;
mod frames;
mod login;
mod payment;
mod progress;
mod signature_eval;
mod spoof_eval;
mod store;
mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use palmkit_core::{ServiceClient, ServiceConfig};

/// PalmKit desktop QA tool.
///
/// PalmKit is the shared core of a pay-by-palm enrollment app. This tool runs the same core
/// the iPhone and Android apps use, against the reference enrollment server, so QA can see
/// every step of an enrollment on a desktop.
///
/// New here? Run `palmkit demo`: it needs no set-up.
#[derive(Parser)]
#[command(name = "palmkit", version, propagate_version = true)]
struct Cli {
    /// Show the server's and the core's logs (info level; RUST_LOG overrides).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum AttestationCommand {
    /// Verify one App Attest or Key Attestation statement offline, as the service does,
    /// and print the verdict (exit 0 with any verdict, 2 when a file or value is unusable).
    Verify(attestation::VerifyArgs),
    /// QA statements under a test root, for the bindings' tests' fake devices.
    #[command(flatten)]
    Test(attestation::TestCommand),
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Register a scanner device for STORE; its token goes to DATA_DIR/stores/STORE.token.
    Add {
        /// The server's data directory.
        #[arg(long, default_value = "palmkit-data")]
        data_dir: PathBuf,
        /// Store name (letters, digits, '.', '_', '-').
        store: String,
    },
    /// Revoke every device of STORE (its scans are refused from then on).
    Revoke {
        /// The server's data directory.
        #[arg(long, default_value = "palmkit-data")]
        data_dir: PathBuf,
        /// Store name.
        store: String,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run a whole enrollment through the enrollment session, step by step, against a
    /// reference server started in this process on a free 127.0.0.1 port with a throw-away
    /// data directory.
    Demo {
        /// Make the camera frames from the palm photos in DIR (JPEG or PNG, searched
        /// recursively) and enroll the hand each shows, at most one photo per hand; needs
        /// the hand models. Default: the shared test photo of a left palm.
        #[arg(long, value_name = "DIR")]
        palms: Option<PathBuf>,
        /// Enroll at a running `palmkit serve --dev` (its `client-config.json`) instead of
        /// a server started in this process.
        #[arg(long, value_name = "CLIENT_CONFIG")]
        server: Option<PathBuf>,
    },
    /// Run the reference enrollment server until Ctrl-C or SIGTERM.
    ///
    /// On first start it makes a development CA, a server certificate, an HPKE service key
    /// and a SQLite database in the data directory, and reuses them after. It writes
    /// `client-config.json` there: everything a client needs to reach and trust it.
    Serve {
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
        #[command(flatten)]
        attestation: attestation::ServeArgs,
    },
    /// Register or revoke in-store scanner devices in a server's data directory.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Platform attestation statements (App Attest, Android Key Attestation).
    #[command(subcommand)]
    Attestation(AttestationCommand),
    /// Play an in-store scanner: post a palm photo to a running server as a registered
    /// store device and print the outcome (a match completes that shopper's enrollment).
    Scan {
        /// The client configuration written by `palmkit serve` (in its data directory).
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The store (registered with `palmkit store add`); its token is read from
        /// `stores/STORE.token` beside the client configuration.
        #[arg(long)]
        store: String,
        /// Read the device token from this file instead.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// The palm photo (JPEG or PNG).
        photo: PathBuf,
    },
    /// Check a running server through the pinned client.
    Health {
        /// The client configuration written by `palmkit serve` (in its data directory).
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Log in through your browser (OAuth with PKCE; the answer comes back to a one-time
    /// listener on 127.0.0.1). Tokens go to the Linux kernel keyring (keyutils), never
    /// to a file.
    Login {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Show who is logged in (refreshing the login if needed).
    Whoami {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Log out: revoke the login at the server and delete the tokens here.
    Logout {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// List your saved cards and which one your palm pays with.
    Cards {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Add a card. The number goes straight to the payment provider, never to the
    /// enrollment service; it is read without echo.
    AddCard {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Link a saved card (its id from `palmkit cards`) to your palm.
    Link {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The payment method id (`pm_…`).
        payment_method_id: String,
    },
    /// Show one of your enrollments: its state (draft, pending store match, complete,
    /// expired), hands and deadline.
    Status {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The enrollment id (`enr-…`, printed by `palmkit upload`).
        enrollment_id: String,
    },
    /// Delete one of your enrollments and all its biometric data at the service
    /// (captures, spoof verdicts, attestations, uploads).
    Delete {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The enrollment id (`enr-…`).
        enrollment_id: String,
    },
    /// Seal a palm image (JPEG or PNG) to the service key and upload it resumably as the
    /// logged-in shopper, with a progress bar; then submit the enrollment. Ctrl-C cancels
    /// (the unfinished upload is deleted at the server). The image never touches the disk
    /// in the clear beyond the file you give.
    Upload {
        /// The client configuration written by `palmkit serve`.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Which hand the image shows.
        #[arg(long, value_enum, default_value = "right")]
        hand: HandArg,
        /// Add the capture to this draft enrollment instead of starting a new one.
        #[arg(long)]
        enrollment: Option<String>,
        /// Upload only; leave the enrollment a draft.
        #[arg(long)]
        no_submit: bool,
        /// The image file.
        file: PathBuf,
    },
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
    Analyze {
        /// Print one JSON object per input line instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Also write an HTML report with each image annotated (box, landmarks, guidance)
        /// to this folder.
        #[arg(long)]
        report: Option<PathBuf>,
        /// The hand the shopper was asked for: the other one gets `use_left_hand` /
        /// `use_right_hand` (default: either hand).
        #[arg(long, value_enum)]
        hand: Option<HandArg>,
        /// The provisioned model folder (default: PALMKIT_MODELS, else
        /// $PALMKIT_CACHE/models/onnx, else ~/.cache/palmkit/models/onnx).
        #[arg(long)]
        models: Option<PathBuf>,
        /// Image files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Evaluate the spoof layers: every palm photo given (bona fide) and attacks simulated
    /// from it (a screen replay or a print filmed by a phone camera, several species), with
    /// BPCER and APCER per species (ISO/IEC 30107-3) at the core's thresholds. Reproducible:
    /// the same photos and seed give the same attacks. Folders are searched for
    /// .jpg/.jpeg/.png.
    SpoofEval {
        /// Also write index.html and samples.jsonl (every presentation, its verdict, layer
        /// scores and simulated setup) to this folder.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Seed of the simulation.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Only these species (default: all): screen_phone, screen_laptop, screen_monitor,
        /// print_offset, print_laser, print_inkjet.
        #[arg(long, value_delimiter = ',')]
        species: Vec<String>,
        /// Write every simulated attack as PNG to this folder (to look at them; never on a
        /// phone, never in the repository).
        #[arg(long, hide = true)]
        images: Option<PathBuf>,
        /// Skip the 3-D motion bursts (planar photo vs projected 3-D landmarks; one camera
        /// move per photo, in turn) and the tilted-picture sweep of the active challenges.
        #[arg(long)]
        no_motion: bool,
        /// The provisioned model folder (as for `analyze`).
        #[arg(long)]
        models: Option<PathBuf>,
        /// Palm photos or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// How well palm signatures tell palms apart, on labelled photos.
    ///
    /// Images of one palm share the file-name part before the last underscore (`002_1.jpg`,
    /// `002_3.jpg`). Every pair is scored; prints genuine and impostor pair counts, EER, TAR
    /// at FAR 1e-3 and 1e-4, rank-1 identification (first image of each palm in the
    /// gallery), per algorithm.
    SignatureEval {
        /// One JSON line per algorithm: palms, images, genuine_pairs, impostor_pairs, eer,
        /// tar_at_far_1e3, tar_at_far_1e4, rank1 (fractions), algorithm.
        #[arg(long)]
        json: bool,
        /// Ids known to be one palm, e.g. `--same-palm 081=156 --same-palm 081=158`.
        #[arg(long, value_name = "A=B")]
        same_palm: Vec<String>,
        /// Algorithm(s): compcode, bocv, bocv-fragile, bocv-multiscale, or all (default:
        /// the one the service uses).
        #[arg(long, value_delimiter = ',')]
        algorithm: Vec<String>,
        /// Match every image against a degraded copy of the others: mixed, jpeg50,
        /// rotate10, scale0.8, shift0.08, red, green, blue.
        #[arg(long, value_name = "KIND")]
        degrade: Option<String>,
        /// Seed of the degradations.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Count byte-identical files as separate images (default: once).
        #[arg(long)]
        keep_duplicates: bool,
        /// Write an HTML page (histograms, worst genuine and best impostor pairs) here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// The provisioned model folder (as for `analyze`).
        #[arg(long)]
        models: Option<PathBuf>,
        /// Folders or files of palm photos.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// For tests and benchmarks: write a photo as raw camera frames (NV21 as a landscape
    /// sensor sees it, BGRA upright) with a frames.properties describing them.
    #[command(hide = true)]
    ExportFrames {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// The photo (JPEG or PNG).
        photo: PathBuf,
    },
    /// For tests and demos: play the shopper at the reference server's login page for the
    /// authorization URL given, and print where the server redirects to.
    ApproveLogin {
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
    },
}

const DEFAULT_CONFIG: &str = "palmkit-data/client-config.json";

/// A hand on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
enum HandArg {
    Left,
    Right,
}

impl From<HandArg> for palmkit_core::protocol::Hand {
    fn from(h: HandArg) -> Self {
        match h {
            HandArg::Left => Self::Left,
            HandArg::Right => Self::Right,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // Offline and synchronous, with its own exit statuses.
    if let Command::Attestation(AttestationCommand::Verify(args)) = &cli.command {
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
            Command::Demo { palms, server } => demo::run(palms.as_deref(), server.as_deref()).await,
            Command::Serve {
                data_dir,
                listen,
                init_only,
                dev,
                models,
                no_models,
                attestation,
            } => {
                let mode = if dev {
                    palmkit_server::ServerMode::Development
                } else {
                    palmkit_server::ServerMode::Production
                };
                let platforms = attestation.config()?;
                serve(
                    data_dir, listen, init_only, mode, models, no_models, platforms,
                )
                .await
            }
            Command::Attestation(AttestationCommand::Test(command)) => {
                attestation::test_command(&command)
            }
            Command::Attestation(AttestationCommand::Verify(_)) => Ok(()),
            Command::Store(StoreCommand::Add { data_dir, store }) => store::add(&data_dir, &store),
            Command::Store(StoreCommand::Revoke { data_dir, store }) => {
                store::revoke(&data_dir, &store)
            }
            Command::Scan {
                config,
                store,
                token_file,
                photo,
            } => store::scan(&config, &store, token_file.as_deref(), &photo).await,
            Command::Health { config } => health(config).await,
            Command::Login { config } => login::login(&config).await,
            Command::Whoami { config } => login::whoami(&config).await,
            Command::Logout { config } => login::logout(&config).await,
            Command::Cards { config } => payment::cards(&config).await,
            Command::AddCard { config } => payment::add_card(&config).await,
            Command::Link {
                config,
                payment_method_id,
            } => payment::link(&config, &payment_method_id).await,
            Command::Status {
                config,
                enrollment_id,
            } => enrollment::status(&config, &enrollment_id).await,
            Command::Delete {
                config,
                enrollment_id,
            } => enrollment::delete(&config, &enrollment_id).await,
            Command::Upload {
                config,
                hand,
                enrollment,
                no_submit,
                file,
            } => {
                upload::upload(
                    &config,
                    &file,
                    hand.into(),
                    enrollment.as_deref(),
                    !no_submit,
                )
                .await
            }
            Command::Analyze {
                json,
                report,
                hand,
                models,
                paths,
            } => analyze::run(
                &paths,
                json,
                report.as_deref(),
                hand.map(Into::into),
                models,
            ),
            Command::ExportFrames { out, photo } => frames::export(&photo, &out),
            Command::SignatureEval {
                json,
                same_palm,
                algorithm,
                degrade,
                seed,
                keep_duplicates,
                report,
                models,
                paths,
            } => signature_eval::parse_algorithms(&algorithm).and_then(|algorithms| {
                let degrade = degrade
                    .as_deref()
                    .map(signature_eval::Degradation::parse)
                    .transpose()?;
                signature_eval::run(signature_eval::Options {
                    paths,
                    same_palm,
                    algorithms,
                    degrade,
                    seed,
                    keep_duplicates,
                    json,
                    report,
                    models,
                })
            }),
            Command::SpoofEval {
                report,
                seed,
                species,
                images,
                no_motion,
                models,
                paths,
            } => spoof_eval::parse_species(&species).and_then(|species| {
                spoof_eval::run(
                    &paths,
                    report.as_deref(),
                    seed,
                    &species,
                    images.as_deref(),
                    !no_motion,
                    models,
                )
            }),
            Command::ApproveLogin {
                config,
                email,
                password,
                cancel,
                url,
            } => login::approve(&config, &email, &password, cancel, &url).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if verbose { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn serve(
    data_dir: PathBuf,
    listen: SocketAddr,
    init_only: bool,
    mode: palmkit_server::ServerMode,
    models: Option<PathBuf>,
    no_models: bool,
    platforms: palmkit_server::attestation::platform::PlatformConfig,
) -> Result<(), String> {
    if init_only {
        let dir = palmkit_server::init_data_dir(&data_dir, mode).map_err(|e| e.to_string())?;
        println!("Data directory ready: {}", dir.root.display());
        println!("  CA certificate: {}", dir.pki.ca_path.display());
        println!("  service key:    {}", dir.key.id);
        return Ok(());
    }
    let spinner =
        progress::spinner("Starting the reference server (first start makes its CA and keys)");
    let mut options = palmkit_server::ServerOptions::new(&data_dir, listen);
    options.mode = mode;
    let trusted_apps = platforms.apple_app_ids.len() + platforms.android_apps.len();
    options.attestation = platforms;
    // Explicit models must be there; the default folder is used when provisioned.
    options.models = match models {
        Some(dir) if !dir.join("SHA256SUMS").exists() => {
            return Err(format!(
                "--models {}: no SHA256SUMS there (run `cargo xtask models`)",
                dir.display()
            ));
        }
        Some(dir) => Some(dir),
        None if no_models => None,
        None => Some(analyze::models_dir(None)).filter(|d| d.join("SHA256SUMS").exists()),
    };
    let reads_palms = options.models.is_some();
    let server = palmkit_server::start(options)
        .await
        .map_err(|e| e.to_string())?;
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
        if trusted_apps == 0 && mode == palmkit_server::ServerMode::Production {
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

/// Reads the client configuration written by `palmkit serve`.
pub(crate) fn read_config(path: &std::path::Path) -> Result<ServiceConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read {}: {e} (start `palmkit serve` first, or pass --config)",
            path.display()
        )
    })?;
    ServiceConfig::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn health(config_path: PathBuf) -> Result<(), String> {
    let config = read_config(&config_path)?;
    let client = ServiceClient::new(&config).map_err(|e| e.to_string())?;
    let health = client.health().await.map_err(|e| e.to_string())?;
    println!(
        "{}: healthy (version {}, service key {}), pinned TLS verified",
        config.base_url, health.version, health.current_key_id
    );
    Ok(())
}
