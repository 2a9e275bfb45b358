//! The service configuration (the core's `ServiceConfig`, parsed from the JSON document
//! `palmkit serve` writes or the app bundles) and the core's version.

use palmkit_core::ServiceConfig;

use crate::PalmKitError;

/// Parses the JSON configuration document (`client-config.json` of `palmkit serve`, or
/// the one shipped in the app bundle) and checks every field.
#[uniffi::export]
pub fn parse_service_config(json: String) -> Result<ServiceConfig, PalmKitError> {
    let config = ServiceConfig::from_json(&json).map_err(palmkit_core::Error::from)?;
    config.validate().map_err(palmkit_core::Error::from)?;
    Ok(config)
}

/// The core's version.
#[uniffi::export]
pub fn core_version() -> String {
    palmkit_core::VERSION.to_string()
}
