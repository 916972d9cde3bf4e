import ONNX

/// What the ai.onnx operators this runtime implements became between opset 13 and 24, the oldest and the
/// newest it accepts (`ONNXModel.supportedOpsets`; 24 is the newest the pinned onnx 1.19.1 writes), read
/// from that package's operator schemas (`onnx.defs.get_all_schemas_with_history()`, the same text as
/// its docs/Changelog.md). Each change is either harmless here or checked per node below, at load:
///
/// - Types only (new element types such as bfloat16, int4, float8, which the loader refuses anyway):
///   Add, Sub, Mul, Div 14; Relu 14; LeakyRelu 16; BatchNormalization 15; Conv, GlobalAveragePool,
///   HardSigmoid, HardSwish, Dropout 22; Reshape 19, 21, 23, 24; Flatten, Squeeze, Unsqueeze, Transpose,
///   Constant 21, 23, 24 (Constant 19 too); Identity 14, 16, 19, 21, 23, 24; QLinearMatMul 21;
///   DequantizeLinear 19 and QuantizeLinear 19 (float8; QuantizeLinear's `saturate` acts on float8 only),
///   both 24 (float8e8m0). Concat, Gemm, MatMul, Clip, Sigmoid, Softmax, QLinearConv: unchanged since 13.
/// - New attributes whose default keeps the old meaning, refused by Lowering when set otherwise:
///   BatchNormalization 14 `training_mode`, Reshape 14 `allowzero`, AveragePool 19 `dilations`.
/// - AveragePool and MaxPool 22: a window that would start in the end padding (ceil_mode) is dropped.
///   Lowering always did so (onnxruntime does at every opset), so 22 is what it implements.
/// - QuantizeLinear 21 `output_dtype`, `block_size`; QuantizeLinear 23 `precision`; DequantizeLinear
///   21 `block_size`, 23 `output_dtype`: the only changes whose new meanings we do not implement. A node
///   using them other than with the old meaning is refused by `check`, naming operator, node and opset.
enum OperatorHistory {
    /// ONNX TensorProto data types named in the attributes below.
    private static let uint8Type: Int64 = 2, int8Type: Int64 = 3, floatType: Int64 = 1

    /// Refuses a node of the default domain that relies, in the model's opset, on a change of its
    /// operator this runtime does not implement. Nodes of other domains and other operators pass. The
    /// attributes are checked whatever the opset: one set before its opset makes an invalid model.
    static func check(_ node: ONNXNode, opset: Int64, constants: [String: ONNXTensor]) throws(InferenceError) {
        guard node.domain.isEmpty else { return }
        func refuse(since: Int64, _ change: String) -> InferenceError {
            .unsupportedOpsetChange(op: node.opType, node: node.name, opset: opset, since: since, change: change)
        }
        func int(_ name: String) -> Int64? {
            if case .int(let value)? = node.attributes[name] { return value }
            return nil
        }
        switch node.opType {
        case "QuantizeLinear", "DequantizeLinear":
            // Opset 21: blocked quantization, scales with the input's rank and one value per block_size elements.
            if let blockSize = int("block_size"), blockSize != 0 {
                throw refuse(since: 21, "block_size=\(blockSize) (blocked quantization)")
            }
            if node.opType == "QuantizeLinear" {
                // Opset 21: without y_zero_point the output type is output_dtype; before, always uint8.
                if let outputType = int("output_dtype"), outputType != 0 {
                    let zeroPoint = node.inputs.count > 2 && !node.inputs[2].isEmpty ? constants[node.inputs[2]] : nil
                    let zeroPointType: Int64? = switch zeroPoint?.elementType {
                    case .uint8?: uint8Type
                    case .int8?: int8Type
                    default: nil
                    }
                    // With a uint8 or int8 zero point its type is the output type (what Lowering reads), and
                    // output_dtype must agree; without one only the old default, uint8, is implemented.
                    guard outputType == (zeroPointType ?? uint8Type) else {
                        throw refuse(since: 21, "output_dtype=\(outputType)\(zeroPoint == nil ? " without y_zero_point" : " with a y_zero_point of another type")")
                    }
                }
                // Opset 23: the division x / y_scale in the precision named here instead of x's (float).
                if let precision = int("precision"), precision != 0, precision != floatType {
                    throw refuse(since: 23, "precision=\(precision) (division in other than float)")
                }
            } else if let outputType = int("output_dtype"), outputType != 0, outputType != floatType {
                // Opset 23: the output (and the multiplication) in output_dtype instead of x_scale's type.
                throw refuse(since: 23, "output_dtype=\(outputType) (an output other than float)")
            }
        default:
            return
        }
    }
}
