import CInferenceKernels
import ONNX

/// Memory owned by the plan with a fixed address for kernels to read (weights, biases, multipliers).
final class Pinned<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(_ values: [Element]) {
        count = values.count
        pointer = .allocate(capacity: max(values.count, 1))
        pointer.initialize(from: values, count: values.count)
    }

    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }
}

/// Rounds up to a multiple of 64 bytes, so scratch sub-buffers stay cache-line aligned.
func aligned(_ bytes: Int) -> Int { (bytes + 63) & ~63 }

extension Lowering {
    /// Geometry shared by the float and integer convolutions, validated against the input and weight shapes.
    func convGeometry(input: TensorDescriptor, weightShape: [Int]) throws(InferenceError) -> rk_conv_geometry {
        try allow(["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"])
        guard input.shape.count == 4 else { throw unsupported("input rank", "\(input.shape.count) (only 2-D convolution)") }
        guard weightShape.count == 4 else { throw fail("weight shape \(weightShape) is not 4-D") }
        let (channels, height, width) = (input.shape[1], input.shape[2], input.shape[3])
        guard input.shape[0] == 1 else { throw unsupported("batch", "\(input.shape[0]) (batch size 1 only)") }
        let group = try int("group", 1)
        let outChannels = weightShape[0]
        let kernel = try ints("kernel_shape") ?? Array(weightShape[2...])
        guard kernel.count == 2, kernel.allSatisfy({ $0 >= 1 }) else { throw unsupported("kernel_shape", "\(kernel)") }
        guard kernel == Array(weightShape[2...]) else { throw fail("kernel_shape \(kernel) does not match weights \(weightShape)") }
        let strides = try ints("strides") ?? [1, 1]
        let dilations = try ints("dilations") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 >= 1 }) else { throw unsupported("strides", "\(strides)") }
        guard dilations.count == 2, dilations.allSatisfy({ $0 >= 1 }) else { throw unsupported("dilations", "\(dilations)") }
        guard group >= 1, channels % group == 0, outChannels % group == 0, weightShape[1] == channels / group else {
            throw fail("group \(group) does not fit \(channels) input and \(outChannels) output channels with weights \(weightShape)")
        }
        let extent = [(kernel[0] - 1) * dilations[0] + 1, (kernel[1] - 1) * dilations[1] + 1]
        var pads = try ints("pads") ?? [0, 0, 0, 0]
        switch try string("auto_pad", "NOTSET") {
        case "NOTSET": break
        case "VALID": pads = [0, 0, 0, 0]
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            for (axis, size) in [height, width].enumerated() {
                let out = (size + strides[axis] - 1) / strides[axis]
                let total = max(0, (out - 1) * strides[axis] + extent[axis] - size)
                let small = total / 2
                pads[axis] = mode == "SAME_UPPER" ? small : total - small
                pads[axis + 2] = total - pads[axis]
            }
        case let mode: throw unsupported("auto_pad", mode)
        }
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 < 1 << 12 }) else { throw unsupported("pads", "\(pads)") }
        let outHeight = (height + pads[0] + pads[2] - extent[0]) / strides[0] + 1
        let outWidth = (width + pads[1] + pads[3] - extent[1]) / strides[1] + 1
        guard height + pads[0] + pads[2] >= extent[0], width + pads[1] + pads[3] >= extent[1], outHeight > 0, outWidth > 0 else {
            throw fail("kernel \(kernel) does not fit the \(height)x\(width) input")
        }
        let all = [channels, height, width, outChannels, outHeight, outWidth, kernel[0], kernel[1]]
        guard all.allSatisfy({ $0 < 1 << 16 }), channels * (height + pads[0] + pads[2]) * (width + pads[1] + pads[3]) < 1 << 28 else {
            throw fail("dimensions too large")
        }
        return rk_conv_geometry(
            inChannels: Int32(channels), inHeight: Int32(height), inWidth: Int32(width),
            outChannels: Int32(outChannels), outHeight: Int32(outHeight), outWidth: Int32(outWidth), group: Int32(group),
            kernelHeight: Int32(kernel[0]), kernelWidth: Int32(kernel[1]), strideHeight: Int32(strides[0]), strideWidth: Int32(strides[1]),
            padTop: Int32(pads[0]), padLeft: Int32(pads[1]), padBottom: Int32(pads[2]), padRight: Int32(pads[3]),
            dilationHeight: Int32(dilations[0]), dilationWidth: Int32(dilations[1]))
    }

    /// The fused activation as a float clamp (Relu or Clip folded in by the rewriter).
    func fusedActivation() throws(InferenceError) -> (lo: Float, hi: Float) {
        switch node.attributes["rk_activation"] {
        case nil: return (-.infinity, .infinity)
        case .string("Relu")?: return (0, .infinity)
        case .string("Clip")?:
            guard case .floats(let bounds)? = node.attributes["rk_clip"], bounds.count == 2 else { throw fail("clip bounds missing") }
            return (bounds[0], bounds[1])
        case let other?: throw unsupported("activation", "\(other)")
        }
    }

    func lowerConv() throws(InferenceError) -> LoweredNode {
        let x = try input(0)
        try expectFloat(x)
        guard let weight = constant(1), weight.elementType == .float32 else { throw fail("weights must be a float32 constant") }
        var geometry = try convGeometry(input: x, weightShape: weight.shape)
        var bias: Pinned<Float>?
        if let tensor = constant(2) {
            guard tensor.count == Int(geometry.outChannels), tensor.elementType == .float32 else { throw fail("bias must be \(geometry.outChannels) floats") }
            bias = Pinned(tensor.floats)
        } else if node.inputs.count > 2, !node.inputs[2].isEmpty {
            throw fail("bias must be a constant")
        }
        let (lo, hi) = try fusedActivation()
        let output = TensorDescriptor(type: .float32, shape: [1, Int(geometry.outChannels), Int(geometry.outHeight), Int(geometry.outWidth)])
        let detail = "\(geometry.kernelHeight)x\(geometry.kernelWidth)/\(geometry.strideHeight) g\(geometry.group) \(geometry.inChannels)->\(geometry.outChannels) \(geometry.outHeight)x\(geometry.outWidth)"
        let pool = self.pool
        if rk_depthwise_f32_supported(&geometry) != 0 {
            let weights = Pinned(weight.floats)
            let depthwiseBias = bias ?? Pinned([Float](repeating: 0, count: Int(geometry.outChannels)))
            // Small planes get a zero-padded copy per thread (the geometry check bounds its size).
            let threadFloats = aligned(Int(rk_depthwise_f32_scratch_floats(&geometry)) * 4) / 4
            return LoweredNode(outputs: [output], scratchBytes: threadFloats * 4 * threads, detail: "depthwise " + detail,
                               readsConstantInputs: false) { bindings in
                let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
                let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
                let scratch = bindings.scratch?.assumingMemoryBound(to: Float.self)
                return {
                    rk_depthwise_f32_parallel(pool, &geometry, input, weights.pointer, depthwiseBias.pointer, out, lo, hi, scratch, Int64(threadFloats))
                }
            }
        }
        if let matrix = try lowerMatrixConvolution(geometry: geometry, weights: weight.floats, bias: bias?.pointer, lo: lo, hi: hi,
                                                   output: output, detail: detail) {
            return matrix
        }
        let weights = Pinned(weight.floats)
        return LoweredNode(outputs: [output], detail: "direct " + detail, readsConstantInputs: false) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return {
                rk_conv2d_f32(&geometry, input, weights.pointer, bias?.pointer, out, lo, hi)
            }
        }
    }

    /// A float convolution as one matrix product per group, out[m][p] = w[m][k] x in[k][p], with weights
    /// packed into panels at load: 1x1 stride-1 layers read their input planes as they are, every other one
    /// reads an im2col copy in scratch (depth k = (channel, kh, kw), the order of ONNX weights). Nil when the
    /// copy would be unreasonably large (the direct kernel runs instead).
    private func lowerMatrixConvolution(geometry: rk_conv_geometry, weights: [Float], bias: UnsafeMutablePointer<Float>?, lo: Float, hi: Float,
                                        output: TensorDescriptor, detail: String) throws(InferenceError) -> LoweredNode? {
        var geometry = geometry
        let groups = Int(geometry.group), groupChannels = Int(geometry.inChannels) / groups, groupOutputs = Int(geometry.outChannels) / groups
        let taps = Int(geometry.kernelHeight) * Int(geometry.kernelWidth)
        let pixels = Int(geometry.outHeight) * Int(geometry.outWidth)
        let (depth, depthOverflow) = groupChannels.multipliedReportingOverflow(by: taps)
        guard !depthOverflow, depth < 1 << 24, groupOutputs >= 1, weights.count == groupOutputs * groups * depth else { return nil }
        let direct = taps == 1 && geometry.strideHeight == 1 && geometry.strideWidth == 1
            && geometry.padTop == 0 && geometry.padLeft == 0 && geometry.padBottom == 0 && geometry.padRight == 0
        var scratchBytes = 0
        if !direct {
            let (floats, overflow) = depth.multipliedReportingOverflow(by: pixels)
            guard !overflow, floats <= 1 << 24 else { return nil }
            scratchBytes = floats * 4
        }
        // Per group: packed panels and the bias padded to whole panels.
        let panelRows = Int(RK_SGEMM_ROWS)
        let packedCount = Int(rk_sgemm_packed_floats(Int32(groupOutputs), Int32(depth)))
        let paddedOutputs = (groupOutputs + panelRows - 1) / panelRows * panelRows
        var packed = [Float](repeating: 0, count: packedCount * groups)
        var paddedBias = [Float](repeating: 0, count: paddedOutputs * groups + panelRows)
        for group in 0..<groups {
            let slice = Array(weights[(group * groupOutputs * depth)..<((group + 1) * groupOutputs * depth)])
            packed.withUnsafeMutableBufferPointer { buffer in
                rk_sgemm_pack(slice, Int32(groupOutputs), Int32(depth), buffer.baseAddress! + group * packedCount)
            }
            if let bias {
                for m in 0..<groupOutputs { paddedBias[group * paddedOutputs + m] = bias[group * groupOutputs + m] }
            }
        }
        let pinnedPacked = Pinned(packed), pinnedBias = Pinned(paddedBias)
        let pool = self.pool
        let (M, K, P) = (Int32(groupOutputs), Int32(depth), Int32(pixels))
        let inputPlane = groupChannels * Int(geometry.inHeight) * Int(geometry.inWidth)
        return LoweredNode(outputs: [output], scratchBytes: scratchBytes, detail: (direct ? "gemm " : "im2col ") + detail,
                           readsConstantInputs: false) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            let column = bindings.scratch?.assumingMemoryBound(to: Float.self)
            return {
                for group in 0..<groups {
                    var source = UnsafePointer(input + group * inputPlane)
                    if let column {
                        rk_im2col_f32(&geometry, input, Int32(group * groupChannels), Int32(groupChannels), column)
                        source = UnsafePointer(column)
                    }
                    rk_sgemm_parallel(pool, M, K, P, pinnedPacked.pointer + group * packedCount, pinnedBias.pointer + group * paddedOutputs,
                                      source, out + group * groupOutputs * pixels, lo, hi)
                }
            }
        }
    }

    /// Quantization parameters from constant inputs `scale` and `zero`.
    func quantization(scale: Int, zero: Int, shape: [Int], defaultType: ONNXElementType, axis: Int? = nil) throws(InferenceError) -> QuantizationParameters {
        guard let scaleTensor = constant(scale) else { throw fail("scale (input \(scale)) must be a constant") }
        let zeroTensor = constant(zero)
        if zeroTensor == nil, zero < node.inputs.count, !node.inputs[zero].isEmpty { throw fail("zero point (input \(zero)) must be a constant") }
        let axisAttribute: ONNXAttribute? = axis.map { .int(Int64($0)) }
        let parameters = try QuantizationParameters(scale: scaleTensor, zeroPoint: zeroTensor, axisAttribute: axisAttribute,
                                                    shape: shape.isEmpty ? [scaleTensor.count] : shape, node: node, defaultType: defaultType)
        return parameters
    }

    /// Output clamp in the quantized domain, narrowed by a fused Relu or Clip.
    func quantizedClamp(_ output: QuantizationParameters) throws(InferenceError) -> ClosedRange<Int32> {
        var range = output.range
        let (lo, hi) = try fusedActivation()
        let zero = output.zeroPoints[0], scale = output.scales[0]
        func quantize(_ value: Float) -> Int32 {
            let q = (value / scale).rounded(.toNearestOrEven) + Float(zero)
            return Int32(max(Float(range.lowerBound), min(Float(range.upperBound), q)))
        }
        if lo.isFinite { range = max(range.lowerBound, quantize(lo))...range.upperBound }
        if hi.isFinite { range = range.lowerBound...max(range.lowerBound, min(range.upperBound, quantize(hi))) }
        return range
    }
}
