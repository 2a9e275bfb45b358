//! Production attestation: the apps this service trusts, the policy it applies, and the
//! check of a platform statement when an upload is **created**.
//!
//! The app attests `challenge(nonce, SHA-256(sealed envelope))` and sends the format, the
//! nonce, the token and the envelope's hash (`upload_sha256`) in the creation's
//! `Upload-Metadata`. At creation the statement and the policy are verified over that
//! challenge, the nonce is spent and (App Attest) the key registered or its counter moved
//! on, all in the transaction that inserts the upload: when anything fails nothing is
//! stored, neither a capture row nor a part file. When the last byte is in, only the
//! binding is checked: the bytes received hash to `upload_sha256`.
//!
//! App Attest keys belong to one account (`app_attest_keys`). The first upload with a key
//! sends its attestation object and an assertion; later ones an assertion only, verified
//! with the registered key, its counter above the stored one and moved on by a
//! compare-and-set (two hands uploading at once: one wins, the other is refused cleanly
//! as `counter_replay` and retries with a new nonce). A key this service does not know
//! (or another account's) is `attestation_key_unknown`: the app then drops its key id and
//! attests a new key. Android sends the chain of a fresh key per upload.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use super::verify::{
    Facts, Policy, Reason, Refusal, StatusList, TrustAnchors, Verdict, android, apple, token,
};

/// What production attestation trusts.
#[derive(Clone, Debug)]
pub struct PlatformConfig {
    /// iOS apps, `TEAMID.bundle.id`.
    pub apple_app_ids: Vec<String>,
    /// Android apps, each its package name (several comma-separated for a shared-UID app:
    /// all must be attested).
    pub android_apps: Vec<String>,
    /// The device policy.
    pub policy: Policy,
    /// The roots (the platforms' built in, plus extra ones from config).
    pub anchors: TrustAnchors,
    /// Google's status list in a file the operator refreshes (re-read when it changes).
    pub status_list: Option<PathBuf>,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        Self {
            apple_app_ids: Vec::new(),
            android_apps: Vec::new(),
            policy: Policy::production(),
            anchors: TrustAnchors::builtin(),
            status_list: None,
        }
    }
}

/// What a capture's verdict rested on (kept with the upload and the capture).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// The token format.
    pub format: String,
    /// Apple: `development` / `production`; Android: the attestation security level.
    pub environment: Option<String>,
    /// Android: the key's own security level (KeyMint).
    pub security_level: Option<String>,
    /// Android: the verified boot state; `locked` beside it.
    pub boot_state: Option<String>,
    /// Android: the bootloader was locked.
    pub device_locked: Option<bool>,
    /// The key id.
    pub key_id: Option<String>,
    /// The root the chain ended at.
    pub root: Option<String>,
    /// The app it was verified for.
    pub app_id: Option<String>,
}

impl Basis {
    fn from_facts(format: &str, facts: &Facts) -> Self {
        Self {
            format: format.into(),
            environment: facts.environment.clone(),
            security_level: facts.key_security_level.clone(),
            boot_state: facts.boot_state.clone(),
            device_locked: facts.device_locked,
            key_id: facts.key_id.clone(),
            root: facts.root.clone(),
            app_id: facts.app_id.clone(),
        }
    }
}

/// Why a platform statement was refused at creation: the API's code and the word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// `attestation_key_unknown`: attest a new key.
    KeyUnknown(String),
    /// `attestation_invalid` with the verifier's or policy's word.
    Invalid(Refusal),
}

/// The production verifier: config plus the status list, re-read when its file changes.
pub struct Platforms {
    config: PlatformConfig,
    status: Mutex<StatusCache>,
}

#[derive(Default)]
struct StatusCache {
    modified: Option<std::time::SystemTime>,
    list: Option<Arc<StatusList>>,
}

/// An App Attest key as registered.
#[derive(Clone, Debug)]
pub struct RegisteredKey {
    /// The account it belongs to.
    pub account_id: String,
    /// The uncompressed P-256 point.
    pub public_key: Vec<u8>,
    /// The last counter seen.
    pub counter: u32,
    /// The environment it was attested in.
    pub environment: String,
}

/// What the creation's transaction must write for a verified statement.
#[derive(Clone, Debug)]
pub enum KeyWrite {
    /// Nothing (Android).
    None,
    /// Register a new App Attest key with its first counter.
    Register {
        /// The key id.
        key_id: String,
        /// The point.
        public_key: Vec<u8>,
        /// The assertion's counter.
        counter: u32,
        /// development / production.
        environment: String,
    },
    /// Move a registered key's counter from `from` to `to` (compare-and-set).
    Advance {
        /// The key id.
        key_id: String,
        /// The counter read before verifying.
        from: u32,
        /// The assertion's counter.
        to: u32,
    },
}

/// A verified statement: what to write, and what it rested on.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The key registry's write.
    pub write: KeyWrite,
    /// The basis, stored with the capture.
    pub basis: Basis,
}

fn invalid(verdict: Verdict) -> Refused {
    Refused::Invalid(
        verdict
            .refusal
            .unwrap_or_else(|| Refusal::new(Reason::Malformed, "no verdict")),
    )
}

impl Platforms {
    /// The verifier for `config`.
    pub fn new(config: PlatformConfig) -> Self {
        Self {
            config,
            status: Mutex::new(StatusCache::default()),
        }
    }

    /// Whether `format` is a platform format this service verifies.
    pub fn verifies(format: &str) -> bool {
        format == token::APPLE_FORMAT || format == token::ANDROID_FORMAT
    }

    /// The status list, re-read when its file changed. A list that cannot be read
    /// refuses every Android statement (fail closed: a revoked device must not pass
    /// because the operator's refresh broke the file).
    fn status_list(&self) -> Result<Option<Arc<StatusList>>, Refusal> {
        let Some(path) = &self.config.status_list else {
            return Ok(None);
        };
        let unreadable = |e: String| {
            tracing::error!(path = %path.display(), error = %e, "attestation status list unreadable");
            Refusal::new(
                Reason::Revoked,
                "the service cannot read its revocation status list",
            )
        };
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| unreadable(e.to_string()))?;
        let mut cache = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if cache.modified != Some(modified) || cache.list.is_none() {
            let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
            let list = StatusList::from_json(&bytes).map_err(unreadable)?;
            tracing::info!(path = %path.display(), serials = list.len(), "attestation status list loaded");
            cache.list = Some(Arc::new(list));
            cache.modified = Some(modified);
        }
        Ok(cache.list.clone())
    }

    /// Verifies a statement of `format` over `challenge` at `at` for `account_id`.
    /// `registered`: the App Attest key the token names, as read before verifying (the
    /// transaction's compare-and-set is on what was read).
    pub fn verify(
        &self,
        format: &str,
        token_bytes: &[u8],
        challenge: &[u8; 32],
        at: i64,
        account_id: &str,
        registered: Option<RegisteredKey>,
    ) -> Result<Verified, Refused> {
        match format {
            token::ANDROID_FORMAT => self.verify_android(token_bytes, challenge, at),
            token::APPLE_FORMAT => {
                self.verify_apple(token_bytes, challenge, at, account_id, registered)
            }
            other => Err(Refused::Invalid(Refusal::new(
                Reason::Malformed,
                format!("format {other:?} is not a platform format"),
            ))),
        }
    }

    fn verify_android(
        &self,
        token_bytes: &[u8],
        challenge: &[u8; 32],
        at: i64,
    ) -> Result<Verified, Refused> {
        let chain = token::decode_android(token_bytes).map_err(Refused::Invalid)?;
        let status = self.status_list().map_err(Refused::Invalid)?;
        let (_, verdict) = for_some_app(&self.config.android_apps, "--android-package", |app| {
            let packages: Vec<String> = app.split(',').map(|p| p.trim().to_string()).collect();
            let expected = android::Expected {
                packages: &packages,
                challenge,
                at,
            };
            android::verify_chain(&chain, &expected, &self.config.anchors, status.as_deref())
        })?;
        let verdict = self.admit(verdict)?;
        Ok(Verified {
            basis: Basis::from_facts(token::ANDROID_FORMAT, &verdict.facts),
            write: KeyWrite::None,
        })
    }

    /// `verdict` if it holds and the policy allows what it found.
    fn admit(&self, verdict: Verdict) -> Result<Verdict, Refused> {
        if !verdict.is_valid() {
            return Err(invalid(verdict));
        }
        self.config
            .policy
            .check(&verdict.facts)
            .map_err(Refused::Invalid)?;
        Ok(verdict)
    }

    fn verify_apple(
        &self,
        token_bytes: &[u8],
        challenge: &[u8; 32],
        at: i64,
        account_id: &str,
        registered: Option<RegisteredKey>,
    ) -> Result<Verified, Refused> {
        let statement = token::decode_apple(token_bytes).map_err(Refused::Invalid)?;
        let apps = &self.config.apple_app_ids;
        match statement.attestation {
            Some(object) => {
                if registered.is_some() {
                    // A key is attested once: a second attestation of a registered key is
                    // a replay of its first upload's statement.
                    return Err(Refused::Invalid(Refusal::new(
                        Reason::CounterReplay,
                        "this key is registered already: send an assertion only",
                    )));
                }
                let (app_id, verdict) = for_some_app(apps, "--apple-app-id", |app_id| {
                    apple::verify_attestation(&object, app_id, challenge, at, &self.config.anchors)
                })?;
                let verdict = self.admit(verdict)?;
                if verdict.facts.key_id.as_deref() != Some(statement.key_id.as_str()) {
                    return Err(Refused::Invalid(Refusal::new(
                        Reason::Malformed,
                        "key_id is not the attested key's id",
                    )));
                }
                let public_key = verdict.facts.public_key.clone().unwrap_or_default();
                let assertion = apple::verify_assertion(
                    &statement.assertion,
                    app_id,
                    challenge,
                    &public_key,
                    0,
                );
                if !assertion.is_valid() {
                    return Err(invalid(assertion));
                }
                Ok(Verified {
                    write: KeyWrite::Register {
                        key_id: statement.key_id.clone(),
                        public_key,
                        counter: assertion.facts.counter.unwrap_or(0),
                        environment: verdict.facts.environment.clone().unwrap_or_default(),
                    },
                    basis: Basis::from_facts(token::APPLE_FORMAT, &verdict.facts),
                })
            }
            None => {
                let Some(key) = registered.filter(|k| k.account_id == account_id) else {
                    return Err(Refused::KeyUnknown(
                        "this service does not know that App Attest key: attest a new key".into(),
                    ));
                };
                let (_, verdict) = for_some_app(apps, "--apple-app-id", |app_id| {
                    apple::verify_assertion(
                        &statement.assertion,
                        app_id,
                        challenge,
                        &key.public_key,
                        key.counter,
                    )
                })?;
                let verdict = self.admit(verdict)?;
                let mut basis = Basis::from_facts(token::APPLE_FORMAT, &verdict.facts);
                basis.key_id = Some(statement.key_id.clone());
                // An assertion inherits its key's environment, checked at attestation.
                basis.environment = Some(key.environment.clone());
                Ok(Verified {
                    write: KeyWrite::Advance {
                        key_id: statement.key_id,
                        from: key.counter,
                        to: verdict.facts.counter.unwrap_or(0),
                    },
                    basis,
                })
            }
        }
    }
}

/// Runs `verify` for each trusted app until a verdict is not `wrong_app_id` (an upload is
/// from one of them): that app and verdict. None trusted, or all `wrong_app_id`: refused.
fn for_some_app<'a>(
    apps: &'a [String],
    flag: &str,
    mut verify: impl FnMut(&'a str) -> Verdict,
) -> Result<(&'a str, Verdict), Refused> {
    let mut last = None;
    for app in apps {
        let verdict = verify(app);
        if verdict.reason() != Some(Reason::WrongAppId) {
            return Ok((app, verdict));
        }
        last = verdict.refusal;
    }
    Err(Refused::Invalid(last.unwrap_or_else(|| {
        Refusal::new(
            Reason::WrongAppId,
            format!("this service trusts no app of this platform (configure {flag})"),
        )
    })))
}

/// The registered key `key_id`, if any.
pub fn load_key(c: &rusqlite::Connection, key_id: &str) -> rusqlite::Result<Option<RegisteredKey>> {
    c.query_row(
        "SELECT account_id, public_key, counter, environment FROM app_attest_keys WHERE key_id = ?1",
        [key_id],
        |r| {
            Ok(RegisteredKey {
                account_id: r.get(0)?,
                public_key: r.get(1)?,
                counter: r.get::<_, i64>(2)?.clamp(0, i64::from(u32::MAX)) as u32,
                environment: r.get(3)?,
            })
        },
    )
    .optional()
}

/// Applies `write` inside the creation's transaction; `Err` when another upload with the
/// same key got there first (the compare-and-set lost) or the key was registered meanwhile.
pub fn apply_key_write(
    tx: &rusqlite::Connection,
    write: &KeyWrite,
    account_id: &str,
    at: i64,
) -> rusqlite::Result<Result<(), Refusal>> {
    Ok(match write {
        KeyWrite::None => Ok(()),
        KeyWrite::Register {
            key_id,
            public_key,
            counter,
            environment,
        } => {
            let inserted = tx.execute(
                "INSERT INTO app_attest_keys (key_id, account_id, public_key, counter, environment, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key_id) DO NOTHING",
                params![key_id, account_id, public_key, i64::from(*counter), environment, at],
            )?;
            if inserted == 1 {
                Ok(())
            } else {
                Err(Refusal::new(
                    Reason::CounterReplay,
                    "this key was registered meanwhile",
                ))
            }
        }
        KeyWrite::Advance { key_id, from, to } => {
            let moved = tx.execute(
                "UPDATE app_attest_keys SET counter = ?1
                 WHERE key_id = ?2 AND account_id = ?3 AND counter = ?4",
                params![i64::from(*to), key_id, account_id, i64::from(*from)],
            )?;
            if moved == 1 {
                Ok(())
            } else {
                Err(Refusal::new(
                    Reason::CounterReplay,
                    "another upload with this key was verified meanwhile: ask for a new nonce",
                ))
            }
        }
    })
}
