//! Authorization codes, grants and tokens in SQLite.
//!
//! A *grant* is one login of one account by one client; every access and refresh token
//! belongs to one, so a whole family can be revoked at once. Only SHA-256 hashes of codes
//! and tokens are stored: a copy of the database gives no usable token.
//!
//! Reuse is treated as theft (RFC 6749 §4.1.2, OAuth 2.0 Security BCP §4.14): a second use
//! of a code, or of a refresh token that was already rotated, revokes the whole grant.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest, Sha256};

use crate::db::DbError;

/// Lifetimes of what this module issues, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// Authorization code.
    pub code: i64,
    /// Access token.
    pub access: i64,
    /// Refresh token.
    pub refresh: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code: 60,
            access: 15 * 60,
            refresh: 30 * 24 * 3600,
        }
    }
}

/// What an authorization code was issued for.
pub struct CodeRequest<'a> {
    /// The account that logged in.
    pub account_id: &'a str,
    /// The client.
    pub client_id: &'a str,
    /// The redirect URI the code was sent to.
    pub redirect_uri: &'a str,
    /// PKCE S256 challenge.
    pub code_challenge: &'a str,
    /// Granted scope.
    pub scope: &'a str,
}

/// A fresh access + refresh token pair.
pub struct Issued {
    /// Access token (bearer).
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
    /// Access token lifetime, seconds.
    pub expires_in: i64,
    /// Granted scope.
    pub scope: String,
}

/// Why a code or refresh token was refused; all map to `invalid_grant`.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, expired, for another client or redirect URI, or PKCE mismatch.
    Invalid(&'static str),
    /// Used before: the grant has been revoked.
    Reused,
}

/// A stored authorization code.
struct CodeRow {
    account: String,
    client: String,
    redirect: String,
    challenge: String,
    scope: String,
    expires: i64,
    used: Option<i64>,
    grant: Option<String>,
}

/// A stored refresh token with its grant.
struct RefreshRow {
    grant: String,
    expires: i64,
    used: Option<i64>,
    client: String,
    scope: String,
    revoked: Option<i64>,
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A random 256-bit secret, base64url.
fn secret() -> Result<String, DbError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DbError::Task(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Stores a new authorization code and returns it.
pub fn issue_code(
    c: &Connection,
    req: &CodeRequest<'_>,
    life: &Lifetimes,
) -> Result<String, DbError> {
    let code = secret()?;
    c.execute(
        "INSERT INTO auth_codes (hash, account_id, client_id, redirect_uri, code_challenge, scope, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            hash(&code),
            req.account_id,
            req.client_id,
            req.redirect_uri,
            req.code_challenge,
            req.scope,
            now() + life.code
        ],
    )?;
    Ok(code)
}

/// Redeems a code with its PKCE verifier: one use only.
pub fn redeem_code(
    c: &Connection,
    code: &str,
    client_id: &str,
    redirect_uri: &str,
    verifier: &str,
    life: &Lifetimes,
) -> Result<Result<Issued, Refusal>, DbError> {
    let row = c
        .query_row(
            "SELECT account_id, client_id, redirect_uri, code_challenge, scope, expires_at, used_at, grant_id
             FROM auth_codes WHERE hash = ?1",
            [hash(code)],
            |r| {
                Ok(CodeRow {
                    account: r.get(0)?,
                    client: r.get(1)?,
                    redirect: r.get(2)?,
                    challenge: r.get(3)?,
                    scope: r.get(4)?,
                    expires: r.get(5)?,
                    used: r.get(6)?,
                    grant: r.get(7)?,
                })
            },
        )
        .optional()?;
    let Some(CodeRow {
        account,
        client,
        redirect,
        challenge,
        scope,
        expires,
        used,
        grant,
    }) = row
    else {
        return Ok(Err(Refusal::Invalid("unknown authorization code")));
    };
    if used.is_some() {
        if let Some(grant) = grant {
            revoke_grant(c, &grant)?;
        }
        return Ok(Err(Refusal::Reused));
    }
    if expires < now() {
        return Ok(Err(Refusal::Invalid("authorization code expired")));
    }
    if client != client_id || redirect != redirect_uri {
        return Ok(Err(Refusal::Invalid(
            "code was issued to another client or redirect URI",
        )));
    }
    // PKCE S256 (RFC 7636 §4.6): BASE64URL(SHA256(verifier)) == challenge.
    let valid_verifier = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !valid_verifier || URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return Ok(Err(Refusal::Invalid(
            "PKCE verifier does not match the challenge",
        )));
    }
    let grant = crate::ids::new_id("grant")?;
    c.execute(
        "INSERT INTO grants (id, account_id, client_id, scope, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![grant, account, client, scope, now()],
    )?;
    c.execute(
        "UPDATE auth_codes SET used_at = ?1, grant_id = ?2 WHERE hash = ?3",
        params![now(), grant, hash(code)],
    )?;
    issue_tokens(c, &grant, &scope, life).map(Ok)
}

fn issue_tokens(
    c: &Connection,
    grant: &str,
    scope: &str,
    life: &Lifetimes,
) -> Result<Issued, DbError> {
    let access = secret()?;
    let refresh = secret()?;
    for (token, kind, ttl) in [
        (&access, "access", life.access),
        (&refresh, "refresh", life.refresh),
    ] {
        c.execute(
            "INSERT INTO tokens (hash, grant_id, kind, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash(token), grant, kind, now() + ttl],
        )?;
    }
    Ok(Issued {
        access_token: access,
        refresh_token: refresh,
        expires_in: life.access,
        scope: scope.to_string(),
    })
}

/// Rotates a refresh token: the old one is spent, a new pair is issued in the same grant.
pub fn refresh(
    c: &Connection,
    token: &str,
    client_id: &str,
    life: &Lifetimes,
) -> Result<Result<Issued, Refusal>, DbError> {
    let row = c
        .query_row(
            "SELECT t.grant_id, t.expires_at, t.used_at, g.client_id, g.scope, g.revoked_at
             FROM tokens t JOIN grants g ON g.id = t.grant_id
             WHERE t.hash = ?1 AND t.kind = 'refresh'",
            [hash(token)],
            |r| {
                Ok(RefreshRow {
                    grant: r.get(0)?,
                    expires: r.get(1)?,
                    used: r.get(2)?,
                    client: r.get(3)?,
                    scope: r.get(4)?,
                    revoked: r.get(5)?,
                })
            },
        )
        .optional()?;
    let Some(RefreshRow {
        grant,
        expires,
        used,
        client,
        scope,
        revoked,
    }) = row
    else {
        return Ok(Err(Refusal::Invalid("unknown refresh token")));
    };
    if revoked.is_some() {
        return Ok(Err(Refusal::Invalid("refresh token revoked")));
    }
    if used.is_some() {
        revoke_grant(c, &grant)?;
        return Ok(Err(Refusal::Reused));
    }
    if expires < now() {
        return Ok(Err(Refusal::Invalid("refresh token expired")));
    }
    if client != client_id {
        return Ok(Err(Refusal::Invalid(
            "refresh token belongs to another client",
        )));
    }
    c.execute(
        "UPDATE tokens SET used_at = ?1 WHERE hash = ?2",
        params![now(), hash(token)],
    )?;
    issue_tokens(c, &grant, &scope, life).map(Ok)
}

/// The account an access token speaks for, if it is valid now.
pub fn account_for_access_token(c: &Connection, token: &str) -> Result<Option<String>, DbError> {
    Ok(c.query_row(
        "SELECT g.account_id FROM tokens t JOIN grants g ON g.id = t.grant_id
         WHERE t.hash = ?1 AND t.kind = 'access' AND t.expires_at >= ?2 AND g.revoked_at IS NULL",
        params![hash(token), now()],
        |r| r.get(0),
    )
    .optional()?)
}

/// Revokes the grant a token belongs to (RFC 7009: revoking a refresh token revokes its
/// access tokens too). Unknown tokens are ignored, as the RFC asks.
pub fn revoke_token(c: &Connection, token: &str) -> Result<(), DbError> {
    let grant: Option<String> = c
        .query_row(
            "SELECT grant_id FROM tokens WHERE hash = ?1",
            [hash(token)],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(grant) = grant {
        revoke_grant(c, &grant)?;
    }
    Ok(())
}

fn revoke_grant(c: &Connection, grant: &str) -> Result<(), DbError> {
    c.execute(
        "UPDATE grants SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![now(), grant],
    )?;
    tracing::info!(grant, "grant revoked");
    Ok(())
}
