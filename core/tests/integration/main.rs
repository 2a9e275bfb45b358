//! The core's integration tests, one module per subject (each module's own docs say what it
//! covers), in one test binary: each binary compiles the generic code of the whole stack
//! (tokio, hyper, axum, reqwest, the TLS servers of `support`) again, at the core's
//! opt-level 2, and links it, so 21 binaries cost a cold build ~6 minutes of CPU that one
//! binary does in about one (issue 19's set-up time). The tests
//! run side by side in one process, so none of them may change process-wide state: those
//! that capture the process's log (a process-wide subscriber at TRACE) are in
//! `log_secrecy`.
//!
//! Cargo finds this binary as `tests/integration/main.rs` and compiles only what it
//! declares: a new file in this folder needs its `mod` line below. (A file put directly in
//! `tests/` becomes a test binary of its own: it runs, at the cost of another link.)
//!
//! The modules that need a feature are compiled only with it: `dev` (captures from files
//! into the session), `vision` (the hand models, the default), `eval` (simulated attacks).

#[path = "../support/mod.rs"]
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
