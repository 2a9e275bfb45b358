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

// Synthetic statements for what the shared (iOS 14-era, pre-2026) samples do not show:
// newer App Attest leaves and authData, chains ending at an EC root, CA:FALSE
// intermediates, unparsable unrelated extensions, the factory-expiry rule both ways, a
// revoked serial, and the policy over valid statements.

use super::test_chains::{AndroidKey, AppleDevice, AppleOptions, TestRoot};

const APP: &str = "ABCDE12345.com.palmkit.app";
const PACKAGE: &str = "com.palmkit.app";

fn test_anchors(root: &TestRoot) -> TrustAnchors {
    TrustAnchors::only(&[root.pem().into_bytes()]).unwrap()
}

fn android(chain: &[Vec<u8>], anchors: &TrustAnchors, status: Option<&StatusList>) -> Verdict {
    let packages = vec![PACKAGE.to_string()];
    android::verify_chain(
        chain,
        &android::Expected {
            packages: &packages,
            challenge: b"challenge-32-bytes-challenge-32b",
            at: now(),
        },
        anchors,
        status,
    )
}

fn key() -> AndroidKey {
    AndroidKey::new(&[PACKAGE], b"challenge-32-bytes-challenge-32b")
}

#[test]
fn newer_app_attest_statements_verify() {
    let root = TestRoot::new("PalmKit test Apple root").unwrap();
    let anchors = test_anchors(&root);
    let cdh = [9u8; 32];
    for options in [
        AppleOptions::default(),
        AppleOptions {
            newer_device_extensions: true,
            trailing_auth_bytes: 17,
            ..AppleOptions::default()
        },
        AppleOptions {
            extension_map: true,
            development: true,
            ..AppleOptions::default()
        },
    ] {
        let development = options.development;
        let mut device = AppleDevice::new(options).unwrap();
        let object = device.attest(&root, APP, &cdh).unwrap();
        let verdict = apple::verify_attestation(&object, APP, &cdh, now(), &anchors);
        assert!(verdict.is_valid(), "{:?}", verdict.refusal);
        assert_eq!(verdict.facts.key_id, Some(device.key_id()));
        assert_eq!(
            verdict.facts.environment.as_deref(),
            Some(if development {
                "development"
            } else {
                "production"
            })
        );
        let point = verdict.facts.public_key.clone().unwrap();
        let assertion = device.assert(APP, &cdh).unwrap();
        let ok = apple::verify_assertion(&assertion, APP, &cdh, &point, 0);
        assert!(ok.is_valid(), "{:?}", ok.refusal);
        assert_eq!(
            apple::verify_assertion(&assertion, APP, &cdh, &point, 1).reason(),
            Some(Reason::CounterReplay)
        );
        assert_eq!(
            apple::verify_assertion(&assertion, APP, &[8u8; 32], &point, 0).reason(),
            Some(Reason::BadSignature)
        );
        // The built-in roots do not know the test root.
        assert_eq!(
            apple::verify_attestation(&object, APP, &cdh, now(), &TrustAnchors::builtin()).reason(),
            Some(Reason::UnknownRoot)
        );
        assert_eq!(
            apple::verify_attestation(&object, APP, &[1u8; 32], now(), &anchors).reason(),
            Some(Reason::WrongChallenge)
        );
    }
    // Expired and not-yet-valid leaves.
    let expired = AppleDevice::new(AppleOptions {
        leaf_validity: (now() - 10 * 86_400, now() - 7 * 86_400),
        ..AppleOptions::default()
    })
    .unwrap()
    .attest(&root, APP, &cdh)
    .unwrap();
    assert_eq!(
        apple::verify_attestation(&expired, APP, &cdh, now(), &anchors).reason(),
        Some(Reason::Expired)
    );
}

#[test]
fn android_chains_to_an_ec_root_with_what_newer_devices_send() {
    let root = TestRoot::new("Key Attestation CA1 (PalmKit test)").unwrap();
    let anchors = test_anchors(&root);
    for k in [
        key(),
        AndroidKey {
            intermediates_not_ca: true,
            filler_bytes: 3000,
            intermediates: 3,
            ..key()
        },
        AndroidKey {
            factory: true,
            intermediates: 1,
            ..key()
        },
    ] {
        let chain = k.chain(&root).unwrap();
        let verdict = android(&chain, &anchors, None);
        assert!(verdict.is_valid(), "{:?}", verdict.refusal);
        assert_eq!(
            verdict.facts.environment.as_deref(),
            Some("TrustedEnvironment")
        );
        assert_eq!(verdict.facts.verified_boot, Some(true));
        assert_eq!(verdict.facts.device_locked, Some(true));
        assert_eq!(verdict.facts.packages, Some(vec![PACKAGE.to_string()]));
        assert_eq!(
            android(&chain, &TrustAnchors::builtin(), None).reason(),
            Some(Reason::UnknownRoot)
        );
    }
}

#[test]
fn the_factory_expiry_rule_holds_both_ways() {
    let root = TestRoot::new("PalmKit test Google root").unwrap();
    let anchors = test_anchors(&root);
    let old = (now() - 20 * 86_400, now() - 10 * 86_400);
    let factory = AndroidKey {
        factory: true,
        intermediate_validity: old,
        ..key()
    };
    let verdict = android(&factory.chain(&root).unwrap(), &anchors, None);
    assert!(
        verdict.is_valid(),
        "factory chains ignore expiry: {:?}",
        verdict.refusal
    );
    let rkp = AndroidKey {
        intermediate_validity: old,
        ..key()
    };
    assert_eq!(
        android(&rkp.chain(&root).unwrap(), &anchors, None).reason(),
        Some(Reason::Expired)
    );
    let future = AndroidKey {
        factory: true,
        intermediate_validity: (now() + 86_400, now() + 2 * 86_400),
        ..key()
    };
    assert_eq!(
        android(&future.chain(&root).unwrap(), &anchors, None).reason(),
        Some(Reason::NotYetValid)
    );
}

#[test]
fn a_revoked_serial_anywhere_in_the_chain_refuses_it() {
    let root = TestRoot::new("PalmKit test Google root").unwrap();
    let anchors = test_anchors(&root);
    let chain = key().chain(&root).unwrap();
    let serial = certs::serial_hex(&certs::parse(&chain[1]).unwrap());
    let list = StatusList::from_json(
        format!(
            r#"{{"entries":{{"00{}":{{"status":"REVOKED","reason":"KEY_COMPROMISE"}}}}}}"#,
            serial.to_uppercase()
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        android(&chain, &anchors, Some(&list)).reason(),
        Some(Reason::Revoked)
    );
    assert!(android(&chain, &anchors, Some(&StatusList::default())).is_valid());
}

#[test]
fn the_policy_refuses_valid_statements_from_insecure_devices() {
    let root = TestRoot::new("PalmKit test Google root").unwrap();
    let anchors = test_anchors(&root);
    let production = Policy::production();
    let check = |k: AndroidKey, policy: &Policy| {
        let verdict = android(&k.chain(&root).unwrap(), &anchors, None);
        assert!(verdict.is_valid(), "{:?}", verdict.refusal);
        policy.check(&verdict.facts).err().map(|r| r.reason)
    };
    assert_eq!(check(key(), &production), None);
    assert_eq!(
        check(
            AndroidKey {
                security_level: 0,
                ..key()
            },
            &production
        ),
        Some(Reason::InsecureDevice)
    );
    assert_eq!(
        check(
            AndroidKey {
                device_locked: false,
                ..key()
            },
            &production
        ),
        Some(Reason::InsecureDevice)
    );
    assert_eq!(
        check(
            AndroidKey {
                boot_state: 2,
                ..key()
            },
            &production
        ),
        Some(Reason::InsecureDevice)
    );
    assert_eq!(
        check(
            AndroidKey {
                boot_state: 2,
                ..key()
            },
            &Policy::statement_only()
        ),
        None
    );
    let signed = Policy {
        signing_digests: vec!["00".repeat(32)],
        ..Policy::statement_only()
    };
    assert_eq!(check(key(), &signed), Some(Reason::WrongAppId));
    let ours = Policy {
        signing_digests: key().signing_digests.iter().map(hex::encode).collect(),
        ..Policy::statement_only()
    };
    assert_eq!(check(key(), &ours), None);
    // App Attest's development environment is not production's.
    let apple_root = TestRoot::new("PalmKit test Apple root").unwrap();
    let device = AppleDevice::new(AppleOptions {
        development: true,
        ..AppleOptions::default()
    })
    .unwrap();
    let object = device.attest(&apple_root, APP, &[1; 32]).unwrap();
    let verdict =
        apple::verify_attestation(&object, APP, &[1; 32], now(), &test_anchors(&apple_root));
    assert_eq!(
        production.check(&verdict.facts).err().map(|r| r.reason),
        Some(Reason::WrongEnvironment)
    );
}

#[test]
fn hostile_bytes_are_malformed_never_a_panic() {
    let anchors = TrustAnchors::builtin();
    let root = TestRoot::new("PalmKit test root").unwrap();
    let chain = key().chain(&root).unwrap();
    let device = AppleDevice::new(AppleOptions::default()).unwrap();
    let object = device.attest(&root, APP, &[1; 32]).unwrap();
    // Every truncation of a real-shaped statement.
    for cut in (0..object.len()).step_by(37) {
        let v = apple::verify_attestation(&object[..cut], APP, &[1; 32], now(), &anchors);
        assert!(!v.is_valid());
    }
    for cut in (0..chain[0].len()).step_by(29) {
        let mut c = chain.clone();
        c[0].truncate(cut);
        assert_eq!(
            android(&c, &anchors, None).reason(),
            Some(Reason::Malformed)
        );
    }
    assert_eq!(
        android(&[], &anchors, None).reason(),
        Some(Reason::Malformed)
    );
    assert!(key_description::parse(&[0x30, 0x03, 0x02, 0x01]).is_err());
    assert!(!apple::verify_assertion(b"\xa0", APP, &[0; 32], &[4; 65], 0).is_valid());
}
