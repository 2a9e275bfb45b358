//! Palm captures leave the phone only here: sealed with HPKE (RFC 9180) to the service key
//! from [`crate::config::ServiceKey`] ([`envelope`]), then sent with a resumable tus 1.0
//! upload over the pinned client in [`crate::net`].

pub mod envelope;
