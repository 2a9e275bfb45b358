//! The tests that read every log line of the process: one subscriber at TRACE for all
//! crates, installed once ([`support::capture_logs`]) and shared, so each test checks its
//! secrets against every line the process logged, its neighbour's included. Not
//! modules of `integration`: there the subscriber would format every line of ~100 other
//! tests into memory.

#[path = "../support/mod.rs"]
mod support;

mod login_logs;
mod payment_secrecy;
