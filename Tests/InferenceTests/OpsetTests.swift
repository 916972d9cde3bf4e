import Foundation
import Inference
import ONNX
import Testing

/// Opsets 13 to 24 (the newest the pinned onnx writes) load; an operator change we do not implement is
/// refused naming the operator, the node and the opset (Sources/Inference/Graph/OperatorHistory.swift).
@Suite struct OpsetTests {
    func plan(_ builder: ModelBuilder) throws -> ExecutionPlan {
        try ExecutionPlan(model: builder.model(), arenaLimit: 64 << 20)
    }

    /// input -> QuantizeLinear (scale 0.1, uint8 unless a zero point says otherwise) -> DequantizeLinear -> output.
    func quantizeRoundTrip(opset: Int64, quantize: [Onnx_AttributeProto] = [], dequantize: [Onnx_AttributeProto] = []) -> ModelBuilder {
        var builder = ModelBuilder(opset: opset)
        builder.floats("scale", [0.1], shape: [])
        builder.node("QuantizeLinear", ["input", "scale"], ["q"], name: "quantize", attributes: quantize)
        builder.node("DequantizeLinear", ["q", "scale"], ["output"], name: "dequantize", attributes: dequantize)
        return builder
    }

    @Test("every opset from 13 to 24 loads and computes the same", arguments: Array(Int64(13)...24))
    func everySupportedOpset(opset: Int64) throws {
        var relu = ModelBuilder(opset: opset)
        relu.node("Relu", ["input"], ["output"])
        #expect(try plan(relu).run(input: [-1, 2, -3, 4]) == [0, 2, 0, 4])
        // Round half to even, then saturate to uint8.
        #expect(try plan(quantizeRoundTrip(opset: opset)).run(input: [-1, 0.25, 0.5, 30]) == [0, 0.2, 0.5, 25.5])
    }

    @Test("opsets outside 13...24 are refused, naming the supported range")
    func outsideTheRange() throws {
        for opset: Int64 in [12, 25] {
            var builder = ModelBuilder(opset: opset)
            builder.node("Relu", ["input"], ["output"])
            let error = #expect(throws: ONNXError.unsupportedOpset(domain: "", version: opset)) { try builder.model() }
            #expect(error?.description.hasSuffix("(supported: ai.onnx 13 to 24, com.microsoft 1)") == true)
        }
    }

    @Test("the old meaning of an attribute added since 13 is accepted")
    func oldMeaningsAccepted() throws {
        // output_dtype uint8 is what QuantizeLinear produced without a zero point before opset 21;
        // precision float is x's own precision; DequantizeLinear's output_dtype float is x_scale's type.
        let model = quantizeRoundTrip(opset: 24,
                                      quantize: [ModelBuilder.attribute("output_dtype", int: 2), ModelBuilder.attribute("precision", int: 1)],
                                      dequantize: [ModelBuilder.attribute("output_dtype", int: 1)])
        #expect(try plan(model).run(input: [-1, 0.25, 0.5, 30]) == [0, 0.2, 0.5, 25.5])
    }

    // Before the check, output_dtype was accepted and ignored: an int8 request ran as uint8 and saturated
    // -1 to 0 (and 30 to 25.5) where onnxruntime gives -1 (and 12.7).
    @Test("a change of semantics we do not implement is refused with operator, node and opset", arguments: [
        (21, "quantize", [("output_dtype", 3)], [], 21, "output_dtype=3 without y_zero_point"),
        (23, "quantize", [("precision", 10)], [], 23, "precision=10 (division in other than float)"),
        (21, "quantize", [("block_size", 2)], [], 21, "block_size=2 (blocked quantization)"),
        (24, "dequantize", [], [("output_dtype", 10)], 23, "output_dtype=10 (an output other than float)"),
    ] as [(Int64, String, [(String, Int64)], [(String, Int64)], Int64, String)])
    func changedSemanticsRefused(opset: Int64, node: String, quantize: [(String, Int64)], dequantize: [(String, Int64)], since: Int64, change: String) throws {
        let model = quantizeRoundTrip(opset: opset, quantize: quantize.map { ModelBuilder.attribute($0.0, int: $0.1) },
                                      dequantize: dequantize.map { ModelBuilder.attribute($0.0, int: $0.1) })
        let op = node == "quantize" ? "QuantizeLinear" : "DequantizeLinear"
        let error = #expect(throws: InferenceError.unsupportedOpsetChange(op: op, node: node, opset: opset, since: since, change: change)) {
            try plan(model)
        }
        #expect(error?.description.contains("\(op) (node '\(node)') in a model of ai.onnx opset \(opset)") == true)
    }
}
