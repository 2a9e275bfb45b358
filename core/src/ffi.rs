//! What UniFFI needs beyond the derives (feature `uniffi`, turned on by `palmkit-ffi` only):
//! the fixed-size arrays of the frame report as lists, and the methods Kotlin and Swift
//! call on the core's enums for their stable names and messages. The records and enums
//! themselves derive UniFFI's traits where they are declared. (The stable names are
//! `code()` on every enum: Kotlin's enums already have a `name`.)

use crate::liveness::{Layer, Outcome, Verdict};
use crate::quality::GuidanceCode;
use crate::quality::{Bounds, HandLandmarks};

uniffi::custom_type!(Bounds, Vec<f32>, {
    lower: |b| b.0.to_vec(),
    try_lift: |v| {
        let values: [f32; 4] = v
            .try_into()
            .map_err(|v: Vec<f32>| wrong_length("bounds", 4, v.len()))?;
        Ok(Bounds(values))
    },
});

uniffi::custom_type!(HandLandmarks, Vec<f32>, {
    lower: |l| l.0.iter().flatten().copied().collect(),
    try_lift: |v| {
        if v.len() != 63 {
            return Err(wrong_length("landmarks", 63, v.len()));
        }
        let mut points = [[0.0; 3]; 21];
        for (point, xyz) in points.iter_mut().zip(v.chunks_exact(3)) {
            point.copy_from_slice(xyz);
        }
        Ok(HandLandmarks(points))
    },
});

/// A list of the wrong length handed back from Kotlin or Swift.
fn wrong_length(what: &str, want: usize, got: usize) -> uniffi::deps::anyhow::Error {
    uniffi::deps::anyhow::anyhow!("{what}: {want} numbers expected, {got} given")
}

#[uniffi::export]
impl GuidanceCode {
    /// The stable code for logs and analytics, e.g. `move_closer`.
    #[uniffi::method(name = "code")]
    pub fn ffi_code(&self) -> String {
        self.code().to_string()
    }

    /// The localizable message key, `guidance.<code>`.
    #[uniffi::method(name = "message_key")]
    pub fn ffi_message_key(&self) -> String {
        GuidanceCode::message_key(*self)
    }

    /// The English message.
    #[uniffi::method(name = "english")]
    pub fn ffi_english(&self) -> String {
        GuidanceCode::english(*self).to_string()
    }
}

#[uniffi::export]
impl Layer {
    /// The layer's stable name in logs and reports: `capture_integrity`, `screen_replay`,
    /// `print`, `motion_3d` or `challenge`.
    #[uniffi::method(name = "code")]
    pub fn ffi_code(&self) -> String {
        Layer::name(*self).to_string()
    }
}

#[uniffi::export]
impl Outcome {
    /// Its name in reports: `pass`, `fail`, `unsure`, `not_applicable`.
    #[uniffi::method(name = "code")]
    pub fn ffi_code(&self) -> String {
        Outcome::name(*self).to_string()
    }
}

#[uniffi::export]
impl Verdict {
    /// Its name in reports: `pass`, `fail`, `challenge`.
    #[uniffi::method(name = "code")]
    pub fn ffi_code(&self) -> String {
        Verdict::name(*self).to_string()
    }
}
