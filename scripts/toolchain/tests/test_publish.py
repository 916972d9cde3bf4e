"""publish-model: key files, the signed manifest, the signed pointer and the upload order, on the demo model."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from toolchain import publish
from toolchain.publish import PublishError

ROOT = Path(__file__).resolve().parents[3]
CLASSIFIER = ROOT / "Calibration/classifier.yaml"
FRAMES = [ROOT / "Calibration/simulation/frames/clean/000.jpg", ROOT / "Calibration/simulation/frames/dirty/000.jpg"]


@pytest.fixture
def key(tmp_path):
    private, _ = publish.new_key(tmp_path / "fleet.key")
    return publish.load_private_key(private)


def test_new_key_writes_a_private_key_only_its_owner_reads_and_a_public_pem(tmp_path):
    private, public = publish.new_key(tmp_path / "k")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.name == "k.pub"
    pub = serialization.load_pem_public_key(public.read_bytes())
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert len(raw) == 32
    # The board parses the SubjectPublicKeyInfo by its fixed Ed25519 prefix.
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert der[:12].hex() == "302a300506032b6570032100"
    with pytest.raises(PublishError, match="exists"):
        publish.new_key(tmp_path / "k")


def test_a_private_key_readable_by_others_is_refused(tmp_path):
    private, _ = publish.new_key(tmp_path / "k")
    private.chmod(0o644)
    with pytest.raises(PublishError, match="readable by others"):
        publish.load_private_key(private)


def test_manifest_lists_every_file_with_its_hash_and_is_signed_over_its_exact_bytes(key):
    bundle = publish.build(CLASSIFIER, key, "canary", "2026.12.7-test", "0.1.0", FRAMES)
    m = json.loads(bundle.files["manifest.json"])
    assert m["model_version"] == "2026.12.7-test" and m["channel"] == "canary"
    assert m["labels"] == ["clean", "dirty"] and m["min_daemon_version"] == "0.1.0"
    assert m["thresholds"]["dirty"]["raise"] == pytest.approx(0.5552)
    listed = set(m["files"])
    assert listed == set(bundle.files) - {"manifest.json", "manifest.json.sig"}
    for name, entry in m["files"].items():
        assert entry["sha256"] == hashlib.sha256(bundle.files[name]).hexdigest()
    # The bundle's classifier.yaml reports the published version; the model bytes are the demo's.
    assert 'model_version: "2026.12.7-test"' in bundle.files["classifier.yaml"].decode()
    assert bundle.files["duct-classifier.onnx"] == (ROOT / "Calibration/duct-classifier.onnx").read_bytes()
    signature = base64.b64decode(bundle.files["manifest.json.sig"])
    key.public_key().verify(signature, bundle.files["manifest.json"])
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, bundle.files["manifest.json"].replace(b"canary", b"stable"))


def test_reference_scores_are_onnxruntimes_and_tell_the_frames_apart(key):
    bundle = publish.build(CLASSIFIER, key, "canary", "2026.12.7", "0.1.0", FRAMES)
    refs = json.loads(bundle.files["manifest.json"])["references"]
    assert [r["file"] for r in refs] == ["references/00-000.jpg", "references/01-000.jpg"]
    clean, dirty = (r["scores"] for r in refs)
    assert sum(clean.values()) == pytest.approx(1.0, abs=1e-5)
    assert clean["clean"] > 0.5 and dirty["dirty"] > 0.5


def test_the_pointer_is_signed_and_names_the_manifest_by_hash(key):
    bundle = publish.build(CLASSIFIER, key, "stable", "3.1", "0.1.0", FRAMES[:1])
    envelope = json.loads(publish.latest_pointer(bundle, key))
    key.public_key().verify(base64.b64decode(envelope["signature"]), envelope["pointer"].encode())
    pointer = json.loads(envelope["pointer"])
    assert pointer["model_version"] == "3.1" and pointer["channel"] == "stable"
    assert pointer["manifest_sha256"] == hashlib.sha256(bundle.files["manifest.json"]).hexdigest()


@pytest.mark.parametrize("channel, version, message", [
    ("Canary!", "1.0", "channel"),
    ("canary", "1.0/../../x", "version"),
    ("canary", "latest", "version"),
])
def test_bad_names_are_refused_before_anything_is_written(key, channel, version, message):
    with pytest.raises(PublishError, match=message):
        publish.build(CLASSIFIER, key, channel, version, "0.1.0", FRAMES)


def test_a_model_that_does_not_match_its_classifier_yaml_is_refused(key, tmp_path):
    (tmp_path / "duct-classifier.onnx").write_bytes((ROOT / "Calibration/duct-classifier.onnx").read_bytes() + b"\0")
    (tmp_path / "classifier.yaml").write_text(CLASSIFIER.read_text())
    with pytest.raises(PublishError, match="does not match model_sha256"):
        publish.build(tmp_path / "classifier.yaml", key, "canary", "1.0", "0.1.0", FRAMES)


def test_upload_writes_the_bundle_then_the_pointer_last(key, tmp_path):
    bundle = publish.build(CLASSIFIER, key, "canary", "2026.12.7", "0.1.0", FRAMES)

    class Recorder:
        keys: list[str] = []

        def put(self, k, data):
            self.keys.append(k)

    store = Recorder()
    publish.upload(store, "remotair", bundle, publish.latest_pointer(bundle, key))
    assert store.keys[-3:] == ["remotair/models/canary/2026.12.7/manifest.json",
                               "remotair/models/canary/2026.12.7/manifest.json.sig",
                               "remotair/models/canary/latest.json"]
    assert len(store.keys) == len(bundle.files) + 1


def test_command_line_publishes_to_a_file_endpoint(tmp_path, capsys):
    assert publish.main(["--new-key", str(tmp_path / "k")]) == 0
    out = tmp_path / "bucket"
    args = ["--key", str(tmp_path / "k"), "--channel", "canary", "--version", "2026.12.7",
            "--endpoint", f"file://{out}", "--prefix", "fleet", *sum((["--reference", str(f)] for f in FRAMES), [])]
    assert publish.main(args) == 0
    folder = out / "fleet/models/canary/2026.12.7"
    assert (folder / "manifest.json").is_file() and (folder / "references/01-000.jpg").is_file()
    assert (out / "fleet/models/canary/latest.json").is_file()
    assert not list(out.rglob("*.tmp"))
    said = capsys.readouterr()
    assert "published 2026.12.7" in said.out
    # With a remotaird build at hand (./scripts/test builds one), the references went through the board's path.
    from toolchain import evaluate
    if evaluate.find_remotaird(ROOT) is not None:
        assert "reference frames through" in said.err


# BundleVerifier.measuredReferenceTolerance (Sources/ModelUpdates/BundleVerifier.swift) is set from this test.
BOARD_TOLERANCE = publish.BOARD_TOLERANCE


def test_reference_scores_reproduce_through_remotaird_within_the_board_tolerance(key):
    from toolchain import evaluate

    binary = evaluate.find_remotaird(ROOT)
    if binary is None:
        pytest.skip("no remotaird build (swift build) to score on the board's path")
    frames = sorted((ROOT / "Calibration/simulation/frames").glob("*/*.jpg"))
    ort = publish.reference_scores(ROOT / "Calibration/duct-classifier.onnx", frames, ["clean", "dirty"])
    board = evaluate.score_remotaird(binary, ROOT / "Calibration/duct-classifier.onnx", frames, ["clean", "dirty"])
    diffs = sorted(abs(o["dirty"] - b[1]) for o, b in zip(ort, board))
    print(f"board vs onnxruntime over {len(diffs)} frames: median {diffs[len(diffs) // 2]:.4f}, max {diffs[-1]:.4f}")
    assert diffs[-1] <= BOARD_TOLERANCE


def test_publish_refuses_reference_frames_the_board_would_not_reproduce():
    frames = [Path("confident.jpg"), Path("boundary.jpg")]
    expected = [{"clean": 0.98, "dirty": 0.02}, {"clean": 0.52, "dirty": 0.48}]
    board = [[0.981, 0.019], [0.43, 0.57]]
    with pytest.raises(PublishError, match=r"boundary\.jpg \(0\.090\)") as refused:
        publish.check_board_reproduction(frames, expected, board, ["clean", "dirty"])
    assert "confident.jpg" not in str(refused.value)
    assert publish.check_board_reproduction(frames[:1], expected[:1], board[:1], ["clean", "dirty"]) == pytest.approx(0.001)


def test_publish_stops_labels_in_the_wrong_order_at_the_board_check(key, tmp_path):
    from toolchain import evaluate

    if evaluate.find_remotaird(ROOT) is None:
        pytest.skip("no remotaird build (swift build) to score on the board's path")
    for name in ("duct-classifier.onnx", "duct-classifier.report.md", "duct-classifier.report.json"):
        (tmp_path / name).write_bytes((ROOT / "Calibration" / name).read_bytes())
    swapped = tmp_path / "classifier.yaml"
    swapped.write_text(CLASSIFIER.read_text().replace("labels: [clean, dirty]", "labels: [dirty, clean]"))
    with pytest.raises(PublishError, match="every board would refuse the bundle"):
        publish.build(swapped, key, "canary", "2026.12.7", "0.1.0", FRAMES)
