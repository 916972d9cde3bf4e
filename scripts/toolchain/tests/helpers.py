"""Small builders shared by the tests (real files, no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image


def write_jpeg(path: Path, colour=(120, 120, 120), size=(32, 24)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, "JPEG")
    return path


def gt_line(ref: str, index: int, name: str, attr: str = "duct-condition", **meta) -> dict:
    m = {"class-name": name, "confidence": 0.88, "human-annotated": "no",
         "creation-date": "2026-11-27T10:00:00.000000", "type": "groundtruth/image-classification",
         "job-name": "labeling-job/remotair-dev1"}
    m.update(meta)
    return {"source-ref": ref, attr: index, f"{attr}-metadata": m}


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path
