"""Metadata and the int8 quantization step on a tiny float model built with onnx.helper."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from toolchain import metadata
from toolchain.export import ExportError, check_graph, image_batches, op_counts, quantize_int8


def tiny_classifier(path: Path, opset: int = 17, extra_op: str | None = None) -> Path:
    """input(N,3,16,16) -> Conv 3x3 (8) -> Relu -> depthwise Conv -> Clip -> GAP -> Flatten -> Gemm(2)."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 1, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(np.array(0, np.float32), "lo"),
        numpy_helper.from_array(np.array(6, np.float32), "hi"),
        numpy_helper.from_array(rng.normal(0, 0.5, (2, 8)).astype(np.float32), "wf"),
        numpy_helper.from_array(np.zeros(2, np.float32), "bf"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], transB=1),
    ]
    if extra_op:
        nodes.append(helper.make_node(extra_op, ["logits"], ["extra"]))
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("extra" if extra_op else "logits", TensorProto.FLOAT, ["N", 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


META = metadata.ModelMetadata(
    labels=("clean", "dirty"), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), resize="stretch",
    model_version="2026.11.27-test", trained_at="2026-11-27T22:00:00Z", dataset_sha256="0123abcd" * 8)


def test_metadata_props_are_written_into_the_onnx_file(tmp_path):
    path = tiny_classifier(tmp_path / "m.onnx")
    metadata.write(path, META)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props == {
        "labels": "clean,dirty", "mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225", "resize": "stretch",
        "model_version": "2026.11.27-test", "trained_at": "2026-11-27T22:00:00Z", "dataset_sha256": "0123abcd" * 8}
    # onnxruntime sees the same custom metadata the daemon will read.
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_modelmeta().custom_metadata_map["labels"] == "clean,dirty"
    # Writing again replaces rather than duplicates.
    metadata.write(path, metadata.ModelMetadata(**{**META.__dict__, "labels": ("ok", "dusty")}))
    keys = [p.key for p in onnx.load(str(path)).metadata_props]
    assert keys.count("labels") == 1 and metadata.read(path)["labels"] == "ok,dusty"


@pytest.mark.parametrize("change, message", [
    ({"labels": ("clean",)}, "at least two"),
    ({"labels": ("clean", "dir,ty")}, "without commas"),
    ({"mean": (0.5, 0.5, 120.0)}, "mean must be three values in 0..1"),
    ({"std": (0.2, 0.0, 0.2)}, "std must be"),
    ({"resize": "letterbox"}, "resize must be one of"),
    ({"trained_at": "2026-11-27 22:00"}, "ISO 8601 UTC"),
    ({"dataset_sha256": "xyz"}, "64 lower-case hex"),
])
def test_invalid_metadata_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        metadata.ModelMetadata(**{**META.__dict__, **change}).validate()


def test_static_qdq_quantization_of_a_tiny_model(tmp_path):
    float_path = tiny_classifier(tmp_path / "float.onnx")
    rng = np.random.default_rng(1)
    calib = [rng.normal(0, 1, (3, 16, 16)).astype(np.float32) for _ in range(16)]
    int8_path = tmp_path / "int8.onnx"
    quantize_int8(float_path, int8_path, image_batches(list(range(16)), lambda i: calib[i], batch=4))

    check_graph(int8_path)  # checker, opset range, only ops the daemon implements
    ops = op_counts(int8_path)
    assert ops["QuantizeLinear"] >= 1 and ops["DequantizeLinear"] >= 3 and ops["Conv"] == 2

    model = onnx.load(str(int8_path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    w1_dq = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and "w1" in n.input[0])
    assert inits[w1_dq.input[0]].dtype == np.int8  # int8 weights ...
    assert inits[w1_dq.input[1]].shape == (8,)  # ... with one scale per output channel
    act_q = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "input")
    assert inits[act_q.input[2]].dtype == np.uint8  # uint8 activations

    x = np.stack(calib[:8])
    f = ort.InferenceSession(str(float_path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    q = ort.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert q.shape == f.shape == (8, 2)
    assert np.abs(q - f).max() < 0.1 * (np.abs(f).max() + 1e-6) + 0.05


def test_graph_check_refuses_unsupported_ops_and_opsets(tmp_path):
    check_graph(tiny_classifier(tmp_path / "ok.onnx", opset=13))
    with pytest.raises(ExportError, match="opset \\[18\\] outside 13..17"):
        check_graph(tiny_classifier(tmp_path / "new.onnx", opset=18))
    with pytest.raises(ExportError, match="does not implement: Erf"):
        check_graph(tiny_classifier(tmp_path / "erf.onnx", extra_op="Erf"))
