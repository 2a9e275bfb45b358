//! Platform statements under a **test root**, for tests and QA: Android Key Attestation
//! chains and App Attest objects and assertions built the way devices build them, with the
//! knobs the verifier's rules turn on (security level, boot state, factory or remotely
//! provisioned, validity windows, extra extensions and EKUs, trailing authData bytes).
//!
//! Nothing here is trusted by a service unless its operator adds the test root
//! ([`TestRoot::pem`]) as an extra root, which `palmkit serve` logs loudly. Keys are made
//! fresh (rcgen on ring); EC only, as rcgen cannot generate RSA keys.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair, SigningKey as _,
};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

/// A minimal DER writer for the test statements' extensions.
pub mod der {
    /// A TLV with a one-byte `tag`.
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(length(content.len()));
        out.extend_from_slice(content);
        out
    }

    /// A context-specific constructed (EXPLICIT) tag `[n]`, any n.
    pub fn explicit(n: u32, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if n < 31 {
            out.push(0xa0 | n as u8);
        } else {
            out.push(0xbf);
            let mut digits = Vec::new();
            let mut v = n;
            loop {
                digits.push((v & 0x7f) as u8);
                v >>= 7;
                if v == 0 {
                    break;
                }
            }
            for (i, d) in digits.iter().rev().enumerate() {
                out.push(if i + 1 < digits.len() { d | 0x80 } else { *d });
            }
        }
        out.extend(length(content.len()));
        out.extend_from_slice(content);
        out
    }

    fn length(len: usize) -> Vec<u8> {
        if len < 0x80 {
            return vec![len as u8];
        }
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }

    /// SEQUENCE of the concatenated `parts`.
    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    /// SET of the concatenated `parts`.
    pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x31, &parts.concat())
    }

    /// A small non-negative INTEGER.
    pub fn int(v: u64) -> Vec<u8> {
        int_tagged(0x02, v)
    }

    /// A small ENUMERATED.
    pub fn enumerated(v: u64) -> Vec<u8> {
        int_tagged(0x0a, v)
    }

    fn int_tagged(tag: u8, v: u64) -> Vec<u8> {
        let mut bytes: Vec<u8> = v
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        if bytes.first().is_none_or(|b| b & 0x80 != 0) {
            bytes.insert(0, 0);
        }
        tlv(tag, &bytes)
    }

    /// OCTET STRING.
    pub fn octets(v: &[u8]) -> Vec<u8> {
        tlv(0x04, v)
    }

    /// BOOLEAN.
    pub fn boolean(v: bool) -> Vec<u8> {
        tlv(0x01, &[if v { 0xff } else { 0 }])
    }
}

/// Why a test statement could not be built (rcgen).
pub type BuildError = rcgen::Error;

/// A self-signed test root and its key.
pub struct TestRoot {
    key: KeyPair,
    params: CertificateParams,
    der: Vec<u8>,
}

fn ts(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn ca_params(cn: &str, not_before: i64, not_after: i64) -> Result<CertificateParams, BuildError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = ts(not_before);
    params.not_after = ts(not_after);
    Ok(params)
}

impl TestRoot {
    /// A root named `cn` (P-384, as Apple's and Google's EC roots are), valid 2000-2100.
    /// (Dates fixed: [`load`](Self::load) rebuilds the same issuer from name and key.)
    pub fn new(cn: &str) -> Result<Self, BuildError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)?;
        let params = ca_params(cn, 946_684_800, 4_102_444_800)?;
        let der = params.self_signed(&key)?.der().to_vec();
        Ok(Self { key, params, der })
    }

    /// The root certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The root certificate, PEM (what an operator adds as an extra root).
    pub fn pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone()))
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// Writes the root into `dir` for other processes of a test run (QA tools, the
    /// bindings' tests): `root.pem`, `root.key.pem` (0600), `root.cn`.
    pub fn save(&self, dir: &std::path::Path, cn: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("root.pem"), self.pem())?;
        std::fs::write(dir.join("root.cn"), cn)?;
        let key = dir.join("root.key.pem");
        std::fs::write(&key, self.key.serialize_pem())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }

    /// A root [`save`](Self::save)d into `dir`.
    pub fn load(dir: &std::path::Path) -> Result<Self, String> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))
        };
        let key = KeyPair::from_pem(&read("root.key.pem")?).map_err(|e| e.to_string())?;
        let cn = read("root.cn")?;
        // The same name and the same key make the same issuer as the saved certificate.
        let params = ca_params(cn.trim(), 946_684_800, 4_102_444_800).map_err(|e| e.to_string())?;
        let pem_text = read("root.pem")?;
        let der = pem::parse(pem_text.as_bytes())
            .map_err(|e| e.to_string())?
            .into_contents();
        Ok(Self { key, params, der })
    }
}

/// An Android key to attest, and how the device describes it.
#[derive(Clone, Debug)]
pub struct AndroidKey {
    /// attestationChallenge.
    pub challenge: Vec<u8>,
    /// Package names in attestationApplicationId.
    pub packages: Vec<String>,
    /// Signing-certificate digests.
    pub signing_digests: Vec<Vec<u8>>,
    /// attestationSecurityLevel (0 Software, 1 TEE, 2 StrongBox), also keyMint's.
    pub security_level: u64,
    /// RootOfTrust.deviceLocked.
    pub device_locked: bool,
    /// RootOfTrust.verifiedBootState (0 Verified, 2 Unverified).
    pub boot_state: u64,
    /// The intermediate below the root has a serialNumber (factory-provisioned); else it
    /// is `CN=Droid CA2, O=Google LLC` (remotely provisioned).
    pub factory: bool,
    /// Validity of the intermediates (unix seconds).
    pub intermediate_validity: (i64, i64),
    /// Intermediates marked CA:FALSE (some devices do).
    pub intermediates_not_ca: bool,
    /// Bytes of an unrelated, unparsable extension in each intermediate (0: none): real
    /// chains are ~13 KB with their vendor extensions.
    pub filler_bytes: usize,
    /// How many intermediates (1 to 3).
    pub intermediates: usize,
}

impl AndroidKey {
    /// A TEE key of a locked, verified device for `packages` over `challenge`, remotely
    /// provisioned, intermediates valid now ± a day.
    pub fn new(packages: &[&str], challenge: &[u8]) -> Self {
        let now = super::now();
        Self {
            challenge: challenge.to_vec(),
            packages: packages.iter().map(|p| p.to_string()).collect(),
            signing_digests: vec![Sha256::digest(b"palmkit test signing certificate").to_vec()],
            security_level: 1,
            device_locked: true,
            boot_state: 0,
            factory: false,
            intermediate_validity: (now - 86_400, now + 86_400),
            intermediates_not_ca: false,
            filler_bytes: 0,
            intermediates: 2,
        }
    }

    /// The KeyDescription extension's value.
    pub fn key_description(&self) -> Vec<u8> {
        use der::*;
        let infos: Vec<Vec<u8>> = self
            .packages
            .iter()
            .map(|p| seq(&[octets(p.as_bytes()), int(1)]))
            .collect();
        let digests: Vec<Vec<u8>> = self.signing_digests.iter().map(|d| octets(d)).collect();
        let app_id = seq(&[set(&infos), set(&digests)]);
        let software = seq(&[
            explicit(701, &int(1_700_000_000_000)),
            explicit(709, &octets(&app_id)),
        ]);
        let root_of_trust = seq(&[
            octets(&[0x11; 32]),
            boolean(self.device_locked),
            enumerated(self.boot_state),
            octets(&[0x22; 32]),
        ]);
        // Tags in ascending order, an unknown one (tag 999) among them.
        let hardware = seq(&[
            explicit(1, &set(&[int(2)])),
            explicit(704, &root_of_trust),
            explicit(999, &octets(b"a tag this verifier does not know")),
        ]);
        seq(&[
            int(300),
            enumerated(self.security_level),
            int(300),
            enumerated(self.security_level),
            octets(&self.challenge),
            octets(b""),
            software,
            hardware,
        ])
    }

    /// The chain, DER, leaf first, the root last.
    pub fn chain(&self, root: &TestRoot) -> Result<Vec<Vec<u8>>, BuildError> {
        let n = self.intermediates.clamp(1, 3);
        let (nb, na) = self.intermediate_validity;
        let mut issuers: Vec<(CertificateParams, KeyPair)> = Vec::new();
        let mut ders: Vec<Vec<u8>> = Vec::new();
        for i in 0..n {
            let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
            let mut params = ca_params(&format!("PalmKit test attestation CA {i}"), nb, na)?;
            if i == 0 {
                let mut dn = DistinguishedName::new();
                if self.factory {
                    dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), "f00dcafe12345678");
                } else {
                    dn.push(DnType::CommonName, "Droid CA2");
                    dn.push(DnType::OrganizationName, "Google LLC");
                }
                params.distinguished_name = dn;
            }
            if self.intermediates_not_ca {
                params.is_ca = IsCa::ExplicitNoCa;
            }
            if self.filler_bytes > 0 {
                // An OID under a private arc and content that is not DER.
                let content = vec![0xffu8; self.filler_bytes];
                params
                    .custom_extensions
                    .push(CustomExtension::from_oid_content(
                        &[1, 3, 6, 1, 4, 1, 99999, 7],
                        content,
                    ));
            }
            let der = match issuers.last() {
                None => params.signed_by(&key, &root.issuer())?,
                Some((p, k)) => params.signed_by(&key, &Issuer::from_params(p, k))?,
            }
            .der()
            .to_vec();
            ders.push(der);
            issuers.push((params, key));
        }
        let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut leaf = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Android Keystore Key");
        leaf.distinguished_name = dn;
        // The device's own dates (never checked): an unset clock.
        leaf.not_before = ts(0);
        leaf.not_after = ts(2_524_608_000);
        leaf.custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17],
                self.key_description(),
            ));
        let (p, k) = issuers
            .last()
            .ok_or(rcgen::Error::CouldNotParseCertificate)?;
        let leaf_der = leaf
            .signed_by(&leaf_key, &Issuer::from_params(p, k))?
            .der()
            .to_vec();
        let mut chain = vec![leaf_der];
        chain.extend(ders.into_iter().rev());
        chain.push(root.der.clone());
        Ok(chain)
    }
}

/// What the next App Attest statement looks like.
#[derive(Clone, Debug)]
pub struct AppleOptions {
    /// `development` (true) or `production` aaguid.
    pub development: bool,
    /// The leaf's validity (unix seconds).
    pub leaf_validity: (i64, i64),
    /// Extra leaf extensions and an EKU, as newer devices add.
    pub newer_device_extensions: bool,
    /// Bytes after the COSE key in authData, with the ED flag clear.
    pub trailing_auth_bytes: usize,
    /// An authenticator extension map, with the ED flag set.
    pub extension_map: bool,
}

impl Default for AppleOptions {
    fn default() -> Self {
        let now = super::now();
        Self {
            development: false,
            leaf_validity: (now - 3600, now + 3 * 86_400),
            newer_device_extensions: false,
            trailing_auth_bytes: 0,
            extension_map: false,
        }
    }
}

/// An App Attest key on a test device: attests once, then asserts with a counter.
pub struct AppleDevice {
    key: KeyPair,
    counter: u32,
    options: AppleOptions,
}

impl AppleDevice {
    /// A fresh key.
    pub fn new(options: AppleOptions) -> Result<Self, BuildError> {
        Ok(Self {
            key: KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?,
            counter: 0,
            options,
        })
    }

    /// The key (PKCS#8 PEM) and the last counter used: a QA tool's state between runs.
    pub fn state(&self) -> (String, u32) {
        (self.key.serialize_pem(), self.counter)
    }

    /// A device from [`state`](Self::state).
    pub fn from_state(
        key_pem: &str,
        counter: u32,
        options: AppleOptions,
    ) -> Result<Self, BuildError> {
        Ok(Self {
            key: KeyPair::from_pem(key_pem)?,
            counter,
            options,
        })
    }

    /// The uncompressed P-256 point.
    pub fn public_point(&self) -> Vec<u8> {
        self.key.public_key_raw().to_vec()
    }

    /// The key id as `DCAppAttestService` gives it: standard base64 of SHA-256(point).
    pub fn key_id(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(self.public_point()))
    }

    /// The attestation object for `app_id` over `client_data_hash`, chained to `root`
    /// through a test "App Attestation CA 1".
    pub fn attest(
        &self,
        root: &TestRoot,
        app_id: &str,
        client_data_hash: &[u8],
    ) -> Result<Vec<u8>, BuildError> {
        let point = self.public_point();
        let key_hash = Sha256::digest(&point);
        let mut auth = Sha256::digest(app_id.as_bytes()).to_vec();
        let mut flags = 0x40u8;
        if self.options.extension_map {
            flags |= 0x80;
        }
        auth.push(flags);
        auth.extend(0u32.to_be_bytes());
        auth.extend_from_slice(if self.options.development {
            b"appattestdevelop"
        } else {
            b"appattest\0\0\0\0\0\0\0"
        });
        auth.extend((key_hash.len() as u16).to_be_bytes());
        auth.extend_from_slice(&key_hash);
        let cose = ciborium::Value::Map(vec![
            (1.into(), 2.into()),
            (3.into(), (-7).into()),
            ((-1).into(), 1.into()),
            ((-2).into(), ciborium::Value::Bytes(point[1..33].to_vec())),
            ((-3).into(), ciborium::Value::Bytes(point[33..].to_vec())),
        ]);
        ciborium::ser::into_writer(&cose, &mut auth)
            .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
        if self.options.extension_map {
            let ext = ciborium::Value::Map(vec![("appattest-ext".into(), 1.into())]);
            ciborium::ser::into_writer(&ext, &mut auth)
                .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
        } else {
            auth.extend(std::iter::repeat_n(
                0xa5u8,
                self.options.trailing_auth_bytes,
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(&auth);
        hasher.update(client_data_hash);
        let nonce = hasher.finalize();

        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)?;
        let (nb, na) = self.options.leaf_validity;
        let ca_params = ca_params(
            "Apple App Attestation CA 1 (PalmKit test)",
            nb - 86_400,
            na + 86_400,
        )?;
        let ca = ca_params.signed_by(&ca_key, &root.issuer())?.der().to_vec();
        let mut leaf = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, hex::encode(key_hash));
        leaf.distinguished_name = dn;
        leaf.not_before = ts(nb);
        leaf.not_after = ts(na);
        use der::*;
        leaf.custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 2, 840, 113635, 100, 8, 2],
                seq(&[explicit(1, &octets(&nonce))]),
            ));
        if self.options.newer_device_extensions {
            leaf.extended_key_usages = vec![
                rcgen::ExtendedKeyUsagePurpose::ClientAuth,
                rcgen::ExtendedKeyUsagePurpose::Other(vec![1, 2, 840, 113635, 100, 4, 99]),
            ];
            leaf.custom_extensions
                .push(CustomExtension::from_oid_content(
                    &[1, 2, 840, 113635, 100, 8, 5],
                    seq(&[explicit(4, &octets(b"18.2"))]),
                ));
            leaf.custom_extensions
                .push(CustomExtension::from_oid_content(
                    &[1, 2, 840, 113635, 100, 8, 7],
                    vec![0xde, 0xad],
                ));
        }
        let leaf = leaf
            .signed_by(&self.key, &Issuer::from_params(&ca_params, &ca_key))?
            .der()
            .to_vec();
        let object = ciborium::Value::Map(vec![
            ("fmt".into(), "apple-appattest".into()),
            (
                "attStmt".into(),
                ciborium::Value::Map(vec![
                    (
                        "x5c".into(),
                        ciborium::Value::Array(vec![
                            ciborium::Value::Bytes(leaf),
                            ciborium::Value::Bytes(ca),
                        ]),
                    ),
                    ("receipt".into(), ciborium::Value::Bytes(vec![0x30; 4096])),
                ]),
            ),
            ("authData".into(), ciborium::Value::Bytes(auth)),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&object, &mut out)
            .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
        Ok(out)
    }

    /// The next assertion for `app_id` over `client_data_hash` (counter + 1).
    pub fn assert(&mut self, app_id: &str, client_data_hash: &[u8]) -> Result<Vec<u8>, BuildError> {
        self.counter += 1;
        self.assertion_with_counter(app_id, client_data_hash, self.counter)
    }

    /// An assertion with exactly `counter` (a replay test).
    pub fn assertion_with_counter(
        &self,
        app_id: &str,
        client_data_hash: &[u8],
        counter: u32,
    ) -> Result<Vec<u8>, BuildError> {
        let mut auth = Sha256::digest(app_id.as_bytes()).to_vec();
        auth.push(0x00);
        auth.extend(counter.to_be_bytes());
        let mut hasher = Sha256::new();
        hasher.update(&auth);
        hasher.update(client_data_hash);
        let nonce = hasher.finalize();
        let signature = self.key.sign(&nonce)?;
        let object = ciborium::Value::Map(vec![
            ("signature".into(), ciborium::Value::Bytes(signature)),
            ("authenticatorData".into(), ciborium::Value::Bytes(auth)),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&object, &mut out)
            .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
        Ok(out)
    }
}
