"""build-manifest: the daemon's uploaded snapshot sidecars -> one Ground Truth manifest.

Uploads are laid out as `{prefix}/{device_id}/{kind}/{yyyy}/{mm}/{dd}/{item_id}.jpg`
with `{item_id}.json` next to each image; its `ground_truth` value is already a
manifest line. Sidecars of kinds other than snapshot and sample are ignored;
malformed ones are named, counted, and fail the run above a set share.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

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


@dataclass
class Sidecar:
    """One uploaded sidecar: its path under the folder or prefix, a name for messages, and how to read it."""
    rel: PurePosixPath
    where: str
    read: Callable[[], bytes]
    has_image: bool


def collect(root: Path, label_attribute: str | None = None) -> Result:
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    sidecars = [Sidecar(PurePosixPath(p.relative_to(root).as_posix()), str(p), p.read_bytes, p.with_suffix(".jpg").is_file())
                for p in sorted(root.rglob("*.json"))]
    return collect_sidecars(sidecars, label_attribute)


def s3_sidecars(bucket: str, prefix: str, client) -> list[Sidecar]:
    """Every .json object under s3://bucket/prefix, read on demand; an image counts when its .jpg key exists."""
    keys: set[str] = set()
    head = prefix.rstrip("/") + "/" if prefix else ""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=head):
        keys.update(obj["Key"] for obj in page.get("Contents", []))

    def reader(key: str) -> Callable[[], bytes]:
        return lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read()

    return [Sidecar(PurePosixPath(key[len(head):]), f"s3://{bucket}/{key}", reader(key), key[:-len(".json")] + ".jpg" in keys)
            for key in sorted(keys) if key.endswith(".json")]


def collect_sidecars(sidecars: list[Sidecar], label_attribute: str | None = None) -> Result:
    res = Result()
    attribute = label_attribute
    names: dict[int, tuple[str, str]] = {}
    seen: set[str] = set()
    for sidecar in sidecars:
        kind = _layout_kind(Path(sidecar.rel))
        if kind is None:
            continue  # not an upload sidecar (e.g. an index file at the top)
        if kind not in KINDS:
            res.other_kinds += 1
            continue
        where = sidecar.where
        try:
            try:
                doc = json.loads(sidecar.read().decode("utf-8"))
            except UnicodeDecodeError as e:
                raise DatasetError(f"{where}: cannot read ({e})") from None
            except json.JSONDecodeError as e:
                raise DatasetError(f"{where}: not valid JSON ({e.msg} at line {e.lineno})") from None
            except Exception as e:  # OSError from a folder, botocore's errors from a bucket
                raise DatasetError(f"{where}: cannot read ({e})") from None
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
            if not sidecar.has_image:
                raise DatasetError(f"{where}: image {sidecar.rel.with_suffix('.jpg').name} missing next to the sidecar")
            if ref in seen:
                res.duplicates += 1
                continue
            seen.add(ref)
            res.lines.append(gt)
        except DatasetError as e:
            res.bad.append(str(e))
    res.lines.sort(key=lambda o: o["source-ref"])
    return res


def split_s3(src: str) -> tuple[str, str]:
    bucket, _, prefix = src[len("s3://"):].partition("/")
    if not bucket or ".." in Path(prefix).parts:
        raise DatasetError(f"--from {src}: not a usable s3://bucket/prefix")
    return bucket, prefix


def resolve_from(src: str, s3_mirror: Path | None) -> Path:
    if src.startswith("s3://"):
        if s3_mirror is None:
            raise DatasetError(f"--from {src}: pass --s3-mirror DIR holding a copy of the bucket (DIR/bucket/...)")
        bucket, prefix = split_s3(src)
        return s3_mirror / bucket / prefix
    return Path(src)


def collect_from(src: str, s3_mirror: Path | None, label_attribute: str | None, endpoint: str | None = None) -> Result:
    """A folder, a local mirror of the bucket, or (s3:// without --s3-mirror) the bucket itself through boto3."""
    if src.startswith("s3://") and s3_mirror is None:
        try:
            import boto3
        except ImportError:
            raise DatasetError("reading s3:// needs boto3 (scripts/toolchain/build-manifest runs in .venv-test for it)") from None
        bucket, prefix = split_s3(src)
        client = boto3.client("s3", endpoint_url=endpoint or os.environ.get("AWS_ENDPOINT_URL"))
        try:
            sidecars = s3_sidecars(bucket, prefix, client)
        except Exception as e:  # botocore's errors: credentials, no such bucket, network
            raise DatasetError(f"--from {src}: cannot list the bucket ({e})") from None
        return collect_sidecars(sidecars, label_attribute)
    return collect(resolve_from(src, s3_mirror), label_attribute)


def write_manifest(lines: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(o, separators=(",", ":")) + "\n" for o in lines), encoding="utf-8")
    tmp.replace(out)  # never leave a half-written manifest behind


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="build-manifest", description=(
        "Collect the ground_truth lines of uploaded snapshot/sample sidecars into one "
        "SageMaker Ground Truth image-classification manifest."))
    p.add_argument("--from", dest="src", required=True,
                   help="folder, or s3://bucket/prefix (read with boto3, or from --s3-mirror)")
    p.add_argument("--endpoint-url", help="S3 endpoint for s3:// (default: AWS, or $AWS_ENDPOINT_URL)")
    p.add_argument("--out", type=Path, required=True, help="manifest to write (JSON lines)")
    p.add_argument("--s3-mirror", type=Path, help="local copy of S3: s3://bucket/key is DIR/bucket/key")
    p.add_argument("--label-attribute", help=f"label attribute name (default: detected, usually "
                                             f"{DEFAULT_LABEL_ATTRIBUTE})")
    p.add_argument("--max-bad-share", type=float, default=DEFAULT_MAX_BAD_SHARE,
                   help="fail when more than this share of sidecars is malformed (default %(default)s)")
    a = p.parse_args(argv)
    try:
        res = collect_from(a.src, a.s3_mirror, a.label_attribute, a.endpoint_url)
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
