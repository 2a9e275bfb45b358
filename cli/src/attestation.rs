//! `palmkit attestation verify`: one platform statement verified offline, as the service
//! verifies it, with a verdict a person or a script can read.
//!
//! Exit status: 0 with a verdict (valid or not; unreadable bytes are the verdict
//! `malformed`), 2 when the question cannot be asked (a missing file, bad hex, a bad time).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn roots_in(dir: &Path) -> Result<TrustAnchors, String> {
    let mut pems = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("roots {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.extension().is_some_and(|e| e == "pem" || e == "crt") {
            pems.push(read(&path, "root")?);
        }
    }
    if pems.is_empty() {
        return Err(format!("no .pem roots in {}", dir.display()));
    }
    TrustAnchors::only(&pems).map_err(|e| format!("roots in {}: {e}", dir.display()))
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

fn verdict(args: &VerifyArgs) -> Result<Verdict, String> {
    let file = read(&args.file, "statement")?;
    let challenge =
        hex::decode(args.challenge.trim()).map_err(|e| format!("--challenge is not hex: {e}"))?;
    let at = match &args.at {
        Some(t) => verify::parse_time(t)?,
        None => verify::now(),
    };
    let anchors = match &args.roots {
        Some(dir) => roots_in(dir)?,
        None => TrustAnchors::builtin(),
    };
    let key = args.key.as_deref().map(|k| read(k, "key")).transpose()?;
    let status = match &args.status_list {
        Some(path) => Some(StatusList::from_json(&read(path, "status list")?)?),
        None => None,
    };
    for digest in &args.signing_digests {
        hex::decode(digest).map_err(|e| format!("--signing-digest {digest:?} is not hex: {e}"))?;
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
