//! The tus 1.0 header vocabulary the upload endpoints speak: versions, extensions,
//! `Upload-Metadata` and `Upload-Checksum` parsing. Parsing never panics on hostile headers.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::api::ApiFailure;

/// The only protocol version served.
pub const VERSION: &str = "1.0.0";
/// Extensions served (`Tus-Extension`).
pub const EXTENSIONS: &str = "creation,termination,checksum,expiration";
/// Checksum algorithms served (`Tus-Checksum-Algorithm`).
pub const CHECKSUM_ALGORITHMS: &str = "sha256";
/// `Content-Type` of a PATCH body.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// tus "460 Checksum Mismatch".
pub const CHECKSUM_MISMATCH: u16 = 460;

/// Refuses a request that does not speak tus 1.0.0 (`412` with `Tus-Version`).
pub fn require_resumable(headers: &HeaderMap) -> Result<(), ApiFailure> {
    match headers.get("tus-resumable").map(HeaderValue::as_bytes) {
        Some(v) if v == VERSION.as_bytes() => Ok(()),
        _ => Err(ApiFailure::new(
            StatusCode::PRECONDITION_FAILED,
            "tus_version_unsupported",
            "send Tus-Resumable: 1.0.0",
        )
        .with_header("tus-version", VERSION)),
    }
}

/// A header holding a non-negative decimal integer.
pub fn u64_header(headers: &HeaderMap, name: &'static str) -> Result<Option<u64>, ApiFailure> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "invalid_header",
                format!("{name} must be a non-negative integer"),
            )
        })
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent).
pub fn metadata(headers: &HeaderMap) -> Result<HashMap<String, Vec<u8>>, ApiFailure> {
    let bad = |why: &str| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "invalid_metadata",
            format!("Upload-Metadata: {why}"),
        )
    };
    let Some(raw) = headers.get("upload-metadata") else {
        return Ok(HashMap::new());
    };
    let raw = raw.to_str().map_err(|_| bad("not ASCII"))?;
    let mut out = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, ' ');
        let key = parts.next().unwrap_or_default();
        if key.is_empty() || key.len() > 64 {
            return Err(bad("a key is empty or too long"));
        }
        let value = match parts.next() {
            Some(v) => STANDARD
                .decode(v.trim())
                .map_err(|_| bad("a value is not base64"))?,
            None => Vec::new(),
        };
        if out.insert(key.to_string(), value).is_some() {
            return Err(bad("a key appears twice"));
        }
    }
    Ok(out)
}

/// `Upload-Checksum: sha256 BASE64`, if sent.
pub fn checksum(headers: &HeaderMap) -> Result<Option<[u8; 32]>, ApiFailure> {
    let Some(raw) = headers.get("upload-checksum") else {
        return Ok(None);
    };
    let text = raw.to_str().unwrap_or_default();
    let (algorithm, value) = text.split_once(' ').unwrap_or((text, ""));
    if algorithm != "sha256" {
        return Err(ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "checksum_algorithm_unsupported",
            "the only checksum algorithm served is sha256",
        ));
    }
    STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|d| <[u8; 32]>::try_from(d).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "invalid_checksum",
                "Upload-Checksum must be `sha256 ` and 32 bytes in base64",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn metadata_pairs_and_empty_values() {
        let h = headers(&[(
            "upload-metadata",
            "hand cmlnaHQ=, empty,enrollment_id ZW5yLTE=",
        )]);
        let m = metadata(&h).unwrap();
        assert_eq!(m["hand"], b"right");
        assert_eq!(m["enrollment_id"], b"enr-1");
        assert!(m["empty"].is_empty());
    }

    #[test]
    fn hostile_metadata_is_refused() {
        let long_key = format!("{} cmlnaHQ=", "k".repeat(65));
        for bad in ["hand !!!", "hand cmlnaHQ=,hand cmlnaHQ=", &long_key] {
            let h = headers(&[("upload-metadata", bad)]);
            assert!(metadata(&h).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn numbers_and_checksums() {
        assert_eq!(
            u64_header(&headers(&[("upload-offset", "42")]), "upload-offset").unwrap(),
            Some(42)
        );
        for bad in ["-1", "1e3", "", "99999999999999999999999"] {
            assert!(
                u64_header(&headers(&[("upload-offset", bad)]), "upload-offset").is_err(),
                "{bad:?}"
            );
        }
        let sum = STANDARD.encode([7u8; 32]);
        assert_eq!(
            checksum(&headers(&[("upload-checksum", &format!("sha256 {sum}"))])).unwrap(),
            Some([7u8; 32])
        );
        assert!(checksum(&headers(&[("upload-checksum", "md5 AAAA")])).is_err());
        assert!(checksum(&headers(&[("upload-checksum", "sha256 AAAA")])).is_err());
    }
}
