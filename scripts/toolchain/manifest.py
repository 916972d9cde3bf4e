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


# ---- relabelling by people (a Ground Truth label adjustment job) ---------------------------------------------
#
# The board's lines are its own predictions ("human-annotated": "no"). Before they train a model, people confirm
# or correct them: `--relabelling-input` writes those lines as the input manifest of a Ground Truth adjustment job
# (the machine label under its attribute is the pre-annotation shown to the workers; the job must write its
# answer under another LabelAttributeName), and `--from-relabelling` reads the job's output manifest back into a
# training manifest whose labels are the people's, under the original attribute.

DEFAULT_REVIEW_SUFFIX = "-reviewed"


@dataclass
class Relabelled:
    lines: list[dict] = field(default_factory=list)
    confirmed: int = 0  # people kept the board's label
    corrected: int = 0  # people changed it
    unanswered: int = 0  # no answer from the job (expired, failed): left out, still machine-labelled
    bad: list[str] = field(default_factory=list)


def relabelling_input(lines: list[dict], attribute: str) -> list[dict]:
    """The lines people have not labelled yet, unchanged: the adjustment job's input manifest."""
    return [o for o in lines if o.get(f"{attribute}-metadata", {}).get("human-annotated") != "yes"]


def _job_attribute(obj: dict, original: str, where: str) -> str | None:
    """The job's label attribute in an output line: the one other than `original` with a -metadata sibling."""
    names = [k for k in obj if k not in ("source-ref", original) and not k.endswith("-metadata")
             and f"{k}-metadata" in obj]
    if len(names) > 1:
        raise DatasetError(f"{where}: several answers ({', '.join(names)}); pass --review-attribute NAME")
    return names[0] if names else None


def read_relabelled(text: str, source: str, original: str, review: str | None = None) -> Relabelled:
    """Training lines from an adjustment job's output manifest: each answered line becomes
    {source-ref, original: index, original-metadata: the job's metadata}, so the people's label and its
    "human-annotated" flag are what training reads."""
    res = Relabelled()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{n}"
        try:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(obj, dict):
                raise DatasetError(f"{where}: expected a JSON object")
            attribute = review or _job_attribute(obj, original, where)
            if attribute is None or attribute not in obj:
                res.unanswered += 1
                continue
            ref, _, index, name = validate_line(obj, where, attribute)
            meta = dict(obj[f"{attribute}-metadata"])
            out = {"source-ref": ref, original: index, f"{original}-metadata": meta}
            before = obj.get(f"{original}-metadata")
            if isinstance(before, dict) and before.get("class-name") == name:
                res.confirmed += 1
            else:
                res.corrected += 1
            res.lines.append(out)
        except DatasetError as e:
            res.bad.append(str(e))
    return res


def write_manifest(lines: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(o, separators=(",", ":")) + "\n" for o in lines), encoding="utf-8")
    tmp.replace(out)  # never leave a half-written manifest behind


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="build-manifest", description=(
        "Collect the ground_truth lines of uploaded snapshot/sample sidecars into one "
        "SageMaker Ground Truth image-classification manifest."))
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from", dest="src",
                     help="folder, or s3://bucket/prefix (read with boto3, or from --s3-mirror)")
    src.add_argument("--from-relabelling", type=Path, metavar="OUTPUT_MANIFEST",
                     help="a relabelling job's output manifest: write the people's labels as a training manifest")
    p.add_argument("--relabelling-input", action="store_true",
                   help="write only the lines people have not labelled, as a Ground Truth label adjustment job's "
                        "input manifest (the board's labels as pre-annotations)")
    p.add_argument("--review-attribute", help="the relabelling job's LabelAttributeName (default: detected)")
    p.add_argument("--endpoint-url", help="S3 endpoint for s3:// (default: AWS, or $AWS_ENDPOINT_URL)")
    p.add_argument("--out", type=Path, required=True, help="manifest to write (JSON lines)")
    p.add_argument("--s3-mirror", type=Path, help="local copy of S3: s3://bucket/key is DIR/bucket/key")
    p.add_argument("--label-attribute", help=f"label attribute name (default: detected, usually "
                                             f"{DEFAULT_LABEL_ATTRIBUTE})")
    p.add_argument("--max-bad-share", type=float, default=DEFAULT_MAX_BAD_SHARE,
                   help="fail when more than this share of sidecars is malformed (default %(default)s)")
    a = p.parse_args(argv)
    if a.from_relabelling:
        if a.relabelling_input:
            p.error("--relabelling-input writes a job's input; --from-relabelling reads its output")
        return from_relabelling(a)
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
    if a.relabelling_input:
        attribute = a.label_attribute or DEFAULT_LABEL_ATTRIBUTE
        lines = relabelling_input(res.lines, attribute)
        if not lines:
            print("build-manifest: every line is already human-annotated; no relabelling input written", file=sys.stderr)
            return 1
        write_manifest(lines, a.out)
        print(f"build-manifest: wrote {a.out}: {len(lines)} machine-labelled lines for people to confirm or correct "
              f"({len(res.lines) - len(lines)} already human-annotated left out); create a Ground Truth image "
              f"classification adjustment job on it with a LabelAttributeName other than {attribute!r} "
              f"(e.g. {attribute + DEFAULT_REVIEW_SUFFIX!r}), then read its output back with --from-relabelling",
              file=sys.stderr)
        return 0
    write_manifest(res.lines, a.out)
    print(f"build-manifest: wrote {a.out}", file=sys.stderr)
    return 0


def from_relabelling(a: argparse.Namespace) -> int:
    original = a.label_attribute or DEFAULT_LABEL_ATTRIBUTE
    try:
        text = a.from_relabelling.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"build-manifest: error: {a.from_relabelling}: cannot read ({e})", file=sys.stderr)
        return 2
    res = read_relabelled(text, str(a.from_relabelling), original, a.review_attribute)
    for line in res.bad:
        print(f"build-manifest: malformed: {line}", file=sys.stderr)
    considered = len(res.lines) + len(res.bad)
    print(f"build-manifest: {len(res.lines)} relabelled lines ({res.confirmed} confirmed, {res.corrected} corrected), "
          f"{res.unanswered} without an answer (left out), {len(res.bad)} malformed", file=sys.stderr)
    if not res.lines:
        print(f"build-manifest: error: no answered lines in {a.from_relabelling}", file=sys.stderr)
        return 1
    if len(res.bad) > a.max_bad_share * considered:
        print(f"build-manifest: error: {len(res.bad)} of {considered} lines malformed, more than "
              f"{a.max_bad_share:.0%}; nothing written", file=sys.stderr)
        return 1
    write_manifest(res.lines, a.out)
    print(f"build-manifest: wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
