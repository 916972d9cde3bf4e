"""build-manifest: the daemon's uploaded snapshot sidecars -> one Ground Truth manifest.

Uploads are laid out as `{prefix}/{device_id}/{kind}/{yyyy}/{mm}/{dd}/{item_id}.jpg`
with `{item_id}.json` next to each image; its `ground_truth` value is already a
manifest line. Sidecars of kinds other than snapshot and sample are ignored;
malformed ones are named, counted, and fail the run above a set share.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .dataset import DEFAULT_LABEL_ATTRIBUTE, DatasetError, validate_line

KINDS = ("snapshot", "sample")
DEFAULT_MAX_BAD_SHARE = 0.05


@dataclass
class Result:
    lines: list[dict] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    unlabelled: int = 0  # sidecars without a ground_truth (nothing to relabel from); not an error
    other_kinds: int = 0
    duplicates: int = 0

    @property
    def considered(self) -> int:
        return len(self.lines) + len(self.bad)


def _layout_kind(rel: Path) -> str | None:
    """`.../{device}/{kind}/{yyyy}/{mm}/{dd}/{item}.json` -> kind, or None if the path does not fit."""
    parts = rel.parts
    if len(parts) < 6:
        return None
    kind, yyyy, mm, dd = parts[-5], parts[-4], parts[-3], parts[-2]
    if not (len(yyyy) == 4 and yyyy.isdigit() and len(mm) == 2 and mm.isdigit() and len(dd) == 2 and dd.isdigit()):
        return None
    return kind


def collect(root: Path, label_attribute: str | None = None) -> Result:
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    res = Result()
    attribute = label_attribute
    names: dict[int, tuple[str, str]] = {}
    seen: set[str] = set()
    for sidecar in sorted(root.rglob("*.json")):
        rel = sidecar.relative_to(root)
        kind = _layout_kind(rel)
        if kind is None:
            continue  # not an upload sidecar (e.g. an index file at the top)
        if kind not in KINDS:
            res.other_kinds += 1
            continue
        where = str(sidecar)
        try:
            try:
                doc = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as e:
                raise DatasetError(f"{where}: cannot read ({e})") from None
            except json.JSONDecodeError as e:
                raise DatasetError(f"{where}: not valid JSON ({e.msg} at line {e.lineno})") from None
            if not isinstance(doc, dict):
                raise DatasetError(f"{where}: expected a JSON object")
            if "ground_truth" not in doc or doc["ground_truth"] is None:
                res.unlabelled += 1
                continue
            gt = doc["ground_truth"]
            ref, attr, index, name = validate_line(gt, f"{where}: ground_truth", attribute)
            attribute = attribute or attr
            first = names.setdefault(index, (name, where))
            if first[0] != name:
                raise DatasetError(f"{where}: class index {index} is {name!r} here but {first[0]!r} in {first[1]}")
            image = sidecar.with_suffix(".jpg")
            if not image.is_file():
                raise DatasetError(f"{where}: image {image.name} missing next to the sidecar")
            if ref in seen:
                res.duplicates += 1
                continue
            seen.add(ref)
            res.lines.append(gt)
        except DatasetError as e:
            res.bad.append(str(e))
    res.lines.sort(key=lambda o: o["source-ref"])
    return res


def resolve_from(src: str, s3_mirror: Path | None) -> Path:
    if src.startswith("s3://"):
        if s3_mirror is None:
            raise DatasetError(f"--from {src}: pass --s3-mirror DIR holding a copy of the bucket (DIR/bucket/...)")
        bucket, _, prefix = src[len("s3://"):].partition("/")
        if not bucket or ".." in Path(prefix).parts:
            raise DatasetError(f"--from {src}: not a usable s3://bucket/prefix")
        return s3_mirror / bucket / prefix
    return Path(src)


def write_manifest(lines: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(o, separators=(",", ":")) + "\n" for o in lines), encoding="utf-8")
    tmp.replace(out)  # never leave a half-written manifest behind


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="build-manifest", description=(
        "Collect the ground_truth lines of uploaded snapshot/sample sidecars into one "
        "SageMaker Ground Truth image-classification manifest."))
    p.add_argument("--from", dest="src", required=True, help="folder or s3://bucket/prefix (with --s3-mirror)")
    p.add_argument("--out", type=Path, required=True, help="manifest to write (JSON lines)")
    p.add_argument("--s3-mirror", type=Path, help="local copy of S3: s3://bucket/key is DIR/bucket/key")
    p.add_argument("--label-attribute", help=f"label attribute name (default: detected, usually "
                                             f"{DEFAULT_LABEL_ATTRIBUTE})")
    p.add_argument("--max-bad-share", type=float, default=DEFAULT_MAX_BAD_SHARE,
                   help="fail when more than this share of sidecars is malformed (default %(default)s)")
    a = p.parse_args(argv)
    try:
        res = collect(resolve_from(a.src, a.s3_mirror), a.label_attribute)
    except DatasetError as e:
        print(f"build-manifest: error: {e}", file=sys.stderr)
        return 2
    for line in res.bad:
        print(f"build-manifest: malformed: {line}", file=sys.stderr)
    print(f"build-manifest: {len(res.lines)} lines, {len(res.bad)} malformed sidecars, "
          f"{res.unlabelled} without ground_truth, {res.duplicates} duplicates, "
          f"{res.other_kinds} of other kinds", file=sys.stderr)
    if not res.lines:
        print(f"build-manifest: error: no usable sidecars under {a.src}", file=sys.stderr)
        return 1
    if len(res.bad) > a.max_bad_share * res.considered:
        print(f"build-manifest: error: {len(res.bad)} of {res.considered} sidecars malformed, more than "
              f"{a.max_bad_share:.0%}; nothing written", file=sys.stderr)
        return 1
    write_manifest(res.lines, a.out)
    print(f"build-manifest: wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
