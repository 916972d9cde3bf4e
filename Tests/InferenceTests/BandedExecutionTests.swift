import CAllocationCounter
import Inference
import ONNX
import Testing

/// Pointwise -> depthwise pairs run band by band (`BandedPair`): bit-identical to the whole-tensor plan,
/// with one thread or two, for any band height; a smaller arena; pairs whose expansion is needed elsewhere
/// are left whole.
@Suite struct BandedExecutionTests {
    /// (The MobileNetV3 block fixtures have no pair: a float HardSwish sits between expansion and depthwise.)
    static let networks = ["mobilenet_v2_qdq_pc", "mobilenet_v2_qdq_pt", "mobilenet_v2_qop", "mobilenet_v2_qdq_s8"]

    /// The fixtures are 32x32, so the default eight-row bands cover few of their layers: smaller bands
    /// exercise halos, a last partial band, stride 2 and the padding at both ends on every block.
    @Test(arguments: networks, [1, 2])
    func bandedNetworkMatchesWholeTensorsBitForBit(name: String, threads: Int) throws {
        let fixtures = try Fixtures.load()
        let input = try fixtures.array(name, ".input.npy").values
        let whole = try ExecutionPlan(model: fixtures.model(name), threads: threads, bandedPairs: false)
        let expected = try whole.run(input: input)
        #expect(!whole.stepOperators.contains { $0.contains("banded") })
        for rows in [2, 3, nil] as [Int?] {
            let banded = try ExecutionPlan(model: fixtures.model(name), threads: threads, bandedPairs: true, bandOutputRows: rows)
            if rows != nil { #expect(banded.stepOperators.contains { $0.contains("banded") }, "\(name): \(banded.stepOperators)") }
            let output = try banded.run(input: input)
            #expect(output.map(\.bitPattern) == expected.map(\.bitPattern), "\(name), \(threads) threads, \(rows.map(String.init) ?? "default") rows")
        }
    }

    @Test(arguments: networks)
    func bandingShrinksTheArena(name: String) throws {
        let fixtures = try Fixtures.load()
        let whole = try ExecutionPlan(model: fixtures.model(name), bandedPairs: false)
        let banded = try ExecutionPlan(model: fixtures.model(name), bandedPairs: true, bandOutputRows: 2)
        #expect(banded.arenaBytes < whole.arenaBytes, "\(name): \(banded.arenaBytes) banded, \(whole.arenaBytes) whole")
    }

    /// The band buffer is scratch laid out at plan time: banded runs allocate nothing either.
    @Test(arguments: [1, 2])
    func bandedInferenceAllocatesNothing(threads: Int) throws {
        let fixtures = try Fixtures.load()
        let plan = try ExecutionPlan(model: fixtures.model("mobilenet_v2_qdq_pc"), threads: threads, bandedPairs: true, bandOutputRows: 3)
        #expect(plan.stepOperators.contains { $0.contains("banded") })
        let input = try fixtures.array("mobilenet_v2_qdq_pc", ".input.npy").values
        var output = [Float](repeating: 0, count: plan.outputCount)
        try input.withUnsafeBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { target in
                try plan.run(input: source, output: target)   // warm-up (lazy runtime metadata)
                let start = remotair_thread_allocations()
                for _ in 0..<5 { try plan.run(input: source, output: target) }
                #expect(remotair_thread_allocations() - start == 0, "\(threads) threads")
            }
        }
    }

    /// Odd heights, stride 2, asymmetric and two-sided padding, 5x5 and dilated kernels, signed activations:
    /// every band height gives the same bytes as the whole tensors, and both match a direct reference.
    @Test(arguments: PairModel.shapes)
    func bandedPairMatchesWholeTensorsAndReference(pair: PairModel) throws {
        let input = pair.input()
        let reference = pair.reference(input)
        let whole = try ExecutionPlan(model: pair.model(), bandedPairs: false)
        let expected = try whole.run(input: input)
        pair.expectClose(expected, reference)
        for threads in [1, 2] {
            for rows in [1, 3, 8] {
                let banded = try ExecutionPlan(model: pair.model(), threads: threads, bandedPairs: true, bandOutputRows: rows)
                let expectBanded = pair.bufferRows(outputRows: rows) < pair.height
                #expect(banded.stepOperators.contains { $0.contains("banded") } == expectBanded, "\(pair) \(rows) rows: \(banded.stepOperators)")
                let output = try banded.run(input: input)
                #expect(output.map(\.bitPattern) == expected.map(\.bitPattern), "\(pair), \(threads) threads, \(rows) rows")
            }
        }
    }

    /// The expansion is also read by another node, or is itself a graph output: the pair stays two steps.
    @Test(arguments: [PairModel.ExtraUse.dequantized, .graphOutput])
    func expansionNeededElsewhereIsNotBanded(use: PairModel.ExtraUse) throws {
        var pair = PairModel(height: 37, width: 13, stride: 1, pads: [1, 1, 1, 1])
        pair.extraUse = use
        let input = pair.input()
        for threads in [1, 2] {
            let plan = try ExecutionPlan(model: pair.model(), threads: threads, bandedPairs: true, bandOutputRows: 3)
            #expect(!plan.stepOperators.contains { $0.contains("banded") }, "\(plan.stepOperators)")
            #expect(plan.stepOperators.contains { $0.hasPrefix("QLinearConv pointwise") }, "\(plan.stepOperators)")
            pair.expectClose(try plan.run(input: input), pair.reference(input))
        }
    }
}

/// QuantizeLinear -> QLinearConv 1x1 (expansion) -> QLinearConv depthwise -> DequantizeLinear, built in
/// the test with deterministic weights, and the same arithmetic written out directly as a reference.
struct PairModel: Sendable, CustomTestStringConvertible, CustomStringConvertible {
    enum ExtraUse: Sendable { case none, dequantized, graphOutput }

    var height: Int, width: Int
    var channels = 5, expanded = 24
    var kernel = 3, stride: Int, dilation = 1
    /// top, left, bottom, right
    var pads: [Int]
    var signed = false
    var extraUse = ExtraUse.none

    static let shapes: [PairModel] = [
        PairModel(height: 37, width: 13, stride: 1, pads: [1, 1, 1, 1]),
        PairModel(height: 37, width: 11, stride: 2, pads: [1, 1, 1, 1]),
        PairModel(height: 36, width: 10, stride: 2, pads: [0, 0, 1, 1]),   // TensorFlow's SAME for stride 2
        PairModel(height: 29, width: 9, kernel: 5, stride: 2, pads: [2, 2, 2, 2]),
        PairModel(height: 23, width: 12, kernel: 3, stride: 1, dilation: 2, pads: [2, 2, 2, 2]),
        PairModel(height: 19, width: 7, channels: 3, expanded: 70, stride: 1, pads: [0, 1, 2, 1], signed: true),
        PairModel(height: 16, width: 16, stride: 2, pads: [1, 1, 1, 1], signed: true),
    ]

    /// Expansion rows the tallest band needs (the plan bands a pair only when that is fewer than all).
    func bufferRows(outputRows: Int) -> Int { min(height, (min(outputRows, outHeight) - 1) * stride + (kernel - 1) * dilation + 1) }
    var outHeight: Int { (height + pads[0] + pads[2] - (kernel - 1) * dilation - 1) / stride + 1 }
    var outWidth: Int { (width + pads[1] + pads[3] - (kernel - 1) * dilation - 1) / stride + 1 }
    var description: String {
        "\(height)x\(width) \(channels)->\(expanded) \(kernel)x\(kernel)/\(stride) d\(dilation) pads \(pads)\(signed ? " int8" : "")"
    }
    var testDescription: String { description }

    // Quantization: input scale a power of two and inputs multiples of it, so quantizing is exact.
    let inputScale: Float = 1 / 32, midScale: Float = 0.05, outScale: Float = 0.07
    var inputZero: Int { signed ? -3 : 128 }
    var midZero: Int { signed ? -20 : 100 }
    var outZero: Int { signed ? 5 : 120 }
    var range: ClosedRange<Int> { signed ? -128...127 : 0...255 }

    /// Deterministic values in `range` (a linear congruential generator, seeded per tensor).
    static func values(_ count: Int, seed: UInt64, in range: ClosedRange<Int>) -> [Int] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return range.lowerBound + Int((state >> 33) % UInt64(range.count))
        }
    }

    var expandWeights: [Int] { Self.values(expanded * channels, seed: 1, in: -60...60) }
    var expandBias: [Int] { Self.values(expanded, seed: 2, in: -900...900) }
    var expandScales: [Float] { (0..<expanded).map { 0.004 + Float($0 % 7) * 0.001 } }
    var depthwiseWeights: [Int] { Self.values(expanded * kernel * kernel, seed: 3, in: -90...90) }
    var depthwiseBias: [Int] { Self.values(expanded, seed: 4, in: -2000...2000) }
    var depthwiseScales: [Float] { (0..<expanded).map { 0.003 + Float($0 % 5) * 0.0007 } }

    func input() -> [Float] { Self.values(channels * height * width, seed: 5, in: -90...90).map { Float($0) * inputScale } }

    func model() throws -> ONNXModel {
        var builder = ModelBuilder(inputShape: [1, Int64(channels), Int64(height), Int64(width)])
        let activation: Int32 = signed ? 3 : 2   // int8 : uint8
        func zero(_ name: String, _ value: Int) {
            builder.raw(name, type: activation, bytes: [UInt8(truncatingIfNeeded: value)], shape: [])
        }
        func int32s(_ name: String, _ values: [Int]) {
            builder.raw(name, type: 6, bytes: values.flatMap { value in withUnsafeBytes(of: Int32(value).littleEndian, Array.init) }, shape: [Int64(values.count)])
        }
        builder.floats("x_scale", [inputScale], shape: [])
        zero("x_zero", inputZero)
        builder.floats("mid_scale", [midScale], shape: [])
        zero("mid_zero", midZero)
        builder.floats("out_scale", [outScale], shape: [])
        zero("out_zero", outZero)
        builder.raw("w1", type: 3, bytes: expandWeights.map { UInt8(bitPattern: Int8($0)) }, shape: [Int64(expanded), Int64(channels), 1, 1])
        builder.floats("w1_scale", expandScales, shape: [Int64(expanded)])
        builder.raw("w1_zero", type: 3, bytes: [UInt8](repeating: 0, count: expanded), shape: [Int64(expanded)])
        int32s("b1", expandBias)
        builder.raw("w2", type: 3, bytes: depthwiseWeights.map { UInt8(bitPattern: Int8($0)) }, shape: [Int64(expanded), 1, Int64(kernel), Int64(kernel)])
        builder.floats("w2_scale", depthwiseScales, shape: [Int64(expanded)])
        builder.raw("w2_zero", type: 3, bytes: [UInt8](repeating: 0, count: expanded), shape: [Int64(expanded)])
        int32s("b2", depthwiseBias)

        builder.node("QuantizeLinear", ["input", "x_scale", "x_zero"], ["xq"])
        builder.node("QLinearConv", ["xq", "x_scale", "x_zero", "w1", "w1_scale", "w1_zero", "mid_scale", "mid_zero", "b1"], ["mid"], name: "expand")
        builder.node("QLinearConv", ["mid", "mid_scale", "mid_zero", "w2", "w2_scale", "w2_zero", "out_scale", "out_zero", "b2"], ["yq"], name: "depthwise",
                     attributes: [ModelBuilder.attribute("group", int: Int64(expanded)),
                                  Self.ints("kernel_shape", [kernel, kernel]), Self.ints("strides", [stride, stride]),
                                  Self.ints("dilations", [dilation, dilation]), Self.ints("pads", pads)])
        builder.node("DequantizeLinear", ["yq", "out_scale", "out_zero"], ["output"])
        switch extraUse {
        case .none: break
        case .dequantized:
            builder.node("DequantizeLinear", ["mid", "mid_scale", "mid_zero"], ["mid_float"], name: "mid_dequantize")
            builder.proto.graph.output.append(ModelBuilder.valueInfo("mid_float", shape: nil))
        case .graphOutput:
            builder.proto.graph.output.append(ModelBuilder.valueInfo("mid", shape: nil))
        }
        return try builder.model()
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    /// ONNX QLinearConv written out: int32 sums of (x - zero) * w plus bias, times input scale x weight scale /
    /// output scale (in that float order, as the runtime forms it), rounded half to even, plus the zero point.
    func reference(_ input: [Float]) -> [Float] {
        func requantize(_ sum: Int, _ multiplier: Float, zero: Int) -> Int {
            min(max(Int((Float(sum) * multiplier).rounded(.toNearestOrEven)) + zero, range.lowerBound), range.upperBound)
        }
        let pixels = height * width
        let x = input.map { min(max(Int(($0 / inputScale).rounded(.toNearestOrEven)) + inputZero, range.lowerBound), range.upperBound) }
        let (w1, b1, s1) = (expandWeights, expandBias, expandScales)
        var mid = [Int](repeating: 0, count: expanded * pixels)
        for m in 0..<expanded {
            for p in 0..<pixels {
                var sum = b1[m]
                for c in 0..<channels { sum += (x[c * pixels + p] - inputZero) * w1[m * channels + c] }
                mid[m * pixels + p] = requantize(sum, inputScale * s1[m] / midScale, zero: midZero)
            }
        }
        let (w2, b2, s2) = (depthwiseWeights, depthwiseBias, depthwiseScales)
        var output = [Float](repeating: 0, count: expanded * outHeight * outWidth)
        for c in 0..<expanded {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    var sum = b2[c]
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let iy = oy * stride - pads[0] + ky * dilation, ix = ox * stride - pads[1] + kx * dilation
                            guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                            sum += (mid[(c * height + iy) * width + ix] - midZero) * w2[(c * kernel + ky) * kernel + kx]
                        }
                    }
                    let q = requantize(sum, midScale * s2[c] / outScale, zero: outZero)
                    output[(c * outHeight + oy) * outWidth + ox] = Float(q - outZero) * outScale
                }
            }
        }
        return output
    }

    /// Within one output step of the reference (a tie rounded by a fused multiply-add could differ).
    func expectClose(_ output: [Float], _ reference: [Float], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(output.count == reference.count, sourceLocation: sourceLocation)
        let worst = zip(output, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= outScale * 1.01, "\(self): largest difference \(worst)", sourceLocation: sourceLocation)
    }
}
