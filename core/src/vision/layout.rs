//! Moves the hand models' depthwise convolutions to channel-last layout before tract
//! compiles them.
//!
//! ONNX convolutions are channel-first, so after import every layer of the landmark models
//! is CHW. tract's depthwise kernel is much faster on channel-last data: the same 3x3
//! stride-2 convolution over 64x112x112 took 0.64 ms CHW and 0.29 ms HWC, and whole
//! landmark models run 1.2-1.35x faster with every depthwise convolution HWC (`cargo xtask
//! bench frame_analysis`, sections 2 and 2c; issue 19). In MobileNet-style blocks each
//! depthwise convolution sits between two pointwise convolutions, which tract runs as
//! matrix products that read and write either layout at no cost; so tract's own axis
//! propagation (`change_axes`, the machinery its optimizer uses to cancel transposes) can
//! switch the whole region between them to HWC without a single transpose.
//!
//! A region is switched only when tract accepts the change on every node it touches; where
//! it does not (the palm detector's residual connections join branches that would need
//! both layouts), the model is left as imported. The results match tract's channel-first
//! ones to float rounding (the sums are taken in another order); `core/tests/integration/vision.rs`
//! checks both shipped models.

use std::collections::HashSet;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::{AxisChange, AxisOp};
use tract_onnx::tract_core::ops::cnn::Conv;
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_core::optim::change_axes::change_axes;

/// Switches every depthwise convolution of `model` (decluttered, not yet optimized) that
/// tract can move without a transpose to channel-last layout; returns how many regions
/// were switched.
pub fn channel_last_depthwise(model: &mut TypedModel) -> TractResult<usize> {
    let mut switched = 0;
    // Convolutions tract refused to move, remembered by name: a patch gives the nodes it
    // switches new ids.
    let mut refused: HashSet<String> = HashSet::new();
    let interfaces: Vec<OutletId> = model
        .input_outlets()?
        .iter()
        .chain(model.output_outlets()?)
        .copied()
        .collect();
    // Each switch replaces nodes, so the next candidate is looked up again in the patched
    // model; every round either switches a region (one channel-first convolution fewer,
    // never more: a switched convolution is channel-last and not a candidate) or ends.
    while let Some((id, change)) = next_candidate(model, &refused)? {
        let mut explored = HashSet::new();
        match change_axes(model, &change, &interfaces, &[], &mut explored)? {
            Some((patch, _)) => {
                patch.apply(model)?;
                switched += 1;
            }
            None => {
                refused.insert(model.node(id).name.clone());
            }
        }
    }
    if switched > 0 {
        // Drop the nodes the patches replaced.
        *model = std::mem::take(model).into_compact()?;
    }
    Ok(switched)
}

/// The first live channel-first depthwise convolution not yet refused, with the change
/// that would make its output channel-last.
fn next_candidate(
    model: &TypedModel,
    refused: &HashSet<String>,
) -> TractResult<Option<(usize, AxisChange)>> {
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some(conv) = node.op_as::<Conv>() else {
            continue;
        };
        let depthwise = conv.group > 1 && conv.group == conv.input_channels();
        if !depthwise || refused.contains(&node.name) {
            continue;
        }
        // Channels move from first (after the batch axis, if any) to last.
        let to_channel_last = match conv.pool_spec.data_format {
            DataFormat::CHW => AxisOp::Move(0, 2),
            DataFormat::NCHW => AxisOp::Move(1, 3),
            DataFormat::HWC | DataFormat::NHWC => continue,
        };
        let change = AxisChange {
            outlet: OutletId::new(id, 0),
            op: to_channel_last,
        };
        return Ok(Some((id, change)));
    }
    Ok(None)
}
