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

# The Python peers of the whole path, run as their own processes. `plain`: what a user would write first
# (full decode, bilinear resize). `draft`: a competent one, as scripts/bench/bench-jpeg's Pillow side: Pillow's
# draft() lets libjpeg-turbo decode at the smallest DCT scale still covering the input, then an area
# (box) resize. Both time the file read (Image.open on the path) as part of each frame, as our whole-path
# figure does. With COUNT 0 it only prints each image's scores (the pipelines' agreement check).
PIPELINE = r'''
import sys, time, json
import numpy as np
import onnxruntime as ort
from PIL import Image
mode, model, count, images = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
height, width = session.get_inputs()[0].shape[2:]
mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
std = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)
def scores(path):
    with Image.open(path) as img:
        if mode == "draft":
            img.draft("RGB", (width, height))
            rgb = img.convert("RGB").resize((width, height), Image.Resampling.BOX)
        else:
            rgb = img.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    x = (np.asarray(rgb, np.float32).transpose(2, 0, 1) / 255.0 - mean) / std
    logits = session.run(None, {name: x[None]})[0][0]
    p = np.exp(logits - logits.max()); p /= p.sum()
    return p
if count == 0:
    print(json.dumps({"scores": {path: [float(v) for v in scores(path)] for path in images}}))
    sys.exit(0)
times = []
for _ in range(count):
    start = time.perf_counter()
    scores(images[0])
    times.append((time.perf_counter() - start) * 1000)
times.sort()
memory = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("VmHWM", "RssAnon", "RssFile"):
        memory[key] = int(value.split()[0])
print(json.dumps({"median_ms": times[len(times) // 2], "memory": memory}))
'''
PEERS = (("plain", "Pillow full decode + bilinear"), ("draft", "Pillow draft + box"))


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


def bench_config(directory):
    """The configuration every `infer` and `classify` here gets with --config: one inference thread, so a
    stray /etc/remotair/remotaird.yaml cannot change the thread count (onnxruntime also runs one thread)."""
    path = os.path.join(directory, "bench.yaml")
    with open(path, "w") as f:
        f.write("device_id: bench\ninference:\n  threads: 1\n")
    return path


def main():
    binary, directory, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = bench_config(directory)
    x = np.load(os.path.join(directory, "input.npy"))
    print(f"onnxruntime {ort.__version__}, {runs} runs each, one thread, MobileNetV2 1x3x224x224 -> 2 classes")
    print()
    print(f"{'model':<28}{'ours ms':>10}{'onnxruntime ms':>16}{'ratio':>8}")
    for name in ("mobilenet_v2_224_int8", "mobilenet_v2_224_float", "mobilenet_v2_025_224_int8"):
        model = os.path.join(directory, name + ".onnx")
        if not os.path.exists(model):
            continue
        theirs = onnxruntime_latency(model, x, runs)
        ours = our_inference_ms(binary, config, model, directory, runs)
        print(f"{name:<28}{ours:>10.3f}{theirs:>16.3f}{ours / theirs:>8.2f}x")

    whole_path(binary, config, directory, runs)


def frames(directory):
    """The 1280x720 inputs of the whole path: a noisy synthetic frame at quality 90 (a worst case for the
    entropy decoder) and two camera frames (camera.jpg, the one scripts/maintenance/order-symbols profiles, and
    camera-clean.jpg from another scene, which it does not; copied by scripts/bench/bench-classifier from the
    simulated cameras' frames; resized to 1280x720 and re-encoded at quality 90 if of another size)."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:720, 0:1280]
    frame = np.stack([(xx * 255 // 1280), (yy * 255 // 720), ((xx ^ yy) & 255)], -1).astype(np.uint8)
    frame = np.clip(frame.astype(np.int16) + rng.integers(-20, 20, frame.shape), 0, 255).astype(np.uint8)
    synthetic = os.path.join(directory, "frame.jpg")
    Image.fromarray(frame).save(synthetic, quality=90)
    result = [("synthetic noisy q90", synthetic)]
    for name, file in (("camera frame", "camera.jpg"), ("camera frame, clean scene", "camera-clean.jpg")):
        camera = os.path.join(directory, file)
        if os.path.exists(camera):
            with Image.open(camera) as img:
                if img.size != (1280, 720):
                    img.convert("RGB").resize((1280, 720), Image.LANCZOS).save(camera, quality=90)
            result.append((name, camera))
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
    (Pillow's draft mode: the same libjpeg-turbo scaled decode our pipeline runs), file read included, no
    resize or inference. No pipeline can be faster than this plus its inference: the floor."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        with Image.open(jpeg) as img:
            img.draft("RGB", (width, height))
            img.load()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def our_inference_ms(binary, config, model, directory, count):
    _, stderr = measure([binary, "infer", "--config", config, "--model", model, "--npy", os.path.join(directory, "input.npy"),
                         "--repeat", str(count)])
    match = re.search(r"median ([0-9.]+) ms", stderr)
    return float(match.group(1)) if match else float("nan")


def our_marginal_ms(binary, config, model, jpeg, count):
    """Milliseconds per image of `remotaird classify` as a whole process: (wall time for 2N copies of the
    image - wall time for N) / N, median of three pairs. Each image's file read, decode, inference and
    output line are inside that window, as the file read is inside the Python pipelines' own; start-up and
    model load cancel out."""
    base = [binary, "classify", "--config", config, "--model", model, "--json"]
    samples = []
    for _ in range(3):
        one = wall(base + [jpeg] * count)
        two = wall(base + [jpeg] * (2 * count))
        samples.append((two - one) / count)
    return statistics.median(samples)


def pipeline_scores(script, mode, model, jpegs):
    stdout, _ = measure([sys.executable, script, mode, model, "0"] + jpegs)
    return json.loads(stdout)["scores"]


def agreement(directory, script, model, binary, config, jpegs):
    """Both Python pipelines and ours on every frame: the largest score difference and label disagreements,
    so a speed-up is never bought by computing something else."""
    plain = pipeline_scores(script, "plain", model, jpegs)
    draft = pipeline_scores(script, "draft", model, jpegs)
    stdout, _ = measure([binary, "classify", "--config", config, "--model", model, "--json"] + jpegs)
    ours = {}
    for line in stdout.splitlines():
        result = json.loads(line)
        ours[result["file"]] = [result["scores"][label] for label in ("clean", "dirty")]
    def compare(a, b):
        differences = [abs(x - y) for path in jpegs for x, y in zip(a[path], b[path])]
        flips = sum(int(np.argmax(a[path]) != np.argmax(b[path])) for path in jpegs)
        return (f"|score difference| mean {statistics.mean(differences):.4f} max {max(differences):.4f}, "
                f"{flips} of {len(jpegs)} labels differ")
    print(f"  scores on {len(jpegs)} frames: plain vs draft pipeline: {compare(plain, draft)}; "
          f"ours vs plain: {compare(ours, plain)}; ours vs draft: {compare(ours, draft)}")


def whole_path(binary, config, directory, runs):
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
    every_frame = inputs_for_agreement(directory, inputs)
    mib = lambda kb: kb / 1024.0
    print()
    print(f"whole path, 1280x720 JPEG -> verdict, int8 models, {count} frames per process. Times per frame, file read included:")
    print("ours = marginal wall time of `remotaird classify` per image ((2N images - N images) / N); the Python pipelines")
    print("time each frame from Image.open on the path to the probabilities, median. 'in-process' is classify's own")
    print("per-image figure (file already read), the one this benchmark used to compare. Peak RSS = VmHWM; anon/file =")
    print("anonymous and file-backed resident memory at exit; every program's code files are dropped from the page")
    print("cache before each run (as after a reboot). floor = Pillow's scaled decode alone (file read included),")
    print("timed in this run, plus our inference. Targets: >= 5x faster, <= 0.25 of the RSS.")
    print("scripts/maintenance/order-symbols profiles mobilenet_v2_025_224 on the camera frame (dirty/000.jpg) only: every other")
    print("row's peak RSS is on a model or frame whose functions were not ordered from its own run.")
    for model_name in models:
        model = os.path.join(directory, model_name + "_int8.onnx")
        label = f"{model_name} ({macs[model_name] / 1e6:.1f} M MACs)" if model_name in macs else model_name
        inference = our_inference_ms(binary, config, model, directory, count)
        for frame_name, jpeg in inputs:
            profiled = model_name == "mobilenet_v2_025_224" and frame_name == "camera frame"
            drop_from_page_cache([binary])
            stdout, stderr = measure([binary, "classify", "--config", config, "--model", model, "--json"] + [jpeg] * count,
                                     {"REMOTAIRD_MEMORY_REPORT": "1"})
            in_process_ms = statistics.median(json.loads(line)["ms"] for line in stdout.splitlines())
            ours = our_memory(stderr)
            our_ms = our_marginal_ms(binary, config, model, jpeg, count)
            peers = []
            for mode, peer_name in PEERS:
                drop_from_page_cache(python_code_files())
                stdout, _ = measure([sys.executable, script, mode, model, str(count), jpeg])
                result = json.loads(stdout)
                peers.append((peer_name, result["median_ms"], result["memory"]))
            floor = decode_floor(jpeg, 224, 224, count)
            print()
            print(f"{label}, {frame_name}{' (profiled by order-symbols)' if profiled else ' (not profiled by order-symbols)'}:")
            for name, ms, memory in [("remotaird classify", our_ms, ours)] + peers:
                print(f"  {name:<32}{ms:8.3f} ms   peak RSS {mib(memory.get('VmHWM', 0)):6.1f} MiB"
                      f"   (anon {mib(memory.get('RssAnon', 0)):5.1f}, file {mib(memory.get('RssFile', 0)):5.1f} MiB at exit)")
            print(f"  {'  in-process (old figure)':<32}{in_process_ms:8.3f} ms")
            print(f"  {'  floor: decode + our inference':<32}{floor + inference:8.3f} ms   ({floor:.3f} + {inference:.3f}); "
                  f"ours / floor {our_ms / (floor + inference):.2f}")
            for name, ms, memory in peers:
                rss_ratio = ours.get("VmHWM", 0) / memory["VmHWM"] if memory.get("VmHWM") else float("nan")
                print(f"  vs {name}: speed-up {ms / our_ms:.2f}x (old figure {ms / in_process_ms:.2f}x; target >= 5x), "
                      f"RSS ratio {rss_ratio:.2f} (target <= 0.25); bound {ms / (floor + inference):.1f}x")

        agreement(directory, script, model, binary, config, every_frame)

        # Cold: one process per image, from exec to exit (a script calling the command once per frame);
        # the figures above are the warm, per-frame cost inside one process (what the daemon pays).
        frame_name, jpeg = inputs[1] if len(inputs) > 1 else inputs[0]
        cold = lambda arguments: statistics.median(wall(arguments) for _ in range(5))
        our_cold = cold([binary, "classify", "--config", config, "--model", model, jpeg])
        cold_peers = ", ".join(f"{name} {ms:.1f} ms ({ms / our_cold:.1f}x)"
                               for ms, name in ((cold([sys.executable, script, mode, model, '1', jpeg]), name) for mode, name in PEERS))
        print(f"  cold, one process per image ({frame_name}): remotaird classify {our_cold:.1f} ms; {cold_peers}")

    # The benchmark models have random weights, whose scores swing with small resampling differences; the
    # bundled trained model (copied by scripts/bench/bench-classifier) shows whether the labels agree on real frames.
    trained = os.path.join(directory, "duct-classifier.onnx")
    if os.path.exists(trained):
        print()
        print("Calibration/duct-classifier.onnx (trained; same size, normalisation and labels):")
        agreement(directory, script, trained, binary, config, every_frame)


def inputs_for_agreement(directory, inputs):
    """The benchmark's frames and every simulation frame (Calibration/simulation/frames, copied by
    scripts/bench/bench-classifier to BENCH_DIR/frames)."""
    found = [path for _, path in inputs]
    root = os.path.join(directory, "frames")
    if os.path.isdir(root):
        for scene in sorted(os.listdir(root)):
            found += [os.path.join(root, scene, name) for name in sorted(os.listdir(os.path.join(root, scene))) if name.endswith(".jpg")]
    return found


if __name__ == "__main__":
    main()
