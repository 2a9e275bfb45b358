//! `palmkit attestation verify`: one platform statement verified offline, as the service
//! verifies it, with a verdict a person or a script can read.
//!
//! Exit status: 0 with a verdict (valid or not; unreadable bytes are the verdict
//! `malformed`), 2 when the question cannot be asked (a missing file, bad hex, a bad time).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::error::{CliError, Result};
use palmkit_server::attestation::verify::{
    self, Kind, Policy, StatusList, TrustAnchors, Verdict, run,
};

/// What `--kind` names.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum KindArg {
    /// An App Attest attestation object (or the app's token holding one).
    AppleAttestation,
    /// An App Attest assertion (or the app's token).
    AppleAssertion,
    /// An Android Key Attestation chain: PEM, DER, or the app's JSON token.
    AndroidChain,
}

/// The verb's arguments.
/// `palmkit attestation`'s verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Verify one App Attest or Key Attestation statement offline, as the service does,
    /// and print the verdict (exit 0 with any verdict, 2 when a file or value is unusable).
    Verify(VerifyArgs),
    /// QA statements under a test root, for the bindings' tests' fake devices.
    #[command(flatten)]
    Test(TestCommand),
}

/// `palmkit attestation` but `verify` (which `main` runs before the async runtime, with its
/// own exit statuses).
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Verify(args) => match verify_command(&args) {
            code if code == ExitCode::SUCCESS => Ok(()),
            _ => Err(CliError::Failed(
                "the statement could not be verified".into(),
            )),
        },
        Command::Test(command) => test_command(&command),
    }
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Which statement FILE holds.
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// Apple: TEAMID.bundle.id. Android: package names, comma-separated, all required.
    #[arg(long)]
    pub app_id: String,
    /// The challenge, hex (Apple: clientDataHash; Android: attestationChallenge).
    #[arg(long)]
    pub challenge: String,
    /// Verify as of this RFC 3339 time (default: now).
    #[arg(long)]
    pub at: Option<String>,
    /// Trust the PEM roots in DIR instead of the built-in ones (AOSP software roots are
    /// never trusted, wherever they appear).
    #[arg(long)]
    pub roots: Option<PathBuf>,
    /// Assertions: the key, as an attestation object (its leaf key; no chain check) or an
    /// SPKI PEM.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Assertions: the counter stored for the key.
    #[arg(long, default_value_t = 0)]
    pub previous_counter: u32,
    /// Policy: a TEE or StrongBox attestation, verified boot and a locked bootloader.
    #[arg(long)]
    pub require_verified_boot: bool,
    /// Policy: an allowed signing-certificate SHA-256 digest (hex); repeat for several.
    #[arg(long = "signing-digest")]
    pub signing_digests: Vec<String>,
    /// Android: Google's revocation status list (JSON) to check serials against.
    #[arg(long)]
    pub status_list: Option<PathBuf>,
    /// Print exactly one JSON line.
    #[arg(long)]
    pub json: bool,
    /// The statement: raw CBOR, a PEM chain, or the app's token.
    pub file: PathBuf,
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| CliError::Failed(format!("cannot read {what} {}: {e}", path.display())))
}

fn roots_in(dir: &Path) -> Result<TrustAnchors> {
    let mut pems = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::Failed(format!("roots {}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.extension().is_some_and(|e| e == "pem" || e == "crt") {
            let text = read(&path, "root")?;
            // Keys and other PEM files beside the certificates are not roots.
            if text.windows(17).any(|w| w == b"BEGIN CERTIFICATE") {
                pems.push(text);
            }
        }
    }
    if pems.is_empty() {
        return Err(CliError::Failed(format!(
            "no .pem roots in {}",
            dir.display()
        )));
    }
    TrustAnchors::only(&pems)
        .map_err(|e| CliError::Failed(format!("roots in {}: {e}", dir.display())))
}

/// Runs the verb; prints the verdict.
pub fn verify_command(args: &VerifyArgs) -> ExitCode {
    match verdict(args) {
        Ok(verdict) => {
            print(args, &verdict);
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn verdict(args: &VerifyArgs) -> Result<Verdict> {
    let file = read(&args.file, "statement")?;
    let challenge = hex::decode(args.challenge.trim())
        .map_err(|e| CliError::Failed(format!("--challenge is not hex: {e}")))?;
    let at = match &args.at {
        Some(t) => verify::parse_time(t).map_err(CliError::failed)?,
        None => verify::now(),
    };
    let anchors = match &args.roots {
        Some(dir) => roots_in(dir)?,
        None => TrustAnchors::builtin(),
    };
    let key = args.key.as_deref().map(|k| read(k, "key")).transpose()?;
    let status = match &args.status_list {
        Some(path) => {
            Some(StatusList::from_json(&read(path, "status list")?).map_err(CliError::failed)?)
        }
        None => None,
    };
    for digest in &args.signing_digests {
        hex::decode(digest).map_err(|e| {
            CliError::Failed(format!("--signing-digest {digest:?} is not hex: {e}"))
        })?;
    }
    let kind = match args.kind {
        KindArg::AppleAttestation => Kind::AppleAttestation,
        KindArg::AppleAssertion => Kind::AppleAssertion,
        KindArg::AndroidChain => Kind::AndroidChain,
    };
    let app_id: Vec<String> = match kind {
        Kind::AndroidChain => args
            .app_id
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
        _ => vec![args.app_id.clone()],
    };
    let policy = Policy {
        require_verified_boot: args.require_verified_boot,
        signing_digests: args
            .signing_digests
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect(),
        apple_environments: Vec::new(),
    };
    Ok(run::verify(&run::Request {
        kind,
        file: &file,
        app_id: &app_id,
        challenge: &challenge,
        at,
        anchors: &anchors,
        key: key.as_deref(),
        previous_counter: args.previous_counter,
        status: status.as_ref(),
        policy: &policy,
    }))
}

/// The `--json` line: exactly the documented keys.
pub fn json_line(verdict: &Verdict) -> serde_json::Value {
    let f = &verdict.facts;
    serde_json::json!({
        "valid": verdict.is_valid(),
        "reason": verdict.reason().map(|r| r.as_str()),
        "kind": f.kind.as_str(),
        "environment": f.environment,
        "app_id": f.app_id,
        "key_id": f.key_id,
        "counter": f.counter,
        "verified_boot": f.verified_boot,
        "device_locked": f.device_locked,
        "packages": f.packages,
        "signing_digests": f.signing_digests,
        "root": f.root,
    })
}

fn print(args: &VerifyArgs, verdict: &Verdict) {
    if args.json {
        println!("{}", json_line(verdict));
        return;
    }
    match &verdict.refusal {
        None => println!("valid"),
        Some(r) => println!("invalid: {} ({})", r.reason, r.detail),
    }
    let f = &verdict.facts;
    let show = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            println!("  {name:<16} {v}");
        }
    };
    show("kind", Some(f.kind.as_str().into()));
    show("environment", f.environment.clone());
    show("app id", f.app_id.clone());
    show("key id", f.key_id.clone());
    show("counter", f.counter.map(|c| c.to_string()));
    show("verified boot", f.verified_boot.map(|v| v.to_string()));
    show("device locked", f.device_locked.map(|v| v.to_string()));
    show("packages", f.packages.as_ref().map(|p| p.join(", ")));
    show(
        "signing digests",
        f.signing_digests.as_ref().map(|d| d.join(", ")),
    );
    show("root", f.root.clone());
}

/// `palmkit serve`'s attestation flags: the trusted apps and the device policy.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// An iOS app whose App Attest statements are trusted, TEAMID.bundle.id; repeat.
    #[arg(long = "apple-app-id")]
    pub apple_app_ids: Vec<String>,
    /// An Android app whose Key Attestation chains are trusted: its package name
    /// (comma-separated names for a shared-UID app, all required); repeat.
    #[arg(long = "android-package")]
    pub android_apps: Vec<String>,
    /// An allowed Android signing-certificate SHA-256 digest (hex); repeat. Default: any.
    #[arg(long = "android-signing-digest")]
    pub android_signing_digests: Vec<String>,
    /// Also take App Attest keys of the development environment (Xcode builds).
    #[arg(long)]
    pub allow_app_attest_development: bool,
    /// Take Android devices without verified boot or with an unlocked bootloader, and
    /// software keystores (test devices only).
    #[arg(long)]
    pub allow_unverified_devices: bool,
    /// An extra trusted attestation root (PEM), beside Apple's and Google's; repeat.
    /// Logged at start: a root here can vouch for any device.
    #[arg(long = "attestation-root")]
    pub roots: Vec<PathBuf>,
    /// Google's attestation status list (JSON), re-read when the file changes.
    #[arg(long)]
    pub attestation_status_list: Option<PathBuf>,
}

impl ServeArgs {
    /// The service's configuration.
    pub fn config(&self) -> Result<palmkit_server::attestation::platform::PlatformConfig> {
        let mut config = palmkit_server::attestation::platform::PlatformConfig {
            apple_app_ids: self.apple_app_ids.clone(),
            android_apps: self.android_apps.clone(),
            ..Default::default()
        };
        for digest in &self.android_signing_digests {
            let bytes = hex::decode(digest).map_err(|e| {
                CliError::Failed(format!("--android-signing-digest {digest:?}: {e}"))
            })?;
            config.policy.signing_digests.push(hex::encode(bytes));
        }
        if self.allow_app_attest_development {
            config.policy.apple_environments.push("development".into());
        }
        if self.allow_unverified_devices {
            config.policy.require_verified_boot = false;
        }
        for path in &self.roots {
            let added = config
                .anchors
                .add_pem(&read(path, "attestation root")?)
                .map_err(|e| {
                    CliError::Failed(format!("--attestation-root {}: {e}", path.display()))
                })?;
            eprintln!(
                "WARNING: trusting extra attestation root(s) {added:?} from {}: they can vouch for any device",
                path.display()
            );
            tracing::warn!(roots = ?added, path = %path.display(), "extra attestation roots trusted");
        }
        if let Some(path) = &self.attestation_status_list {
            StatusList::from_json(&read(path, "status list")?).map_err(|e| {
                CliError::Failed(format!("--attestation-status-list {}: {e}", path.display()))
            })?;
            config.status_list = Some(path.clone());
        }
        Ok(config)
    }
}

/// QA statements under a test root (never trusted unless a server is started with
/// `--attestation-root` naming that root): what the bindings' tests' fake devices call.
#[derive(clap::Subcommand, Debug)]
pub enum TestCommand {
    /// Makes a test root in DIR (root.pem, root.key.pem 0600, root.cn).
    #[command(name = "test-root")]
    Root {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Prints a fresh key's Key Attestation chain under the root in DIR, as the app's
    /// token (JSON array of base64 DER, leaf first).
    #[command(name = "test-key-chain")]
    KeyChain {
        /// The test root's folder.
        #[arg(long)]
        root: PathBuf,
        /// The package attested (comma-separated for several).
        #[arg(long)]
        package: String,
        /// The attestation challenge, hex.
        #[arg(long)]
        challenge: String,
    },
    /// App Attest under the root in DIR with the key in STATE: `new-key` prints
    /// {"key_id", "attestation"} (base64), `assert` the assertion (base64).
    #[command(name = "test-app-attest")]
    AppAttest {
        /// The test root's folder.
        #[arg(long)]
        root: PathBuf,
        /// The device's key and counter (JSON), written by new-key.
        #[arg(long)]
        state: PathBuf,
        /// TEAMID.bundle.id.
        #[arg(long)]
        app_id: String,
        /// The client data hash, hex.
        #[arg(long)]
        client_data_hash: String,
        /// `new-key` or `assert`.
        action: String,
    },
}

/// Runs a test-statement verb; prints its output.
fn test_command(command: &TestCommand) -> Result<()> {
    use base64::Engine as _;
    use palmkit_server::attestation::verify::test_chains::{
        AndroidKey, AppleDevice, AppleOptions, TestRoot,
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    match command {
        TestCommand::Root { out } => {
            let cn = "PalmKit QA attestation root";
            let root = TestRoot::new(cn).map_err(CliError::failed)?;
            root.save(out, cn).map_err(CliError::at(out))?;
            println!("{}", out.join("root.pem").display());
        }
        TestCommand::KeyChain {
            root,
            package,
            challenge,
        } => {
            let root = TestRoot::load(root).map_err(CliError::failed)?;
            let challenge = hex::decode(challenge)
                .map_err(|e| CliError::Failed(format!("--challenge: {e}")))?;
            let packages: Vec<&str> = package.split(',').collect();
            let chain = AndroidKey::new(&packages, &challenge)
                .chain(&root)
                .map_err(CliError::failed)?;
            let token = palmkit_server::attestation::verify::token::encode_android(&chain);
            println!("{}", String::from_utf8_lossy(&token));
        }
        TestCommand::AppAttest {
            root,
            state,
            app_id,
            client_data_hash,
            action,
        } => {
            let root = TestRoot::load(root).map_err(CliError::failed)?;
            let cdh = hex::decode(client_data_hash)
                .map_err(|e| CliError::Failed(format!("--client-data-hash: {e}")))?;
            let save = |device: &AppleDevice| -> Result<()> {
                let (key, counter) = device.state();
                let json = serde_json::json!({"key": key, "counter": counter});
                std::fs::write(state, json.to_string()).map_err(CliError::at(state))
            };
            match action.as_str() {
                "new-key" => {
                    let device =
                        AppleDevice::new(AppleOptions::default()).map_err(CliError::failed)?;
                    let attestation = device
                        .attest(&root, app_id, &cdh)
                        .map_err(CliError::failed)?;
                    save(&device)?;
                    println!(
                        "{}",
                        serde_json::json!({"key_id": device.key_id(), "attestation": b64.encode(attestation)})
                    );
                }
                "assert" => {
                    let text = std::fs::read_to_string(state).map_err(CliError::at(state))?;
                    let saved: serde_json::Value = serde_json::from_str(&text)?;
                    let mut device = AppleDevice::from_state(
                        saved["key"].as_str().unwrap_or(""),
                        saved["counter"].as_u64().unwrap_or(0) as u32,
                        AppleOptions::default(),
                    )
                    .map_err(CliError::failed)?;
                    let assertion = device.assert(app_id, &cdh).map_err(CliError::failed)?;
                    save(&device)?;
                    println!("{}", b64.encode(assertion));
                }
                other => {
                    return Err(CliError::Failed(format!(
                        "{other:?}: the action is new-key or assert"
                    )));
                }
            }
        }
    }
    Ok(())
}
