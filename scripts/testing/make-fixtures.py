#!/usr/bin/env python3
"""Generates the inference parity fixtures: small ONNX models built with the onnx helper API,
quantized by onnxruntime's own quantizer (the path our users take), with inputs and the outputs
onnxruntime computes for them.

Usage: make-fixtures.py OUTPUT_DIR
       make-fixtures.py --bench OUTPUT_DIR   (the larger benchmark models for scripts/bench/bench-classifier)
       make-fixtures.py --expected FIXTURES WORK   (onnxruntime on tensors a test wrote; see expected_for_tensors)

Writes OUTPUT_DIR/manifest.json and, per case, NAME.onnx, NAME.input.npy, NAME.expected.npy; network cases
also NAME.outputs.npy, onnxruntime's outputs for every input of FAMILY.inputs.npy (see network_inputs).
Every random number comes from a fixed seed, so a rerun with the same pinned versions
(scripts/testing/requirements-test.txt) writes the same models.
"""
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

OPSET = 17
IMAGE = (1, 3, 32, 32)
RESNET_HEAD_GAIN = 0.15


class Builder:
    """Accumulates nodes and initializers; names are generated so blocks compose."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, array, prefix="w"):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, outputs=1, **attrs):
        outs = [self.name(op.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.name(op), **attrs))
        return outs[0] if outputs == 1 else outs

    def conv(self, x, cin, cout, k, stride=1, group=1, pad=None, dilation=1, bias=True):
        pad = (k // 2) * dilation if pad is None else pad
        fan_in = cin // group * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, k, k)).astype(np.float32)
        inputs = [x, self.const(w)]
        if bias:
            inputs.append(self.const(self.rng.normal(0, 0.1, cout).astype(np.float32), "b"))
        return self.node("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride],
                         pads=[pad] * 4, group=group, dilations=[dilation, dilation])

    def bn(self, x, c):
        scale = self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        bias = self.rng.normal(0, 0.1, c).astype(np.float32)
        mean = self.rng.normal(0, 0.1, c).astype(np.float32)
        var = self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        return self.node("BatchNormalization", [x, self.const(scale), self.const(bias),
                                                self.const(mean), self.const(var)], epsilon=1e-5)

    def relu6(self, x):
        return self.node("Clip", [x, self.const(np.float32(0.0), "lo"), self.const(np.float32(6.0), "hi")])

    def gemm(self, x, cin, cout, gain=1.0):
        w = self.rng.normal(0, gain * np.sqrt(1.0 / cin), (cout, cin)).astype(np.float32)
        b = self.rng.normal(0, 0.1, cout).astype(np.float32)
        return self.node("Gemm", [x, self.const(w), self.const(b)], transB=1)

    def model(self, x_shape, output, out_shape, metadata=None, out_type=TensorProto.FLOAT):
        graph = helper.make_graph(
            self.nodes, "fixture",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(x_shape))],
            [helper.make_tensor_value_info(output, out_type, out_shape)],
            self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make-fixtures")
        m.ir_version = 8
        for key, value in (metadata or {}).items():
            entry = m.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(m)
        return onnx.shape_inference.infer_shapes(m)


# --- networks -------------------------------------------------------------------------------

def mobilenet_v2(seed=1):
    b = Builder(seed)
    x = b.relu6(b.bn(b.conv("input", 3, 16, 3, stride=2, bias=False), 16))

    def inverted_residual(x, cin, cout, stride, expand):
        hidden = cin * expand
        y = b.relu6(b.bn(b.conv(x, cin, hidden, 1, bias=False), hidden))
        y = b.relu6(b.bn(b.conv(y, hidden, hidden, 3, stride=stride, group=hidden, bias=False), hidden))
        y = b.bn(b.conv(y, hidden, cout, 1, bias=False), cout)
        return b.node("Add", [x, y]) if stride == 1 and cin == cout else y

    x = inverted_residual(x, 16, 16, 1, 3)
    x = inverted_residual(x, 16, 24, 2, 4)
    x = inverted_residual(x, 24, 24, 1, 4)
    x = b.relu6(b.bn(b.conv(x, 24, 64, 1, bias=False), 64))
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    out = b.gemm(x, 64, 2)
    meta = {"labels": "clean,dirty", "mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225"}
    return b.model(IMAGE, out, [1, 2], meta)


def resnet(seed=2):
    b = Builder(seed)
    x = b.node("Relu", [b.bn(b.conv("input", 3, 16, 3, bias=False), 16)])
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])

    def basic(x, cin, cout, stride):
        y = b.node("Relu", [b.bn(b.conv(x, cin, cout, 3, stride=stride, bias=False), cout)])
        y = b.bn(b.conv(y, cout, cout, 3, bias=False), cout)
        shortcut = x if stride == 1 and cin == cout else b.bn(b.conv(x, cin, cout, 1, stride=stride, pad=0, bias=False), cout)
        return b.node("Relu", [b.node("Add", [y, shortcut])])

    x = basic(x, 16, 16, 1)
    x = basic(x, 16, 32, 2)
    x = b.node("AveragePool", [x], kernel_shape=[8, 8], strides=[8, 8])
    x = b.node("Flatten", [x], axis=1)
    # A small head gain keeps the logits within a few units, so the softmax output is not saturated
    # (at gain 1 onnxruntime gave [0.996, 0, 0], which any runtime agrees with almost by construction).
    x = b.gemm(x, 32, 3, gain=RESNET_HEAD_GAIN)
    out = b.node("Softmax", [x], axis=1)
    meta = {"labels": "clean,dirty,blocked", "resize": "center_crop"}
    return b.model(IMAGE, out, [1, 3], meta)


def mobilenet_v3_block(seed=3):
    b = Builder(seed)
    x = b.node("HardSwish", [b.bn(b.conv("input", 3, 16, 3, stride=2, bias=False), 16)])
    y = b.node("HardSwish", [b.bn(b.conv(x, 16, 48, 1, bias=False), 48)])
    y = b.node("HardSwish", [b.bn(b.conv(y, 48, 48, 3, group=48, bias=False), 48)])
    se = b.node("GlobalAveragePool", [y])
    se = b.node("Relu", [b.conv(se, 48, 12, 1, pad=0)])
    se = b.node("HardSigmoid", [b.conv(se, 12, 48, 1, pad=0)], alpha=1.0 / 6, beta=0.5)
    y = b.node("Mul", [y, se])
    y = b.bn(b.conv(y, 48, 16, 1, bias=False), 16)
    x = b.node("Add", [x, y])
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    out = b.gemm(x, 16, 2)
    return b.model(IMAGE, out, [1, 2], {"labels": "clean,dirty", "mean": "0.5,0.5,0.5", "std": "0.25,0.25,0.25"})


# --- single operators ---------------------------------------------------------------------------

def single(op_builder, shape, seed):
    b = Builder(seed)
    out, out_shape = op_builder(b)
    return b.model(shape, out, out_shape)


SINGLE_OPS = {
    "conv3x3": ((1, 8, 12, 12), lambda b: (b.conv("input", 8, 16, 3), [1, 16, 12, 12])),
    "conv1x1": ((1, 16, 10, 10), lambda b: (b.conv("input", 16, 24, 1, pad=0), [1, 24, 10, 10])),
    "conv_stride2_dilated": ((1, 4, 13, 13), lambda b: (b.conv("input", 4, 8, 3, stride=2, dilation=2), [1, 8, 7, 7])),
    "conv_depthwise": ((1, 12, 11, 11), lambda b: (b.conv("input", 12, 12, 3, group=12), [1, 12, 11, 11])),
    "conv_depthwise_s2": ((1, 12, 12, 12), lambda b: (b.conv("input", 12, 12, 3, stride=2, group=12), [1, 12, 6, 6])),
    "conv_grouped": ((1, 8, 9, 9), lambda b: (b.conv("input", 8, 12, 3, group=4, pad=0), [1, 12, 7, 7])),
    "conv_5x5_asym": ((1, 3, 16, 16), lambda b: (b.conv("input", 3, 8, 5, stride=2, pad=1), [1, 8, 7, 7])),
    "relu": ((1, 4, 5, 5), lambda b: (b.node("Relu", ["input"]), [1, 4, 5, 5])),
    "clip": ((1, 4, 5, 5), lambda b: (b.relu6("input"), [1, 4, 5, 5])),
    "leaky_relu": ((1, 4, 5, 5), lambda b: (b.node("LeakyRelu", ["input"], alpha=0.1), [1, 4, 5, 5])),
    "hard_sigmoid": ((1, 4, 5, 5), lambda b: (b.node("HardSigmoid", ["input"], alpha=0.2, beta=0.5), [1, 4, 5, 5])),
    "hard_swish": ((1, 4, 5, 5), lambda b: (b.node("HardSwish", ["input"]), [1, 4, 5, 5])),
    "sigmoid": ((1, 4, 5, 5), lambda b: (b.node("Sigmoid", ["input"]), [1, 4, 5, 5])),
    "add_broadcast": ((1, 4, 5, 5), lambda b: (b.node("Add", ["input", b.const(b.rng.normal(0, 1, (4, 1, 1)).astype(np.float32))]), [1, 4, 5, 5])),
    "mul": ((1, 4, 5, 5), lambda b: (b.node("Mul", ["input", b.node("Sigmoid", ["input"])]), [1, 4, 5, 5])),
    "concat": ((1, 4, 5, 5), lambda b: (b.node("Concat", ["input", b.node("Relu", ["input"])], axis=1), [1, 8, 5, 5])),
    "global_average_pool": ((1, 6, 7, 7), lambda b: (b.node("GlobalAveragePool", ["input"]), [1, 6, 1, 1])),
    "average_pool": ((1, 4, 8, 8), lambda b: (b.node("AveragePool", ["input"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), [1, 4, 4, 4])),
    "max_pool": ((1, 4, 8, 8), lambda b: (b.node("MaxPool", ["input"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), [1, 4, 4, 4])),
    "flatten_gemm": ((1, 4, 2, 2), lambda b: (b.gemm(b.node("Flatten", ["input"], axis=1), 16, 5), [1, 5])),
    "reshape_matmul": ((1, 4, 2, 2), lambda b: (b.node("MatMul", [b.node("Reshape", ["input", b.const(np.array([1, 16], np.int64), "shape")]), b.const(b.rng.normal(0, 0.3, (16, 6)).astype(np.float32))]), [1, 6])),
    "squeeze_unsqueeze": ((1, 4, 1, 1), lambda b: (b.node("Unsqueeze", [b.node("Squeeze", ["input", b.const(np.array([2, 3], np.int64), "axes")]), b.const(np.array([0], np.int64), "axes")]), [1, 1, 4])),
    "transpose": ((1, 2, 3, 4), lambda b: (b.node("Transpose", ["input"], perm=[0, 3, 1, 2]), [1, 4, 2, 3])),
    "softmax": ((1, 7), lambda b: (b.node("Softmax", ["input"], axis=-1), [1, 7])),
    "batch_norm": ((1, 4, 5, 5), lambda b: (b.bn("input", 4), [1, 4, 5, 5])),
    "identity_constant": ((1, 4), lambda b: (b.node("Add", [b.node("Identity", ["input"]), b.node("Constant", [], value=numpy_helper.from_array(np.array([[1, 2, 3, 4]], np.float32)))]), [1, 4])),
    # Shapes that hit the kernels' edges: channel counts not a multiple of 4, 16 or 64, rows not a
    # multiple of the depthwise kernel's 4 pixels, a strided 1x1 (ResNet's downsampling shortcut).
    "conv1x1_odd": ((1, 5, 6, 7), lambda b: (b.conv("input", 5, 7, 1, pad=0), [1, 7, 6, 7])),
    "conv_depthwise_wide": ((1, 70, 9, 9), lambda b: (b.conv("input", 70, 70, 3, group=70), [1, 70, 9, 9])),
    "conv1x1_stride2": ((1, 8, 9, 9), lambda b: (b.conv("input", 8, 20, 1, stride=2, pad=0), [1, 20, 5, 5])),
}

# Operators that onnxruntime's quantizer turns into integer kernels; these get quantized variants.
QUANTIZED_OPS = ["conv3x3", "conv1x1", "conv_stride2_dilated", "conv_depthwise", "conv_depthwise_s2",
                 "conv_grouped", "conv_5x5_asym", "relu", "clip", "leaky_relu", "sigmoid", "add_broadcast", "mul",
                 "concat", "global_average_pool", "average_pool", "max_pool", "flatten_gemm", "reshape_matmul",
                 "transpose", "conv1x1_odd", "conv_depthwise_wide", "conv1x1_stride2"]


# --- quantization -------------------------------------------------------------------------------

class Reader(CalibrationDataReader):
    def __init__(self, shape, seed, count=8):
        rng = np.random.default_rng(seed)
        self.batches = [{"input": calibration_sample(rng, shape)} for _ in range(count)]
        self.index = 0

    def get_next(self):
        if self.index >= len(self.batches):
            return None
        self.index += 1
        return self.batches[self.index - 1]


def calibration_sample(rng, shape):
    return rng.normal(0, 1, shape).astype(np.float32)


FORMATS = {
    "qdq_pc": dict(quant_format=QuantFormat.QDQ, per_channel=True),
    "qdq_pt": dict(quant_format=QuantFormat.QDQ, per_channel=False),
    "qop": dict(quant_format=QuantFormat.QOperator, per_channel=True),
    "qdq_s8": dict(quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QInt8),
}


def fold_batch_norms(model):
    """Folds each Conv -> BatchNormalization pair the way torch.onnx.export does in eval mode, so
    the quantizer sees what users' exported models look like."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    for bn in [n for n in graph.node if n.op_type == "BatchNormalization"]:
        conv = producers.get(bn.input[0])
        if conv is None or conv.op_type != "Conv":
            continue
        scale, bias, mean, var = (numpy_helper.to_array(inits[name]) for name in bn.input[1:5])
        eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
        factor = scale / np.sqrt(var + eps)
        w = numpy_helper.to_array(inits[conv.input[1]]) * factor[:, None, None, None]
        b = numpy_helper.to_array(inits[conv.input[2]]) if len(conv.input) > 2 else np.zeros_like(mean)
        inits[conv.input[1]].CopyFrom(numpy_helper.from_array(w.astype(np.float32), conv.input[1]))
        bias_name = conv.input[1] + "_bias"
        graph.initializer.append(numpy_helper.from_array(((b - mean) * factor + bias).astype(np.float32), bias_name))
        del conv.input[2:]
        conv.input.append(bias_name)
        conv.output[0] = bn.output[0]
        graph.node.remove(bn)
    return model


def quantize(model, shape, seed, form, tmp):
    model = fold_batch_norms(model)
    src = os.path.join(tmp, "float.onnx")
    pre = os.path.join(tmp, "pre.onnx")
    dst = os.path.join(tmp, "quant.onnx")
    onnx.save(model, src)
    quant_pre_process(src, pre, skip_symbolic_shape=True)
    options = dict(FORMATS[form])
    options.setdefault("activation_type", QuantType.QUInt8)
    quantize_static(pre, dst, Reader(shape, seed), weight_type=QuantType.QInt8, **options)
    quantized = onnx.load(dst)
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(model.metadata_props)
    return quantized


def output_step(model):
    """The scale of the quantization that produces the graph output (one step of tolerance)."""
    output = model.graph.output[0].name
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    node = producers.get(output)
    while node is not None:
        if node.op_type == "DequantizeLinear":
            return float(np.max(inits[node.input[1]]))
        if node.op_type in ("Softmax", "Sigmoid"):
            return None
        node = producers.get(node.input[0]) if node.input else None
    return None


def make_divisible(value, divisor=8):
    """torchvision's channel rounding for width multipliers (never below 90% of the exact value)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def mobilenet_v2_224(seed=7, width=1.0):
    """torchvision's MobileNetV2 layout (224x224, 2 classes, width multiplier `width`) with random
    weights: the benchmark model of /work/shared/reference/performance.md, built without torch."""
    b = Builder(seed)
    first = make_divisible(32 * width)
    x = b.relu6(b.bn(b.conv("input", 3, first, 3, stride=2, bias=False), first))
    cin = first
    for expand, channels, repeats, stride in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        cout = make_divisible(channels * width)
        for index in range(repeats):
            s = stride if index == 0 else 1
            hidden = cin * expand
            y = x
            if expand != 1:
                y = b.relu6(b.bn(b.conv(y, cin, hidden, 1, bias=False), hidden))
            y = b.relu6(b.bn(b.conv(y, hidden, hidden, 3, stride=s, group=hidden, bias=False), hidden))
            y = b.bn(b.conv(y, hidden, cout, 1, bias=False), cout)
            x = b.node("Add", [x, y]) if s == 1 and cin == cout else y
            cin = cout
    x = b.relu6(b.bn(b.conv(x, cin, 1280, 1, bias=False), 1280))  # torchvision keeps 1280 below width 1
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    out = b.gemm(x, 1280, 2)
    meta = {"labels": "clean,dirty", "mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225"}
    return b.model((1, 3, 224, 224), out, [1, 2], meta)


def multiply_accumulates(model):
    """Multiply-accumulates of one inference: Conv and Gemm/MatMul, from the inferred shapes."""
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(model.graph.value_info) + list(model.graph.output)}
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            w, out = weights[node.input[1]], shapes[node.output[0]]
            total += int(np.prod(out[1:])) * int(np.prod(w[1:]))
        elif node.op_type in ("Gemm", "MatMul"):
            total += int(np.prod(weights[node.input[1]]))
    return total


def bench_models(out_dir):
    """Writes the benchmark models, int8 ones QDQ per-channel: MobileNetV2 224 (~300 M MACs) float and
    int8, and MobileNetV2 width 0.25 at 224 (~36 M MACs, the size of model the Python-pipeline anchor of
    performance.md uses) int8; plus an input, and bench.json with each model's MAC count."""
    os.makedirs(out_dir, exist_ok=True)
    shape = (1, 3, 224, 224)
    model = mobilenet_v2_224()
    small = mobilenet_v2_224(seed=8, width=0.25)
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(fold_batch_norms(model), os.path.join(out_dir, "mobilenet_v2_224_float.onnx"))
        onnx.save(quantize(model, shape, 7, "qdq_pc", tmp), os.path.join(out_dir, "mobilenet_v2_224_int8.onnx"))
        onnx.save(quantize(small, shape, 8, "qdq_pc", tmp), os.path.join(out_dir, "mobilenet_v2_025_224_int8.onnx"))
    np.save(os.path.join(out_dir, "input.npy"), calibration_sample(np.random.default_rng(99), shape))
    macs = {"mobilenet_v2_224": multiply_accumulates(model), "mobilenet_v2_025_224": multiply_accumulates(small)}
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump({"macs": macs}, f, indent=1)
    for name, count in macs.items():
        print(f"{name}: {count / 1e6:.1f} M multiply-accumulates")
    print(f"benchmark models in {out_dir}")


# --- parity cases ---------------------------------------------------------------------------------

def onnxruntime_outputs(model, inputs):
    """onnxruntime's output for each input (one thread, CPU provider): the expected values."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return np.stack([session.run(None, {"input": x})[0].astype(np.float32) for x in inputs])


def network_inputs(model, seed):
    """Several inputs per network, each named by kind: two like the calibration data (the quantizer's
    ranges come from the same distribution), an image-like one (smooth colour regions normalised with the
    model's own mean and std), and two out of distribution (four times the calibration spread, so
    activations clip at the quantized ranges; a +-5 checkerboard, the highest spatial frequency). Real
    camera frames through the JPEG path are compared at test time (ParityTests, with INFERENCE_PYTHON)."""
    rng = np.random.default_rng(seed + 1000)
    first = calibration_sample(rng, IMAGE)  # drawn first: the input this case had when it had only one
    meta = {p.key: p.value for p in model.metadata_props}
    mean = np.array([float(v) for v in meta.get("mean", "0.485,0.456,0.406").split(",")], np.float32).reshape(1, 3, 1, 1)
    std = np.array([float(v) for v in meta.get("std", "0.229,0.224,0.225").split(",")], np.float32).reshape(1, 3, 1, 1)
    _, _, height, width = IMAGE
    yy, xx = np.mgrid[0:height, 0:width] / np.float32(max(height, width))
    image = np.stack([0.5 + 0.4 * np.sin(6 * xx + 1), 0.4 + 0.3 * np.cos(5 * yy), 0.3 + 0.3 * xx * yy])[None]
    image = np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1).astype(np.float32)
    checker = np.where((np.indices(IMAGE).sum(0) % 2) == 0, 5.0, -5.0).astype(np.float32)
    return [
        ("random", first),  # first: also NAME.input.npy, as for the single operators
        ("random_2", calibration_sample(rng, IMAGE)),
        ("image", ((image - mean) / std).astype(np.float32)),
        ("wide", (4 * calibration_sample(rng, IMAGE)).astype(np.float32)),
        ("checkerboard", checker),
    ]


def check_not_saturated(name, outputs, kinds, probabilities):
    """Refuses a network fixture whose in-distribution outputs are saturated: a softmax at 0.99 or more
    hides any disagreement in the logits behind it."""
    for kind, y in zip(kinds, outputs):
        if kind in ("wide", "checkerboard"):
            continue
        y = y.ravel().astype(np.float64)
        p = y if probabilities else np.exp(y - y.max()) / np.exp(y - y.max()).sum()
        if p.max() >= 0.99:
            raise SystemExit(f"make-fixtures: {name} on input {kind} is saturated (probabilities {np.round(p, 4)})")


class Writer:
    """Writes cases into OUTPUT_DIR and collects the manifest. Each family of fixtures (networks, single
    operators, and any added later) is a function taking a Writer, so families stay independent."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.cases = []

    def path(self, name):
        return os.path.join(self.out_dir, name)

    def add(self, name, model, kind, inputs, family_inputs=None, probabilities=False):
        """`inputs`: [(kind, array)]; the first is NAME.input.npy with onnxruntime's output NAME.expected.npy.
        With several, all go to `family_inputs` (shared by a network's float and quantized forms) and
        onnxruntime's outputs, stacked in the same order, to NAME.outputs.npy. `probabilities`: the graph
        ends in Softmax (its outputs are compared as they are, not as logits)."""
        kinds = [k for k, _ in inputs]
        outputs = onnxruntime_outputs(model, [x for _, x in inputs])
        onnx.save(model, self.path(f"{name}.onnx"))
        np.save(self.path(f"{name}.input.npy"), inputs[0][1])
        np.save(self.path(f"{name}.expected.npy"), outputs[0])
        case = {"name": name, "kind": kind, "step": output_step(model), "probabilities": probabilities}
        if family_inputs is not None:
            check_not_saturated(name, outputs, kinds, probabilities)
            if not os.path.exists(self.path(family_inputs)):
                np.save(self.path(family_inputs), np.stack([x for _, x in inputs]))
            np.save(self.path(f"{name}.outputs.npy"), outputs)
            case.update(inputs=family_inputs, input_kinds=kinds)
        self.cases.append(case)

    def finish(self):
        with open(self.path("manifest.json"), "w") as f:
            json.dump({"onnxruntime": ort.__version__, "onnx": onnx.__version__, "cases": self.cases}, f, indent=1)
        print(f"{len(self.cases)} fixtures in {self.out_dir}")


def network_fixtures(writer, tmp):
    """Whole networks, float and in every quantization format, each on several inputs."""
    networks = {"mobilenet_v2": mobilenet_v2(), "resnet": resnet(), "mobilenet_v3_block": mobilenet_v3_block()}
    for seed, (name, model) in enumerate(networks.items()):
        inputs = network_inputs(model, seed)
        probabilities = model.graph.node[-1].op_type == "Softmax"
        writer.add(f"{name}_float", model, "network", inputs, f"{name}.inputs.npy", probabilities)
        for form in FORMATS:
            writer.add(f"{name}_{form}", quantize(model, IMAGE, seed, form, tmp), "network", inputs,
                       f"{name}.inputs.npy", probabilities)


def single_op_fixtures(writer, tmp):
    """One operator per model, float and (for the integer kernels) QDQ per-channel and QOperator."""
    for seed, (name, (shape, build)) in enumerate(SINGLE_OPS.items()):
        model = single(build, shape, seed + 10)
        inputs = [("random", calibration_sample(np.random.default_rng(seed + 1000), shape))]
        writer.add(f"op_{name}_float", model, "op", inputs)
        if name in QUANTIZED_OPS:
            for form in ("qdq_pc", "qop"):
                writer.add(f"op_{name}_{form}", quantize(model, shape, seed, form, tmp), "op", inputs)


# --- newest opset -------------------------------------------------------------------------------
# The same kinds of model stamped with the newest ai.onnx opset the pinned onnx writes (24 with onnx
# 1.19.1), as exporters that follow it write them; what changed for our operators since 13 is listed in
# Sources/Inference/Graph/OperatorHistory.swift. Cases named opset<N>_*, kept apart from the rest.

NEWEST_OPSET = onnx.defs.onnx_opset_version()


def restamped(model, opset=NEWEST_OPSET):
    """The model as written for `opset`: the same graph, valid there (the checker says so)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = opset
    onnx.checker.check_model(model)
    return model


def newest_opset_single(build, shape, seed):
    """Like `single`, written for the newest opset from the start (some nodes are valid only there)."""
    b = Builder(seed)
    out, out_shape = build(b)
    graph = helper.make_graph(b.nodes, "fixture", [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", NEWEST_OPSET)], producer_name="make-fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return onnx.shape_inference.infer_shapes(model)


# Pools whose ceil_mode window would start in the end padding: since opset 22 such a window is dropped
# (6 + 1 padding, kernel 2, stride 2: 3 windows, not 4). QuantizeLinear's output_dtype (opset 21) at its
# old meaning, uint8 without a zero point.
NEWEST_OPSET_OPS = {
    "max_pool_ceil": ((1, 4, 6, 6), lambda b: (b.node("MaxPool", ["input"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1), [1, 4, 3, 3])),
    "average_pool_ceil": ((1, 4, 6, 6), lambda b: (b.node("AveragePool", ["input"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1), [1, 4, 3, 3])),
    "quantize_output_dtype": ((1, 4, 5, 5), lambda b: (b.node("DequantizeLinear", [b.node("QuantizeLinear", ["input", b.const(np.float32(0.02), "scale")], output_dtype=TensorProto.UINT8), b.const(np.float32(0.02), "scale")]), [1, 4, 5, 5])),
}


def newest_opset_fixtures(writer, tmp):
    """The networks (as a family, on the same kinds of input as the others) and the operators whose
    meaning an opset after 13 touched, stamped at the newest opset."""
    prefix = f"opset{NEWEST_OPSET}"
    for seed, (name, build) in enumerate({"mobilenet_v2": mobilenet_v2, "mobilenet_v3_block": mobilenet_v3_block}.items()):
        model = restamped(build())
        inputs = network_inputs(model, seed)
        probabilities = model.graph.node[-1].op_type == "Softmax"
        writer.add(f"{prefix}_{name}_float", model, "network", inputs, f"{prefix}_{name}.inputs.npy", probabilities)
        for form in ("qdq_pc", "qop"):
            quantized = quantize(model, IMAGE, seed, form, tmp)
            assert max(o.version for o in quantized.opset_import if o.domain in ("", "ai.onnx")) == NEWEST_OPSET
            writer.add(f"{prefix}_{name}_{form}", quantized, "network", inputs, f"{prefix}_{name}.inputs.npy", probabilities)
    for seed, (name, (shape, build)) in enumerate(NEWEST_OPSET_OPS.items()):
        inputs = [("random", calibration_sample(np.random.default_rng(seed + 50 + 1000), shape))]
        writer.add(f"{prefix}_op_{name}_float", newest_opset_single(build, shape, seed + 50), "op", inputs)


# Every family written by a plain run, in manifest order.
FAMILIES = [network_fixtures, single_op_fixtures, newest_opset_fixtures]


def expected_for_tensors(fixtures, work):
    """onnxruntime's outputs on tensors our tests wrote (ParityTests: camera frames through our JPEG path):
    for each NAME in WORK/cases.json, FIXTURES/NAME.onnx on WORK/NAME.tensors.npy ([K, 1, 3, H, W]) into
    WORK/NAME.onnxruntime.npy ([K, 1, classes])."""
    with open(os.path.join(work, "cases.json")) as f:
        names = json.load(f)
    for name in names:
        tensors = np.load(os.path.join(work, f"{name}.tensors.npy"))
        outputs = onnxruntime_outputs(onnx.load(os.path.join(fixtures, f"{name}.onnx")), list(tensors))
        np.save(os.path.join(work, f"{name}.onnxruntime.npy"), outputs)
    print(f"onnxruntime {ort.__version__}: outputs for {len(names)} models in {work}")


def main():
    if sys.argv[1] == "--bench":
        bench_models(sys.argv[2])
        return
    if sys.argv[1] == "--expected":
        expected_for_tensors(sys.argv[2], sys.argv[3])
        return
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    writer = Writer(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        for family in FAMILIES:
            family(writer, tmp)
    writer.finish()


if __name__ == "__main__":
    main()
