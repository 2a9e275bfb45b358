"""The hand models run by onnxruntime (PyPI), one thread, on the same ONNX files as tract,
for the `frame_analysis` benchmark. Prints one JSON object:
{model name: {"median": ms, "min": ms}}.

usage: models_onnxruntime.py MODELS_DIR RUNS NAME:SHAPE...
SHAPE is a side (an NHWC image input 1 x SIDE x SIDE x 3) or dimensions as 1x112x112x24.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

models, runs = sys.argv[1], int(sys.argv[2])
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
out = {"onnxruntime": ort.__version__}
rng = np.random.default_rng(7)
for spec in sys.argv[3:]:
    name, shape = spec.split(":")
    dims = tuple(int(d) for d in shape.split("x")) if "x" in shape else (1, int(shape), int(shape), 3)
    session = ort.InferenceSession(f"{models}/{name}.onnx", options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: rng.random(dims, np.float32)}
    for _ in range(5):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    times.sort()
    out[name] = {"median": times[len(times) // 2] * 1000, "min": times[0] * 1000}
print(json.dumps(out))
