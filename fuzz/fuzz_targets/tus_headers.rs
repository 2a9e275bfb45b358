//! tus request headers from the network (`Upload-Length`, `Upload-Offset`,
//! `Upload-Metadata`, `Upload-Checksum`, `Tus-Resumable`): every reader must answer a value
//! or a typed refusal.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use palmkit_server::uploads::tus;

const NAMES: [&str; 5] = [
    "upload-length",
    "upload-offset",
    "upload-metadata",
    "upload-checksum",
    "tus-resumable",
];

fuzz_target!(|data: &[u8]| {
    // Each line is one header: its first byte picks the name, the rest is the value.
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Some((pick, value)) = line.split_first() else {
            continue;
        };
        let name = HeaderName::from_static(NAMES[usize::from(*pick) % NAMES.len()]);
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(name, value);
        }
    }
    let _ = tus::require_resumable(&headers);
    let _ = tus::u64_header(&headers, "upload-length");
    let _ = tus::u64_header(&headers, "upload-offset");
    let _ = tus::metadata(&headers);
    let _ = tus::checksum(&headers);
});
