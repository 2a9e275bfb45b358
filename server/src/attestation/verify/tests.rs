//! The shared attestation samples (`../shared/testdata/attestation`): every MANIFEST row
//! gives its expected verdict and reason, and what the verifier reports agrees with the
//! manifest's notes and the upstream KeyDescription JSON.

use std::path::PathBuf;

use super::run::{Request, verify};
use super::*;

pub(crate) fn attestation_dir() -> PathBuf {
    let base = std::env::var_os("PALMKIT_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata"));
    let dir = base.join("attestation");
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "no attestation test data at {}: set PALMKIT_TESTDATA to the shared testdata folder",
        dir.display()
    );
    dir
}

/// One MANIFEST row.
pub(crate) struct Row {
    pub file: String,
    pub kind: Kind,
    pub app_id: Vec<String>,
    pub challenge: Vec<u8>,
    pub verify_at: Option<i64>,
    pub environment: String,
    pub valid: bool,
    pub reason: String,
    pub note: String,
}

impl Row {
    /// `name=value` from the note (`key=`, `counter=`, `previous=`, `key_id=`).
    pub fn note_value(&self, name: &str) -> Option<String> {
        self.note
            .split([';', ' '])
            .find_map(|part| part.trim().strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    }
}

pub(crate) fn manifest() -> Vec<Row> {
    let text = std::fs::read_to_string(attestation_dir().join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(
        header[..9],
        [
            "file",
            "kind",
            "source",
            "app_id",
            "challenge_hex",
            "verify_at",
            "environment",
            "expected",
            "reason"
        ]
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                file: f[0].into(),
                kind: match f[1] {
                    "apple-attestation" => Kind::AppleAttestation,
                    "apple-assertion" => Kind::AppleAssertion,
                    "android-chain" => Kind::AndroidChain,
                    other => panic!("unknown kind {other}"),
                },
                app_id: f[3].split(',').map(str::to_string).collect(),
                challenge: hex::decode(f[4]).unwrap(),
                verify_at: (!f[5].is_empty()).then(|| parse_time(f[5]).unwrap()),
                environment: f[6].into(),
                valid: f[7] == "valid",
                reason: f[8].into(),
                note: f.get(9).copied().unwrap_or("").into(),
            }
        })
        .collect()
}

fn run_row(row: &Row, anchors: &TrustAnchors) -> Verdict {
    let dir = attestation_dir();
    let file = std::fs::read(dir.join(&row.file)).unwrap();
    let key = row
        .note_value("key")
        .map(|k| std::fs::read(dir.join(k)).unwrap());
    let previous: u32 = row
        .note_value("previous")
        .map(|p| p.parse().unwrap())
        .unwrap_or(0);
    verify(&Request {
        kind: row.kind,
        file: &file,
        app_id: &row.app_id,
        challenge: &row.challenge,
        at: row.verify_at.unwrap_or_else(now),
        anchors,
        key: key.as_deref(),
        previous_counter: previous,
        status: None,
        policy: &Policy::statement_only(),
    })
}

#[test]
fn every_manifest_row_gives_its_expected_verdict_and_reason() {
    let anchors = TrustAnchors::builtin();
    let rows = manifest();
    assert_eq!(rows.len(), 53, "the README counts 53 rows");
    let mut wrong = Vec::new();
    for row in &rows {
        let verdict = run_row(row, &anchors);
        let got = verdict.reason().map(Reason::as_str).unwrap_or("");
        if verdict.is_valid() != row.valid || got != row.reason {
            wrong.push(format!(
                "{} ({:?}): expected {} {:?}, got {:?}",
                row.file,
                row.kind,
                if row.valid { "valid" } else { "invalid" },
                row.reason,
                verdict.refusal
            ));
            continue;
        }
        if row.valid && row.kind != Kind::AppleAssertion {
            assert_eq!(
                verdict.facts.environment.as_deref(),
                Some(row.environment.as_str()),
                "{}",
                row.file
            );
        }
        if let (Kind::AppleAttestation, true, Some(key_id)) =
            (row.kind, row.valid, row.note_value("key_id"))
        {
            assert_eq!(
                verdict.facts.key_id.as_deref(),
                Some(key_id.as_str()),
                "{}",
                row.file
            );
            assert_eq!(verdict.facts.counter, Some(0));
        }
        if let (Kind::AppleAssertion, Some(counter)) = (row.kind, row.note_value("counter")) {
            if row.reason != "bad_signature" {
                assert_eq!(
                    verdict.facts.counter,
                    Some(counter.parse().unwrap()),
                    "{}",
                    row.file
                );
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn android_facts_agree_with_the_upstream_key_descriptions() {
    let anchors = TrustAnchors::builtin();
    let dir = attestation_dir();
    let mut compared = 0;
    for row in manifest()
        .iter()
        .filter(|r| r.kind == Kind::AndroidChain && r.valid)
    {
        let Some(json) = row.note_value("expected_json") else {
            continue;
        };
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(json)).unwrap()).unwrap();
        let verdict = run_row(row, &anchors);
        let level = match expected["attestationSecurityLevel"].as_str().unwrap() {
            "TRUSTED_ENVIRONMENT" => "TrustedEnvironment",
            "STRONG_BOX" => "StrongBox",
            other => other,
        };
        assert_eq!(
            verdict.facts.environment.as_deref(),
            Some(level),
            "{}",
            row.file
        );
        let app = &expected["softwareEnforced"]["attestationApplicationId"];
        let packages: Vec<String> = app["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            verdict.facts.packages.as_ref(),
            Some(&packages),
            "{}",
            row.file
        );
        use base64::Engine as _;
        let digests: Vec<String> = app["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                hex::encode(
                    base64::engine::general_purpose::STANDARD
                        .decode(s.as_str().unwrap())
                        .unwrap(),
                )
            })
            .collect();
        assert_eq!(
            verdict.facts.signing_digests.as_ref(),
            Some(&digests),
            "{}",
            row.file
        );
        let rot = &expected["hardwareEnforced"]["rootOfTrust"];
        if let Some(locked) = rot["deviceLocked"].as_bool() {
            assert_eq!(verdict.facts.device_locked, Some(locked), "{}", row.file);
            let verified = rot["verifiedBootState"].as_str() == Some("VERIFIED");
            assert_eq!(verdict.facts.verified_boot, Some(verified), "{}", row.file);
        }
        compared += 1;
    }
    assert!(compared >= 10, "compared {compared} chains with their JSON");
}

#[test]
fn the_built_in_roots_are_the_shared_roots() {
    let dir = attestation_dir().join("roots");
    let shared =
        certs::from_pem(&std::fs::read(dir.join("apple-app-attestation-root-ca.pem")).unwrap())
            .unwrap();
    let builtin = TrustAnchors::builtin();
    assert_eq!(builtin.apple().len(), 1);
    assert_eq!(builtin.apple()[0].der, shared[0]);
    for (file, expected) in [
        (
            "google-hardware-attestation-root-rsa.pem",
            "google-hardware-attestation-rsa",
        ),
        (
            "google-hardware-attestation-root-rsa-2016.pem",
            "google-hardware-attestation-rsa",
        ),
        (
            "google-hardware-attestation-root-rsa-2019.pem",
            "google-hardware-attestation-rsa",
        ),
        (
            "google-hardware-attestation-root-rsa-2021.pem",
            "google-hardware-attestation-rsa",
        ),
        (
            "google-key-attestation-ca1-ec.pem",
            "google-key-attestation-ca1-ec",
        ),
    ] {
        let der = &certs::from_pem(&std::fs::read(dir.join(file)).unwrap()).unwrap()[0];
        let cert = certs::parse(der).unwrap();
        assert_eq!(
            builtin.android_root(cert.public_key().raw),
            roots::RootKey::Trusted(expected.into()),
            "{file}"
        );
    }
    let software =
        certs::from_pem(&std::fs::read(dir.join("aosp-software-attestation-roots.pem")).unwrap())
            .unwrap();
    assert_eq!(software.len(), 2);
    for der in &software {
        let cert = certs::parse(der).unwrap();
        assert_eq!(
            builtin.android_root(cert.public_key().raw),
            roots::RootKey::Software
        );
    }
    // An operator's directory holding the software roots does not make them trusted.
    let pem = std::fs::read(dir.join("aosp-software-attestation-roots.pem")).unwrap();
    let only = TrustAnchors::only(&[pem]).unwrap();
    assert!(only.apple().is_empty());
}
