//! Runs tract's plans with the x86_64 vector state cleared after every node.
//!
//! tract's matrix products on x86_64 are hand-written AVX/FMA assembly (tract-linalg) that
//! returns with the upper halves of the YMM registers still in use (no `vzeroupper`). The
//! rest of tract — depthwise convolutions, element-wise chains, pooling — is Rust built for
//! baseline x86_64, i.e. legacy-encoded SSE, and SSE code that runs while that state is
//! dirty pays for it on every instruction. Measured on this project's x86_64 machine
//! (`cargo xtask bench frame_analysis`, sections 2 and 2c; issue 19): a 3x3 stride-2
//! depthwise convolution over 64x112x112 took 2.1 ms after a model had run and 0.64 ms
//! with the state cleared. Clearing it after each node costs one instruction per node.
//!
//! Phones run aarch64, which has no such state: there this is plain `plan::eval`. It
//! matters for the desktop (QA, the CLI, tests) and x86_64 emulators.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::model::TypedNode;
use tract_onnx::tract_core::ops::OpState;
use tract_onnx::tract_core::plan::{self, EvalContext};

/// Evaluates one node as tract's own runner does, then clears the upper vector state.
/// Pass it to `SimpleState::run_plan_with_eval` in place of `plan::eval`.
pub fn eval_node(
    ctx: &EvalContext,
    state: Option<&mut (dyn OpState + 'static)>,
    node: &TypedNode,
    inputs: TVec<TValue>,
) -> TractResult<TVec<TValue>> {
    let outputs = plan::eval(ctx, state, node, inputs);
    clear_upper_vector_state();
    outputs
}

/// Zeroes the upper halves of the YMM registers when the CPU has AVX; nothing elsewhere.
#[inline]
fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked just above), the one requirement of `vzeroupper`.
        // The upper halves it zeroes are caller-saved in every x86_64 calling convention
        // Rust uses, so no code expects them to survive this call.
        unsafe { zero_upper() }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}
