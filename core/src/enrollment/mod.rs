//! The enrollment state machine the app drives (signed out → signed in → capturing →
//! captured → payment chosen → uploading → pending store match → complete, or failed), and
//! the one public entry point that ties the other modules together.
//!
//! Not built yet: it grows as the capabilities above land; today the service calls it will
//! use live in [`crate::service`].
