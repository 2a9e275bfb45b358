//! Section 2c of the frame benchmark: the kernels where tract spends the hand models' time
//! (section 2b), each as a tiny ONNX model run by tract and by onnxruntime from the same
//! file. This is the micro-benchmark behind the report to tract's maintainers: a kernel,
//! a shape, two times.
//!
//! The models are written here from ONNX's protobuf types (as tract-onnx exposes them)
//! into a temporary folder, with fixed pseudo-random weights. The depthwise convolutions
//! take the landmark and detector models' slowest shapes; the NHWC one is wrapped in the
//! two transposes tract folds into a channel-last depthwise kernel, as in the models.

use std::path::Path;
use std::time::Instant;

use palmkit_core::vision::{eval_node, load_model};
use prost::Message;
use tract_onnx::pb;
use tract_onnx::prelude::*;

/// One model of one kernel (plus the transposes around a channel-last one).
pub struct Kernel {
    pub name: &'static str,
    pub input: Vec<usize>,
    /// Multiply-adds of one run, for the throughput column (0 where it means nothing).
    pub macs: u64,
    nodes: Vec<pb::NodeProto>,
    weights: Vec<pb::TensorProto>,
}

/// The kernels measured, named for their op, size, stride, layout and input shape.
pub fn kernels() -> Vec<Kernel> {
    vec![
        // The landmark models' first depthwise convolution (their slowest node).
        depthwise("dw3x3/1 nhwc 112x112x24", 24, 112, 3, 1, true, false),
        depthwise("dw3x3/1+relu6 nhwc 112x112x24", 24, 112, 3, 1, true, true),
        relu6("relu6 nhwc 112x112x24", &[1, 112, 112, 24]),
        depthwise("dw3x3/2 nchw 64x112x112", 64, 112, 3, 2, false, false),
        // The same stride-2 convolution channel-last, and a stride-1 one over its output
        // size: whether the slow path follows the stride or the layout.
        depthwise("dw3x3/2 nhwc 112x112x64", 64, 112, 3, 2, true, false),
        depthwise("dw3x3/1 nchw 64x56x56", 64, 56, 3, 1, false, false),
        depthwise("dw5x5/2 nchw 96x56x56", 96, 56, 5, 2, false, false),
        // The palm detector's slowest depthwise convolution.
        depthwise("dw5x5/2 nchw 32x96x96", 32, 96, 5, 2, false, false),
    ]
}

impl Kernel {
    /// The file name (no extension) the model is written under.
    pub fn file_stem(&self) -> String {
        self.name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    }

    /// Writes the model as `DIR/<file_stem>.onnx`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let dims: Vec<i64> = self.input.iter().map(|&d| d as i64).collect();
        let model = pb::ModelProto {
            ir_version: 7,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            producer_name: "palmkit frame_analysis bench".into(),
            graph: Some(pb::GraphProto {
                name: self.file_stem(),
                node: self.nodes.clone(),
                initializer: self.weights.clone(),
                input: vec![value_info("x", Some(&dims))],
                output: vec![value_info("y", None)],
                ..Default::default()
            }),
            ..Default::default()
        };
        std::fs::write(
            dir.join(format!("{}.onnx", self.file_stem())),
            model.encode_to_vec(),
        )
    }
}

/// Writes `SHA256SUMS` for the kernels written in `dir`, so the core's loader takes them.
pub fn write_sums(dir: &Path, kernels: &[Kernel]) -> std::io::Result<()> {
    use sha2::{Digest as _, Sha256};
    let mut sums = String::new();
    for k in kernels {
        let file = format!("{}.onnx", k.file_stem());
        let digest = Sha256::digest(std::fs::read(dir.join(&file))?);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        sums.push_str(&format!("{hex}  {file}\n"));
    }
    std::fs::write(dir.join("SHA256SUMS"), sums)
}

/// Loads a kernel with the core's loader (`vision::load_model`, as the hand models are
/// loaded) and times `runs` runs after five of warm-up: (median ms, fastest ms, the ops
/// tract runs for it).
pub fn time_tract(dir: &Path, kernel: &Kernel, runs: usize) -> TractResult<(f64, f64, String)> {
    let input = &kernel.input;
    let model = load_model(dir, &kernel.file_stem(), input)?;
    let ops: Vec<String> = model
        .model()
        .nodes()
        .iter()
        .map(|n| n.op().name().to_string())
        .filter(|op| op != "Source" && op != "Const")
        .collect();
    let values: Vec<f32> = (0..input.iter().product::<usize>())
        .map(|i| (i % 17) as f32 / 8.0 - 1.0)
        .collect();
    let x = Tensor::from_shape(input, &values)?;
    // As the core runs models: node by node, the x86_64 vector state cleared after each
    // (without it these kernels measure 1.5-3x slower after any model has run).
    let mut state = TypedSimpleState::new(&model)?;
    for _ in 0..5 {
        state.run_plan_with_eval(tvec!(x.clone().into()), eval_node)?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = x.clone();
        let start = Instant::now();
        std::hint::black_box(state.run_plan_with_eval(tvec!(t.into()), eval_node)?);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times[0], ops.join("+")))
}

/// A depthwise convolution (one group per channel) with bias, "same" padding, over a square
/// `side`x`side` input of `channels`; channel-last when `nhwc` (transposes around it),
/// followed by Relu6 (as `Clip(0, 6)`, what tf2onnx writes) when `relu6`.
fn depthwise(
    name: &'static str,
    channels: usize,
    side: usize,
    k: usize,
    stride: usize,
    nhwc: bool,
    relu6: bool,
) -> Kernel {
    let (c, k64, s64) = (channels as i64, k as i64, stride as i64);
    let pad = (k64 - 1) / 2;
    let out = side.div_ceil(stride);
    let mut nodes = Vec::new();
    let mut weights = vec![
        tensor("w", &[c, 1, k64, k64], channels * k * k, 1),
        tensor("b", &[c], channels, 2),
    ];
    let conv_in = if nhwc {
        nodes.push(node(
            "Transpose",
            &["x"],
            "x_nchw",
            vec![ints("perm", &[0, 3, 1, 2])],
        ));
        "x_nchw"
    } else {
        "x"
    };
    let conv_out = if nhwc || relu6 { "conv" } else { "y" };
    nodes.push(node(
        "Conv",
        &[conv_in, "w", "b"],
        conv_out,
        vec![
            int("group", c),
            ints("kernel_shape", &[k64, k64]),
            ints("strides", &[s64, s64]),
            ints("pads", &[pad, pad, pad, pad]),
        ],
    ));
    let mut last = conv_out;
    if relu6 {
        weights.extend(clip_bounds());
        let clipped = if nhwc { "clipped" } else { "y" };
        nodes.push(node("Clip", &[last, "lo", "hi"], clipped, vec![]));
        last = clipped;
    }
    if nhwc {
        nodes.push(node(
            "Transpose",
            &[last],
            "y",
            vec![ints("perm", &[0, 2, 3, 1])],
        ));
    }
    Kernel {
        name,
        input: if nhwc {
            vec![1, side, side, channels]
        } else {
            vec![1, channels, side, side]
        },
        macs: (channels * out * out * k * k) as u64,
        nodes,
        weights,
    }
}

/// Relu6 alone, as tf2onnx writes it (`Clip` with bounds 0 and 6).
fn relu6(name: &'static str, input: &[usize]) -> Kernel {
    Kernel {
        name,
        input: input.to_vec(),
        macs: 0,
        nodes: vec![node("Clip", &["x", "lo", "hi"], "y", vec![])],
        weights: clip_bounds().into(),
    }
}

fn clip_bounds() -> [pb::TensorProto; 2] {
    let scalar = |name: &str, v: f32| pb::TensorProto {
        name: name.into(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        raw_data: v.to_le_bytes().to_vec(),
        ..Default::default()
    };
    [scalar("lo", 0.0), scalar("hi", 6.0)]
}

fn node(
    op: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: format!("{op}_{output}"),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

fn int(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// A float tensor of `len` values in [-0.5, 0.5), the same for every run (`seed`).
fn tensor(name: &str, dims: &[i64], len: usize, seed: u32) -> pb::TensorProto {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let raw_data = (0..len)
        .flat_map(|_| {
            // xorshift32: fixed weights, no dependency.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 - 0.5).to_le_bytes()
        })
        .collect();
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        raw_data,
        ..Default::default()
    }
}

fn value_info(name: &str, dims: Option<&[i64]>) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: dims.map(|d| pb::TensorShapeProto {
                    dim: d
                        .iter()
                        .map(|&v| Dimension {
                            value: Some(Value::DimValue(v)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
