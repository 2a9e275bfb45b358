//! Loading one ONNX model: integrity first (the folder's `SHA256SUMS`), then tract with a
//! fixed input shape, its depthwise convolutions moved to channel-last (`layout`),
//! optimized once.

use std::path::Path;

use sha2::{Digest as _, Sha256};
use tract_onnx::prelude::*;

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file or its `SHA256SUMS` could not be read.
    #[error("model file {path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        detail: String,
    },
    /// The file is not the one provisioned (truncated, swapped, or not listed).
    #[error("model file {0} does not match its SHA256SUMS entry")]
    Checksum(String),
    /// tract refused the model or failed to run it.
    #[error("model {name}: {detail}")]
    Runtime {
        /// Which model.
        name: String,
        /// tract's explanation.
        detail: String,
    },
}

/// A runnable, optimized model.
pub type Runnable = Arc<TypedRunnableModel>;

/// Loads `dir/NAME.onnx` after checking it against `dir/SHA256SUMS`, with an NHWC float
/// input of `shape`.
pub fn load(dir: &Path, name: &str, shape: &[usize]) -> Result<Runnable, ModelError> {
    let file = format!("{name}.onnx");
    let path = dir.join(&file);
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e: std::io::Error| ModelError::Io {
            path: p,
            detail: e.to_string(),
        }
    };
    let sums_path = dir.join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path).map_err(io(&sums_path))?;
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let listed = sums
        .lines()
        .filter_map(|l| l.split_once("  "))
        .any(|(d, f)| f.trim() == file && d == digest);
    if !listed {
        return Err(ModelError::Checksum(file));
    }
    let runtime = |e: TractError| ModelError::Runtime {
        name: name.to_string(),
        detail: format!("{e:#}"),
    };
    let mut model = tract_onnx::onnx()
        .model_for_read(&mut bytes.as_slice())
        .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
        .and_then(|m| m.into_typed())
        .and_then(|m| m.into_decluttered())
        .map_err(runtime)?;
    // Between tract's two optimizer phases: its clean-up (`into_decluttered`) would move
    // the layout back, its code generation (`optimize`) picks kernels for it.
    model = channel_last(model, name);
    model.optimize().map_err(runtime)?;
    model.into_runnable().map_err(runtime)
}

/// `model` with its depthwise convolutions channel-last where tract can move them
/// (`super::layout`), or as imported should tract fail on the way: the layout is a
/// speed-up, never a reason not to load.
fn channel_last(model: TypedModel, name: &str) -> TypedModel {
    let mut moved = model.clone();
    match super::layout::channel_last_depthwise(&mut moved) {
        Ok(switched) => {
            tracing::debug!(
                model = name,
                switched,
                "depthwise convolutions channel-last"
            );
            moved
        }
        Err(e) => {
            tracing::warn!(model = name, "kept the imported layout: {e:#}");
            model
        }
    }
}

/// A model ready for frame after frame: its run state and its input tensor are kept, so a
/// frame costs no set-up and no input allocation (tract still allocates each layer's
/// output; see `docs/frame-analysis.md`).
pub(crate) struct Session {
    state: TypedSimpleState,
    input: Arc<Tensor>,
    shape: Vec<usize>,
    name: &'static str,
}

impl Session {
    /// A session on `plan` whose input has `shape`.
    pub(crate) fn new(
        plan: &Runnable,
        shape: &[usize],
        name: &'static str,
    ) -> Result<Self, ModelError> {
        let runtime = |e: TractError| ModelError::Runtime {
            name: name.into(),
            detail: format!("{e:#}"),
        };
        Ok(Self {
            state: TypedSimpleState::new(plan).map_err(runtime)?,
            input: Arc::new(Tensor::zero::<f32>(shape).map_err(runtime)?),
            shape: shape.to_vec(),
            name,
        })
    }

    /// Fills the input with `fill`, runs the model, and hands the outputs as f32 slices to
    /// `read`.
    pub(crate) fn run<T>(
        &mut self,
        fill: impl FnOnce(&mut [f32]),
        read: impl FnOnce(&[&[f32]]) -> Result<T, ModelError>,
    ) -> Result<T, ModelError> {
        let name = self.name;
        let runtime = |e: TractError| ModelError::Runtime {
            name: name.into(),
            detail: format!("{e:#}"),
        };
        // tract drops its references to the input after a run, so the tensor is ours
        // again; should it still be shared, start a fresh one rather than fail.
        if Arc::get_mut(&mut self.input).is_none() {
            self.input = Arc::new(Tensor::zero::<f32>(&self.shape).map_err(runtime)?);
        }
        let input = Arc::get_mut(&mut self.input).ok_or_else(|| ModelError::Runtime {
            name: name.into(),
            detail: "input tensor still in use".into(),
        })?;
        {
            let mut view = input.try_as_plain_ram_mut().map_err(runtime)?;
            fill(view.as_slice_mut::<f32>().map_err(runtime)?);
        }
        // Node by node with the x86_64 vector state cleared after each (`vector_state`).
        let outputs = self
            .state
            .run_plan_with_eval(
                tvec!(TValue::from_const(self.input.clone())),
                super::eval_node,
            )
            .map_err(runtime)?;
        let views: TVec<_> = outputs
            .iter()
            .map(|t| t.try_as_plain_ram())
            .collect::<TractResult<_>>()
            .map_err(runtime)?;
        let slices: TVec<&[f32]> = views
            .iter()
            .map(|v| v.as_slice::<f32>())
            .collect::<TractResult<_>>()
            .map_err(runtime)?;
        read(&slices)
    }
}
