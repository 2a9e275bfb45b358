"""The frame-quality pixel measures of `core/src/quality/pixels.rs`, computed with OpenCV
(opencv-python-headless, one thread) on the same NV21 frame, region and grid step, for the
`frame_analysis` benchmark. Prints one JSON object: median milliseconds and the measures
(so the bench can check both sides computed the same thing).

usage: quality_opencv.py FRAME.nv21 WIDTH HEIGHT X0 Y0 X1 Y1 STEP RUNS
"""
import json
import math
import sys
import time

import cv2
import numpy as np

path, w, h, x0, y0, x1, y1, step, runs = sys.argv[1], *map(int, sys.argv[2:])
cv2.setNumThreads(1)
luma = np.fromfile(path, np.uint8, count=w * h).reshape(h, w)
# Immerkær's noise mask.
mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def measures():
    grid = np.ascontiguousarray(luma[y0:y1:step, x0:x1:step])
    gh, gw = grid.shape
    lap = cv2.Laplacian(grid, cv2.CV_32F, ksize=1)[1:-1, 1:-1]
    _, sd = cv2.meanStdDev(lap)
    nz = cv2.filter2D(grid, cv2.CV_32F, mask)[1:-1, 1:-1]
    noise = math.sqrt(math.pi / 2) * cv2.norm(nz, cv2.NORM_L1) / (6 * (gw - 2) * (gh - 2))
    n = grid.size
    return {
        "sharpness": float(sd[0][0]),
        "noise": noise,
        "mean_luma": cv2.mean(grid)[0],
        "dark_fraction": cv2.countNonZero(cv2.compare(grid, 16, cv2.CMP_LE)) / n,
        "clipped_fraction": cv2.countNonZero(cv2.compare(grid, 250, cv2.CMP_GE)) / n,
        "glare_fraction": cv2.countNonZero(cv2.compare(grid, 240, cv2.CMP_GE)) / n,
    }


for _ in range(20):
    measures()
times = []
for _ in range(runs):
    start = time.perf_counter()
    result = measures()
    times.append(time.perf_counter() - start)
times.sort()
result["ms"] = times[len(times) // 2] * 1000
result["opencv"] = cv2.__version__
print(json.dumps(result))
