import Foundation
import Inference
import ONNX
import Testing

/// Bad models: each one is refused with a named error, never a crash.
@Suite struct LoaderErrorTests {
    func plan(_ builder: ModelBuilder, arenaLimit: Int = 64 << 20) throws -> ExecutionPlan {
        try ExecutionPlan(model: builder.model(), arenaLimit: arenaLimit)
    }

    @Test func reluModelRuns() throws {
        var builder = ModelBuilder()
        builder.node("Relu", ["input"], ["output"])
        let output = try plan(builder).run(input: [-1, 2, -3, 4])
        #expect(output == [0, 2, 0, 4])
    }

    @Test func truncatedModelIsMalformed() throws {
        let fixture = try Fixtures.load()
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture.path("mobilenet_v2_qdq_pc", ".onnx")))
        #expect(throws: ONNXError.self) { try ONNXModel(bytes: data.prefix(data.count / 2)) }
        #expect(throws: ONNXError.self) { try ONNXModel(bytes: Data("not a model at all".utf8)) }
    }

    @Test func unsupportedOpsetIsNamed() throws {
        var builder = ModelBuilder(opset: 11)
        builder.node("Relu", ["input"], ["output"])
        #expect(throws: ONNXError.unsupportedOpset(domain: "", version: 11)) { try builder.model() }
        var newer = ModelBuilder(opset: 25)
        newer.node("Relu", ["input"], ["output"])
        #expect(throws: ONNXError.unsupportedOpset(domain: "", version: 25)) { try newer.model() }
    }

    @Test func externalDataIsRefused() throws {
        var builder = ModelBuilder()
        var tensor = Onnx_TensorProto()
        tensor.name = "bias"
        tensor.dataType = 1
        tensor.dims = [4]
        tensor.dataLocation = .external
        var entry = Onnx_StringStringEntryProto()
        entry.key = "location"
        entry.value = "weights.bin"
        tensor.externalData = [entry]
        builder.proto.graph.initializer.append(tensor)
        builder.node("Add", ["input", "bias"], ["output"])
        #expect(throws: ONNXError.externalData(tensor: "bias")) { try builder.model() }
    }

    @Test func rawAndTypedInitializersAgree() throws {
        var builder = ModelBuilder()
        builder.floats("typed", [1, 2, 3, 4], shape: [4])
        let rawBytes = [Float](arrayLiteral: 10, 20, 30, 40).flatMap { value in
            withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        }
        builder.raw("raw", type: 1, bytes: rawBytes, shape: [4])
        builder.node("Add", ["input", "typed"], ["sum"], name: "first")
        builder.node("Add", ["sum", "raw"], ["output"], name: "second")
        #expect(try plan(builder).run(input: [0, 0, 0, 1]) == [11, 22, 33, 45])
        var short = ModelBuilder()
        short.raw("raw", type: 1, bytes: [0, 0, 128], shape: [4])
        short.node("Add", ["input", "raw"], ["output"])
        #expect(throws: ONNXError.self) { try short.model() }
    }

    /// raw_data is little-endian whatever the machine: fixed byte patterns for every element type.
    @Test func rawDataDecodesLittleEndianValuesOfEveryType() throws {
        var builder = ModelBuilder()
        builder.raw("f32", type: 1, bytes: [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC1], shape: [2])   // 1.0, -10.0
        builder.raw("u8", type: 2, bytes: [0, 255], shape: [2])
        builder.raw("s8", type: 3, bytes: [0x80, 0x7F], shape: [2])
        builder.raw("s32", type: 6, bytes: [0xFE, 0xFF, 0xFF, 0xFF, 0x04, 0x03, 0x02, 0x01], shape: [2])
        builder.raw("s64", type: 7, bytes: [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], shape: [2])
        builder.node("Relu", ["input"], ["output"])
        let initializers = try builder.model().initializers
        #expect(initializers["f32"]?.values == .float32([1, -10]))
        #expect(initializers["u8"]?.values == .uint8([0, 255]))
        #expect(initializers["s8"]?.values == .int8([-128, 127]))
        #expect(initializers["s32"]?.values == .int32([-2, 0x0102_0304]))
        #expect(initializers["s64"]?.values == .int64([0x0102_0304_0506_0708, -1]))
    }

    @Test func unsupportedOperatorNamesOperatorAndNode() throws {
        var builder = ModelBuilder()
        builder.node("LSTM", ["input"], ["output"], name: "recurrent_1")
        #expect(throws: InferenceError.unsupportedOperator(op: "LSTM", domain: "", node: "recurrent_1")) { try plan(builder) }
    }

    @Test func unsupportedAttributeNamesAttribute() throws {
        var builder = ModelBuilder()
        builder.node("Softmax", ["input"], ["output"], name: "soft", attributes: [ModelBuilder.attribute("mystery", int: 3)])
        #expect(throws: InferenceError.unsupportedAttribute(op: "Softmax", node: "soft", attribute: "mystery", value: "int(3)")) { try plan(builder) }
    }

    @Test func mismatchedShapesAreRefused() throws {
        var builder = ModelBuilder()
        builder.floats("other", [1, 2, 3], shape: [3])
        builder.node("Add", ["input", "other"], ["output"], name: "adder")
        #expect { try plan(builder) } throws: { error in
            guard case InferenceError.invalidNode(op: "Add", node: "adder", let reason) = error else { return false }
            return reason.contains("broadcast")
        }
    }

    @Test func zeroAndNegativeScalesAreRefused() throws {
        for scale: Float in [0, -0.5, .nan, .infinity] {
            var builder = ModelBuilder()
            builder.floats("scale", [scale], shape: [])
            builder.raw("zero", type: 2, bytes: [128], shape: [])
            builder.node("QuantizeLinear", ["input", "scale", "zero"], ["q"], name: "quantize")
            builder.node("DequantizeLinear", ["q", "scale", "zero"], ["output"], name: "dequantize")
            #expect(throws: InferenceError.self) { try plan(builder) }
        }
    }

    @Test func zeroPointOutOfRangeIsRefused() throws {
        var builder = ModelBuilder()
        builder.floats("scale", [0.1], shape: [])
        var tensor = Onnx_TensorProto()
        tensor.name = "zero"
        tensor.dataType = 2
        tensor.int32Data = [300]   // uint8 zero point of 300
        builder.proto.graph.initializer.append(tensor)
        builder.node("QuantizeLinear", ["input", "scale", "zero"], ["output"])
        #expect(throws: ONNXError.badTensor(name: "zero", reason: "uint8 value 300 out of range")) { try builder.model() }
    }

    @Test func arenaOverTheLimitIsRefused() throws {
        var builder = ModelBuilder(inputShape: [1, 64, 256, 256])
        builder.node("Relu", ["input"], ["a"], name: "r1")
        builder.node("Relu", ["a"], ["output"], name: "r2")
        #expect(throws: InferenceError.self) { try plan(builder, arenaLimit: 8 << 20) }
        #expect(try plan(builder, arenaLimit: 64 << 20).arenaBytes <= 3 * 64 * 256 * 256 * 4)
    }

    @Test func absurdDimensionsAreRefused() throws {
        var builder = ModelBuilder(inputShape: [1, 1 << 20, 1 << 20])
        builder.node("Relu", ["input"], ["output"])
        #expect(throws: InferenceError.self) { try plan(builder) }
    }

    @Test func cyclesAndUndefinedValuesAreRefused() throws {
        var builder = ModelBuilder()
        builder.node("Relu", ["input", "missing"], ["output"], name: "reads_missing")
        #expect(throws: InferenceError.self) { try plan(builder) }
        var cycle = ModelBuilder()
        cycle.node("Add", ["input", "b"], ["a"], name: "one")
        cycle.node("Relu", ["a"], ["b"], name: "two")
        cycle.node("Relu", ["b"], ["output"], name: "three")
        #expect(throws: InferenceError.self) { try plan(cycle) }
    }
}
