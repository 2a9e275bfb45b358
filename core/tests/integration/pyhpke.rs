//! The capture envelope against an independent HPKE implementation: PyPI `pyhpke` (through
//! `core/tests/peers/hpke_envelope.py`, written from docs/capture-envelope.md alone) opens
//! what the core seals and seals what the core opens, in both AEAD suites; a wrong context
//! fails on the Python side too; the spoof verdict sealed beside a capture opens there too.
//! Needs `cargo xtask setup` (the pyhpke virtualenv).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use palmkit_core::protocol::Hand;
use palmkit_core::upload::envelope::{self, AeadSuite, SealContext};

fn python() -> PathBuf {
    let python = support::peers_dir().join("pyhpke/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `cargo xtask setup`",
        python.display()
    );
    python
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/hpke_envelope.py")
}

/// `hpke_envelope.py open` of the envelope at `path` for the test context with `hand`.
fn py_open(path: &Path, private: &[u8; 32], hand: &str, out: &Path) -> std::process::Output {
    Command::new(python())
        .arg(script())
        .arg("open")
        .arg(path)
        .arg(hex(private))
        .args(["acct-7f3a", "enr-91bc", hand])
        .arg(out)
        .output()
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const METADATA: &[u8] =
    br#"{"media_type":"image/jpeg","width":640,"height":480,"captured_at_ms":5,"source":"camera"}"#;

fn context() -> SealContext<'static> {
    SealContext {
        account_id: "acct-7f3a",
        enrollment_id: "enr-91bc",
        hand: Hand::Left,
        key_id: "k-2026a",
    }
}

#[test]
fn pyhpke_opens_what_the_core_seals() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = envelope::derive_key_pair(b"pyhpke interop service key");
    let image: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    for (suite, name) in [(AeadSuite::ChaCha20Poly1305, 3), (AeadSuite::Aes256Gcm, 2)] {
        let sealed = envelope::seal(&image, METADATA, &context(), &public, suite).unwrap();
        let path = dir.path().join("sealed.bin");
        std::fs::write(&path, &sealed).unwrap();
        let out = dir.path().join("opened.bin");
        let run = py_open(&path, &private, "left", &out);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(std::fs::read(&out).unwrap(), image, "suite {suite:?}");
        let said: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(said["key_id"], "k-2026a");
        assert_eq!(said["aead"], name);
        assert_eq!(said["metadata"]["width"], 640);

        // Another hand: the Python side refuses too (the AAD binds it).
        let wrong = py_open(&path, &private, "right", &out);
        assert!(
            !wrong.status.success(),
            "pyhpke opened it for the other hand"
        );
    }
}

#[test]
fn the_core_opens_what_pyhpke_seals() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = envelope::derive_key_pair(b"pyhpke interop service key 2");
    let image: Vec<u8> = (0..150_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let meta = dir.path().join("meta.json");
    std::fs::write(&meta, METADATA).unwrap();
    let plain = dir.path().join("plain.bin");
    std::fs::write(&plain, &image).unwrap();
    for (aead, suite) in [
        ("chacha", AeadSuite::ChaCha20Poly1305),
        ("aes", AeadSuite::Aes256Gcm),
    ] {
        let out = dir.path().join(format!("sealed-{aead}.bin"));
        let run = Command::new(python())
            .arg(script())
            .arg("seal")
            .arg(hex(&public))
            .args(["k-2026a", "acct-7f3a", "enr-91bc", "left"])
            .arg(&meta)
            .arg(&plain)
            .arg(aead)
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let sealed = std::fs::read(&out).unwrap();
        let parsed = envelope::parse(&sealed).unwrap();
        assert_eq!(parsed.aead, suite);
        assert_eq!(parsed.metadata, METADATA);
        let opened = envelope::open(&sealed, &context(), &private).unwrap();
        assert_eq!(&opened[..], &image[..], "{aead}");
        let other = SealContext {
            enrollment_id: "enr-other",
            ..context()
        };
        assert_eq!(
            envelope::open(&sealed, &other, &private).unwrap_err(),
            envelope::EnvelopeError::OpenFailed
        );
    }
}

#[test]
fn pyhpke_opens_the_spoof_verdict_sealed_with_a_capture() {
    use palmkit_core::liveness::{LayerReport, Outcome, SpoofVerdict};
    use palmkit_core::protocol::CaptureSource;
    use palmkit_core::upload::Capture;
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = envelope::derive_key_pair(b"pyhpke interop service key 3");
    let verdict = SpoofVerdict::combine(vec![LayerReport::new(
        palmkit_core::liveness::Layer::Challenge,
        1.0,
        1.0,
        Outcome::Pass,
        "challenge met: close and open the hand".into(),
    )]);
    let photo = support::palm_photo();
    let capture = Capture::new(
        zeroize::Zeroizing::new(photo.clone()),
        CaptureSource::Camera,
    )
    .unwrap()
    .with_spoof(&verdict);
    let sealed = capture
        .seal(&context(), &public, AeadSuite::ChaCha20Poly1305)
        .unwrap()
        .to_vec();
    let path = dir.path().join("sealed.bin");
    std::fs::write(&path, &sealed).unwrap();
    let out = dir.path().join("opened.bin");
    let run = py_open(&path, &private, "left", &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), photo);
    let said: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(said["spoof"]["verdict"], "pass", "{said}");
    assert_eq!(
        said["spoof"]["layers"][0]["reason"],
        "challenge met: close and open the hand"
    );
    assert!(said["metadata"].get("spoof").is_none(), "{said}");
}
