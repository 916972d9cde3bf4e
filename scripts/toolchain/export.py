"""float ONNX export (torch) and int8 QDQ static quantization (onnxruntime).

Only `export_float` needs torch; quantization and the graph checks run with
onnx + onnxruntime alone, so they are tested without torch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

OPSET = 17
# What the daemon's Swift runtime implements; anything else must not reach it.
ALLOWED_OPS = frozenset({
    "Conv", "Relu", "Clip", "Add", "Mul", "GlobalAveragePool", "AveragePool", "MaxPool", "Flatten",
    "Reshape", "Gemm", "MatMul", "Softmax", "BatchNormalization", "QuantizeLinear", "DequantizeLinear",
    "Sigmoid", "HardSwish", "HardSigmoid", "Concat", "Transpose", "Squeeze", "Unsqueeze",
})


class ExportError(Exception):
    pass


def export_float(model, path: Path, size: int) -> None:
    """Trace the eval-mode model to ONNX (opset 17, BN folded into Conv by the exporter)."""
    import torch

    model.eval()
    dummy = torch.zeros(1, 3, size, size)
    # The TorchScript-based exporter: it folds BatchNorm in eval mode and emits
    # opset 17 directly, where the dynamo path would start at a newer opset.
    torch.onnx.export(
        model, (dummy,), str(path), input_names=["input"], output_names=["logits"],
        opset_version=OPSET, do_constant_folding=True, dynamo=False,
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    import onnx

    m = onnx.load(str(path))
    constants_to_initializers(m)
    onnx.save(m, str(path))


def constants_to_initializers(model) -> None:
    """Constant nodes (e.g. ReLU6's Clip bounds) become initializers: the daemon has no Constant op."""
    from onnx import TensorProto

    keep = []
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Constant" and set(attrs) == {"value"}:
            tensor = TensorProto()
            tensor.CopyFrom(attrs["value"].t)
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)


def check_graph(path: Path) -> None:
    """onnx.checker, opset 13..17, and only ops the daemon implements."""
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    default = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not default or not 13 <= default[0] <= 17:
        raise ExportError(f"{path}: default-domain opset {default} outside 13..17")
    others = [o.domain for o in model.opset_import if o.domain not in ("", "ai.onnx")]
    used_other = {n.domain for n in model.graph.node if n.domain not in ("", "ai.onnx")}
    if used_other:
        raise ExportError(f"{path}: nodes from non-standard domains {sorted(used_other)} (imports {others})")
    bad = sorted({n.op_type for n in model.graph.node} - ALLOWED_OPS)
    if bad:
        raise ExportError(f"{path}: ops the daemon does not implement: {', '.join(bad)}")


def op_counts(path: Path) -> dict[str, int]:
    import onnx

    counts: dict[str, int] = {}
    for n in onnx.load(str(path)).graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return dict(sorted(counts.items()))


class _Reader:
    """CalibrationDataReader protocol: get_next() returns feeds until None."""

    def __init__(self, input_name: str, batches: Iterable[np.ndarray]):
        self._it: Iterator[np.ndarray] = iter(batches)
        self._name = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._it, None)
        return None if x is None else {self._name: x}

    def rewind(self) -> None:  # onnxruntime calls it on some paths; one pass is all we offer
        pass


def quantize_int8(float_path: Path, out_path: Path, batches: Iterable[np.ndarray]) -> None:
    """Static QDQ: per-channel int8 weights, uint8 activations, MinMax ranges from `batches`."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quant_pre_process, quantize_static)

    input_name = onnx.load(str(float_path), load_external_data=False).graph.input[0].name

    class Reader(_Reader, CalibrationDataReader):
        pass

    with tempfile.TemporaryDirectory() as tmp:
        prep = Path(tmp) / "prep.onnx"
        # Shape inference plus basic graph optimisation (constant folding, BN folding)
        # so the quantizer sees the graph that will run.
        # onnx shape inference is enough for a CNN; symbolic inference would need sympy.
        quant_pre_process(str(float_path), str(prep), skip_symbolic_shape=True)
        quantize_static(
            str(prep), str(out_path), Reader(input_name, batches),
            quant_format=QuantFormat.QDQ, per_channel=True,
            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )


def image_batches(images: Sequence[Path], load: Callable[[Path], np.ndarray], batch: int = 8) -> Iterator[np.ndarray]:
    for i in range(0, len(images), batch):
        yield np.stack([load(p) for p in images[i:i + batch]])
