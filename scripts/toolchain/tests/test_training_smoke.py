"""End-to-end smoke training on a tiny generated set. Needs torch: run by
scripts/toolchain/test-training in .venv-train; skipped in the torch-free .venv-test."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml

torch = pytest.importorskip("torch")

from toolchain import metadata  # noqa: E402
from toolchain.calibration import sha256_file  # noqa: E402
from toolchain.evaluate import find_remotaird  # noqa: E402
from toolchain.export import check_graph  # noqa: E402
from toolchain.generate import generate  # noqa: E402
from toolchain.train import ROOT, main  # noqa: E402


def test_model_definition_matches_the_packaged_weights():
    from toolchain.model import build

    net = build(2)  # load_state_dict(strict=True) inside: names and shapes must all match
    assert net._fc.out_features == 2
    assert sum(p.numel() for p in net.parameters()) > 3_000_000


def test_tiny_training_end_to_end(tmp_path, monkeypatch):
    monkeypatch.delenv("REMOTAIRD", raising=False)
    data = tmp_path / "data"
    generate(data, seed=11, count=10, size=(192, 108), hard_cases=False)
    out, work = tmp_path / "Calibration", tmp_path / "work"
    rc = main(["--data", str(data), "--out-dir", str(out), "--work-dir", str(work), "--size", "64",
               "--epochs-head", "1", "--epochs-finetune", "1", "--batch", "8", "--calibration-count", "6",
               "--threads", "2"])
    assert rc == 0

    model = out / "duct-classifier.onnx"
    check_graph(model)
    assert model.stat().st_size < 6_000_000
    ops = {n.op_type for n in onnx.load(str(model)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    meta = metadata.read(model)
    assert meta["labels"] == "clean,dirty" and meta["resize"] == "stretch"
    assert len(meta["mean"].split(",")) == 3 and meta["trained_at"].endswith("Z")

    doc = yaml.safe_load((out / "classifier.yaml").read_text())
    assert doc["model"] == "duct-classifier.onnx" and doc["model_sha256"] == sha256_file(model)
    assert doc["labels"] == ["clean", "dirty"] and doc["model_version"] == meta["model_version"]
    t = doc["thresholds"]["dirty"]
    assert 0 < t["clear"] < t["raise"] < 1
    # The int8 model is scored by the board's own path when a remotaird build is there, else by onnxruntime.
    path = "remotaird classify" if find_remotaird(ROOT) else "onnxruntime"
    assert doc["report"]["test_images"] == 4 and doc["report"]["evaluated_with"] == path

    report = json.loads((out / "duct-classifier.report.json").read_text())
    assert report["calibration_sample"]["count"] == 6
    assert set(report["evaluations"]) == {"float", "int8"}
    assert 0 <= report["agreement"]["rate"] <= 1
    if path == "remotaird classify":  # the board's int8 scores against onnxruntime's on the same model
        assert report["board_vs_onnxruntime"]["images"] == 4 and report["board_vs_onnxruntime"]["max_abs"] < 0.1
    assert (out / "duct-classifier.report.md").read_text().startswith("# Evaluation")

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: np.zeros((2, 3, 64, 64), np.float32)})[0]
    assert y.shape == (2, 2)


def test_single_label_dataset_fails_with_a_clear_error(tmp_path, capsys):
    data = tmp_path / "data"
    generate(data, seed=1, count=3, size=(64, 36), hard_cases=False)
    for p in (data / "dirty").iterdir():
        p.unlink()
    (data / "dirty").rmdir()
    assert main(["--data", str(data), "--out-dir", str(tmp_path / "o"), "--work-dir", str(tmp_path / "w")]) == 2
    assert "only one label (clean)" in capsys.readouterr().err
