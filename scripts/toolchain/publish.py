"""publish-model: a signed model bundle for the fleet, uploaded to S3 (or a file:// folder).

A bundle is one folder, `{prefix}/models/{channel}/{version}/`, holding the int8 model, its
classifier.yaml, its evaluation report, a few reference frames, `manifest.json` (what the board checks:
version, creation time, minimum daemon version, labels, thresholds, the SHA-256 of every file and the
scores onnxruntime gives for each reference frame) and `manifest.json.sig`, a detached Ed25519
signature of the manifest's exact bytes. The channel's `latest.json` is written last, so a board never
sees a pointer to a bundle that is not complete; it carries its own signature inside (one object, so a
board reading during a publish never pairs a new pointer with an old signature).

Boards trust public keys, never the bucket: anyone who can write to the bucket but does not hold a
private key can only make boards refuse.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

FORMAT = 1
# Versions order by their dot-separated numbers; an optional -suffix (a commit, a dataset hash) names a
# build and does not order. The board compares the same way (Sources/ModelUpdates/ModelVersion.swift).
VERSION_RE = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,9}){0,5}(-[A-Za-z0-9._]{1,64})?$")
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
PREFIX_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._-]+$")
MAX_REFERENCES = 32
# The board refuses a bundle whose reference frame it scores further than this from the manifest
# (Sources/ModelUpdates/BundleVerifier.swift, measuredReferenceTolerance). Frames near the decision boundary
# move most under int8 rounding ties (up to 0.095 of 300 test images measured, see README.md), so publish
# checks its references through the board's own path first, when a remotaird build is at hand.
BOARD_TOLERANCE = 0.05


class PublishError(Exception):
    pass


# ---- keys --------------------------------------------------------------------

def new_key(path: Path) -> tuple[Path, Path]:
    """Writes PATH (PKCS#8 PEM private key, mode 0600, never overwritten) and PATH.pub (SubjectPublicKeyInfo PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pub = path.with_name(path.name + ".pub")
    for p in (path, pub):
        if p.exists():
            raise PublishError(f"{p} exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # O_EXCL and the mode at creation: the private key is never readable by others, not even for an instant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return path, pub


def load_private_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        data = path.read_bytes()
    except OSError as e:
        raise PublishError(f"cannot read the signing key {path}: {e.strerror}") from None
    if os.stat(path).st_mode & 0o077:
        raise PublishError(f"{path}: the private key is readable by others (chmod 600 {path})")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise PublishError(f"{path}: not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PublishError(f"{path}: not an Ed25519 key")
    return key


def key_id(public_key) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key: names a key in logs, proves nothing."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# ---- bundle ------------------------------------------------------------------

@dataclass
class Bundle:
    version: str
    channel: str
    files: dict[str, bytes]          # bundle-relative name -> bytes, manifest and signature included
    manifest: dict[str, Any]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _model_input(model_path: Path) -> tuple[int, tuple[float, ...], tuple[float, ...], str]:
    """(side, mean, std, resize) from the model's input shape and metadata_props, as the daemon reads them."""
    import onnx

    from .dataset import IMAGENET_MEAN, IMAGENET_STD

    m = onnx.load(str(model_path), load_external_data=False)
    props = {p.key: p.value for p in m.metadata_props}
    dims = m.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4 or not dims[2].dim_value:
        raise PublishError(f"{model_path}: input must be NCHW with a fixed size")

    def floats(key: str, default: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(float(x) for x in props[key].split(",")) if key in props else default

    return dims[2].dim_value, floats("mean", IMAGENET_MEAN), floats("std", IMAGENET_STD), props.get("resize", "stretch")


def reference_scores(model_path: Path, frames: Sequence[Path], labels: Sequence[str]) -> list[dict[str, float]]:
    from .evaluate import score_onnxruntime

    side, mean, std, resize = _model_input(model_path)
    scores = score_onnxruntime(model_path, list(frames), side, mean, std, resize)
    if scores.shape[1] != len(labels):
        raise PublishError(f"{model_path} gives {scores.shape[1]} scores; classifier.yaml has {len(labels)} labels")
    return [{lb: round(float(row[i]), 6) for i, lb in enumerate(labels)} for row in scores]


def check_board_reproduction(frames: Sequence[Path], expected: Sequence[dict[str, float]], board: Sequence[Sequence[float]],
                             labels: Sequence[str], tolerance: float = BOARD_TOLERANCE) -> float:
    """The largest |board - onnxruntime| over the references; a PublishError naming every frame beyond
    `tolerance`, because each board would refuse the whole bundle for it."""
    largest, far = 0.0, []
    for frame, row, scores in zip(frames, expected, board):
        deviation = max(abs(float(scores[i]) - row[lb]) for i, lb in enumerate(labels))
        largest = max(largest, deviation)
        if not deviation <= tolerance:
            far.append(f"{frame} ({deviation:.3f})")
    if far:
        raise PublishError(f"the board's decode-and-classify path scores these reference frames more than {tolerance} "
                           f"from onnxruntime, so every board would refuse the bundle: {', '.join(far)}; pick frames "
                           "the model scores confidently (near the decision boundary int8 rounding moves scores most)")
    return largest


def board_checked_references(model_path: Path, frames: Sequence[Path], labels: Sequence[str]) -> list[dict[str, float]]:
    """onnxruntime's scores for the references, checked through `remotaird classify` when a build is found."""
    from .evaluate import find_remotaird, score_remotaird

    scores = reference_scores(model_path, frames, labels)
    try:
        binary = find_remotaird(Path(__file__).resolve().parents[2])
    except FileNotFoundError as e:
        raise PublishError(str(e)) from None
    if binary is None:
        print("note: no remotaird build found (REMOTAIRD or .build/): the reference frames were not checked "
              "through the board's path before publishing", file=sys.stderr)
        return scores
    try:
        board = score_remotaird(binary, model_path, list(frames), labels)
    except (RuntimeError, ValueError, OSError) as e:
        raise PublishError(f"checking the reference frames through {binary}: {e}") from None
    largest = check_board_reproduction(frames, scores, board, labels)
    print(f"reference frames through {binary}: largest |board - onnxruntime| {largest:.4f} "
          f"(the board accepts up to {BOARD_TOLERANCE})", file=sys.stderr)
    return scores


def _with_version(classifier_text: str, version: str) -> str:
    """classifier.yaml with its model_version set to the published version, so the board reports one version."""
    line = f"model_version: {json.dumps(version)}"
    if re.search(r"^model_version:.*$", classifier_text, flags=re.M):
        return re.sub(r"^model_version:.*$", line, classifier_text, count=1, flags=re.M)
    return classifier_text.rstrip("\n") + "\n" + line + "\n"


def build(classifier_yaml: Path, private_key, channel: str, version: str | None, min_daemon_version: str,
          references: Sequence[Path], now: datetime | None = None, check_on_board: bool = True) -> Bundle:
    """check_on_board=False skips scoring the references through remotaird (for tests that build bundles the
    boards must refuse)."""
    import yaml

    if not CHANNEL_RE.match(channel):
        raise PublishError(f"channel {channel!r} must be 1-32 of a-z, 0-9, '_', '-' (e.g. canary, stable)")
    if not VERSION_RE.match(min_daemon_version):
        raise PublishError(f"--min-daemon-version {min_daemon_version!r} must look like 0.1.0")
    try:
        text = classifier_yaml.read_text()
        cal = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as e:
        raise PublishError(f"{classifier_yaml}: {e}") from None
    if not isinstance(cal, dict) or not isinstance(cal.get("labels"), list) or "model" not in cal:
        raise PublishError(f"{classifier_yaml}: needs model and labels")
    labels = [str(x) for x in cal["labels"]]
    version = version or str(cal.get("model_version") or "")
    if not VERSION_RE.match(version):
        raise PublishError(f"version {version!r} must be numbers separated by dots with an optional -suffix, "
                           "e.g. 2026.12.07-ab12cd34 (pass --version)")
    base = classifier_yaml.parent
    model_name = Path(str(cal["model"])).name
    model_path = base / str(cal["model"])
    try:
        model = model_path.read_bytes()
    except OSError as e:
        raise PublishError(f"cannot read the model {model_path}: {e.strerror}") from None
    if cal.get("model_sha256") and cal["model_sha256"] != _sha256(model):
        raise PublishError(f"{model_path} does not match model_sha256 in {classifier_yaml}")
    if not 1 <= len(references) <= MAX_REFERENCES:
        raise PublishError(f"give 1 to {MAX_REFERENCES} reference frames (--reference), got {len(references)}")

    files: dict[str, bytes] = {model_name: model, "classifier.yaml": _with_version(text, version).encode()}
    report = (cal.get("report") or {}).get("file") if isinstance(cal.get("report"), dict) else None
    if report:
        for p in (base / report, (base / report).with_suffix(".json")):
            if p.is_file():
                files[p.name] = p.read_bytes()
    scores = (board_checked_references(model_path, references, labels) if check_on_board
              else reference_scores(model_path, references, labels))
    refs = []
    for n, (frame, row) in enumerate(zip(references, scores)):
        name = f"references/{n:02d}-{frame.name}"
        files[name] = frame.read_bytes()
        refs.append({"file": name, "scores": row})

    created = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = {
        "format": FORMAT,
        "model_version": version,
        "channel": channel,
        "created_at": created,
        "min_daemon_version": min_daemon_version,
        "model": model_name,
        "classifier": "classifier.yaml",
        "labels": labels,
        "alarm_label": cal.get("alarm_label"),
        "thresholds": cal.get("thresholds") or {},
        "files": {name: {"sha256": _sha256(data), "size": len(data)} for name, data in sorted(files.items())},
        "references": refs,
        "reference_scores_by": "onnxruntime",
        "key_id": key_id(private_key.public_key()),
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    files["manifest.json"] = manifest_bytes
    files["manifest.json.sig"] = base64.b64encode(private_key.sign(manifest_bytes)) + b"\n"
    return Bundle(version, channel, files, manifest)


def latest_pointer(bundle: Bundle, private_key, now: datetime | None = None) -> bytes:
    """latest.json: {"pointer": "<JSON text>", "signature": "<base64 Ed25519 of the pointer text>"}."""
    pointer = json.dumps({
        "format": FORMAT,
        "channel": bundle.channel,
        "model_version": bundle.version,
        "manifest_sha256": _sha256(bundle.files["manifest.json"]),
        "published_at": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }, sort_keys=True)
    signature = base64.b64encode(private_key.sign(pointer.encode())).decode()
    return (json.dumps({"pointer": pointer, "signature": signature}, indent=2) + "\n").encode()


# ---- upload ------------------------------------------------------------------

def channel_key(prefix: str, channel: str) -> str:
    if prefix and not all(PREFIX_SEGMENT_RE.match(s) for s in prefix.split("/")):
        raise PublishError(f"prefix {prefix!r} must be segments of letters, digits, '.', '_', '-' separated by '/'")
    return f"{prefix}/models/{channel}" if prefix else f"models/{channel}"


class FileStore:
    """file:///folder: the same keys in a local folder, each written atomically (boards updated by hand)."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


class S3Store:
    def __init__(self, bucket: str, endpoint_url: str | None, region: str | None):
        import boto3

        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def put(self, key: str, data: bytes) -> None:
        import botocore.exceptions

        kind = "application/json" if key.endswith(".json") else "application/octet-stream"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=kind,
                                   ChecksumAlgorithm="SHA256")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            raise PublishError(f"upload of s3://{self.bucket}/{key} failed: {e}") from None


def upload(store, prefix: str, bundle: Bundle, pointer: bytes) -> str:
    folder = f"{channel_key(prefix, bundle.channel)}/{bundle.version}"
    # Files, then the manifest and its signature, then the pointer: a board that sees the pointer finds it all.
    names = [n for n in bundle.files if n not in ("manifest.json", "manifest.json.sig")]
    for name in sorted(names) + ["manifest.json", "manifest.json.sig"]:
        store.put(f"{folder}/{name}", bundle.files[name])
    store.put(f"{channel_key(prefix, bundle.channel)}/latest.json", pointer)
    return folder


# ---- command line ------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="publish-model", description=__doc__.split("\n\n")[0])
    ap.add_argument("--new-key", type=Path, metavar="KEY", help="write a key pair KEY (0600) and KEY.pub, then stop")
    ap.add_argument("--classifier", type=Path, default=Path("Calibration/classifier.yaml"),
                    help="classifier.yaml naming the int8 model and its report (default: %(default)s)")
    ap.add_argument("--key", type=Path, help="Ed25519 private key (from --new-key)")
    ap.add_argument("--channel", help="e.g. canary or stable; a board follows the channel in its configuration")
    ap.add_argument("--version", help="model version (default: classifier.yaml's model_version)")
    ap.add_argument("--min-daemon-version", default="0.1.0", help="oldest remotaird that may run it (default: %(default)s)")
    ap.add_argument("--reference", type=Path, action="append", default=[], metavar="JPEG",
                    help="reference frame, scored here by onnxruntime and again on the board (repeat, 1-32)")
    ap.add_argument("--bucket", help="S3 bucket (with --endpoint file:///DIR: ignored)")
    ap.add_argument("--prefix", default="remotair", help="the uplink prefix (default: %(default)s)")
    ap.add_argument("--endpoint", help="S3 endpoint URL (default: AWS), or file:///DIR for a local folder")
    ap.add_argument("--region", default=None)
    args = ap.parse_args(argv)
    try:
        if args.new_key:
            private, public = new_key(args.new_key)
            print(f"wrote {private} (private, mode 0600: keep it off the boards) and {public} (copy to the boards)")
            return 0
        for name in ("key", "channel"):
            if getattr(args, name) is None:
                ap.error(f"--{name} is required")
        key = load_private_key(args.key)
        bundle = build(args.classifier, key, args.channel, args.version, args.min_daemon_version, args.reference)
        pointer = latest_pointer(bundle, key)
        if args.endpoint and args.endpoint.startswith("file://"):
            store = FileStore(Path(args.endpoint[len("file://"):]))
            where = args.endpoint
        else:
            if not args.bucket:
                ap.error("--bucket is required for S3")
            store = S3Store(args.bucket, args.endpoint, args.region)
            where = f"s3://{args.bucket}"
        folder = upload(store, args.prefix, bundle, pointer)
    except PublishError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"published {bundle.version} to {where}/{folder}/ ({len(bundle.files)} files, key {bundle.manifest['key_id']}); "
          f"{channel_key(args.prefix, bundle.channel)}/latest.json points to it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
