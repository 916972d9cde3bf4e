"""Rekognition Custom Labels-style evaluation: per label F1, precision, recall,
test image count and the assumed (F1-optimal) threshold, plus the confusion
matrix and float/int8 agreement. Scores come from onnxruntime or from the
daemon's own `remotaird classify`, and the report says which.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np


@dataclass
class LabelMetrics:
    f1: float
    precision: float
    recall: float
    test_images: int  # images whose true label is this one
    assumed_threshold: float
    tp: int
    fp: int
    fn: int


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def best_threshold(scores: Sequence[float], positive: Sequence[bool]) -> LabelMetrics:
    """F1-optimal threshold for `score >= t`.

    Only cuts between distinct scores change the outcome, so the threshold is
    placed midway between the lowest accepted score and the next one below it:
    the same decisions on the test split, with the largest margin either side.
    Ties in F1 go to the higher threshold (fewer false alarms).
    """
    s = np.asarray(scores, np.float64)
    y = np.asarray(positive, bool)
    if s.shape != y.shape or s.size == 0:
        raise ValueError("scores and labels must be non-empty and the same length")
    distinct = np.unique(s)[::-1]  # high to low
    n_pos = int(y.sum())
    best: LabelMetrics | None = None
    for i, cut in enumerate(distinct):
        pred = s >= cut
        tp = int((pred & y).sum())
        fp = int((pred & ~y).sum())
        fn = n_pos - tp
        p, r, f1 = _prf(tp, fp, fn)
        below = distinct[i + 1] if i + 1 < len(distinct) else 0.0
        t = float((cut + below) / 2)
        if best is None or f1 > best.f1 + 1e-12:
            best = LabelMetrics(f1, p, r, n_pos, t, tp, fp, fn)
    assert best is not None
    return best


def confusion_matrix(true_idx: Sequence[int], pred_idx: Sequence[int], n: int) -> list[list[int]]:
    """Rows: true label, columns: predicted label (argmax)."""
    m = np.zeros((n, n), int)
    for t, p in zip(true_idx, pred_idx):
        m[t, p] += 1
    return m.tolist()


def evaluate_scores(scores: np.ndarray, true_idx: Sequence[int], labels: Sequence[str],
                    evaluated_with: str) -> dict[str, Any]:
    """scores: (N, L) probabilities in label order."""
    scores = np.asarray(scores, np.float64)
    true = np.asarray(true_idx, int)
    per_label = {}
    for j, label in enumerate(labels):
        per_label[label] = asdict(best_threshold(scores[:, j], true == j))
    pred = scores.argmax(axis=1)
    keys = ("f1", "precision", "recall")
    overall = {k: float(np.mean([per_label[lb][k] for lb in labels])) for k in keys}
    return {
        "evaluated_with": evaluated_with,
        "test_images": int(len(true)),
        "accuracy": float((pred == true).mean()),
        "per_label": per_label,
        "overall": overall,
        "confusion_matrix": confusion_matrix(true, pred, len(labels)),
        "predictions": pred.tolist(),
    }


def agreement(a: Sequence[int], b: Sequence[int]) -> float:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.size == 0:
        raise ValueError("prediction lists must be non-empty and the same length")
    return float((a == b).mean())


def score_difference(board: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """The same model's scores from two runtimes (rows: images, columns: labels): how far apart they are."""
    board, reference = np.asarray(board, np.float64), np.asarray(reference, np.float64)
    if board.shape != reference.shape or board.size == 0:
        raise ValueError("score arrays must be non-empty and the same shape")
    diff = np.abs(board - reference)
    return {"max_abs": round(float(diff.max()), 6), "median_abs": round(float(np.median(diff)), 6),
            "argmax_agreement": agreement(board.argmax(axis=1), reference.argmax(axis=1)),
            "images": int(board.shape[0])}


# ---- scoring -----------------------------------------------------------------

def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def graph_ends_in_probabilities(model_path: Path) -> bool:
    """Mirror the daemon's rule: softmax is applied unless the graph ends in Softmax/Sigmoid."""
    import onnx

    m = onnx.load(str(model_path), load_external_data=False)
    out = m.graph.output[0].name
    producers = [n for n in m.graph.node if out in n.output]
    return bool(producers) and producers[0].op_type in ("Softmax", "Sigmoid")


def score_onnxruntime(model_path: Path, images: Sequence[Path], size: int, mean, std, resize: str,
                      batch: int = 16) -> np.ndarray:
    import onnxruntime as ort

    from .dataset import load_image

    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    probs = graph_ends_in_probabilities(model_path)
    out = []
    for i in range(0, len(images), batch):
        x = np.stack([load_image(p, size, mean, std, resize) for p in images[i:i + batch]])
        y = sess.run(None, {name: x})[0].astype(np.float64)
        out.append(y if probs else softmax(y))
    return np.concatenate(out)


def find_remotaird(root: Path) -> Path | None:
    """REMOTAIRD, then a release build, then a debug build."""
    env = os.environ.get("REMOTAIRD")
    if env:
        p = Path(env) if "/" in env else Path(shutil.which(env) or env)
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise FileNotFoundError(f"REMOTAIRD={env}: not an executable file")
        return p
    for p in (root / ".build/release/remotaird", root / ".build/debug/remotaird"):
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return None


def parse_classify_output(text: str, images: Sequence[Path], labels: Sequence[str]) -> np.ndarray:
    """`remotaird classify --json` prints one object per image: {"file", "label", "scores", "ms"}."""
    by_file: dict[str, dict[str, float]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            scores = obj["scores"]
            file = obj["file"]
            row = {lb: float(scores[lb]) for lb in labels}
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"remotaird classify output line {n}: unexpected {line[:120]!r} ({e})") from None
        by_file[file] = row
    out = []
    for p in images:
        row = by_file.get(str(p))
        if row is None:
            raise ValueError(f"remotaird classify printed no result for {p}")
        out.append([row[lb] for lb in labels])
    return np.asarray(out, np.float64)


def score_remotaird(binary: Path, model_path: Path, images: Sequence[Path], labels: Sequence[str],
                    chunk: int = 64) -> np.ndarray:
    out = []
    for i in range(0, len(images), chunk):
        part = list(images[i:i + chunk])
        cmd = [str(binary), "classify", "--model", str(model_path), "--json", *map(str, part)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:5])} ... exited {res.returncode}: {res.stderr.strip()[:500]}")
        out.append(parse_classify_output(res.stdout, part, labels))
    return np.concatenate(out)


# ---- report ------------------------------------------------------------------

def _fmt(x: float) -> str:
    return f"{x:.3f}"


def render_markdown(report: dict[str, Any]) -> str:
    labels = report["labels"]
    lines = [
        f"# Evaluation: {report['model']}",
        "",
        f"- model version: {report['model_version']}",
        f"- trained at: {report['trained_at']}",
        f"- dataset sha256: `{report['dataset_sha256']}`",
        f"- test images: {report['test_images']} ({report['split']})",
        f"- float/int8 agreement: {report['agreement']['rate']:.1%} of {report['agreement']['images']} images",
        "",
    ]
    machine = report.get("dataset", {}).get("machine_labels")
    if machine:
        if machine["accepted"]:
            text = (f"{machine['included']} of the images used ({machine['share']:.1%}), included on purpose "
                    "(--accept-machine-labels)")
        else:
            text = f"{machine['left_out']} left out; only human-annotated labels used"
        lines.insert(-1, f"- machine-labelled lines: {text}")
    board = report.get("board_vs_onnxruntime")
    if board:
        lines.insert(-1, f"- int8 scores, `remotaird classify` against onnxruntime: max |difference| "
                         f"{board['max_abs']:.4f} (median {board['median_abs']:.5f}), same argmax on "
                         f"{board['argmax_agreement']:.1%} of {board['images']} images")
    if report.get("input", {}).get("preprocessing"):
        lines.insert(-1, f"- preprocessing: {report['input']['preprocessing']}")
    if report.get("note"):
        lines += [f"> {report['note']}", ""]
    for key, title in (("int8", "int8 model"), ("float", "float model")):
        ev = report["evaluations"].get(key)
        if not ev:
            continue
        lines += [
            f"## {title} (evaluated with {ev['evaluated_with']})",
            "",
            f"Overall: F1 {_fmt(ev['overall']['f1'])}, precision {_fmt(ev['overall']['precision'])}, "
            f"recall {_fmt(ev['overall']['recall'])}, accuracy {_fmt(ev['accuracy'])} (argmax)",
            "",
            "| Label | F1 score | Test images | Precision | Recall | Assumed threshold |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for lb in labels:
            m = ev["per_label"][lb]
            lines.append(f"| {lb} | {_fmt(m['f1'])} | {m['test_images']} | {_fmt(m['precision'])} | "
                         f"{_fmt(m['recall'])} | {_fmt(m['assumed_threshold'])} |")
        lines += ["", "Confusion matrix (rows: true label, columns: predicted, argmax):", "",
                  "| true \\ predicted | " + " | ".join(labels) + " |",
                  "|---|" + "---:|" * len(labels)]
        for lb, row in zip(labels, ev["confusion_matrix"]):
            lines.append(f"| {lb} | " + " | ".join(str(v) for v in row) + " |")
        lines.append("")
    lines += ["The assumed threshold is the F1-optimal threshold on the test split, "
              "as Rekognition Custom Labels reports it.", ""]
    return "\n".join(lines)


def write_report(report: dict[str, Any], model_path: Path) -> tuple[Path, Path]:
    """`X.onnx` -> `X.report.md` and `X.report.json` next to it."""
    stem = model_path.with_suffix("")
    md, js = Path(f"{stem}.report.md"), Path(f"{stem}.report.json")
    md.write_text(render_markdown(report), encoding="utf-8")
    js.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return md, js
