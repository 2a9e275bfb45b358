//! Payment: the provider stand-in ([`provider`], the only part that sees card numbers) and
//! the enrollment service's wallet and palm-profile link ([`wallet`]).

pub mod provider;
pub mod wallet;
