import CInferenceKernels
import ONNX

extension Lowering {
    /// Rows, depth and output shape of A x B for Gemm (2-D A) or MatMul (A of any rank >= 1, B 2-D).
    func matrixShape(a: TensorDescriptor, b: [Int], matmul: Bool, transB: Bool) throws(InferenceError) -> (rows: Int, depth: Int, columns: Int, output: [Int]) {
        guard b.count == 2 else { throw unsupported("B rank", "\(b.count) (a 2-D constant is required)") }
        let depth = transB ? b[1] : b[0], columns = transB ? b[0] : b[1]
        if matmul {
            guard let last = a.shape.last, last == depth else { throw fail("A \(a.shape) and B \(b) do not multiply") }
            let leading = Array(a.shape.dropLast())
            return (leading.reduce(1, *), depth, columns, leading + [columns])
        }
        guard a.shape.count == 2, a.shape[1] == depth else { throw fail("A \(a.shape) and B \(b) do not multiply") }
        return (a.shape[0], depth, columns, [a.shape[0], columns])
    }

    func lowerGemm() throws(InferenceError) -> LoweredNode {
        let matmul = node.opType == "MatMul"
        try allow(matmul ? [] : ["alpha", "beta", "transA", "transB"])
        let a = try input(0)
        try expectFloat(a)
        guard try int("transA", 0) == 0 else { throw unsupported("transA", "1") }
        let transB = try int("transB", 0) == 1
        guard let b = constant(1), b.elementType == .float32 else { throw fail("B must be a float32 constant") }
        let (rows, depth, columns, outputShape) = try matrixShape(a: a.shape.isEmpty ? a : a, b: b.shape, matmul: matmul, transB: transB)
        let alpha = try float("alpha", 1), beta = try float("beta", 1)
        let values = b.floats
        var transposed = [Float](repeating: 0, count: values.count)
        for k in 0..<depth {
            for n in 0..<columns {
                transposed[n * depth + k] = alpha * (transB ? values[n * depth + k] : values[k * columns + n])
            }
        }
        var bias: [Float]?
        if let c = constant(2) {
            guard c.elementType == .float32, c.count == 1 || c.count == columns, c.shape.count <= 2, c.shape.first.map({ $0 == 1 || c.shape.count == 1 }) ?? true else {
                throw unsupported("C shape", "\(c.shape) (a scalar or one value per column is supported)")
            }
            let floats = c.floats
            bias = (0..<columns).map { beta * floats[c.count == 1 ? 0 : $0] }
        } else if node.inputs.count > 2, !node.inputs[2].isEmpty {
            throw fail("C must be a constant")
        }
        let pinnedB = Pinned(transposed), pinnedBias = bias.map(Pinned.init)
        let (m, n, k) = (Int32(rows), Int32(columns), Int32(depth))
        return LoweredNode(outputs: [TensorDescriptor(type: .float32, shape: outputShape)], readsConstantInputs: false) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return { rk_gemm_f32(m, n, k, input, pinnedB.pointer, pinnedBias?.pointer, out) }
        }
    }

    /// Integer matrix product: com.microsoft QGemm, QLinearMatMul, or a fused DequantizeLinear -> Gemm/MatMul
    /// (-> QuantizeLinear) island. Inputs: A, a_scale, a_zero, B, b_scale, b_zero, C (int32), [y_scale, y_zero].
    /// Without y_scale the output is float.
    func lowerQGemm() throws(InferenceError) -> LoweredNode {
        try allow(["alpha", "beta", "transA", "transB"])
        let matmul = try int("rk_matmul", 0) == 1
        let a = try input(0)
        guard a.type == .uint8 || a.type == .int8 else { throw fail("A must be uint8 or int8, got \(a.type)") }
        guard try int("transA", 0) == 0 else { throw unsupported("transA", "1") }
        guard try float("alpha", 1) == 1 else { throw unsupported("alpha", "\(try float("alpha", 1))") }
        guard try float("beta", 1) == 1 else { throw unsupported("beta", "\(try float("beta", 1))") }
        let transBAttribute = try int("transB", 0)
        let transB = !matmul && transBAttribute == 1
        guard let b = constant(3), b.elementType == .int8 || b.elementType == .uint8, let raw = b.integers else {
            throw fail("B must be an int8 or uint8 constant")
        }
        let (rows, depth, columns, outputShape) = try matrixShape(a: a, b: b.shape, matmul: matmul, transB: transB)
        let aQuant = try quantization(scale: 1, zero: 2, shape: [], defaultType: a.type)
        guard aQuant.channelCount == 1, aQuant.quantizedType == a.type else { throw fail("A must be quantized per tensor with its own type") }
        let bQuant = try quantization(scale: 4, zero: 5, shape: [columns], defaultType: b.elementType, axis: 0)
        guard bQuant.channelCount == 1 || bQuant.channelCount == columns else {
            throw fail("\(bQuant.channelCount) B scales for \(columns) columns")
        }
        func column(_ n: Int) -> Int { bQuant.channelCount == 1 ? 0 : n }
        var packed = [Int8](repeating: 0, count: raw.count)
        for k in 0..<depth {
            for n in 0..<columns {
                let value = transB ? raw[n * depth + k] : raw[k * columns + n]
                guard let shifted = Int8(exactly: value - Int64(bQuant.zeroPoints[column(n)])) else {
                    throw unsupported("b_zero_point", "\(bQuant.zeroPoints[column(n)]) (B minus zero point must fit int8)")
                }
                packed[n * depth + k] = shifted
            }
        }
        var bias: [Int32]?
        if let c = constant(6) {
            guard c.elementType == .int32, c.count == columns || c.count == 1, let values = c.integers else {
                throw fail("C must be int32 with one value per column")
            }
            bias = (0..<columns).map { Int32(values[c.count == 1 ? 0 : $0]) }
        }
        // Per column, from the actual weights: 255 * sum|w| must fit int32; the bias wraps (see lowerQLinearConv).
        for n in 0..<columns {
            let sum = packed[(n * depth)..<((n + 1) * depth)].reduce(0) { $0 + abs(Int($1)) } * 255
            guard sum < Int(Int32.max) else { throw fail("accumulator could overflow int32 (\(depth) terms)") }
        }
        let productScales = (0..<columns).map { aQuant.scales[0] * bQuant.scales[column($0)] }
        let quantizedOutput = node.inputs.count > 7 && !node.inputs[7].isEmpty
        var outputType = ONNXElementType.float32
        var multipliers = productScales, clamp: ClosedRange<Int32> = 0...0, zero: Int32 = 0
        if quantizedOutput {
            let yQuant = try quantization(scale: 7, zero: 8, shape: [], defaultType: .uint8)
            guard yQuant.channelCount == 1, yQuant.quantizedType == .uint8 || yQuant.quantizedType == .int8 else {
                throw fail("output must be quantized per tensor to uint8 or int8")
            }
            outputType = yQuant.quantizedType
            multipliers = productScales.map { $0 / yQuant.scales[0] }
            clamp = try quantizedClamp(yQuant)
            zero = yQuant.zeroPoints[0]
        } else if node.attributes["rk_activation"] != nil {
            throw unsupported("activation", "fused activation without output quantization")
        }
        let pinnedB = Pinned(packed), pinnedBias = bias.map(Pinned.init), pinnedMultipliers = Pinned(multipliers)
        let (m, n, k) = (Int32(rows), Int32(columns), Int32(depth))
        let zeroA = aQuant.zeroPoints[0], signedA = a.type == .int8, count = rows * depth
        return LoweredNode(outputs: [TensorDescriptor(type: outputType, shape: outputShape)], scratchBytes: aligned(count * 2), readsConstantInputs: false) { bindings in
            let input = bindings.inputs[0]!, out = bindings.outputs[0]
            let shifted = bindings.scratch!.assumingMemoryBound(to: Int16.self)
            var requant = rk_requant(multiplier: pinnedMultipliers.pointer, zeroPoint: zero, lo: clamp.lowerBound, hi: clamp.upperBound,
                                     outputSigned: outputType == .int8 ? 1 : 0,
                                     floatOutput: quantizedOutput ? nil : out.assumingMemoryBound(to: Float.self),
                                     floatScale: quantizedOutput ? nil : UnsafePointer(pinnedMultipliers.pointer), floatBias: nil)
            return {
                _ = pinnedMultipliers   // keeps the multipliers alive as long as the kernel
                if signedA {
                    rk_pad_s8(input.assumingMemoryBound(to: Int8.self), 1, 1, Int32(count), zeroA, 0, 0, 0, 0, shifted)
                } else {
                    rk_pad_u8(input.assumingMemoryBound(to: UInt8.self), 1, 1, Int32(count), zeroA, 0, 0, 0, 0, shifted)
                }
                rk_qgemm(m, n, k, shifted, pinnedB.pointer, pinnedBias?.pointer, out, &requant)
            }
        }
    }
}
