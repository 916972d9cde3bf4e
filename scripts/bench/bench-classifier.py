#!/usr/bin/env python3
"""Measurements for scripts/bench/bench-classifier: our binary and onnxruntime on the same inputs, in one run.

Usage: bench-classifier.py REMOTAIRD_BINARY BENCH_DIR RUNS
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

# Errors only: the float model's unused initializers would otherwise print a warning each.
ort.set_default_logger_severity(3)

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
height, width = session.get_inputs()[0].shape[2:]
mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
std = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)
times = []
for _ in range(count):
    start = time.perf_counter()
    with Image.open(image) as img:
        rgb = img.convert("RGB").resize((width, height), Image.BILINEAR)
    x = (np.asarray(rgb, np.float32).transpose(2, 0, 1) / 255.0 - mean) / std
    logits = session.run(None, {name: x[None]})[0][0]
    p = np.exp(logits - logits.max()); p /= p.sum()
    times.append((time.perf_counter() - start) * 1000)
times.sort()
memory = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("VmHWM", "RssAnon", "RssFile"):
        memory[key] = int(value.split()[0])
print(json.dumps({"median_ms": times[len(times) // 2], "memory": memory}))
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


def wall(arguments):
    """Milliseconds from starting a process to its exit (output discarded)."""
    start = time.perf_counter()
    subprocess.run(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def measure(arguments, environment=None):
    """Runs a child; returns its stdout and stderr."""
    pid = os.fork()
    if pid == 0:
        out = os.open(os.path.join(tempfile.gettempdir(), f"bench-{os.getpid()}.out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(os.path.join(tempfile.gettempdir(), f"bench-{os.getpid()}.err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.execve(arguments[0], arguments, {**os.environ, **(environment or {})})
    _, status = os.waitpid(pid, 0)
    paths = [os.path.join(tempfile.gettempdir(), f"bench-{pid}.{s}") for s in ("out", "err")]
    texts = []
    for path in paths:
        with open(path) as f:
            texts.append(f.read())
        os.unlink(path)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{arguments[0]} failed: {texts[1]}")
    return texts[0], texts[1]


def main():
    binary, directory, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    x = np.load(os.path.join(directory, "input.npy"))
    print(f"onnxruntime {ort.__version__}, {runs} runs each, one thread, MobileNetV2 1x3x224x224 -> 2 classes")
    print()
    print(f"{'model':<28}{'ours ms':>10}{'onnxruntime ms':>16}{'ratio':>8}")
    for name in ("mobilenet_v2_224_int8", "mobilenet_v2_224_float", "mobilenet_v2_025_224_int8"):
        model = os.path.join(directory, name + ".onnx")
        if not os.path.exists(model):
            continue
        theirs = onnxruntime_latency(model, x, runs)
        _, stderr = measure([binary, "infer", "--model", model, "--npy", os.path.join(directory, "input.npy"), "--repeat", str(runs)])
        match = re.search(r"median ([0-9.]+) ms", stderr)
        ours = float(match.group(1)) if match else float("nan")
        print(f"{name:<28}{ours:>10.3f}{theirs:>16.3f}{ours / theirs:>8.2f}x")

    whole_path(binary, directory, runs)


def frames(directory):
    """The two 1280x720 inputs of the whole path: a noisy synthetic frame at quality 90 (a worst case for
    the entropy decoder) and a camera frame (camera.jpg, copied by scripts/bench/bench-classifier from the
    simulated cameras' frames; resized to 1280x720 and re-encoded at quality 90 if it is another size)."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:720, 0:1280]
    frame = np.stack([(xx * 255 // 1280), (yy * 255 // 720), ((xx ^ yy) & 255)], -1).astype(np.uint8)
    frame = np.clip(frame.astype(np.int16) + rng.integers(-20, 20, frame.shape), 0, 255).astype(np.uint8)
    synthetic = os.path.join(directory, "frame.jpg")
    Image.fromarray(frame).save(synthetic, quality=90)
    result = [("synthetic noisy q90", synthetic)]
    camera = os.path.join(directory, "camera.jpg")
    if os.path.exists(camera):
        with Image.open(camera) as img:
            if img.size != (1280, 720):
                img.convert("RGB").resize((1280, 720), Image.LANCZOS).save(camera, quality=90)
        result.append(("camera frame", camera))
    return result


# The peak RSS of each process is its own VmHWM from /proc/self/status, read just before it exits
# (remotaird with REMOTAIRD_MEMORY_REPORT=1). wait4's ru_maxrss is no use here: a child forked from this
# Python process inherits its page counts, and Linux keeps that high-water mark across exec.
def our_memory(stderr):
    match = re.search(r"memory: (.*) \(kB\)", stderr)
    return {key: int(value) for key, value in (field.split("=") for field in match.group(1).split())} if match else {}


def drop_from_page_cache(paths):
    """Evicts these files from the page cache, as after a reboot: the next process reads their code from
    disk (through readahead) instead of mapping whatever page-cache folios the linker's write or an earlier
    run left. On this kernel that history alone moves a process's file-backed RSS by up to 1.5 MiB."""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def python_code_files():
    """The Python pipeline's own code: the interpreter, libpython, and the shared objects of numpy,
    onnxruntime and Pillow (with the libraries their wheels bundle)."""
    import sysconfig
    files = [os.path.realpath(sys.executable)]
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    if os.path.isdir(libdir):
        files += [os.path.join(libdir, name) for name in os.listdir(libdir) if name.startswith("libpython")]
    for site in {os.path.dirname(os.path.dirname(module.__file__)) for module in (np, ort, Image)}:
        for entry in os.listdir(site):
            if entry.lower().startswith(("numpy", "onnxruntime", "pil", "pillow")):
                for root, _, names in os.walk(os.path.join(site, entry)):
                    files += [os.path.join(root, name) for name in names if ".so" in name]
    return files


def decode_floor(jpeg, width, height, count):
    """Median ms of the JPEG decode alone at the DCT scale a classifier needs for a width x height input
    (Pillow's draft mode: the same libjpeg-turbo scaled decode our pipeline runs), no resize or inference.
    Neither pipeline can be faster than this, which bounds the possible speed-up."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        with Image.open(jpeg) as img:
            img.draft("RGB", (width, height))
            img.load()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def our_inference_ms(binary, model, directory, count):
    _, stderr = measure([binary, "infer", "--model", model, "--npy", os.path.join(directory, "input.npy"), "--repeat", str(count)])
    match = re.search(r"median ([0-9.]+) ms", stderr)
    return float(match.group(1)) if match else float("nan")


def whole_path(binary, directory, runs):
    try:
        with open(os.path.join(directory, "bench.json")) as f:
            macs = json.load(f)["macs"]
    except OSError:
        macs = {}
    models = [name for name in ("mobilenet_v2_025_224", "mobilenet_v2_224")
              if os.path.exists(os.path.join(directory, name + "_int8.onnx"))]
    script = os.path.join(directory, "pipeline.py")
    with open(script, "w") as f:
        f.write(PIPELINE)
    count = max(20, runs // 4)
    inputs = frames(directory)
    mib = lambda kb: kb / 1024.0
    print()
    print(f"whole path, 1280x720 JPEG -> verdict, median of {count} per process, int8 models; peak RSS = VmHWM,")
    print("anon/file = anonymous and file-backed resident memory at exit; both programs' code files are dropped from the")
    print("page cache before each run (as after a reboot). Targets: >= 5x faster, <= 0.25 of the RSS")
    for model_name in models:
        model = os.path.join(directory, model_name + "_int8.onnx")
        label = f"{model_name} ({macs[model_name] / 1e6:.1f} M MACs)" if model_name in macs else model_name
        inference = our_inference_ms(binary, model, directory, count)
        for frame_name, jpeg in inputs:
            drop_from_page_cache([binary])
            stdout, stderr = measure([binary, "classify", "--model", model, "--json"] + [jpeg] * count,
                                     {"REMOTAIRD_MEMORY_REPORT": "1"})
            our_ms = statistics.median(json.loads(line)["ms"] for line in stdout.splitlines())
            ours = our_memory(stderr)
            drop_from_page_cache(python_code_files())
            stdout, _ = measure([sys.executable, script, model, jpeg, str(count)])
            result = json.loads(stdout)
            their_ms, theirs = result["median_ms"], result["memory"]
            print()
            print(f"{label}, {frame_name}:")
            for name, ms, memory in (("remotaird classify", our_ms, ours), ("Pillow + onnxruntime", their_ms, theirs)):
                print(f"  {name:<22}{ms:8.3f} ms   peak RSS {mib(memory.get('VmHWM', 0)):6.1f} MiB"
                      f"   (anon {mib(memory.get('RssAnon', 0)):5.1f}, file {mib(memory.get('RssFile', 0)):5.1f} MiB at exit)")
            rss_ratio = ours.get("VmHWM", 0) / theirs["VmHWM"] if theirs.get("VmHWM") else float("nan")
            print(f"  speed-up {their_ms / our_ms:.2f}x (target >= 5x), RSS ratio {rss_ratio:.2f} (target <= 0.25)")
            # The bound: decode alone, and decode plus our inference, against the Python pipeline's time.
            floor = decode_floor(jpeg, 224, 224, count)
            print(f"  bound: Pillow's scaled decode of this JPEG alone takes {floor:.3f} ms, so no pipeline that decodes it is much "
                  f"over {their_ms / floor:.1f}x; plus our inference ({inference:.3f} ms): about {their_ms / (floor + inference):.1f}x")

        # Cold: one process per image, from exec to exit (a script calling the command once per frame);
        # the figures above are the warm, per-frame cost inside one process (what the daemon pays).
        frame_name, jpeg = inputs[-1]
        cold = lambda arguments: statistics.median(wall(arguments) for _ in range(5))
        our_cold = cold([binary, "classify", "--model", model, jpeg])
        their_cold = cold([sys.executable, script, model, jpeg, "1"])
        print(f"  cold, one process per image ({frame_name}): remotaird classify {our_cold:.1f} ms, "
              f"Pillow + onnxruntime {their_cold:.1f} ms, speed-up {their_cold / our_cold:.1f}x")


if __name__ == "__main__":
    main()
