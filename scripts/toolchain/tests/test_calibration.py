import hashlib
from datetime import datetime, timezone

import pytest
import yaml

from toolchain.calibration import render, thresholds_for, write

SUMMARY = {"f1": 0.93, "precision": 0.91, "recall": 0.95, "test_images": 120}


def test_classifier_yaml_fields_and_thresholds(tmp_path):
    (tmp_path / "duct-classifier.onnx").write_bytes(b"model bytes")
    (tmp_path / "duct-classifier.report.md").write_text("# report")
    path = write(tmp_path, tmp_path / "duct-classifier.onnx", "2026.11.27-1", ["clean", "dirty"], "dirty", 0.62,
                 SUMMARY, tmp_path / "duct-classifier.report.md", "onnxruntime")
    text = path.read_text()
    assert text.startswith("# written by scripts/toolchain/train-classifier on ")
    doc = yaml.safe_load(text)
    assert doc["model"] == "duct-classifier.onnx"
    assert doc["model_sha256"] == hashlib.sha256(b"model bytes").hexdigest()
    assert doc["model_version"] == "2026.11.27-1"
    assert doc["labels"] == ["clean", "dirty"] and doc["alarm_label"] == "dirty"
    assert doc["thresholds"] == {"dirty": {"raise": 0.62, "clear": 0.47}}
    assert doc["report"] == {"file": "duct-classifier.report.md", "evaluated_with": "onnxruntime", **SUMMARY}


@pytest.mark.parametrize("raise_at", [0.0, 0.001, 0.05, 0.2, 0.5, 0.62, 0.99, 1.0])
def test_thresholds_stay_inside_0_1_with_clear_below_raise(raise_at):
    r, c = thresholds_for(raise_at)
    assert 0 < c < r < 1


def test_awkward_label_names_are_quoted_so_yaml_reads_them_back():
    text = render("m.onnx", "0" * 64, "1", ["no", "yes: dirty"], "yes: dirty", 0.5, SUMMARY, "m.report.md",
                  "remotaird classify", now=datetime(2026, 11, 27, tzinfo=timezone.utc))
    doc = yaml.safe_load(text)
    assert doc["labels"] == ["no", "yes: dirty"] and doc["alarm_label"] == "yes: dirty"
    assert "yes: dirty" in doc["thresholds"] and doc["report"]["evaluated_with"] == "remotaird classify"


def test_alarm_label_must_be_a_model_label():
    with pytest.raises(ValueError, match="alarm label 'mould'"):
        render("m.onnx", "0" * 64, "1", ["clean", "dirty"], "mould", 0.5, SUMMARY, "r.md", "onnxruntime")
