//! The core's integration tests, one module per subject (each module's own docs say what it
//! covers), in one test binary: each binary compiles the generic code of the whole stack
//! (tokio, hyper, axum, reqwest, the TLS servers of `support`) again, at the core's
//! opt-level 2, and links it, so 21 binaries cost a cold build ~6 minutes of CPU that one
//! binary does in about one (issue 19's set-up time). The tests
//! run side by side in one process, so none of them may change process-wide state: those
//! that capture the process's log (a process-wide subscriber at TRACE) are in
//! `log_secrecy`.
//!
//! The modules that need a feature are compiled only with it: `dev` (captures from files
//! into the session), `vision` (the hand models, the default), `eval` (simulated attacks).

mod support;

mod attestation;
mod enrollment;
mod enrollment_lifecycle;
mod keyutils_store;
mod localstripe;
mod login;
mod oidc_provider;
mod payment;
mod pinning;
mod platform_attestation;
mod pyhpke;
mod tus_hostile;
mod tus_server;
mod upload;

#[cfg(feature = "dev")]
mod session;
#[cfg(feature = "dev")]
mod store_match;

#[cfg(feature = "vision")]
mod quality_calibration;
#[cfg(feature = "vision")]
mod session_capture;
#[cfg(feature = "vision")]
mod vision;

#[cfg(all(feature = "vision", feature = "eval"))]
mod liveness_challenge;
#[cfg(all(feature = "vision", feature = "eval"))]
mod liveness_motion;
#[cfg(all(feature = "vision", feature = "eval"))]
mod spoof_layers;

/// `autotests = false` (core/Cargo.toml): a new file in `tests/` is compiled only once a
/// test binary's root declares it as a module, so a forgotten one would never run. This
/// fails for any such file.
#[test]
fn every_test_file_is_a_module_of_a_test_binary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let roots = ["integration.rs", "log_secrecy.rs"];
    let declared: String = roots
        .iter()
        .map(|root| std::fs::read_to_string(dir.join(root)).unwrap())
        .collect();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if roots.contains(&name.as_str()) {
            continue;
        }
        assert!(
            declared.contains(&format!("mod {module};")),
            "tests/{name} is not a module of any test binary: declare it in tests/integration.rs"
        );
        checked += 1;
    }
    assert!(checked > 0, "no test file found in {}", dir.display());
}
