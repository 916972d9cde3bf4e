"""Calibration/classifier.yaml: the model file, its hash, thresholds and a report summary.

Written as text rather than through a YAML dumper so the header comment and
the field order stay as operators know them.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

# Hysteresis: an alarm raised at `raise` clears only below `clear`, so a score
# hovering around the threshold does not flap.
HYSTERESIS_GAP = 0.15
MIN_THRESHOLD, MAX_THRESHOLD = 0.01, 0.99
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def thresholds_for(raise_at: float) -> tuple[float, float]:
    """(raise, clear), both strictly inside (0, 1) and clear < raise, as check-config demands."""
    r = min(max(raise_at, MIN_THRESHOLD + 0.01), MAX_THRESHOLD)
    clear = max(r - HYSTERESIS_GAP, r / 2)
    return round(r, 4), round(min(clear, r - 0.005), 4)


def _q(s: str) -> str:
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(s)


def _name(s: str) -> str:
    """Plain YAML scalar when it cannot be misread (e.g. `no`, `1.0`), else quoted."""
    plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", s) and s.lower() not in _YAML_WORDS
    return s if plain else _q(s)


def render(model_file: str, model_sha256: str, model_version: str, labels: Sequence[str], alarm_label: str,
           raise_at: float, summary: dict[str, Any], report_file: str, evaluated_with: str,
           now: datetime | None = None) -> str:
    if alarm_label not in labels:
        raise ValueError(f"alarm label {alarm_label!r} is not one of the model's labels {list(labels)}")
    r, c = thresholds_for(raise_at)
    when = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    label_list = ", ".join(_name(lb) for lb in labels)
    alarm = _name(alarm_label)
    return "\n".join([
        f"# written by scripts/toolchain/train-classifier on {when}; do not edit by hand unless you know why",
        f"model: {model_file}          # path relative to this file",
        f"model_sha256: {model_sha256}",
        f"model_version: {_q(model_version)}",
        f"labels: [{label_list}]",
        f"alarm_label: {alarm}",
        "thresholds:",
        f"  {alarm}: {{raise: {r}, clear: {c}}}   # raise = F1-optimal threshold on the test split; "
        "clear lower for hysteresis",
        "report:",
        f"  file: {report_file}",
        f"  evaluated_with: {evaluated_with}",
        f"  # {alarm_label} on the int8 model at the raise threshold",
        f"  f1: {summary['f1']:.4f}",
        f"  precision: {summary['precision']:.4f}",
        f"  recall: {summary['recall']:.4f}",
        f"  test_images: {int(summary['test_images'])}",
        "",
    ])


def write(out_dir: Path, model_path: Path, model_version: str, labels: Sequence[str], alarm_label: str,
          raise_at: float, summary: dict[str, Any], report_path: Path, evaluated_with: str) -> Path:
    """Write `out_dir/classifier.yaml`; model and report paths are stored relative to it."""
    text = render(
        model_file=Path(model_path).resolve().relative_to(out_dir.resolve()).as_posix(),
        model_sha256=sha256_file(model_path), model_version=model_version, labels=labels,
        alarm_label=alarm_label, raise_at=raise_at, summary=summary,
        report_file=Path(report_path).resolve().relative_to(out_dir.resolve()).as_posix(),
        evaluated_with=evaluated_with)
    path = out_dir / "classifier.yaml"
    path.write_text(text, encoding="utf-8")
    return path
