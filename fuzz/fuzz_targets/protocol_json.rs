//! The service API's JSON types and the client configuration, from any bytes: serde must
//! answer a value or an error, and a configuration that parses must validate or refuse
//! with a named field, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palmkit_core::ServiceConfig;
use palmkit_core::protocol::*;

fn parse<T: serde::de::DeserializeOwned>(data: &[u8]) {
    let _ = serde_json::from_slice::<T>(data);
}

fuzz_target!(|data: &[u8]| {
    parse::<Health>(data);
    parse::<ApiError>(data);
    parse::<NewEnrollment>(data);
    parse::<Enrollment>(data);
    parse::<AccountInfo>(data);
    parse::<Wallet>(data);
    parse::<SetupIntentGrant>(data);
    parse::<AttachPaymentMethod>(data);
    parse::<LinkPaymentMethod>(data);
    parse::<PaymentLink>(data);
    parse::<CaptureMetadata>(data);
    parse::<SpoofMetadata>(data);
    parse::<AttestationNonce>(data);
    parse::<SubmitEnrollment>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = ServiceConfig::from_json(text) {
            let _ = config.validate();
        }
    }
});
