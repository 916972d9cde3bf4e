"""ONNX metadata_props the daemon reads: labels, mean, std, resize, and provenance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

RESIZE_MODES = ("stretch", "center_crop")
_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@dataclass(frozen=True)
class ModelMetadata:
    labels: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str
    model_version: str
    trained_at: str
    dataset_sha256: str

    def validate(self) -> None:
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be at least two distinct names, got {self.labels}")
        for lb in self.labels:
            if not lb or "," in lb or lb != lb.strip():
                raise ValueError(f"label {lb!r} must be non-empty, without commas or surrounding spaces")
        if len(self.mean) != 3 or not all(0 <= v <= 1 for v in self.mean):
            raise ValueError(f"mean must be three values in 0..1 (RGB), got {self.mean}")
        if len(self.std) != 3 or not all(0 < v <= 1 for v in self.std):
            raise ValueError(f"std must be three values in (0, 1] (RGB), got {self.std}")
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, got {self.resize!r}")
        if not self.model_version:
            raise ValueError("model_version is empty")
        if not _ISO_UTC.match(self.trained_at):
            raise ValueError(f"trained_at must be ISO 8601 UTC like 2026-11-27T10:00:00Z, got {self.trained_at!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.dataset_sha256):
            raise ValueError("dataset_sha256 must be 64 lower-case hex digits")

    def props(self) -> dict[str, str]:
        def floats(v: tuple[float, ...]) -> str:
            return ",".join(f"{x:.6g}" for x in v)

        return {
            "labels": ",".join(self.labels),
            "mean": floats(self.mean),
            "std": floats(self.std),
            "resize": self.resize,
            "model_version": self.model_version,
            "trained_at": self.trained_at,
            "dataset_sha256": self.dataset_sha256,
        }


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply(model, meta: ModelMetadata) -> None:
    """Set the keys on an in-memory ModelProto, replacing earlier values of the same keys."""
    meta.validate()
    props = meta.props()
    keep = [(p.key, p.value) for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    for k, v in keep + sorted(props.items()):
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v


def write(path: Path, meta: ModelMetadata) -> None:
    import onnx

    model = onnx.load(str(path))
    apply(model, meta)
    onnx.save(model, str(path))


def read(path: Path) -> dict[str, str]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}
