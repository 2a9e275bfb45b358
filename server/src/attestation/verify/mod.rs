//! Platform attestation verified offline: is this a genuine, unexpired platform statement
//! over this challenge for this app (the statement), and does the service trust the
//! device it describes (the [`policy`])?
//!
//! - [`apple`]: App Attest attestation objects and assertions.
//! - [`android`]: Key Attestation certificate chains and their KeyDescription
//!   ([`key_description`]), the operator's status list ([`revocation`]).
//! - [`roots`]: the platforms' roots, built in, and extra ones from config.
//! - [`token`]: the apps' wire formats.
//!
//! Nothing here touches the network: Apple's and Google's roots are public keys, and a
//! statement is verified against them alone. What does need the platforms' online
//! services — App Attest fraud-metric receipts, Play Integrity verdicts — is not done.
//! Every refusal is one word ([`Reason`]).

pub mod android;
pub mod apple;
pub mod certs;
pub mod key_description;
pub mod policy;
pub mod revocation;
pub mod roots;
pub mod test_chains;
pub mod token;
mod verdict;

pub use policy::Policy;
pub use revocation::StatusList;
pub use roots::TrustAnchors;
pub use verdict::{Facts, Kind, Reason, Refusal, Verdict};

/// Unix seconds of an RFC 3339 time.
pub fn parse_time(text: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))
}

/// The current unix time.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs one statement of the shared test data's kinds: the verifier under the CLI and the
/// manifest test.
pub mod run;

#[cfg(test)]
mod tests;
