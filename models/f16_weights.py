"""Stores an ONNX model's float weights as float16, in place: half the file, same network.

MediaPipe ships these models with float16 weights (each `.tflite` holds f16 tensors and
DEQUANTIZE ops); tf2onnx expands them to float32, doubling the file for no precision. This
puts each float32 initializer back into float16 with a Cast to float32 in front, so the
graph computes in float32 as before. The runtimes fold the Casts when they load the model
(tract's optimizer and onnxruntime both evaluate constant subgraphs once), so inference
speed is unchanged; only the app download shrinks.

Weights that do not survive the round trip exactly (values computed in float32 by the
conversion or by rewrite_prelu.py, such as `slope - 1`) are counted and their largest
relative change printed, so the loss is on record rather than assumed. Small tensors (under
64 values) stay float32: they weigh nothing and keep scalars exact.

Run by provision.py with the converter's Python (which has the `onnx` package).

usage: f16_weights.py MODEL.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SMALL = 64

path = sys.argv[1]
model = onnx.load(path)
graph = model.graph
casts, kept, converted, inexact, worst = [], [], 0, 0, 0.0
for init in graph.initializer:
    if init.data_type != TensorProto.FLOAT:
        kept.append(init)
        continue
    values = numpy_helper.to_array(init)
    if values.size < SMALL:
        kept.append(init)
        continue
    half = values.astype(np.float16)
    back = half.astype(np.float32)
    if not np.array_equal(back, values):
        inexact += 1
        scale = np.maximum(np.abs(values), 1e-6)
        worst = max(worst, float(np.max(np.abs(back - values) / scale)))
    stored = f"{init.name}__f16"
    kept.append(numpy_helper.from_array(half, stored))
    casts.append(helper.make_node("Cast", [stored], [init.name], to=TensorProto.FLOAT))
    converted += 1
del graph.initializer[:]
graph.initializer.extend(kept)
# The Casts first: every node after them reads the float32 names as before.
nodes = casts + list(graph.node)
del graph.node[:]
graph.node.extend(nodes)
onnx.checker.check_model(model)
onnx.save(model, path)
print(f"{converted} weight tensors stored as float16 ({inexact} not exact, "
      f"largest relative change {worst:.2e})")
