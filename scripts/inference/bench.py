#!/usr/bin/env python3
"""Measurements for scripts/bench-classifier: our binary and onnxruntime on the same inputs, in one run.

Usage: bench.py REMOTAIRD_BINARY BENCH_DIR RUNS
"""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

PIPELINE = r'''
import sys, time, json
import numpy as np
import onnxruntime as ort
from PIL import Image
model, image, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
std = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)
times = []
for _ in range(count):
    start = time.perf_counter()
    with Image.open(image) as img:
        rgb = img.convert("RGB").resize((224, 224), Image.BILINEAR)
    x = (np.asarray(rgb, np.float32).transpose(2, 0, 1) / 255.0 - mean) / std
    logits = session.run(None, {name: x[None]})[0][0]
    p = np.exp(logits - logits.max()); p /= p.sum()
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print(json.dumps({"median_ms": times[len(times) // 2]}))
'''


def onnxruntime_latency(model, x, runs):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for _ in range(10):
        session.run(None, {name: x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {name: x})
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(arguments):
    """Runs a child; returns stdout, stderr and that child's own peak RSS in MiB (from wait4)."""
    pid = os.fork()
    if pid == 0:
        out = os.open(os.path.join(tempfile.gettempdir(), f"bench-{os.getpid()}.out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(os.path.join(tempfile.gettempdir(), f"bench-{os.getpid()}.err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.execv(arguments[0], arguments)
    _, status, usage = os.wait4(pid, 0)
    paths = [os.path.join(tempfile.gettempdir(), f"bench-{pid}.{s}") for s in ("out", "err")]
    texts = []
    for path in paths:
        with open(path) as f:
            texts.append(f.read())
        os.unlink(path)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{arguments[0]} failed: {texts[1]}")
    return texts[0], texts[1], usage.ru_maxrss / 1024.0


def main():
    binary, directory, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    x = np.load(os.path.join(directory, "input.npy"))
    print(f"onnxruntime {ort.__version__}, {runs} runs each, one thread, MobileNetV2 1x3x224x224 -> 2 classes")
    print()
    print(f"{'model':<28}{'ours ms':>10}{'onnxruntime ms':>16}{'ratio':>8}")
    for name in ("mobilenet_v2_224_int8", "mobilenet_v2_224_float"):
        model = os.path.join(directory, name + ".onnx")
        theirs = onnxruntime_latency(model, x, runs)
        _, stderr, _ = measure([binary, "infer", "--model", model, "--npy", os.path.join(directory, "input.npy"), "--repeat", str(runs)])
        match = re.search(r"median ([0-9.]+) ms", stderr)
        ours = float(match.group(1)) if match else float("nan")
        print(f"{name:<28}{ours:>10.3f}{theirs:>16.3f}{ours / theirs:>8.2f}x")

    # Whole path: a 1280x720 JPEG (a camera frame) to a verdict.
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:720, 0:1280]
    frame = np.stack([(xx * 255 // 1280), (yy * 255 // 720), ((xx ^ yy) & 255)], -1).astype(np.uint8)
    frame = np.clip(frame.astype(np.int16) + rng.integers(-20, 20, frame.shape), 0, 255).astype(np.uint8)
    jpeg = os.path.join(directory, "frame.jpg")
    Image.fromarray(frame).save(jpeg, quality=90)
    model = os.path.join(directory, "mobilenet_v2_224_int8.onnx")
    count = max(20, runs // 4)
    stdout, _, our_rss = measure([binary, "classify", "--model", model, "--json"] + [jpeg] * count)
    our_ms = statistics.median(json.loads(line)["ms"] for line in stdout.splitlines())
    script = os.path.join(directory, "pipeline.py")
    with open(script, "w") as f:
        f.write(PIPELINE)
    stdout, _, their_rss = measure([sys.executable, script, model, jpeg, str(count)])
    their_ms = json.loads(stdout)["median_ms"]
    print()
    print(f"whole path, 1280x720 JPEG -> verdict, median of {count}, int8 model:")
    print(f"  remotaird classify      {our_ms:8.3f} ms   peak RSS {our_rss:7.1f} MiB")
    print(f"  Pillow + onnxruntime    {their_ms:8.3f} ms   peak RSS {their_rss:7.1f} MiB")
    print(f"  speed-up {their_ms / our_ms:.2f}x (target >= 5x), RSS ratio {our_rss / their_rss:.2f} (target <= 0.25)")


if __name__ == "__main__":
    main()
