//! Login for native apps: OAuth 2.0 authorization code with PKCE S256 (RFC 8252) through
//! the system browser, `state` and `iss` checks, token refresh and revocation, and token
//! storage through the keyring ecosystem (platform keychain on phones).
//!
//! Not built yet: issue 4 ("Login for native apps") fills this module.
